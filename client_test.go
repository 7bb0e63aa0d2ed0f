package nebula

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestNewClientRefusesBadOptions(t *testing.T) {
	t.Parallel()
	cases := map[string][]Option{
		"no credential":          {withEnv(nil)},
		"empty token":            {WithToken("")},
		"blank token":            {WithToken("   ")},
		"token with newline":     {WithToken("ak_abc\r\nX-Evil: 1")},
		"token with NUL":         {WithToken("ak_abc\x00")},
		"token with space":       {WithToken("ak_a b")},
		"env token with newline": {withEnv(map[string]string{"NEBULA_API_KEY": "ak_x\ny"})},
		"nil token source":       {WithTokenSource(nil)},
		"empty login":            {WithLogin("", "")},
		"relative base URL":      {WithToken(testToken), WithBaseURL("/api/v1")},
		"no scheme":              {WithToken(testToken), WithBaseURL("api.nebulablock.com/api/v1")},
		"ftp base URL":           {WithToken(testToken), WithBaseURL("ftp://example.com/api")},
		"no host":                {WithToken(testToken), WithBaseURL("https:///api/v1")},
		"user info":              {WithToken(testToken), WithBaseURL("https://u:p@example.com/api")},
		"query":                  {WithToken(testToken), WithBaseURL("https://example.com/api?x=1")},
		"bad URL":                {WithToken(testToken), WithBaseURL("https://u:p@exa mple.com/%zz")},
		"plain http remote":      {WithToken(testToken), WithBaseURL("http://api.nebulablock.com/api/v1")},
		"plain http env":         {WithToken(testToken), withEnv(map[string]string{"NEBULA_API_URL": "http://10.1.2.3/api"})},
		"nil http client":        {WithToken(testToken), WithHTTPClient(nil)},
		"negative retries":       {WithToken(testToken), WithMaxRetries(-1)},
		"too many retries":       {WithToken(testToken), WithMaxRetries(1000)},
		"zero retry wait":        {WithToken(testToken), WithRetryWait(0, time.Second)},
		"max below min":          {WithToken(testToken), WithRetryWait(time.Second, time.Millisecond)},
		"zero polling":           {WithToken(testToken), WithPolling(0, time.Second)},
		"polling max below min":  {WithToken(testToken), WithPolling(time.Second, time.Millisecond)},
		"zero timeout":           {WithToken(testToken), WithTimeout(0)},
		"user agent newline":     {WithToken(testToken), WithUserAgent("app\r\nX: y")},
		// C1 controls: U+009B is a terminal's CSI wherever a log shows
		// the header; a lone 0x85 byte is no UTF-8 at all.
		"user agent C1": {WithToken(testToken), WithUserAgent("app\u009b31m")},
		"token with C1": {WithToken("ak_abc\u0085def")},
		"token C1 byte": {WithToken("ak_abc\x85def")},
		"env token C1":  {withEnv(map[string]string{"NEBULA_API_KEY": "ak_x\u009by"})},
	}
	for name, opts := range cases {
		c, err := NewClient(append([]Option{withEnv(nil)}, opts...)...)
		if !errors.Is(err, ErrInvalidArgument) || c != nil {
			t.Errorf("%s: client %v, err %v", name, c, err)
		}
		if err != nil && strings.Contains(err.Error(), "u:p@") {
			t.Errorf("%s: error shows URL credentials: %v", name, err)
		}
	}
}

func TestNewClientAcceptsPlainHTTPWhereSafe(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://localhost:8080/api/v1", "http://127.0.0.1/api/v1", "http://[::1]:9/api/v1", "http://127.9.9.9"} {
		if _, err := NewClient(WithToken(testToken), WithBaseURL(u)); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if _, err := NewClient(WithToken(testToken), WithBaseURL("http://api.internal/api/v1"), WithInsecureHTTP()); err != nil {
		t.Errorf("WithInsecureHTTP: %v", err)
	}
}

