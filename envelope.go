package nebula

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// rawEnvelope is an answer of the API decoded once: its status, and its data
// kept raw, its presence known, until the call's decoder reads it into the
// call's wire type. The message matters only to a "failed" envelope, which
// answerError reads.
type rawEnvelope struct {
	Status string `json:"status"`
	// Data is nil when the answer has no data, and "null" when it is null.
	Data json.RawMessage `json:"data"`
	// Total is total_instance, the one count the API puts beside data
	// rather than inside it (the instance lists). It stays raw so that the
	// calls that do not read it never fail on it.
	Total json.RawMessage `json:"total_instance"`
	// Model is the model beside the images of POST /images/generation,
	// raw for the same reason.
	Model json.RawMessage `json:"model"`
}

func (e *rawEnvelope) dataNull() bool { return string(e.Data) == "null" }

// validator is data that decodes as JSON but can still be unusable, such as
// a created key without its value. validate says what is missing, or "".
type validator interface {
	validate() string
}

// reasonNotJSON is the reason for an answer that is not JSON.
const reasonNotJSON = "body is not JSON"

// errNoData is the reason for an answer without the data the call returns.
const errNoData = `envelope without "data"`

// decodeData reads raw into out and asks out, if it is a validator, what is
// wrong. It returns why the data is unusable, or "".
func decodeData(raw []byte, out any) string {
	if err := json.Unmarshal(raw, out); err != nil {
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			// data that is not JSON makes the body not JSON, which is
			// what decodeSuccess says when it decodes the body whole.
			return reasonNotJSON
		}
		return "body does not match the documented envelope: " + jsonErrorText(err, "data.")
	}
	if v, ok := out.(validator); ok {
		return v.validate()
	}
	return ""
}

// decodeObject is the rule for data that is an object the call returns:
// absent or null is ErrUnexpectedResponse.
func decodeObject(env *rawEnvelope, out any) string {
	if env.Data == nil || env.dataNull() {
		return errNoData
	}
	return decodeData(env.Data, out)
}

// decodeNullable is the rule for data that is a list, or an object holding
// lists: null means none and leaves out as it is; absent is
// ErrUnexpectedResponse.
func decodeNullable(env *rawEnvelope, out any) string {
	switch {
	case env.Data == nil:
		return errNoData
	case env.dataNull():
		return ""
	}
	return decodeData(env.Data, out)
}

// decodeSuccess decodes a complete 2xx body once and hands its data to the
// request's decoder. It reports a "failed" envelope, which the caller turns
// into an *APIError like any other answer, or says why the body is not a
// success envelope. env is where the envelope is decoded; its data may be
// a part of body, so nothing may keep it once body is reused.
func decodeSuccess(body []byte, r *request, env *rawEnvelope) (failed bool, reason string) {
	if r.decode != nil && !r.noData && splitEnvelope(body, env) && env.Status == statusSuccess {
		// The usual answer: data is checked as JSON by the decoder, which
		// reads it whole, and every other member was checked by
		// splitEnvelope, so the body is known to be JSON without a pass
		// of its own (see decodeData).
		return false, r.decode(env, r.out)
	}
	return decodeWhole(body, r, env)
}

// decodeWhole is decodeSuccess by encoding/json alone, for the answers
// splitEnvelope leaves to it: an empty body, a "failed" envelope, escapes,
// odd keys, and anything that is not JSON, whose reason it gives.
func decodeWhole(body []byte, r *request, env *rawEnvelope) (failed bool, reason string) {
	if len(body) == 0 || isBlank(body) {
		if r.noData {
			return false, ""
		}
		return false, "empty body"
	}
	*env = rawEnvelope{}
	if err := json.Unmarshal(body, env); err != nil {
		// A "failed" envelope may carry fields of other shapes.
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil && eb.Status != nil && *eb.Status == statusFailed {
			return true, ""
		}
		if !json.Valid(body) {
			return false, reasonNotJSON
		}
		return false, "body does not match the documented envelope: " + jsonErrorText(err, "")
	}
	switch {
	case env.Status == statusFailed:
		return true, ""
	case env.Status != statusSuccess:
		return false, fmt.Sprintf("unknown envelope status %.40q", env.Status)
	case r.noData || r.decode == nil:
		// Whatever data holds, only the status matters.
		return false, ""
	}
	return false, r.decode(env, r.out)
}

