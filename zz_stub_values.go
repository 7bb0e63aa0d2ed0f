// Temporary copy of branch values' types (ListOptions, Page, Decimal, apiTime,
// flexInt, flexFloat) so that this branch compiles until values is merged.
// Deleted in the merge commit.

package nebula

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-querystring/query"
)

// ListOptions pages a list call: limit/offset query parameters, encoded with
// go-querystring. Zero values are omitted (the API's defaults apply: the
// docs give a limit of 100 and an offset of 0). A negative Limit or Offset
// makes the call fail with ErrInvalidArgument before anything is sent.
type ListOptions struct {
	Limit  int `url:"limit,omitempty"`
	Offset int `url:"offset,omitempty"`
}

// Page is one page of a list call.
type Page[T any] struct {
	Items []T
	// Total is the API's total_* count. Should an answer carry none, it is
	// the number of items known so far (the offset plus this page), which
	// is exact on the last page.
	Total int
	// Next asks for the page after this one; it is nil on the last page.
	Next *ListOptions
}

// defaultPageSize is the page size All walks with, the API's documented
// default limit.
const defaultPageSize = 100

// check refuses options the API cannot mean.
func (o ListOptions) check() error {
	if o.Limit < 0 {
		return invalidArgument("list limit %d is negative", o.Limit)
	}
	if o.Offset < 0 {
		return invalidArgument("list offset %d is negative", o.Offset)
	}
	return nil
}

// query encodes the options as a query string without the "?", "" when both
// are zero. It returns the error of check.
func (o ListOptions) query() (string, error) {
	if err := o.check(); err != nil {
		return "", err
	}
	v, err := query.Values(o)
	if err != nil {
		return "", invalidArgument("list options: %v", err)
	}
	return v.Encode(), nil
}

// newPage builds the page for items, the answer to a call made with opts.
// total is nil when the answer had no total_* field; then a page as long as
// the limit asked for is assumed to have a successor, and a shorter one (or
// any page when no limit was asked, since the API's default is not known for
// sure) is the last.
func newPage[T any](items []T, total *int, opts ListOptions) *Page[T] {
	p := &Page[T]{Items: items}
	next := opts.Offset + len(items)
	overflow := next < opts.Offset
	switch {
	case total != nil:
		p.Total = *total
	case overflow:
		p.Total = math.MaxInt
	default:
		p.Total = next
	}
	switch {
	case len(items) == 0, overflow:
		return p
	case total != nil && next >= *total:
		return p
	case total == nil && (opts.Limit == 0 || len(items) < opts.Limit):
		return p
	}
	p.Next = &ListOptions{Limit: opts.Limit, Offset: next}
	return p
}

// allPages walks every page lazily, starting at ListOptions{Limit:
// pageSize}, and yields each item. It holds one page in memory, stops
// fetching as soon as the caller breaks out of the loop, and on the first
// error yields it once (with the zero T) and stops. A server whose Next does
// not move forward ends the walk with an error wrapping
// ErrUnexpectedResponse rather than looping for ever. ctx goes to fetch as
// it is (fetch reports a nil one as ErrInvalidArgument).
func allPages[T any](ctx context.Context, pageSize int, fetch func(context.Context, ListOptions) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		opts := ListOptions{Limit: pageSize}
		for {
			page, err := fetch(ctx, opts)
			if err != nil {
				yield(zero, err)
				return
			}
			if page == nil {
				yield(zero, fmt.Errorf("%w: a list call returned no page", ErrUnexpectedResponse))
				return
			}
			// Only items and next stay live past this point, and only
			// until the next fetch: one page in memory.
			items, next := page.Items, page.Next
			for i := range items {
				if !yield(items[i], nil) {
					return
				}
			}
			if next == nil {
				return
			}
			if next.Offset <= opts.Offset {
				yield(zero, fmt.Errorf("%w: the next page starts at offset %d, not after %d", ErrUnexpectedResponse, next.Offset, opts.Offset))
				return
			}
			opts = *next
		}
	}
}

