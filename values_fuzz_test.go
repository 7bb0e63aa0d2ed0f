package nebula

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Fuzz targets for the value types; CI can run each briefly:
//
//	go test -run '^$' -fuzz '^FuzzDecimal$' -fuzztime 20s .
//	go test -run '^$' -fuzz '^FuzzAPITime$' -fuzztime 20s .
//	go test -run '^$' -fuzz '^FuzzFlexNumbers$' -fuzztime 20s .

// valueSeeds are the docs' own values for amounts, times and counts, and
// near misses.
var valueSeeds = []string{
	`"1228.55600"`, `0.679`, `"$0.0000"`, `9.8682`, `229.95`, `0`, `0.009`, `1.0`,
	`"1730847667"`, `"1730847956"`, `"EST 2024-10-23 10:24:21"`, `"EST 2024-11-04 10:11:50"`,
	`1740432179`, `"2024-11-06T10:24:21Z"`, `"2024-11-06 10:24:21"`,
	`28`, `"28"`, `"58"`, `32768`, `null`, `""`, `"0.0000 hours"`, `true`, `{}`, `"abc"`,
}

// maxValueErrorLen bounds every value error: the excerpt and a fixed text.
const maxValueErrorLen = 160

func FuzzDecimal(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decimal
		if err := d.UnmarshalJSON(b); err != nil {
			if !errors.Is(err, ErrUnexpectedResponse) || len(err.Error()) > maxValueErrorLen {
				t.Fatalf("error %q", err)
			}
			return
		}
		if d == "" { // null
			return
		}
		if !isDecimal(string(d)) {
			t.Fatalf("decoded %q, not a decimal", d)
		}
		if _, err := d.Float64(); err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Float64: %v", err)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Marshal(%q): %v", d, err)
		}
		var back Decimal
		if err := json.Unmarshal(out, &back); err != nil || back != d {
			t.Fatalf("round trip of %q = %q, %v", d, back, err)
		}
	})
}

func FuzzAPITime(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v, general apiTime
		err := v.UnmarshalJSON(b)
		// UnmarshalJSON's shortcut for the docs' forms decides as the
		// general path does.
		generalErr := general.unmarshalScalar(b)
		if (err == nil) != (generalErr == nil) || !v.Equal(general.Time) || v.Location() != general.Location() {
			t.Fatalf("UnmarshalJSON(%q) = %v, %v; the general path gives %v, %v", b, v.Time, err, general.Time, generalErr)
		}
		if err != nil {
			if !errors.Is(err, ErrUnexpectedResponse) || len(err.Error()) > maxValueErrorLen {
				t.Fatalf("error %q", err)
			}
			return
		}
		if v.IsZero() {
			return
		}
		if v.Location() != time.UTC {
			t.Fatalf("decoded %v, not in UTC", v.Time)
		}
		// Whatever decodes must survive the round trip through RFC 3339.
		out, err := json.Marshal(v)
		if err != nil {
			return // a year time.Time cannot marshal, e.g. an offset that left 0..9999
		}
		var back apiTime
		if err := json.Unmarshal(out, &back); err != nil || !back.Equal(v.Time) {
			t.Fatalf("round trip of %v via %s = %v, %v", v.Time, out, back.Time, err)
		}
	})
}

func FuzzFlexNumbers(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n flexInt
		if err := n.UnmarshalJSON(b); err != nil {
			if !errors.Is(err, ErrUnexpectedResponse) || len(err.Error()) > maxValueErrorLen {
				t.Fatalf("flexInt error %q", err)
			}
		}
		var x flexFloat
		if err := x.UnmarshalJSON(b); err != nil {
			if !errors.Is(err, ErrUnexpectedResponse) || len(err.Error()) > maxValueErrorLen {
				t.Fatalf("flexFloat error %q", err)
			}
			// Every integer is also a number.
			if n != 0 {
				t.Fatalf("%q is the integer %d but not a number: %v", b, n, err)
			}
		}
	})
}
