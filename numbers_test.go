package nebula

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestFlexInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json string
		want       int
	}{
		// The docs' examples.
		{"cpu_cores in the list", `28`, 28},
		{"cpu_cores in the detail", `"28"`, 28},
		{"ram in the detail", `"58"`, 58},
		{"gpu_count", `1`, 1},
		{"ephemeral zero", `0`, 0},
		{"context_length", `32768`, 32768},
		{"context_length null", `null`, 0},
		{"total_instance", `1`, 1},
		// Other accepted forms.
		{"empty string", `""`, 0},
		{"spaces", `" 28 "`, 28},
		{"negative", `-3`, -3},
		{"negative string", `"-3"`, -3},
		{"plus string", `"+3"`, 3},
		{"zero fraction", `28.0`, 28},
		{"zero fraction string", `"100.00"`, 100},
		{"max int", strconv.Itoa(math.MaxInt), math.MaxInt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got flexInt
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.json, err)
			}
			if int(got) != tt.want {
				t.Errorf("Unmarshal(%s) = %d, want %d", tt.json, got, tt.want)
			}
		})
	}
}

func TestFlexIntErrors(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`28.5`, `"28.5"`, `1e3`, `"1e3"`, `"28 cores"`, `"abc"`, `"0x1c"`, `"1_000"`,
		`"--1"`, `"+-1"`, `"."`, `"-"`, `".0"`, `true`, `{}`, `[]`, ``,
		`"99999999999999999999999"`, `99999999999999999999999`,
	} {
		n := flexInt(7)
		err := n.UnmarshalJSON([]byte(raw))
		if !errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("UnmarshalJSON(%s) = %v, want ErrUnexpectedResponse", raw, err)
		}
		if n != 7 {
			t.Errorf("a failed decode of %s changed the value to %d", raw, n)
		}
	}
}

func TestFlexIntNullKeepsValue(t *testing.T) {
	t.Parallel()
	n := flexInt(7)
	if err := n.UnmarshalJSON([]byte("null")); err != nil || n != 7 {
		t.Errorf("null: %d, %v", n, err)
	}
}

func TestFlexFloat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json string
		want       float64
	}{
		{"inference timing", `13.366829872131348`, 13.366829872131348},
		{"string", `"1.5"`, 1.5},
		{"integer", `58`, 58},
		{"integer string", `"58"`, 58},
		{"exponent", `1e-05`, 0.00001},
		{"negative", `"-0.25"`, -0.25},
		{"null", `null`, 0},
		{"empty string", `""`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got flexFloat
			if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.json, err)
			}
			if float64(got) != tt.want {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.json, got, tt.want)
			}
		})
	}
}

func TestFlexFloatErrors(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`"NaN"`, `"Inf"`, `"-Infinity"`, `"0x1p3"`, `"1_0"`, `"1.5 GB"`, `"abc"`,
		`"1e400"`, `1e400`, `true`, `{}`, `[]`, `"."`,
	} {
		f := flexFloat(7)
		err := f.UnmarshalJSON([]byte(raw))
		if !errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("UnmarshalJSON(%s) = %v, want ErrUnexpectedResponse", raw, err)
		}
		if f != 7 {
			t.Errorf("a failed decode of %s changed the value to %v", raw, f)
		}
	}
}

func TestNumberErrorsQuoteShortExcerpt(t *testing.T) {
	t.Parallel()
	raw := []byte(`"12x ak_0123456789abcdef ` + strings.Repeat("1", 200) + `"`)
	var n flexInt
	var f flexFloat
	for _, err := range []error{n.UnmarshalJSON(raw), f.UnmarshalJSON(raw)} {
		if err == nil {
			t.Fatal("no error")
		}
		if len(err.Error()) > 120 || strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("error too long or quoting a key: %q", err)
		}
	}
}
