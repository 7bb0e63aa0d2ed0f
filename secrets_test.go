package nebula

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Secrets in odd places. The tokens here look like nothing any pattern of
// the scrubber knows (no "ak_", no "eyJ"), so only the scrubbing of the
// call's own credentials can keep them out.
const (
	plainToken    = "Zq8uNpaTTerned7oken4711xyzQ"
	plainPassword = `pä&ss "wörd"<1>`
)

func TestErrorsNeverShowTheCallsOwnToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
		header           map[string]string
	}{
		{"envelope", `{"status":"failed","message":"token ` + plainToken + ` revoked"}`, "token [REDACTED] revoked", nil},
		{"detail", `{"detail":"bad token: ` + plainToken + `"}`, "bad token: [REDACTED]", nil},
		{"html", `<html><title>denied ` + plainToken + `</title></html>`, "denied [REDACTED]", nil},
		{"text", "Bearer " + plainToken, "Bearer [REDACTED]", nil},
		{"escaped in a URL", "from /x?t=" + plainToken + "%20", "from /x?t=[REDACTED]%20", nil},
		{"object message", `{"status":"failed","message":{"token":"` + plainToken + `"}}`, `{"token":"[REDACTED]"}`, nil},
		{"request id", `{"status":"failed","message":"no"}`, "no", map[string]string{"X-Request-Id": plainToken}},
	}
	for _, c := range cases {
		e := newTestEnv(t, WithToken(plainToken))
		e.reply("GET", "/api_keys", answer{status: 403, body: c.body, header: c.header})
		_, err := e.client.APIKeys.List(bg)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Message != c.want {
			t.Errorf("%s: message %q, want %q", c.name, apiErr.Message, c.want)
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v %#v", err, apiErr), apiErr.RequestID} {
			if l, ok := leaks(plainToken, text); ok {
				t.Errorf("%s: %q shows %q", c.name, text, l)
			}
		}
	}
}

func TestKeyValuesRedactedWhole(t *testing.T) {
	t.Parallel()
	// Every character of the key alphabet, "_" and "-" included, is part of
	// the run that is removed.
	key := "ak_a_B-c_D-e_F-g_H-i_J-k_L-m_N-o_P-q_R-s_T-u_V-w"
	got := scrub("key "+key+" revoked; and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln_-x end", nil, 300)
	if want := "key ak_[REDACTED] revoked; and [REDACTED-JWT] end"; got != want {
		t.Fatalf("scrub = %q, want %q", got, want)
	}
}

func TestPasswordEchoedInAnyEscapingNeverShows(t *testing.T) {
	t.Parallel()
	jsonASCII := `p\u00e4&ss \"w\u00f6rd\"<1>`
	jsonGo, _ := json.Marshal(plainPassword)
	bodies := map[string]string{
		"as is, in text":          "wrong password " + plainPassword,
		"JSON, ASCII-only":        `{"status":"failed","message":{"password":"` + jsonASCII + `"}}`,
		"JSON, ASCII upper hex":   `{"status":"failed","message":{"password":"p\u00E4&ss \"w\u00F6rd\"<1>"}}`,
		"JSON, Go's escaping":     `{"status":"failed","message":{"password":` + string(jsonGo) + `}}`,
		"HTML entities":           `<html><body>no user for p&auml;` + `</body></html> ` + `pä&amp;ss &quot;wörd&quot;&lt;1&gt;`,
		"HTML, Python's escaping": `<html><body>pä&amp;ss &quot;wörd&quot;&lt;1&gt;</body></html>`,
		"URL-escaped":             "password=p%C3%A4%26ss+%22w%C3%B6rd%22%3C1%3E",
	}
	for name, body := range bodies {
		e := newTestEnv(t)
		e.reply("POST", "/login", status(400, body))
		_, err := e.client.Auth.Login(bg, "u", plainPassword)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		text := err.Error()
		for _, form := range secretForms([]string{plainPassword}) {
			if strings.Contains(text, form) {
				t.Errorf("%s: %q shows the password as %q", name, text, form)
			}
		}
		if strings.Contains(text, "&ss") || strings.Contains(text, "rd\\\"") {
			t.Errorf("%s: %q shows part of the password", name, text)
		}
	}
}

