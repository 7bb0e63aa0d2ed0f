package nebula

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf16"
)

// escapeRune writes r in one of the escapes servers use, chosen by style.
func escapeRune(r rune, style int) string {
	utf := string(r)
	switch style % 9 {
	case 0: // as it is
		return utf
	case 1: // URL, upper case
		return strings.ToUpper(pctBytes(utf))
	case 2: // URL, lower case
		return strings.ToLower(pctBytes(utf))
	case 3: // JSON \u, lower case
		return jsonU(r, "\\u%04x")
	case 4: // JSON \u, upper case
		return jsonU(r, "\\u%04X")
	case 5: // HTML decimal
		return fmt.Sprintf("&#%d;", r)
	case 6: // HTML hex, as html/template and OWASP's encoder write it
		return fmt.Sprintf("&#x%X;", r)
	case 7: // HTML hex, lower case
		return fmt.Sprintf("&#x%x;", r)
	default: // the named references and JSON's short escapes where there are some
		switch r {
		case '&':
			return "&amp;"
		case '<':
			return "&lt;"
		case '"':
			return `\"`
		case '/':
			return `\/`
		case '\\':
			return `\\`
		case ' ':
			return "+"
		}
		return utf
	}
}

func pctBytes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func jsonU(r rune, format string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune{r}) {
		fmt.Fprintf(&b, format, u)
	}
	return b.String()
}

// A secret echoed with any mixture of escapes, each character its own way,
// is redacted whole: a list of whole escaped forms missed html/template's
// "&#43;" beside plain text, Python's quote (which keeps '/'), lower-case
// "%2f", and .NET's "\u002B".
func TestRedactSecretsFindsAnyMixtureOfEscapes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	secrets := []string{"zqxv+Plover/7781=mint", `p"ä&ss w\örd<1>`, "a%b%25c+d", `\\\\\\\\\\\\\\\\\\\\\\\\`, "🔑-key-Ω-2024"}
	for i := 0; i < 5000; i++ {
		secret := secrets[rng.IntN(len(secrets))]
		var echoed strings.Builder
		for _, r := range secret {
			echoed.WriteString(escapeRune(r, rng.IntN(9)))
		}
		text := "token " + echoed.String() + " refused; " + echoed.String()
		got := redactSecrets(text, knownSecrets([]string{secret}))
		if want := "token " + redactedText + " refused; " + redactedText; got != want {
			t.Fatalf("secret %q echoed as %q: redacted to %q, want %q", secret, echoed.String(), got, want)
		}
	}
}

func TestRedactSecretsCases(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ secret, text, want string }{
		{"zqxv+Plover-7781-mint", "zqxv&#43;Plover-7781-mint", redactedText},
		{"zqxv/Plover-7781-mint", "x zqxv&#x2F;Plover-7781-mint y", "x " + redactedText + " y"},
		{"zqxv/Plover+7781=mint", "zqxv/Plover%2B7781%3Dmint", redactedText},
		{"zqxv/Plover-7781-mint", "zqxv%2fPlover-7781-mint", redactedText},
		{"zqxv+Plover-7781-mint", `"title":"token zqxv\u002BPlover-7781-mint refused"`, `"title":"token ` + redactedText + ` refused"`},
		// a secret holding '%' against its escape, and against itself
		{"a%b%25c", "a%25b%2525c and a%b%25c", redactedText + " and " + redactedText},
		// almost: one character wrong, or cut short
		{"zqxv+Plover-7781-mint", "zqxv&#43;Plover-7781-mins zqxv%2BPlover-7781-min", "zqxv&#43;Plover-7781-mins zqxv%2BPlover-7781-min"},
		// escapes that decode to nothing known are left alone
		{"zqxv+Plover-7781-mint", "&#xZZ; &#99999999; %zz \\u12 &bogus;", "&#xZZ; &#99999999; %zz \\u12 &bogus;"},
	} {
		if got := redactSecrets(tt.text, knownSecrets([]string{tt.secret})); got != tt.want {
			t.Errorf("redactSecrets(%q) with secret %q = %q, want %q", tt.text, tt.secret, got, tt.want)
		}
	}
}

