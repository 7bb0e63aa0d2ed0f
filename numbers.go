package nebula

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The API writes some numbers as JSON numbers in one answer and as strings in
// another (cpu_cores: 28 in the instance list, "28" in the instance detail).
// These wire types accept both so that the public types can use plain Go
// numbers.

// flexInt is an integer sent as a JSON number (28) or a numeric string
// ("28"). null and "" leave it 0. An integral value written with a zero
// fraction (28.0, as Python floats serialise) is accepted; any other fraction,
// an exponent or other text is an error.
type flexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	text, kind, err := jsonScalar(b, "an integer")
	if err != nil || kind == scalarNull {
		return err
	}
	if text == "" && kind == scalarString {
		*n = 0
		return nil
	}
	v, ok := parseFlexInt(text)
	if !ok {
		return fmt.Errorf("%w: not an integer: %s", ErrUnexpectedResponse, quoteExcerpt(text))
	}
	*n = flexInt(v)
	return nil
}

// parseFlexInt reads an optional sign, digits and an optional fraction of
// zeros.
func parseFlexInt(s string) (int, bool) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return 0, false
		}
		s = s[:i]
	}
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || !allDigits(digits) {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

// flexFloat is a number sent as a JSON number (13.366829872131348) or a
// numeric string ("1.5"). null and "" leave it 0. Only decimal notation is
// accepted (an exponent is fine): NaN, Inf, hex floats and other text are
// errors, as is a value out of float64's range.
type flexFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexFloat) UnmarshalJSON(b []byte) error {
	text, kind, err := jsonScalar(b, "a number")
	if err != nil || kind == scalarNull {
		return err
	}
	if text == "" && kind == scalarString {
		*f = 0
		return nil
	}
	v, ok := parseDecimalFloat(text)
	if !ok {
		return fmt.Errorf("%w: not a number: %s", ErrUnexpectedResponse, quoteExcerpt(text))
	}
	*f = flexFloat(v)
	return nil
}

// parseDecimalFloat parses decimal notation only; strconv.ParseFloat alone
// would also take "NaN", "Inf", "0x1p3" and "1_000"-style text.
func parseDecimalFloat(s string) (float64, bool) {
	if !isDecimal(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil { // only ErrRange is possible after isDecimal
		return 0, false
	}
	return v, true
}

// isDecimal reports whether s is a number in decimal notation: an optional
// sign, digits with an optional fraction (at least one digit in all), and an
// optional exponent.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	digits := i - start
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		digits += i - start
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// scalarKind says which kind of JSON scalar jsonScalar found.
type scalarKind int

const (
	scalarNull scalarKind = iota
	scalarString
	scalarNumber
)

// jsonScalar returns the text of a JSON string (decoded, surrounding white
// space trimmed) or of a JSON number literal, and which of the two (or null)
// it was. Booleans, objects and arrays are errors naming want, the kind of
// value expected.
func jsonScalar(b []byte, want string) (string, scalarKind, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return "", 0, fmt.Errorf("%w: expected %s, got nothing", ErrUnexpectedResponse, want)
	case b[0] == '"' && len(b) >= 2 && b[len(b)-1] == '"' && isPlainASCII(b[1:len(b)-1]):
		// Numbers and times need no unescaping: skip a second decoder.
		return strings.TrimSpace(string(b[1 : len(b)-1])), scalarString, nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", 0, fmt.Errorf("%w: expected %s, got a malformed string", ErrUnexpectedResponse, want)
		}
		return strings.TrimSpace(s), scalarString, nil
	case string(b) == "null":
		return "", scalarNull, nil
	case b[0] == '-' || isDigit(b[0]):
		return string(b), scalarNumber, nil
	}
	return "", 0, fmt.Errorf("%w: expected %s, got %s", ErrUnexpectedResponse, want, valueKind(b))
}

// valueKind names the kind of a JSON value without quoting it.
func valueKind(b []byte) string {
	switch b[0] {
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "malformed JSON"
}

// quoteExcerpt quotes at most a short, printable, credential-free excerpt of
// a value for an error message: a malformed answer may hold anything.
func quoteExcerpt(s string) string {
	return strconv.Quote(scrub(s, nil, maxExcerptLen))
}

// maxExcerptLen bounds how much of a malformed value an error quotes.
const maxExcerptLen = 40