func TestBaseURLErrorsNeverQuoteACredential(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"https://api.nebula.test/api/v1?api_key=" + plainToken,
		"https://api.nebula.test/api/v1#" + plainToken,
		"https://u:" + plainToken + "@api.nebula.test/api/v1",
		plainToken, // NEBULA_API_URL and NEBULA_API_KEY swapped
		"ak_" + plainToken,
		"http://api.nebula.test/" + plainToken, // plain http to a remote host
		"https://api.nebula.test/%zz" + plainToken,
		"ht tp://" + plainToken,
		"https://" + plainToken + "\x7f/",
	} {
		_, err := NewClient(WithToken(testToken), WithBaseURL(raw))
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: err %v", raw, err)
			continue
		}
		if l, ok := leaks(plainToken, err.Error()); ok {
			t.Errorf("%q: error %q shows %q", raw, err, l)
		}
		_, err = NewClient(WithToken(testToken), withEnv(map[string]string{"NEBULA_API_URL": raw}))
		if _, ok := leaks(plainToken, fmt.Sprint(err)); err == nil || ok {
			t.Errorf("NEBULA_API_URL=%q: error %v", raw, err)
		}
	}
}

func TestIDShapedLikeACredentialIsRefused(t *testing.T) {
	t.Parallel()
	for _, id := range []ID{ID(docsKeyValue), ID(docsLoginJWT), " " + ID(docsKeyValue)} {
		var logs bytes.Buffer
		e := newTestEnv(t, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		rec := e.anyRequest(ok(`{"data":{},"status":"success"}`))
		err := e.client.APIKeys.Delete(bg, id)
		if !errors.Is(err, ErrInvalidArgument) || rec.count() != 0 {
			t.Fatalf("Delete(%.8s...): err %v, %d requests", id, err, rec.count())
		}
		if l, ok := leaks(strings.TrimSpace(string(id))[3:], err.Error()+logs.String()); ok {
			t.Errorf("error %q or log shows %q", err, l)
		}
		if _, err := e.client.APIKeys.Rotate(bg, id, CreateAPIKeyRequest{Name: "n"}); !errors.Is(err, ErrInvalidArgument) || rec.count() != 0 {
			t.Fatalf("Rotate: err %v, %d requests", err, rec.count())
		}
	}
	// Ordinary IDs still pass.
	for _, id := range []ID{"5", "9a4d7961-3274-4479-a20b-10f57f9bc75a", "akimbo", "eyJ-not-a-jwt"} {
		if _, err := escapeID("API key ID", id); err != nil {
			t.Errorf("escapeID(%q): %v", id, err)
		}
	}
}

func TestTransportErrorsNeverShowTheQuery(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port nobody listens on: the dial is refused
	var logs bytes.Buffer
	c, err := NewClient(WithToken(plainToken), WithBaseURL("http://"+addr+"/api/v1"), WithMaxRetries(1),
		WithRetryWait(time.Millisecond, time.Millisecond),
		WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	r := &request{method: http.MethodGet, path: "/ssh-keys", query: "limit=5&owner=" + plainToken, safety: repeatable}
	_, err = send[json.RawMessage](bg, c, r)
	if err == nil {
		t.Fatal("no error")
	}
	if _, ok := leaks(plainToken, err.Error()+logs.String()); ok || strings.Contains(err.Error(), "limit=") {
		t.Fatalf("error %q / log %q show the query", err, logs.String())
	}
	if !strings.Contains(logs.String(), "/ssh-keys") {
		t.Fatalf("log %q does not name the path", logs.String())
	}
}

func TestSecretEqual(t *testing.T) {
	t.Parallel()
	a, a2, b := NewSecret(plainToken), NewSecret(plainToken), NewSecret(plainToken+"x")
	switch {
	case !a.Equal(a2) || !a2.Equal(a):
		t.Error("equal values differ")
	case a.Equal(b) || b.Equal(a):
		t.Error("a prefix equals the longer value")
	case a.Equal(Secret{}) || !(Secret{}).Equal(NewSecret("")):
		t.Error("empty secrets compare wrongly")
	}
}

// quotingTransport fails every request with an error that quotes its
// headers, as some proxies' and custom RoundTrippers' errors do.
type quotingTransport struct{}

func (quotingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("proxy refused: headers %v", req.Header)
}

// WithCallHeader promises that its value is never put in an error or a
// log: a transport error quoting the request's headers showed it.
func TestCallHeaderValueNeverInTransportErrors(t *testing.T) {
	t.Parallel()
	const tenant = "Hv7-kQ2pLm9Rt4Wz"
	var logs bytes.Buffer
	obs := &recordingObserver{}
	c, err := NewClient(WithToken(plainToken), WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: quotingTransport{}}),
		WithRetryWait(time.Millisecond, time.Millisecond), WithMaxRetries(1), WithObserver(obs),
		WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.APIKeys.List(bg, WithCallHeader("X-Tenant-Secret", tenant))
	if err == nil || !strings.Contains(err.Error(), "proxy refused") {
		t.Fatalf("err %v", err)
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v %#v", err, err), logs.String(), obs.everything()} {
		for _, secret := range []string{tenant, plainToken} {
			if strings.Contains(text, secret) {
				t.Errorf("%q shows %q", text, secret)
			}
		}
	}
}

// Response.Header is printed and marshalled by callers like any other
// value: an answer's header that echoes the token (a proxy's debug header,
// the X-Request-Id that RequestID shows scrubbed) must not carry it there.
func TestResponseHeaderNeverShowsTheToken(t *testing.T) {
	t.Parallel()
	const token = "Zq8u/Npa+TTerned7oken=4711"
	e := newTestEnv(t, WithToken(token))
	e.reply("GET", "/api_keys", answer{status: 200, body: docsList, header: map[string]string{
		"X-Request-Id": "r-" + token,
		"X-Echo":       "Bearer " + token,
		"X-Escaped":    "t=" + url.QueryEscape(token),
		"X-Plain":      "Sat, 05 Dec 2026 06:42:22 GMT",
	}})
	var r Response
	if _, err := e.client.APIKeys.List(bg, WithResponseInto(&r)); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{fmt.Sprintf("%v %+v %#v", r, r, r), string(j)} {
		for _, part := range strings.FieldsFunc(token, func(r rune) bool { return r == '/' || r == '+' || r == '=' }) {
			if strings.Contains(text, part) {
				t.Errorf("%s shows %q", text, part)
			}
		}
	}
	if r.Header.Get("X-Echo") != "Bearer [REDACTED]" || r.Header.Get("X-Request-Id") != r.RequestID || r.Header.Get("X-Plain") != "Sat, 05 Dec 2026 06:42:22 GMT" {
		t.Errorf("Header %v, RequestID %q", r.Header, r.RequestID)
	}
}

// "eyJ" starts every JWT, and also words: "keyJSON", "surveyJS", "heyJude"
// were cut in messages as JWTs. A JWT is redacted whole, also cut short
// after its header, and words stay as written, as with "ak_".
func TestJWTRedactedWholeAndWordsKept(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"invalid keyJSON field":             "invalid keyJSON field",
		"surveyJS 2.0 and heyJude":          "surveyJS 2.0 and heyJude",
		"jwt " + docsLoginJWT + " x":        "jwt [REDACTED-JWT] x",
		"cut eyJhbGciOiJIUzI1NiIsInR5cCI6":  "cut [REDACTED-JWT]",
		"header only eyJhbGciOiJIUzI1NiJ9.": "header only [REDACTED-JWT]",
	} {
		if got := scrub(text, nil, 300); got != want {
			t.Errorf("scrub(%q) = %q, want %q", text, got, want)
		}
	}
}