// clientEnv runs one List through a client built with opts on a fresh mock
// and returns the request it sent.
func listRequest(t *testing.T, opts ...Option) sent {
	t.Helper()
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		rec.add(req)
		return ok(docsList).response(req)
	})
	c, err := NewClient(append([]Option{WithHTTPClient(&http.Client{Transport: mock})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.APIKeys.List(bg); err != nil {
		t.Fatal(err)
	}
	return rec.all()[0]
}

func TestEnvironmentDefaults(t *testing.T) {
	t.Parallel()
	r := listRequest(t, withEnv(map[string]string{"NEBULA_API_KEY": "ak_fromEnv", "NEBULA_API_URL": "https://eu.nebula.test/prefix/"}))
	if r.URL != "https://eu.nebula.test/prefix/api_keys" || r.Header.Get("Authorization") != "Bearer ak_fromEnv" {
		t.Errorf("env: %s %q", r.URL, r.Header.Get("Authorization"))
	}
	r = listRequest(t, withEnv(map[string]string{"NEBULA_API_KEY": "ak_fromEnv"}))
	if r.URL != DefaultBaseURL+"/api_keys" {
		t.Errorf("default base: %s", r.URL)
	}
	r = listRequest(t, withEnv(map[string]string{"NEBULA_API_KEY": "ak_fromEnv", "NEBULA_API_URL": "https://eu.nebula.test"}),
		WithToken("ak_option"), WithBaseURL("https://opt.nebula.test/api/v1"))
	if r.URL != "https://opt.nebula.test/api/v1/api_keys" || r.Header.Get("Authorization") != "Bearer ak_option" {
		t.Errorf("options over env: %s %q", r.URL, r.Header.Get("Authorization"))
	}
}

func TestBaseURLPrefixAndTrailingSlash(t *testing.T) {
	t.Parallel()
	for base, want := range map[string]string{
		"https://h.test/api/v1":   "https://h.test/api/v1/api_keys",
		"https://h.test/api/v1/":  "https://h.test/api/v1/api_keys",
		"https://h.test/api/v1//": "https://h.test/api/v1/api_keys",
		"https://h.test":          "https://h.test/api_keys",
		"https://h.test/":         "https://h.test/api_keys",
		" https://h.test:8443/x ": "https://h.test:8443/x/api_keys",
	} {
		if r := listRequest(t, WithToken(testToken), WithBaseURL(base)); r.URL != want {
			t.Errorf("base %q: URL %s, want %s", base, r.URL, want)
		}
	}
}

func TestDefaultUserAgent(t *testing.T) {
	t.Parallel()
	r := listRequest(t, WithToken(testToken), withEnv(nil))
	if got := r.Header.Get("User-Agent"); got != "nebula-go/"+Version {
		t.Errorf("User-Agent %q", got)
	}
}

func TestLastCredentialOptionWins(t *testing.T) {
	t.Parallel()
	r := listRequest(t, withEnv(nil), WithLogin("u", "p"), WithToken("ak_last"))
	if got := r.Header.Get("Authorization"); got != "Bearer ak_last" {
		t.Errorf("Authorization %q", got)
	}
}

type funcTokenSource func(context.Context) (string, error)

func (f funcTokenSource) Token(ctx context.Context) (string, error) { return f(ctx) }

func TestTokenSourceAskedPerRequest(t *testing.T) {
	t.Parallel()
	tokens := make(chan string, 2)
	tokens <- "ak_first"
	tokens <- "ak_second"
	e := newTestEnv(t, WithTokenSource(funcTokenSource(func(context.Context) (string, error) { return <-tokens, nil })))
	rec := e.reply("GET", "/api_keys", ok(docsList))
	for range 2 {
		if _, err := e.client.APIKeys.List(bg); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rec.all()
	if reqs[0].Header.Get("Authorization") != "Bearer ak_first" || reqs[1].Header.Get("Authorization") != "Bearer ak_second" {
		t.Errorf("tokens %q %q", reqs[0].Header.Get("Authorization"), reqs[1].Header.Get("Authorization"))
	}
}

func TestTokenSourceErrorSendsNothing(t *testing.T) {
	t.Parallel()
	vaultDown := errors.New("vault unreachable")
	e := newTestEnv(t, WithTokenSource(funcTokenSource(func(context.Context) (string, error) { return "", vaultDown })))
	rec := e.anyRequest(ok(docsList))
	_, err := e.client.APIKeys.List(bg)
	if !errors.Is(err, vaultDown) || rec.count() != 0 {
		t.Fatalf("err %v, %d requests", err, rec.count())
	}
	if !strings.Contains(err.Error(), "GET /api_keys") {
		t.Errorf("error does not name the call: %v", err)
	}

	e = newTestEnv(t, WithTokenSource(funcTokenSource(func(context.Context) (string, error) { return "ak_x\r\nEvil: 1", nil })))
	rec = e.anyRequest(ok(docsList))
	if _, err := e.client.APIKeys.List(bg); !errors.Is(err, ErrInvalidArgument) || rec.count() != 0 {
		t.Fatalf("bad token from source: err %v, %d requests", err, rec.count())
	}
}

func TestCallerHTTPClientIsNotMutated(t *testing.T) {
	t.Parallel()
	jar, _ := cookiejar.New(nil)
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(req *http.Request) (*http.Response, error) { return ok(docsList).response(req) })
	hc := &http.Client{Transport: mock, Timeout: 7 * time.Second, Jar: jar}
	before := *hc
	c, err := NewClient(WithToken(testToken), WithHTTPClient(hc), WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.APIKeys.List(bg); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != before.Transport || hc.Timeout != before.Timeout || hc.Jar != before.Jar || hc.CheckRedirect != nil {
		t.Fatalf("caller's client changed: %+v", hc)
	}
	if c.http == hc || c.attemptTimeout() != time.Second {
		t.Fatalf("internal client %p timeout %v", c.http, c.attemptTimeout())
	}
}

func TestPerAttemptTimeoutSources(t *testing.T) {
	t.Parallel()
	mk := func(opts ...Option) time.Duration {
		c, err := NewClient(append([]Option{WithToken(testToken)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return c.attemptTimeout()
	}
	if d := mk(); d != 30*time.Second {
		t.Errorf("default %v", d)
	}
	if d := mk(WithHTTPClient(&http.Client{Timeout: 3 * time.Second})); d != 3*time.Second {
		t.Errorf("from http.Client %v", d)
	}
	if d := mk(WithHTTPClient(&http.Client{Timeout: 3 * time.Second}), WithTimeout(time.Second)); d != time.Second {
		t.Errorf("WithTimeout %v", d)
	}
}

func (c *Client) attemptTimeout() time.Duration { return c.http.Transport.(attemptTransport).timeout }

func TestWithPollingSetsInstancePolling(t *testing.T) {
	t.Parallel()
	c := newTestEnv(t, WithPolling(3*time.Millisecond, 7*time.Millisecond)).client
	lo, hi := c.Instances.waitBounds()
	first, most, tries := c.Instances.pollSchedule()
	if lo != 3*time.Millisecond || hi != 7*time.Millisecond || first != lo || most != hi || tries != defaultCreatePollTries {
		t.Fatalf("Wait %v..%v, Create %v..%v x%d", lo, hi, first, most, tries)
	}
	c = newTestEnv(t).client
	lo, hi = c.Instances.waitBounds()
	first, most, _ = c.Instances.pollSchedule()
	if lo != defaultWaitMin || hi != defaultWaitMax || first != defaultCreatePoll || most != defaultCreatePollMax {
		t.Fatalf("defaults: Wait %v..%v, Create %v..%v", lo, hi, first, most)
	}
}

// An attempt whose caller's deadline comes before the per-attempt timeout
// runs in the caller's context: a deadline context of its own would never
// fire, and costs a timer and allocations on every call. One whose
// caller's deadline is later, or absent, gets the attempt's deadline.
func TestAttemptDeadlineOnlyWhenItComesFirst(t *testing.T) {
	t.Parallel()
	seen := make(chan context.Context, 1)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen <- r.Context()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(docsList)), Request: r}, nil
	})
	c, err := NewClient(WithToken(testToken), WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: rt}), WithTimeout(time.Minute), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		within   time.Duration // the caller's deadline; 0: none
		ownTimer bool
	}{
		{"caller's deadline first", 10 * time.Second, false},
		{"attempt's deadline first", time.Hour, true},
		{"no caller deadline", 0, true},
	} {
		ctx, cancel := context.WithCancel(bg)
		if tc.within > 0 {
			ctx, cancel = context.WithTimeout(bg, tc.within)
		}
		if _, err := c.APIKeys.List(ctx); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := <-seen
		cancel()
		deadline, ok := got.Deadline()
		if own := got.Done() != ctx.Done(); own != tc.ownTimer || !ok || time.Until(deadline) > time.Minute {
			t.Errorf("%s: own deadline context %v, deadline %v in %v", tc.name, own, ok, time.Until(deadline))
		}
	}
}