// apiTime decodes every form of time the API's docs show. Wire structs use
// it; public types carry the time.Time. Every decoded time is in UTC.
//
// Accepted (see the README's table):
//   - unix seconds as a JSON string ("1730847667") or number (1740432179),
//     optionally with a fraction ("1730847667.5"); 0 means absent;
//   - a wall-clock time with a zone abbreviation before or after it
//     ("EST 2024-10-23 10:24:21", "2024-10-23 10:24:21 EST"): EST is UTC-5
//     and EDT UTC-4 as labelled, whatever the date; UTC and GMT are UTC;
//   - a wall-clock time without a zone ("2024-10-23 10:24:21",
//     "2024-10-23T10:24:21"), read as UTC (the SSH key list calls its
//     create_time "the UTC time");
//   - RFC 3339, with or without a fraction, also with a space for the "T".
//
// JSON null and "" leave the zero time (absent). Anything else, including a
// zone this table does not know, is an error wrapping ErrUnexpectedResponse
// that quotes at most a short excerpt of the value.
type apiTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *apiTime) UnmarshalJSON(b []byte) error {
	text, kind, err := jsonScalar(b, "a time")
	if err != nil {
		return err
	}
	if kind == scalarNull {
		t.Time = time.Time{}
		return nil
	}
	v, err := parseAPITime(text)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// maxUnixSeconds is 9999-12-31T23:59:59Z. A larger count is more likely
// milliseconds than seconds, which the docs never show; refusing it beats
// guessing.
const maxUnixSeconds = 253402300799

// zoneOffset gives the offset from UTC, in seconds, of the zone labels the
// API's times carry. They are fixed offsets: the docs print "EST" on dates
// in October, when New York is on EDT, so the label is taken at its word
// rather than as America/New_York.
func zoneOffset(label string) (int, bool) {
	switch label {
	case "EST":
		return -5 * 3600, true
	case "EDT":
		return -4 * 3600, true
	case "UTC", "GMT":
		return 0, true
	}
	return 0, false
}

func parseAPITime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if isDigit(s[0]) && !strings.ContainsAny(s, "-: T") {
		return parseUnix(s)
	}
	if t, ok := parseWallClock(s); ok {
		return t, nil
	}
	// The forms with a numeric offset.
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if zone, rest, ok := splitZone(s); ok {
		offset, known := zoneOffset(zone)
		if !known {
			return time.Time{}, fmt.Errorf("%w: time with an unknown zone: %s", ErrUnexpectedResponse, quoteExcerpt(s))
		}
		if t, ok := parseWallClock(rest); ok {
			return t.Add(-time.Duration(offset) * time.Second), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: time in no known form: %s", ErrUnexpectedResponse, quoteExcerpt(s))
}

// parseWallClock reads a zone-less time as UTC. time.Parse accepts a
// fraction after the seconds even though the layouts do not show one.
func parseWallClock(s string) (time.Time, bool) {
	for _, layout := range [...]string{"2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// splitZone splits "EST 2024-10-23 10:24:21" or "2024-10-23 10:24:21 EST"
// into the zone label and the rest.
func splitZone(s string) (zone, rest string, ok bool) {
	if i := strings.IndexByte(s, ' '); i > 0 && isZoneLabel(s[:i]) {
		return s[:i], strings.TrimSpace(s[i+1:]), true
	}
	if i := strings.LastIndexByte(s, ' '); i > 0 && isZoneLabel(s[i+1:]) {
		return s[i+1:], strings.TrimSpace(s[:i]), true
	}
	return "", "", false
}

func isZoneLabel(s string) bool {
	if len(s) < 2 || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// parseUnix reads unix seconds with an optional fraction, without a float
// round trip so that the nanoseconds are exact.
func parseUnix(s string) (time.Time, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !allDigits(whole) || (hasFrac && !allDigits(frac)) {
		return time.Time{}, fmt.Errorf("%w: time in no known form: %s", ErrUnexpectedResponse, quoteExcerpt(s))
	}
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || secs > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("%w: unix time out of range: %s", ErrUnexpectedResponse, quoteExcerpt(s))
	}
	var nanos int64
	if hasFrac {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		nanos, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if secs == 0 && nanos == 0 {
		return time.Time{}, nil // an unset time written as 0
	}
	return time.Unix(secs, nanos).UTC(), nil
}

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