// Escapers other than Go's: a password echoed by them showed whole (all
// but the character escaped), since only Go's forms were scrubbed. fragment
// is a part of the password no escaping changes.
func TestPasswordEchoedByOtherEscapersNeverShows(t *testing.T) {
	t.Parallel()
	plainJSON := strings.ReplaceAll(plainPassword, `"`, `\"`) // pä&ss \"wörd\"<1>
	cases := []struct{ name, password, body, fragment string }{
		// PHP's htmlspecialchars and HTML5 write an apostrophe as &#039;
		// and &apos;; Go and Python as &#39; and &#x27;.
		{"PHP's htmlspecialchars", "O'Brien-Zq8uNp7x", "<p>no user for O&#039;Brien-Zq8uNp7x</p>", "Brien-Zq8uNp7x"},
		{"HTML5 &apos;", "O'Brien-Zq8uNp7x", "<p>no user for O&apos;Brien-Zq8uNp7x</p>", "Brien-Zq8uNp7x"},
		{"Go's &#39;", "O'Brien-Zq8uNp7x", "<p>no user for O&#39;Brien-Zq8uNp7x</p>", "Brien-Zq8uNp7x"},
		{"Python's &#x27;", "O'Brien-Zq8uNp7x", "<p>no user for O&#x27;Brien-Zq8uNp7x</p>", "Brien-Zq8uNp7x"},
		// FastAPI (ensure_ascii=False) and JSON.stringify escape only
		// quotes and backslashes, where Go's json also escapes < > &.
		{"plain JSON, object message", plainPassword, `{"status":"failed","message":{"password":"` + plainJSON + `"}}`, "&ss"},
		{"plain JSON, detail", plainPassword, `{"detail":{"input":"` + plainJSON + `"}}`, "&ss"},
		{"plain JSON, text", plainPassword, `password "` + plainJSON + `"`, "&ss"},
		// PHP's json_encode escapes '/' as "\/" and non-ASCII as \u.
		{"PHP's json_encode", "dé/v-Zq8uNp7x", `<p>bad password d\u00e9\/v-Zq8uNp7x</p>`, "v-Zq8uNp7x"},
	}
	for _, c := range cases {
		e := newTestEnv(t)
		e.reply("POST", "/login", status(422, c.body))
		_, err := e.client.Auth.Login(bg, "u", c.password)
		if err == nil || strings.Contains(err.Error(), c.fragment) {
			t.Errorf("%s: err %v", c.name, err)
		}
	}
}
