package nebula

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustUTC(t *testing.T, rfc3339 string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAPITimeForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json string
		want       string // RFC 3339 in UTC; "" for the zero time
	}{
		// The docs' examples.
		{"SSH key create_time unix string", `"1730847667"`, "2024-11-05T23:01:07Z"},
		{"SSH key rename create_time", `"1730847956"`, "2024-11-05T23:05:56Z"},
		{"SSH key list EST", `"EST 2024-10-23 10:24:21"`, "2024-10-23T15:24:21Z"},
		{"SSH key list EST next day", `"EST 2024-10-24 10:24:21"`, "2024-10-24T15:24:21Z"},
		{"instance start_time", `"EST 2024-11-04 10:11:50"`, "2024-11-04T15:11:50Z"},
		{"credit create_time", `"EST 2024-10-10 06:54:58"`, "2024-10-10T11:54:58Z"},
		{"credit update_time", `"EST 2024-10-10 07:54:58"`, "2024-10-10T12:54:58Z"},
		{"invoiced_time", `"EST 2024-10-29 14:19:32"`, "2024-10-29T19:19:32Z"},
		{"invoiced_time past midnight UTC", `"EST 2024-12-31 21:30:00"`, "2025-01-01T02:30:00Z"},
		{"chat created unix number", `1740432179`, "2025-02-24T21:22:59Z"},
		// The other forms PLATFORM.md and the zone labels allow.
		{"EDT", `"EDT 2024-10-23 10:24:21"`, "2024-10-23T14:24:21Z"},
		{"UTC prefix", `"UTC 2024-10-23 10:24:21"`, "2024-10-23T10:24:21Z"},
		{"GMT prefix", `"GMT 2024-10-23 10:24:21"`, "2024-10-23T10:24:21Z"},
		{"zone after", `"2024-10-23 10:24:21 EST"`, "2024-10-23T15:24:21Z"},
		{"zone with fraction", `"EST 2024-10-23 10:24:21.250"`, "2024-10-23T15:24:21.25Z"},
		{"no zone is UTC", `"2024-10-23 10:24:21"`, "2024-10-23T10:24:21Z"},
		{"no zone with T", `"2024-11-06T10:24:21"`, "2024-11-06T10:24:21Z"},
		{"no zone with fraction", `"2024-11-06T10:24:21.123456"`, "2024-11-06T10:24:21.123456Z"},
		{"RFC 3339 Z", `"2024-11-06T10:24:21Z"`, "2024-11-06T10:24:21Z"},
		{"RFC 3339 offset", `"2024-11-06T10:24:21-05:00"`, "2024-11-06T15:24:21Z"},
		{"RFC 3339 fraction", `"2024-11-06T10:24:21.5+01:00"`, "2024-11-06T09:24:21.5Z"},
		{"space and offset (Python str)", `"2024-11-06 10:24:21+00:00"`, "2024-11-06T10:24:21Z"},
		{"unix string with fraction", `"1730847667.5"`, "2024-11-05T23:01:07.5Z"},
		{"unix number with fraction", `1730847667.123456789`, "2024-11-05T23:01:07.123456789Z"},
		{"unix fraction beyond nanoseconds", `"1730847667.1234567891"`, "2024-11-05T23:01:07.123456789Z"},
		{"spaces around", `"  1730847667 "`, "2024-11-05T23:01:07Z"},
		{"one second", `1`, "1970-01-01T00:00:01Z"},
		{"last second of 9999", `253402300799`, "9999-12-31T23:59:59Z"},
		// Absent.
		{"null", `null`, ""},
		{"empty string", `""`, ""},
		{"blank string", `"  "`, ""},
		{"unix zero", `0`, ""},
		{"unix zero string", `"0"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got apiTime
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.json, err)
			}
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("Unmarshal(%s) = %v, want the zero time", tt.json, got.Time)
				}
				return
			}
			want := mustUTC(t, tt.want)
			if !got.Equal(want) {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.json, got.Time, want)
			}
			if got.Location() != time.UTC {
				t.Errorf("Unmarshal(%s) is in %v, want UTC", tt.json, got.Location())
			}
		})
	}
}

func TestAPITimeInStruct(t *testing.T) {
	t.Parallel()
	// An entry of the docs' credit history.
	body := `{"user_id": 266, "create_time": "EST 2024-10-10 06:54:58", "update_time": null}`
	var v struct {
		CreateTime apiTime `json:"create_time"`
		UpdateTime apiTime `json:"update_time"`
		Missing    apiTime `json:"missing"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if want := mustUTC(t, "2024-10-10T11:54:58Z"); !v.CreateTime.Equal(want) {
		t.Errorf("create_time = %v, want %v", v.CreateTime.Time, want)
	}
	if !v.UpdateTime.IsZero() || !v.Missing.IsZero() {
		t.Errorf("absent times = %v, %v", v.UpdateTime.Time, v.Missing.Time)
	}
}

func TestAPITimeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, json string }{
		{"text", `"yesterday"`},
		{"unknown zone", `"PST 2024-10-23 10:24:21"`},
		{"lowercase zone", `"est 2024-10-23 10:24:21"`},
		{"zone only", `"EST"`},
		{"date only", `"2024-10-23"`},
		{"no seconds", `"2024-10-23 10:24"`},
		{"American date", `"10/23/2024 10:24:21"`},
		{"impossible date", `"2024-02-30 10:24:21"`},
		{"impossible hour", `"EST 2024-10-23 25:24:21"`},
		{"trailing text", `"2024-10-23 10:24:21 foo bar"`},
		{"negative unix", `-1`},
		{"negative unix string", `"-1730847667"`},
		{"milliseconds", `1730847667000`},
		{"exponent", `1.730847667e9`},
		{"unix with text", `"1730847667abc"`},
		{"two dots", `"1730847667.5.5"`},
		{"huge", `"99999999999999999999999"`},
		{"true", `true`},
		{"object", `{}`},
		{"array", `[]`},
		{"malformed string", `"2024`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := mustUTC(t, "2020-01-01T00:00:00Z")
			got := apiTime{before}
			err := got.UnmarshalJSON([]byte(tt.json))
			if !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("UnmarshalJSON(%s) = %v, want ErrUnexpectedResponse", tt.json, err)
			}
			if !got.Equal(before) {
				t.Errorf("a failed decode changed the time to %v", got.Time)
			}
		})
	}
}

