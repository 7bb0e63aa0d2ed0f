package nebula

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// staticToken is a static token no pattern recognises: only the SDK's
// knowledge of the call's token keeps it out of what prints.
const staticToken = "zq9-Mx7vP2wLr4Kt"

// headerError is a custom RoundTripper's error that quotes the request's
// Authorization header and wraps a *net.OpError.
type headerError struct {
	auth string
	err  error
}

func (e headerError) Error() string { return "proxy refused " + e.auth + ": " + e.err.Error() }
func (e headerError) Unwrap() error { return e.err }

// timeoutError is a RoundTripper's timeout that quotes the header.
type timeoutError struct{ auth string }

func (e timeoutError) Error() string { return "timed out sending " + e.auth }
func (e timeoutError) Timeout() bool { return true }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// walkErrors visits err and every error errors.Unwrap reaches from it.
func walkErrors(err error, visit func(error)) {
	if err == nil {
		return
	}
	visit(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walkErrors(u.Unwrap(), visit)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErrors(e, visit)
		}
	}
}

// assertNoTokenPrints fails when token shows, as it is, URL-escaped or in
// hex, in any fmt print of err or of any error errors.Unwrap reaches.
func assertNoTokenPrints(t *testing.T, err error, token string) {
	t.Helper()
	forms := []string{token, url.QueryEscape(token), hex.EncodeToString([]byte(token))}
	walkErrors(err, func(e error) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			p := strings.ToLower(fmt.Sprintf(verb, e))
			for _, f := range forms {
				if strings.Contains(p, strings.ToLower(f)) {
					t.Errorf("%T printed with %s shows the token: %s", e, verb, p)
				}
			}
		}
	})
}

// DESIGN.md, Security: no error string, log line or url.Error carries the
// token, also when a custom RoundTripper's error quotes the header.
func TestTransportErrorQuotingTokenIsScrubbed(t *testing.T) {
	t.Parallel()
	for _, token := range []string{staticToken, breakerToken, testToken} {
		rts := map[string]func(*http.Request) error{
			"fmt.Errorf": func(r *http.Request) error {
				return fmt.Errorf("refused Authorization: %s", r.Header.Get("Authorization"))
			},
			"custom type wrapping a *net.OpError": func(r *http.Request) error {
				return headerError{auth: r.Header.Get("Authorization"), err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused")}}
			},
			"wrapping a sentinel": func(r *http.Request) error {
				return fmt.Errorf("%s: %w", r.Header.Get("Authorization"), io.ErrUnexpectedEOF)
			},
			"a timeout": func(r *http.Request) error {
				return timeoutError{r.Header.Get("Authorization")}
			},
			"URL-escaped": func(r *http.Request) error {
				return fmt.Errorf("bad proxy URL http://p/?auth=%s", url.QueryEscape(r.Header.Get("Authorization")))
			},
		}
		for name, fail := range rts {
			t.Run(token[:4]+"/"+name, func(t *testing.T) {
				t.Parallel()
				var logs bytes.Buffer
				rt := roundTripFunc(func(r *http.Request) (*http.Response, error) { return nil, fail(r) })
				c, err := NewClient(WithToken(token), WithBaseURL(testBase), withEnv(nil),
					WithHTTPClient(&http.Client{Transport: rt}), WithMaxRetries(1),
					WithRetryWait(time.Millisecond, time.Millisecond),
					WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.Billing.Balance(bg)
				if err == nil {
					t.Fatal("Balance succeeded")
				}
				assertNoTokenPrints(t, err, token)
				if strings.Contains(logs.String(), token) {
					t.Errorf("a log line shows the token: %s", logs.String())
				}
				if !strings.Contains(logs.String(), "[REDACTED]") {
					t.Errorf("the logs do not show the scrubbed error: %s", logs.String())
				}
				var urlErr *url.Error
				if !errors.As(err, &urlErr) {
					t.Fatalf("errors.As(*url.Error) failed on %v", err)
				}
				assertNoTokenPrints(t, urlErr, token)
				if want := "nebula: Billing.Balance: GET /users/credits: "; !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "(after 2 attempts)") {
					t.Errorf("err = %q, want it to start %q and count 2 attempts", err, want)
				}
				if name == "wrapping a sentinel" && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("errors.Is lost the RoundTripper's wrapped sentinel in %v", err)
				}
				if name == "a timeout" && !urlErr.Timeout() {
					t.Errorf("the *url.Error no longer reports the RoundTripper's timeout: %v", err)
				}
				if name == "custom type wrapping a *net.OpError" {
					var opErr *net.OpError
					var he headerError
					if !errors.As(err, &opErr) || !errors.As(err, &he) {
						t.Errorf("errors.As no longer finds the RoundTripper's error types in %v", err)
					}
				}
			})
		}
	}
}

// net/http quotes a Location header it cannot parse, and a server may have
// put the token into it.
func TestUnparsableLocationWithTokenIsScrubbed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithToken(staticToken), WithMaxRetries(1))
	e.reply("GET", "/users/credits", answer{status: 302, header: map[string]string{"Location": "/x%zz?t=" + staticToken}})
	_, err := e.client.Billing.Balance(bg)
	if err == nil || !strings.Contains(err.Error(), "failed to parse Location header") {
		t.Fatalf("err = %v, want net/http's Location error", err)
	}
	assertNoTokenPrints(t, err, staticToken)
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Fatalf("errors.As(*url.Error) failed on %v", err)
	}
}

// A transport error names the method and path once, not again in
// net/http's "Get \"http://...\": " prefix, and errors.As still finds the
// *net.OpError and the *url.Error.
func TestTransportErrorReadsOnce(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken(staticToken), WithBaseURL("http://127.0.0.1:1/"), withEnv(nil),
		WithMaxRetries(1), WithRetryWait(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Billing.Balance(bg)
	if err == nil {
		t.Fatal("Balance succeeded against a closed port")
	}
	got := err.Error()
	if !strings.HasPrefix(got, "nebula: Billing.Balance: GET /users/credits: dial tcp 127.0.0.1:1: ") || !strings.HasSuffix(got, "connection refused (after 2 attempts)") {
		t.Errorf("err = %q, want \"nebula: Billing.Balance: GET /users/credits: dial tcp 127.0.0.1:1: ... connection refused (after 2 attempts)\"", got)
	}
	if strings.Count(got, "/users/credits") != 1 || strings.Contains(got, "http://") {
		t.Errorf("err = %q names the call more than once", got)
	}
	var opErr *net.OpError
	var urlErr *url.Error
	if !errors.As(err, &opErr) || !errors.As(err, &urlErr) {
		t.Errorf("errors.As lost the *net.OpError or *url.Error of %v", err)
	}
}
