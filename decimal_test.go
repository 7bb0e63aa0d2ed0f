package nebula

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecimalUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json string
		want       Decimal
	}{
		// Every amount form in the docs' examples.
		{"credit balance string", `"1228.55600"`, "1228.55600"},
		{"instance price number", `0.679`, "0.679"},
		{"instance total_cost dollars", `"$0.0000"`, "0.0000"},
		{"product price 1.0", `1.0`, "1.0"},
		{"product price", `2.627`, "2.627"},
		{"credit_balance", `9.8682`, "9.8682"},
		{"serverless_amount", `0.0`, "0.0"},
		{"invoice price", `229.95`, "229.95"},
		{"invoice price one decimal", `11.5`, "11.5"},
		{"model price integer", `0`, "0"},
		{"model price", `0.009`, "0.009"},
		// Other decimal forms.
		{"exponent as Python writes it", `1e-05`, "1e-05"},
		{"negative number", `-2.5`, "-2.5"},
		{"negative string", `"-2.5"`, "-2.5"},
		{"surrounding spaces", `"  12.50  "`, "12.50"},
		{"negative dollars", `"-$3.10"`, "-3.10"},
		{"dollar then sign", `"$-3.10"`, "-3.10"},
		{"plus dropped", `"+7"`, "7"},
		{"no leading digit", `".5"`, ".5"},
		{"many digits kept", `"0.100000000000000000000000001"`, "0.100000000000000000000000001"},
		{"big number kept", `123456789012345678901234567890.5`, "123456789012345678901234567890.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d Decimal
			if err := json.Unmarshal([]byte(tt.json), &d); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.json, err)
			}
			if d != tt.want {
				t.Errorf("Unmarshal(%s) = %q, want %q", tt.json, d, tt.want)
			}
		})
	}
}

func TestDecimalUnmarshalInStruct(t *testing.T) {
	t.Parallel()
	// The instance detail example of the docs, reduced to its amounts.
	body := `{"price_per_hour": 0.679, "total_cost": "$0.0000", "missing": null}`
	var v struct {
		PricePerHour Decimal `json:"price_per_hour"`
		TotalCost    Decimal `json:"total_cost"`
		Missing      Decimal `json:"missing"`
		Absent       Decimal `json:"absent"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if v.PricePerHour != "0.679" || v.TotalCost != "0.0000" || v.Missing != "" || v.Absent != "" {
		t.Errorf("got %+v", v)
	}
}

func TestDecimalUnmarshalNullKeepsValue(t *testing.T) {
	t.Parallel()
	d := Decimal("1.5")
	if err := d.UnmarshalJSON([]byte("null")); err != nil {
		t.Fatal(err)
	}
	if d != "1.5" {
		t.Errorf("null changed the Decimal to %q", d)
	}
}

func TestDecimalUnmarshalErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, json string }{
		{"text", `"abc"`},
		{"empty string", `""`},
		{"blank string", `"   "`},
		{"true", `true`},
		{"false", `false`},
		{"object", `{}`},
		{"array", `[1]`},
		{"dollar only", `"$"`},
		{"two dollars", `"$$1"`},
		{"two signs", `"--1"`},
		{"sign both sides of dollar", `"-$-1"`},
		{"unit", `"0.0000 hours"`},
		{"thousands separator", `"1,228.55"`},
		{"NaN", `"NaN"`},
		{"Inf", `"Inf"`},
		{"hex float", `"0x1p3"`},
		{"underscore", `"1_000"`},
		{"dot only", `"."`},
		{"dangling exponent", `"1e"`},
		{"trailing text", `"1.5x"`},
		{"dollar after", `"1.5$"`},
		{"nothing", ``},
		{"malformed string", `"abc`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Decimal("9")
			err := d.UnmarshalJSON([]byte(tt.json))
			if !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("UnmarshalJSON(%s) = %v, want ErrUnexpectedResponse", tt.json, err)
			}
			if d != "9" {
				t.Errorf("a failed decode changed the Decimal to %q", d)
			}
		})
	}
}

func TestDecimalErrorQuotesShortExcerpt(t *testing.T) {
	t.Parallel()
	long := `"` + strings.Repeat("x", 5000) + "\x01ak_secretsecretsecret" + `"`
	var d Decimal
	err := d.UnmarshalJSON([]byte(long))
	if err == nil {
		t.Fatal("no error")
	}
	if len(err.Error()) > 200 {
		t.Errorf("error is %d bytes long", len(err.Error()))
	}
	key := `"ak_secretsecretsecret"`
	err = d.UnmarshalJSON([]byte(key))
	if err == nil || strings.Contains(err.Error(), "secretsecret") {
		t.Errorf("error %v quotes an API key", err)
	}
}

func TestDecimalFloat64(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    Decimal
		want float64
	}{
		{"1228.55600", 1228.556},
		{"0.679", 0.679},
		{"0.0000", 0},
		{"-3.10", -3.1},
		{"1e-05", 0.00001},
		{"0", 0},
	}
	for _, tt := range tests {
		got, err := tt.d.Float64()
		if err != nil || got != tt.want {
			t.Errorf("Decimal(%q).Float64() = %v, %v; want %v", tt.d, got, err, tt.want)
		}
	}
	for _, bad := range []Decimal{"", "abc", "NaN", "Inf", "0x1p3", "1e400", "$1"} {
		if got, err := bad.Float64(); !errors.Is(err, ErrInvalidArgument) || got != 0 {
			t.Errorf("Decimal(%q).Float64() = %v, %v; want ErrInvalidArgument", bad, got, err)
		}
	}
}

func TestDecimalMarshal(t *testing.T) {
	t.Parallel()
	v := struct {
		A Decimal `json:"a"`
		B Decimal `json:"b"`
	}{A: "1228.55600"}
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"a":"1228.55600","b":null}` {
		t.Errorf("Marshal = %s", got)
	}
	var back struct {
		A Decimal `json:"a"`
		B Decimal `json:"b"`
	}
	if err := json.Unmarshal(got, &back); err != nil || back != v {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, v)
	}
	if _, err := json.Marshal(Decimal("abc")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Marshal(abc) error = %v, want ErrInvalidArgument", err)
	}
	if s := Decimal("0.679").String(); s != "0.679" {
		t.Errorf("String() = %q", s)
	}
}