func TestAPITimeErrorQuotesShortExcerpt(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`"` + strings.Repeat("9", 3000) + `"`,
		`"` + strings.Repeat("A", 3000) + ` 2024-10-23 10:24:21"`,
		`"EST \u0000\u001b[31m` + strings.Repeat("z", 3000) + `"`,
		`"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"`,
	} {
		var v apiTime
		err := v.UnmarshalJSON([]byte(raw))
		if err == nil {
			t.Fatalf("UnmarshalJSON(%.40s...) succeeded", raw)
		}
		msg := err.Error()
		if len(msg) > 150 {
			t.Errorf("error is %d bytes long: %.200s", len(msg), msg)
		}
		if strings.ContainsAny(msg, "\x00\x1b") || strings.Contains(msg, "eyJzdWIi") {
			t.Errorf("error quotes unprintable or secret text: %q", msg)
		}
	}
}

func TestAPITimeMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	// Wire structs are never sent, but nothing should stop a test fake from
	// echoing one: the default encoding (RFC 3339) must decode back.
	want := apiTime{mustUTC(t, "2024-10-23T15:24:21.5Z")}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got apiTime
	if err := json.Unmarshal(b, &got); err != nil || !got.Equal(want.Time) {
		t.Errorf("round trip of %s = %v, %v", b, got.Time, err)
	}
}

// parseDocTime is only a shortcut: whatever it accepts, the full parser
// accepts with the same result, and what it leaves is decided by the full
// parser as before (TestAPITimeForms and FuzzAPITime cover those).
func FuzzParseDocTime(f *testing.F) {
	for _, s := range []string{
		"EST 2024-10-23 10:24:21", "2024-10-23 10:24:21 EDT", "UTC 2024-10-23T10:24:21",
		"2024-10-23 10:24:21", "2024-02-29 23:59:59", "2023-02-29 10:00:00", "2024-04-31 10:00:00",
		"2024-13-01 10:00:00", "2024-10-23 24:00:00", "2024-10-23 10:60:00", "2024-10-23 10:00:60",
		"PST 2024-10-23 10:24:21", "0000-01-01 00:00:00", "9999-12-31 23:59:59 EST", "2024-10-23x10:24:21",
		"2024-1a-23 10:24:21", "EST  2024-10-23 10:24:2", "+024-10-23 10:24:21", "2024-10-23 -1:24:21",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseDocTime(s)
		if !ok {
			return
		}
		slow, err := parseAPITimeSlow(s)
		if err != nil || !slow.Equal(fast) || fast.Location() != time.UTC {
			t.Fatalf("parseDocTime(%q) = %v, but the full parser gives %v, %v", s, fast, slow, err)
		}
	})
}

// The docs' forms take the shortcut; the test above shows the shortcut
// agrees with the full parser, this one that it is taken.
func TestDocTimesTakeTheShortcut(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"EST 2024-10-23 10:24:21", "2024-10-23 10:24:21 EDT", "GMT 2024-10-23 10:24:21", "2024-11-06T10:24:21", "2024-02-29 10:24:21"} {
		if _, ok := parseDocTime(s); !ok {
			t.Errorf("parseDocTime(%q) declined a documented form", s)
		}
	}
	for _, s := range []string{"2023-02-29 10:24:21", "2024-10-23 24:00:00", "PST 2024-10-23 10:24:21", "EST 2024-10-23 10:24:21.5", "1730847667"} {
		if _, ok := parseDocTime(s); ok {
			t.Errorf("parseDocTime(%q) accepted a value it must leave to the full parser", s)
		}
	}
}

// BenchmarkParseAPITime times one time of each family:
//
//	go test -run '^$' -bench ParseAPITime -benchmem .
func BenchmarkParseAPITime(b *testing.B) {
	for _, s := range []string{"EST 2024-10-23 10:24:21", "2024-10-23 10:24:21", "2024-11-06T10:24:21Z", "1730847667"} {
		b.Run(strings.ReplaceAll(s, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := parseAPITime(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
