package nebula

import (
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

// errNoData is the reason for an answer without the data the call returns.
const errNoData = `envelope without "data"`

// decodeData reads raw into out and asks out, if it is a validator, what is
// wrong. It returns why the data is unusable, or "".
func decodeData(raw []byte, out any) string {
	if err := json.Unmarshal(raw, out); err != nil {
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
// success envelope.
func decodeSuccess(body []byte, r *request) (failed bool, reason string) {
	if len(body) == 0 || isBlank(body) {
		if r.noData {
			return false, ""
		}
		return false, "empty body"
	}
	var env rawEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		// A "failed" envelope may carry fields of other shapes.
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil && eb.Status != nil && *eb.Status == statusFailed {
			return true, ""
		}
		if !json.Valid(body) {
			return false, "body is not JSON"
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
	return false, r.decode(&env)
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
