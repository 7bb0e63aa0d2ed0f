package nebula

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// apiTime decodes every form of time the API's docs show. Wire structs use
// it; public types carry the time.Time. Every decoded time is in UTC.
//
// Accepted (see the table in docs/values.md, "Times"):
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
// "" decodes to the zero time (absent); JSON null leaves the value unchanged,
// which in a freshly decoded struct is the zero time. Anything else, including a
// zone this table does not know, is an error wrapping ErrUnexpectedResponse
// that quotes at most a short excerpt of the value.
type apiTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *apiTime) UnmarshalJSON(b []byte) error {
	// The docs' forms are read where they lie: the string conversion does
	// not escape, so it costs no allocation. jsonScalar would give
	// parseAPITime the same text (these forms hold no escapes or spaces at
	// either end), and parseAPITime tries parseDocTime first.
	if len(b) > 2 && b[0] == '"' && b[len(b)-1] == '"' {
		if v, ok := parseDocTime(string(b[1 : len(b)-1])); ok {
			t.Time = v
			return nil
		}
	}
	return t.unmarshalScalar(b)
}

// unmarshalScalar decodes any accepted form: a JSON string, number or null.
func (t *apiTime) unmarshalScalar(b []byte) error {
	text, kind, err := jsonScalar(b, "a time")
	if err != nil || kind == scalarNull { // null is a no-op, as for time.Time
		return err
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
	if t, ok := parseDocTime(s); ok {
		return t, nil
	}
	return parseAPITimeSlow(s)
}

// parseAPITimeSlow tries every accepted form in turn; parseAPITime first
// tries the docs' own forms without it.
func parseAPITimeSlow(s string) (time.Time, error) {
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

// parseDocTime reads the forms the docs print on every SSH key, instance,
// credit entry and invoice ("EST 2024-10-23 10:24:21", and the same with
// the zone after, or none) directly, without the failing time.Parse calls
// that trying each form in turn costs (four per time, most of a List's
// decoding). It reports false for anything else, including a value of the
// right shape that is out of range, and parseAPITimeSlow then decides: it
// accepts exactly what parseDocTime accepts, with the same result, so the
// fast path changes neither the accepted forms nor the errors.
func parseDocTime(s string) (time.Time, bool) {
	offset := 0
	switch {
	case len(s) == wallClockLen:
	case len(s) == wallClockLen+4 && s[3] == ' ':
		o, ok := zoneOffset(s[:3])
		if !ok {
			return time.Time{}, false
		}
		offset, s = o, s[4:]
	case len(s) == wallClockLen+4 && s[wallClockLen] == ' ':
		o, ok := zoneOffset(s[wallClockLen+1:])
		if !ok {
			return time.Time{}, false
		}
		offset, s = o, s[:wallClockLen]
	default:
		return time.Time{}, false
	}
	// "2006-01-02 15:04:05" or "2006-01-02T15:04:05".
	if s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // the 31st of a 30-day month, the 29th of February in other years
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

// wallClockLen is the length of "2006-01-02 15:04:05".
const wallClockLen = 19

// digits reads s, ASCII digits only, as a number.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