// splitEnvelope finds the members of an answer that is a JSON object,
// without decoding or copying them: env's Data, Total and Model are parts
// of body. It checks every member as JSON except data, which it only
// skips: the decoder that reads data checks it. It reports false for
// anything but a plain object whose keys are printable ASCII without
// escapes, with one data at most, and whose status, if any, is a string
// without escapes; the caller then decodes the body as encoding/json does,
// which gives the same result for those and the right error for the rest.
//
// It saves the two passes over data that decoding the envelope with
// encoding/json takes (checking the body, then copying data out), which
// were a third of a list call's own cost.
func splitEnvelope(body []byte, env *rawEnvelope) bool {
	*env = rawEnvelope{}
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return skipSpace(body, i+1) == len(body)
	}
	for {
		// A key: printable ASCII without escapes, matched without regard
		// to case as encoding/json matches a struct's fields.
		if i == len(body) || body[i] != '"' {
			return false
		}
		start := i + 1
		for i = start; i < len(body) && body[i] != '"'; i++ {
			if c := body[i]; c < 0x20 || c > 0x7e || c == '\\' {
				return false
			}
		}
		if i == len(body) {
			return false
		}
		key := body[start:i]
		i = skipSpace(body, i+1)
		if i == len(body) || body[i] != ':' {
			return false
		}
		i = skipSpace(body, i+1)
		end := skipValue(body, i)
		if end < 0 {
			return false
		}
		value := body[i:end]
		switch {
		case strings.EqualFold(string(key), "data"):
			if env.Data != nil {
				// A repeated data: the last wins, but the earlier ones,
				// which no decoder reads, must be JSON too.
				return false
			}
			env.Data = value
		case !validJSON(value):
			return false
		case strings.EqualFold(string(key), "status"):
			if len(value) < 2 || value[0] != '"' || !isPlainASCII(value[1:len(value)-1]) {
				return false
			}
			if status := value[1 : len(value)-1]; string(status) == statusSuccess {
				env.Status = statusSuccess // the usual answer, without a copy
			} else {
				env.Status = string(status)
			}
		case strings.EqualFold(string(key), "total_instance"):
			env.Total = value
		case strings.EqualFold(string(key), "model"):
			env.Model = value
		}
		i = skipSpace(body, end)
		switch {
		case i == len(body):
			return false
		case body[i] == '}':
			return skipSpace(body, i+1) == len(body)
		case body[i] != ',':
			return false
		}
		i = skipSpace(body, i+1)
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && splitClass[b[i]] == classSpace {
		i++
	}
	return i
}

// validJSON is json.Valid, with a shortcut for the usual members beside
// data: a string without escapes, an integer.
func validJSON(v []byte) bool {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && isPlainASCII(v[1:len(v)-1]) || isJSONInteger(v) {
		return true
	}
	return json.Valid(v)
}

// The classes of the bytes skipValue stops at; splitClass maps every byte
// to one (0 for the rest).
const (
	classQuote = 1 + iota
	classOpen
	classClose
	classSpace // JSON whitespace
	classComma
)

var splitClass = [256]uint8{
	'"': classQuote, '{': classOpen, '[': classOpen, '}': classClose, ']': classClose,
	' ': classSpace, '\n': classSpace, '\r': classSpace, '\t': classSpace, ',': classComma,
}

// maxSplitDepth is how deep skipValue follows nesting. Deeper answers are
// left to encoding/json, whose own limit then counts the envelope's level
// too, as it does for every answer.
const maxSplitDepth = 1000

// skipValue returns the index just after the JSON value starting at b[i],
// or -1 when none can be found. It follows strings and nesting only; it
// does not check the value, which must be checked by other means.
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch splitClass[b[i]] {
		case classQuote:
			if i = stringEnd(b, i); i < 0 {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case classOpen:
			if depth++; depth > maxSplitDepth {
				return -1
			}
		case classClose:
			if depth == 0 {
				return i // the end of a number or literal
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case classSpace, classComma:
			if depth == 0 {
				return i
			}
		}
	}
	if depth != 0 {
		return -1
	}
	return i
}

// stringEnd returns the index of the quote that ends the string whose
// opening quote is b[i], or -1 when the string does not end.
func stringEnd(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return -1
		}
		i += 1 + j
		// The quote is escaped when an odd number of backslashes runs up
		// to it.
		n := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i
		}
	}
}

const (
	statusSuccess = "success"
	statusFailed  = "failed"
)

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// jsonErrorText describes a decoding error without quoting the body. prefix
// is the path of the value decoded ("data." for data decoded on its own),
// so that the field is named from the top of the answer.
func jsonErrorText(err error, prefix string) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		field := te.Field
		switch {
		case field == "":
			field = strings.TrimSuffix(prefix, ".")
		default:
			field = prefix + field
		}
		return fmt.Sprintf("field %q holds a JSON %s", field, te.Value)
	case errors.Is(err, ErrUnexpectedResponse):
		// The SDK's own value decoders (times, amounts, numbers) say what
		// was wrong, with at most a short scrubbed excerpt of the value.
		return strings.TrimPrefix(err.Error(), ErrUnexpectedResponse.Error()+": ")
	}
	return "a field has the wrong form"
}
