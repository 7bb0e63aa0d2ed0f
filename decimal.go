package nebula

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Decimal is an amount exactly as the API sent it, from a JSON number or a
// JSON string ("1228.55600", 0.679, "$0.0000" keeps its digits without the
// "$"). It never goes through a float while decoding, so the API's digits
// (trailing zeros included) survive; call Float64 to compute with it.
//
// The zero Decimal ("") means the answer had no amount (the field was absent
// or null).
type Decimal string

// UnmarshalJSON accepts a JSON number or a JSON string holding a decimal
// number, optionally with surrounding spaces and a "$" before the digits
// (after any sign). It keeps the digits as sent, dropping only the spaces,
// the "$" and a leading "+". JSON null leaves the Decimal unchanged. Anything
// else ("abc", "", true, an object) is an error wrapping
// ErrUnexpectedResponse.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	text, kind, err := jsonScalar(b, "a decimal number")
	if err != nil || kind == scalarNull {
		return err
	}
	v, ok := parseDecimal(text)
	if !ok {
		return fmt.Errorf("%w: not a decimal number: %s", ErrUnexpectedResponse, quoteExcerpt(text))
	}
	*d = Decimal(v)
	return nil
}

// parseDecimal normalises "$1.5", "-$1.5", "$-1.5" and "+1.5" and checks that
// what is left is a decimal number.
func parseDecimal(s string) (string, bool) {
	sign := ""
	if s != "" && (s[0] == '-' || s[0] == '+') {
		sign, s = s[:1], s[1:]
	}
	if strings.HasPrefix(s, "$") {
		s = s[1:]
		if sign == "" && s != "" && (s[0] == '-' || s[0] == '+') {
			sign, s = s[:1], s[1:]
		}
	}
	if s == "" || s[0] == '-' || s[0] == '+' || !isDecimal(s) {
		return "", false
	}
	if sign == "+" {
		sign = ""
	}
	return sign + s, true
}

// MarshalJSON writes the Decimal as a JSON string, so that its digits
// survive decoders that would read a number as a float. The zero Decimal is
// written as null. A Decimal that is not a decimal number (set by hand) is an
// error wrapping ErrInvalidArgument.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	if !isDecimal(string(d)) {
		return nil, invalidArgument("decimal %s is not a number", quoteExcerpt(string(d)))
	}
	return json.Marshal(string(d))
}

// Float64 returns the amount as a float64, for computing; the Decimal itself
// keeps the exact digits. It returns an error wrapping ErrInvalidArgument
// when the Decimal is empty (no amount was sent), is not a decimal number, or
// is out of float64's range.
func (d Decimal) Float64() (float64, error) {
	if d == "" {
		return 0, invalidArgument("empty decimal: the answer had no amount")
	}
	s := string(d)
	if !isDecimal(s) {
		return 0, invalidArgument("decimal %s is not a number", quoteExcerpt(s))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, invalidArgument("decimal %s is out of range for a float64", quoteExcerpt(s))
	}
	return v, nil
}

// String returns the digits as the API sent them.
func (d Decimal) String() string { return string(d) }
