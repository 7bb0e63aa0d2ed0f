package nebula

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Class sentinels. Test for them with errors.Is; for the details of an
// answer from the API use errors.As with *APIError.
var (
	// ErrInvalidArgument: the SDK refused the input before sending anything.
	ErrInvalidArgument = errors.New("nebula: invalid argument")
	// ErrBadRequest: the API rejected the request (HTTP 400 or 422).
	ErrBadRequest = errors.New("nebula: bad request")
	// ErrUnauthorized: the credential is missing, wrong, revoked or expired
	// (HTTP 401), or a login was refused.
	ErrUnauthorized = errors.New("nebula: unauthorized")
	// ErrForbidden: the credential may not do this (HTTP 403).
	ErrForbidden = errors.New("nebula: forbidden")
	// ErrNotFound: no such resource (HTTP 404).
	ErrNotFound = errors.New("nebula: not found")
	// ErrConflict: the request conflicts with the current state (HTTP 409).
	ErrConflict = errors.New("nebula: conflict")
	// ErrRateLimited: too many requests (HTTP 429), after the SDK's retries.
	ErrRateLimited = errors.New("nebula: rate limited")
	// ErrServerError: the API failed (HTTP 5xx), after the SDK's retries.
	ErrServerError = errors.New("nebula: server error")
	// ErrUnexpectedResponse: a complete 2xx answer that is not a valid
	// success envelope (not JSON, unknown status, missing data, a created key
	// without its id or key, a value in no known form), or a body over the
	// size limit. A body cut short is not this but a transport error,
	// retried where the call is safe to repeat.
	ErrUnexpectedResponse = errors.New("nebula: unexpected response")
	// ErrOutcomeUnknown: a call that must not be repeated (a create) failed
	// after the API may have carried it out, so what it creates may exist.
	// It is always wrapped together with its cause. See
	// docs/errors-and-retries.md for how to recover.
	ErrOutcomeUnknown = errors.New("nebula: outcome unknown, the request may have been processed")
)

// APIError is an answer from the API that is not a success: a non-2xx
// status, an envelope whose status is "failed" (on any HTTP status), a 2xx
// that is not a valid success envelope, or a redirect that was not followed.
// errors.Is maps it to the class sentinels by HTTPStatus.
type APIError struct {
	HTTPStatus int           // the HTTP status (200 when the envelope said "failed" on a 200)
	Status     string        // envelope status, normally "failed"; "" when the body was no envelope
	Message    string        // envelope message, or a short, redacted excerpt of a non-envelope body
	RetryAfter time.Duration // parsed Retry-After, when sent
	RequestID  string        // X-Request-Id, when sent
	Attempts   int           // how many attempts were made

	op         string // "POST /api-keys", for Error
	unexpected bool   // a 2xx that is no valid success envelope
	refused    bool   // a refused login, which is ErrUnauthorized whatever its status
}

// Error reads like "nebula: POST /api-keys: 409 Conflict: API key name already exists".
func (e *APIError) Error() string { return e.text(true) }

// text is the error's text; without whole, only what the answer said (its
// status, message and request id), as another error quoting it needs,
// having named the call and counted its attempts itself.
func (e *APIError) text(whole bool) string {
	var b strings.Builder
	if whole {
		b.WriteString("nebula: ")
		if e.op != "" {
			b.WriteString(e.op)
			b.WriteString(": ")
		}
	}
	b.WriteString(strconv.Itoa(e.HTTPStatus))
	if text := http.StatusText(e.HTTPStatus); text != "" {
		b.WriteByte(' ')
		b.WriteString(text)
	}
	if e.unexpected {
		b.WriteString(": unexpected response")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if whole && e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// Is maps the error to its class sentinel.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnexpectedResponse:
		return e.unexpected
	case ErrUnauthorized:
		return e.refused || e.HTTPStatus == http.StatusUnauthorized
	case ErrBadRequest:
		return e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == http.StatusUnprocessableEntity
	case ErrForbidden:
		return e.HTTPStatus == http.StatusForbidden
	case ErrNotFound:
		return e.HTTPStatus == http.StatusNotFound
	case ErrConflict:
		return e.HTTPStatus == http.StatusConflict
	case ErrRateLimited:
		return e.HTTPStatus == http.StatusTooManyRequests
	case ErrServerError:
		return e.HTTPStatus >= 500 && e.HTTPStatus <= 599
	}
	return false
}

// outcomeUnknownError marks a create that failed after the API may have acted
// on it. errors.Is finds both ErrOutcomeUnknown and the cause.
type outcomeUnknownError struct{ cause error }

func (e *outcomeUnknownError) Error() string {
	return e.cause.Error() + " (outcome unknown: the request may have been processed)"
}

func (e *outcomeUnknownError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.cause} }