// Backslashes can be read one at a time or in pairs: a secret of many,
// against a text of many, is searched in bounded work. Each state of the
// search is visited once (it was visited once per path, |secret|³ a start),
// and the whole text has a budget past which the rest is redacted: 64 KiB
// of backslashes took three minutes.
func TestRedactSecretsBoundedWork(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat(`\`, 30) + "Y"
	known := knownSecrets([]string{secret})
	text := strings.Repeat(`\`, 400) + "X"
	if got, exhausted := redactSpelledWithin(text, known, 1<<20); got != text || exhausted {
		t.Errorf("redacted %.40q (budget exhausted: %v), want it unchanged within 2^20 steps", got, exhausted)
	}
	if got := redactSecrets(strings.Repeat(`\`, 400)+"Y", known); !strings.HasSuffix(got, redactedText) || strings.Contains(got, "Y") {
		t.Errorf("not redacted: %q", got)
	}
	secret = strings.Repeat(`\`, 200) + "Y"
	known = knownSecrets([]string{secret})
	// Past the budget, the rest is redacted: no part of the secret shows.
	big := "start " + strings.Repeat(`\`, 64<<10) + "Y end"
	got, exhausted := redactSpelledWithin(big, known, maxRedactSteps)
	if !exhausted || !strings.HasPrefix(got, "start "+`\`) || !strings.HasSuffix(got, redactedText) {
		t.Errorf("64 KiB of backslashes: exhausted %v, got %.60q...%q", exhausted, got, got[max(0, len(got)-20):])
	}
}

// A secret that begins inside another's run is redacted with it: the end
// of the longer one showed ("tok [REDACTED]4567 end").
func TestRedactSecretsOverlapping(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		secrets    []string
		text, want string
	}{
		{[]string{"xyz123", "1234567"}, "tok xyz1234567 end", "tok " + redactedText + " end"},
		{[]string{"1234567", "xyz123"}, "tok xyz1234567 end", "tok " + redactedText + " end"},
		{[]string{"abcd", "cdef", "efgh"}, "-abcdefgh-", "-" + redactedText + "-"},
		{[]string{"abcd", "wxyz"}, "abcd wxyz", redactedText + " " + redactedText},
	} {
		if got := redactSecrets(tt.text, knownSecrets(tt.secrets)); got != tt.want {
			t.Errorf("secrets %q in %q: %q, want %q", tt.secrets, tt.text, got, tt.want)
		}
	}
}

// The token a server echoes escaped reaches neither the error, nor the
// Response (its headers, its JSON), nor an Observer.
func TestEscapedTokenReachesNoOutput(t *testing.T) {
	t.Parallel()
	const token = "zqxv+Plover/7781=mint"
	for _, echoed := range []string{"zqxv&#43;Plover&#x2F;7781&#61;mint", "zqxv%2bPlover/7781%3dmint", `zqxv\u002BPlover\/7781=mint`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", echoed)
			w.Header().Set("X-Echo", "token="+echoed)
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"status":"failed","message":"token `+echoed+` refused"}`)
		}))
		obs := &recordingObserver{}
		c, err := NewClient(WithToken(token), WithBaseURL(srv.URL), WithObserver(obs), WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		var resp Response
		_, err = c.APIKeys.List(context.Background(), WithResponseInto(&resp))
		srv.Close()
		js, _ := json.Marshal(resp)
		for where, text := range map[string]string{
			"error": fmt.Sprintf("%v %+v %#v", err, err, err), "Response": fmt.Sprintf("%+v", resp),
			"Response JSON": string(js), "observer": obs.everything(),
		} {
			if strings.Contains(text, "Plover") {
				t.Errorf("echoed as %q: %s shows the token: %s", echoed, where, text)
			}
		}
	}
}
