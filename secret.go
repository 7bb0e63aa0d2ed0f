package nebula

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ID identifies any object of the API: an API key, a user, an SSH key, an
// instance, an invoice. The API has documented IDs both as JSON integers (5)
// and as UUID strings, so ID holds either as text: 5 decodes to ID("5"), and
// a UUID decodes unchanged.
type ID string

// UnmarshalJSON accepts a JSON string or a JSON integer. Anything else (null,
// a fraction, an object) is an error, so a malformed response never yields an
// empty ID that would later address the wrong resource.
func (id *ID) UnmarshalJSON(data []byte) error {
	if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' {
		if raw := data[1 : len(data)-1]; isPlainASCII(raw) {
			*id = ID(raw)
			return nil
		}
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	if isJSONInteger(data) {
		*id = ID(data)
		return nil
	}
	// The value itself is not quoted: a malformed answer may hold anything.
	return fmt.Errorf("nebula: an ID must be a JSON string or integer, got %s", jsonKind(data))
}

// escapeID checks an ID that goes into a path and escapes it, so that no
// ID can reach another route ("../login" is sent as "..%2Flogin"). what
// names it in errors ("API key ID"). An ID shaped like an API key value or
// a JWT is refused, and never quoted: it is most likely a credential passed
// by mistake, which must not reach a URL, an error or a log.
func escapeID(what string, id ID) (string, error) {
	s := string(id)
	switch {
	case strings.TrimSpace(s) == "":
		return "", invalidArgument("the %s must not be empty", what)
	case looksLikeCredential(s):
		return "", invalidArgument("the %s looks like an API key or a JWT, not an ID", what)
	case s == "." || s == "..":
		return "", invalidArgument("%q is not an %s", s, what)
	case hasControl(s):
		return "", invalidArgument("the %s holds a control character", what)
	}
	return url.PathEscape(s), nil
}

// looksLikeCredential reports a value shaped like an API key ("ak_...") or
// a JWT (three base64url parts, the first a JSON object: "eyJ...").
func looksLikeCredential(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, apiKeyPrefix) ||
		(strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2)
}

// jsonKind names the kind of a JSON value by its first byte.
func jsonKind(data []byte) string {
	if len(data) == 0 {
		return "nothing"
	}
	switch c := data[0]; {
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a malformed string"
	}
	return "a number that is not an integer"
}

// isPlainASCII reports whether a JSON string's contents need no decoding:
// printable ASCII without escapes or quotes, as integers and UUIDs are.
func isPlainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// isJSONInteger reports whether data is an integer literal as JSON writes it:
// an optional minus sign and digits without a leading zero.
func isJSONInteger(data []byte) bool {
	digits := data
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Secret holds a credential: an API key's value or a login JWT. Only Reveal
// returns the value; every other way of looking at a Secret (every fmt verb,
// log/slog, encoding/json, encoding.TextMarshaler) shows a redacted form with
// at most the "ak_" prefix and the last four characters.
//
// The value sits behind a pointer so that even a printer that walks into an
// unexported field holding a Secret (which fmt does without calling any of
// its methods) sees only an address. The zero Secret is empty.
type Secret struct {
	value *string
}

// NewSecret wraps value as a Secret.
func NewSecret(value string) Secret {
	if value == "" {
		return Secret{}
	}
	return Secret{value: &value}
}

// Reveal returns the secret value. Call it only where the value must leave
// the program, for example to store it in a secrets manager.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// Equal reports whether s and other hold the same value, in time that does
// not depend on where they differ.
func (s Secret) Equal(other Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(other.Reveal())) == 1
}

// IsZero reports whether the Secret is empty.
func (s Secret) IsZero() bool { return s.value == nil }

// String returns the redacted form, e.g. "ak_...su-0".
func (s Secret) String() string { return redact(s.Reveal()) }

// GoString returns the redacted form for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("nebula.Secret(%q)", s.String()) }

// Format prints the redacted form under every verb, including %d and %x,
// which would otherwise bypass String.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, s.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(s.String()))
	default:
		fmt.Fprint(f, s.String())
	}
}

// LogValue makes log/slog record the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText returns the redacted form; it also covers encoding/json map
// keys and any encoder that prefers text.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON returns the redacted form as a JSON string, so that marshalling
// a CreatedAPIKey or a Session never writes the credential.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a JSON string into the Secret. The redacted form that
// MarshalJSON writes ("ak_...su-0", "[REDACTED]") is refused with an error
// saying so: a Secret cannot round-trip through JSON, and a saved
// CreatedAPIKey must not come back holding "ak_...su-0" as its key (the API
// shows a key's value only once). Store Reveal()'s value to keep it.
func (s *Secret) UnmarshalJSON(data []byte) error {
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return s.set(v)
}

// UnmarshalText sets the Secret to text, refusing the redacted form that
// MarshalText writes, as UnmarshalJSON does.
func (s *Secret) UnmarshalText(text []byte) error {
	return s.set(string(text))
}

func (s *Secret) set(v string) error {
	if isRedacted(v) {
		return fmt.Errorf("nebula: cannot unmarshal the redacted Secret %q: a Secret marshals redacted and "+
			"cannot round-trip through JSON or text; store the value from Reveal instead", v)
	}
	*s = NewSecret(v)
	return nil
}

// isRedacted reports whether v is a form redact writes: "[REDACTED]" or
// "..." and at most four characters, either behind "ak_". The tail may
// have lost invalid UTF-8 on the way (JSON writes it as U+FFFD), so it is
// counted in runes. An empty v is the zero Secret, not a redacted one.
func isRedacted(v string) bool {
	v = strings.TrimPrefix(v, apiKeyPrefix)
	if v == redactedText {
		return true
	}
	tail, ok := strings.CutPrefix(v, "...")
	n := utf8.RuneCountInString(tail)
	return ok && n >= 1 && n <= 4
}

const (
	apiKeyPrefix = "ak_"
	redactedText = "[REDACTED]"
)

// redact shows at most the "ak_" prefix and, for values long enough that it
// gives nothing away, the last four characters.
func redact(v string) string {
	if v == "" {
		return ""
	}
	prefix := ""
	if strings.HasPrefix(v, apiKeyPrefix) {
		prefix = apiKeyPrefix
	}
	if len(v) < 20 {
		return prefix + redactedText
	}
	return prefix + "..." + v[len(v)-4:]
}