// requestError is a failure with no usable answer from the API: a transport
// error, a body cut short, a cancelled context. It keeps the cause for
// errors.Is and errors.As and names the call, once: "nebula: GET
// /users/credits: dial tcp 127.0.0.1:1: connect: connection refused (after
// 2 attempts)", without the method and URL net/http's *url.Error repeats.
// Its causes have been scrubbed of the call's secrets (see scrubError).
type requestError struct {
	op       string
	attempts int
	err      error
	// previous is an earlier attempt's failure when the call ended while
	// waiting to retry it (e.g. the context ended during the wait after a 503).
	previous error
}

func (e *requestError) Error() string {
	var b strings.Builder
	b.WriteString("nebula: ")
	b.WriteString(e.op)
	b.WriteString(": ")
	b.WriteString(causeText(e.err))
	if e.attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.attempts)
	}
	if e.previous != nil {
		b.WriteString(" (previous attempt: ")
		if apiErr, ok := e.previous.(*APIError); ok {
			b.WriteString(apiErr.text(false)) // the call is named above
		} else {
			b.WriteString(causeText(e.previous))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (e *requestError) Unwrap() []error {
	if e.previous == nil {
		return []error{e.err}
	}
	return []error{e.err, e.previous}
}

// invalidArgument returns an ErrInvalidArgument error naming what was wrong.
func invalidArgument(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// errorBody is every shape of error body the API and its proxies have been
// seen to send: the envelope, and FastAPI's {"detail": ...}.
type errorBody struct {
	Status  *string         `json:"status"`
	Message json.RawMessage `json:"message"` // a string, or any JSON value
	Detail  json.RawMessage `json:"detail"`
}

// answerError builds the *APIError for a non-success answer from its body,
// which has already been read (at most maxBodyBytes of it).
func answerError(op string, resp *http.Response, body []byte, secrets []string) *APIError {
	e := &APIError{
		HTTPStatus: resp.StatusCode,
		RequestID:  sanitizeHeader(resp.Header.Get("X-Request-Id"), secrets),
		op:         op,
	}
	e.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Message = "redirect not followed"
		if loc, err := resp.Location(); err == nil {
			e.Message += " (to " + loc.Scheme + "://" + loc.Host + ")"
		}
		return e
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		switch {
		case eb.Status != nil:
			e.Status = *eb.Status
			e.Message = scrub(jsonText(eb.Message), secrets, maxMessageLen)
			return e
		case len(eb.Detail) > 0:
			e.Message = scrub(detailMessage(eb.Detail), secrets, maxMessageLen)
			return e
		}
	}
	e.Message = excerpt(body, secrets)
	return e
}

// unexpectedError is the *APIError for a 2xx that is not a valid success
// envelope.
func unexpectedError(op string, resp *http.Response, reason string, secrets []string) *APIError {
	return &APIError{
		HTTPStatus: resp.StatusCode,
		Message:    scrub(reason, secrets, maxMessageLen), // it may quote the body's status
		RequestID:  sanitizeHeader(resp.Header.Get("X-Request-Id"), secrets),
		op:         op,
		unexpected: true,
	}
}

// jsonText is a message as text: a JSON string's contents, or any other
// JSON value (an object, a list) compacted.
func jsonText(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// detailMessage renders FastAPI's detail, a string or a list of validation
// errors, as one line.
func detailMessage(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var items []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &items) == nil && len(items) > 0 {
		parts := make([]string, 0, len(items))
		for _, it := range items {
			loc := make([]string, 0, len(it.Loc))
			for _, l := range it.Loc {
				loc = append(loc, fmt.Sprint(l))
			}
			if len(loc) > 0 {
				parts = append(parts, strings.Join(loc, ".")+": "+it.Msg)
			} else {
				parts = append(parts, it.Msg)
			}
		}
		return strings.Join(parts, "; ")
	}
	return string(raw)
}

const (
	maxMessageLen = 300 // characters of an error message kept from a body
	// maxScanLen bounds how much of a body is scrubbed and searched for a
	// message, so a huge error page costs little.
	maxScanLen = 64 << 10
)

// excerpt turns a non-envelope body (an HTML error page, plain text) into a
// short one-line message with credentials removed.
func excerpt(body []byte, secrets []string) string {
	if len(body) > maxScanLen {
		body = body[:maxScanLen]
	}
	text := string(body)
	lower := asciiLower(text) // same length as text, so its indexes fit text
	if title, ok := htmlTitle(text, lower); ok {
		text = title
	} else if looksLikeHTML(lower) {
		text = stripTags(text)
	}
	return scrub(text, secrets, maxMessageLen)
}

func looksLikeHTML(lower string) bool {
	head := strings.TrimSpace(lower)
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html") || strings.Contains(head, "<body")
}

// htmlTitle finds the <title> of s, searching lower, its ASCII-lowercased
// copy.
func htmlTitle(s, lower string) (string, bool) {
	start := strings.Index(lower, "<title>")
	if start < 0 {
		return "", false
	}
	start += len("<title>")
	end := strings.Index(lower[start:], "</title>")
	if end < 0 {
		return "", false
	}
	title := strings.TrimSpace(s[start : start+end])
	return title, title != ""
}

// asciiLower lowercases ASCII letters only; unlike strings.ToLower it never
// changes the length (invalid UTF-8 stays as it is).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func stripTags(s string) string {
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
			b.WriteByte(' ')
		case !inTag:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// scrub removes credentials from text that will end up in an error: every
// known secret (the token, a password), then every "ak_..." run and every
// JWT-looking run. It then folds white space and control characters and cuts
// the result to limit runes. Removing comes first so that a cut never leaves
// half a secret, and known secrets before patterns so that a pattern never
// leaves part of one. Should a known secret still show (a replacement that
// happens to spell it), the whole message is withheld.
func scrub(text string, secrets []string, limit int) string {
	known := knownSecrets(secrets)
	text = redactSecrets(text, known)

	var b strings.Builder
	b.Grow(min(len(text), limit+3))
	space, n := false, 0
	for _, r := range text {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || r == ' ' || (r >= 0x80 && r < 0xa0) {
			space = b.Len() > 0
			continue
		}
		width := 1
		if space {
			width = 2
		}
		if n+width > limit {
			b.WriteString("...")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		n += width
	}
	out := b.String()
	if redactSpelled(out, known) != out {
		return "[message withheld: it contained a credential]"
	}
	return out
}

// minSecretLen is the shortest known secret scrub looks for; shorter ones
// would match ordinary words.
const minSecretLen = 3

// minKeyRun is how many token characters must follow "ak_" for scrub to
// take the run for an API key value. The API's keys have 43; 16 is enough
// to catch a key cut short while leaving words that merely contain the
// letters ("peak_hours", "break_glass", "ak_id") as they are written.
const minKeyRun = 16

// minJWTRun is how many token characters must follow "eyJ" for scrub to
// take the run for a JWT. Every JWT header names its "alg", so even the
// shortest, {"alg":"x"}, has 12 after "eyJ" (and a whole JWT runs on through
// its payload); words that hold the letters ("keyJSON", "surveyJS") have
// fewer and stay as written.
const minJWTRun = 12

// redactRuns replaces every run that starts with prefix and continues with
// at least minRun token characters (the alphabet of API keys and JWTs) by
// replacement; the whole run goes, so no part of a value is left. A shorter
// run is kept as written.
func redactRuns(text, prefix string, minRun int, replacement string) string {
	if !strings.Contains(text, prefix) {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, prefix)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		j := i + len(prefix)
		for j < len(text) && isTokenByte(text[j]) {
			j++
		}
		if j-i-len(prefix) >= minRun {
			b.WriteString(text[:i])
			b.WriteString(replacement)
		} else {
			b.WriteString(text[:j])
		}
		text = text[j:]
	}
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '+' || c == '/' || c == '='
}

// sanitizeHeader keeps a header value that is going into an error or a log
// short and printable.
func sanitizeHeader(v string, secrets []string) string {
	if v == "" {
		return ""
	}
	return scrub(v, secrets, 128)
}

var _ error = (*APIError)(nil)

// asCall names, in an error of one of the requests a call is made of, the
// call the caller made: "SSHKeys.List" becomes "SSHKeys.All" in an error of
// SSHKeys.All, "Instances.List" "Instances.Create" in an error of Create's
// name check. The first name of op's service in the text is replaced;
// errors.Is and errors.As see the error as it was.
func asCall(err error, op string) error {
	if err == nil {
		return nil
	}
	service, _, _ := strings.Cut(op, ".")
	text := err.Error()
	for from := 0; ; {
		i := strings.Index(text[from:], service+".")
		if i < 0 {
			return err
		}
		i += from
		j := i + len(service) + 1
		for j < len(text) && (text[j] >= 'A' && text[j] <= 'Z' || text[j] >= 'a' && text[j] <= 'z') {
			j++
		}
		boundary := i == 0 || text[i-1] == ' '
		if boundary && j < len(text) && text[j] == ':' && j > i+len(service)+1 {
			if text[i:j] == op {
				return err
			}
			return &renamedError{text: text[:i] + op + text[j:], err: err}
		}
		from = j
	}
}

// renamedError is an error whose text names another call (see asCall).
type renamedError struct {
	text string
	err  error
}

func (e *renamedError) Error() string { return e.text }
func (e *renamedError) Unwrap() error { return e.err }

// Timeout and Temporary pass on the renamed error's, which os.IsTimeout
// and a net.Error assertion ask without unwrapping.
func (e *renamedError) Timeout() bool {
	t, ok := e.err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

func (e *renamedError) Temporary() bool {
	t, ok := e.err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}
