package nebula

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A caller's CheckRedirect sees the redirect's answer (req.Response) before
// it returns http.ErrUseLastResponse, and that answer is then the call's
// last: its header map is held by the caller's hook as well, so
// Response.Header must be a copy of it, and the hook's map must keep its
// cookies and the values as they came.
func TestResponseHeaderLeavesCheckRedirectsAnswerAlone(t *testing.T) {
	t.Parallel()
	const cookie = "session=zq9-Mx7vP2wLr4Kt"
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", cookie)
		w.Header().Set("X-Echo", "Bearer "+testToken)
		w.Header().Set("Location", "/api/v1/elsewhere")
		w.WriteHeader(http.StatusFound)
	})
	var seen *http.Response
	hc := &http.Client{
		Transport: lb.srv.Client().Transport, // a *http.Transport
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			seen = req.Response
			return http.ErrUseLastResponse
		},
	}
	c := lb.client(t, WithHTTPClient(hc), WithMaxRetries(0))
	var resp Response
	_, err := c.APIKeys.List(bg, WithResponseInto(&resp))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusFound {
		t.Fatalf("err = %v, want the 302 as an *APIError", err)
	}
	if seen == nil {
		t.Fatal("CheckRedirect was not called")
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Echo") != "Bearer [REDACTED]" {
		t.Fatalf("Response.Header %v", resp.Header)
	}
	if seen.Header.Get("Set-Cookie") != cookie || seen.Header.Get("X-Echo") != "Bearer "+testToken {
		t.Fatalf("the hook's answer was edited: %v", seen.Header)
	}
	resp.Header.Set("Location", "/changed")
	if seen.Header.Get("Location") != "/api/v1/elsewhere" {
		t.Fatalf("an edit of Response.Header reached the hook's answer: %v", seen.Header)
	}
}

// A redirect followed through net/http's Transport: Response.Header is the
// final answer's, scrubbed and without cookies, and holds nothing of the
// redirect's own headers.
func TestResponseHeaderAfterFollowedRedirectIsTheFinalAnswers(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/api_keys") {
			w.Header().Set("Set-Cookie", "hop=1")
			w.Header().Set("X-Hop", "first")
			http.Redirect(w, r, "/api/v1/moved", http.StatusFound)
			return
		}
		w.Header().Set("Set-Cookie", "session=zq9-Mx7vP2wLr4Kt")
		w.Header().Set("X-Echo", "Bearer "+testToken)
		w.Header().Set("X-Request-Id", "rid-final")
		writeJSON(w, http.StatusOK, docsList)
	})
	c := lb.client(t)
	var resp Response
	if _, err := c.APIKeys.List(bg, WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	h := resp.Header
	if h.Get("X-Hop") != "" || h.Get("Set-Cookie") != "" || h.Get("X-Echo") != "Bearer [REDACTED]" ||
		h.Get("X-Request-Id") != "rid-final" || resp.RequestID != "rid-final" {
		t.Fatalf("Response %+v", resp)
	}
}

// Every attempt starts with no header: after a retried 503 and a 401
// replayed with a fresh token, Response.Header is the replay's answer's
// alone, scrubbed of the token that attempt used (which the TokenSource gave
// only for the replay).
func TestResponseHeaderIsTheLastAttemptsOnly(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-First", "yes")
			w.Header().Set("Set-Cookie", "a=b")
			writeJSON(w, http.StatusServiceUnavailable, failedEnvelope("busy"))
		},
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Second", "yes")
			writeJSON(w, http.StatusUnauthorized, failedEnvelope("token expired"))
		},
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Echo", r.Header.Get("Authorization"))
			writeJSON(w, http.StatusOK, docsList)
		},
	))
	c := lb.client(t, WithTokenSource(changingTokens()))
	var resp Response
	if _, err := c.APIKeys.List(bg, WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 3 || resp.StatusCode != 200 || resp.Header.Get("X-First") != "" || resp.Header.Get("X-Second") != "" ||
		resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Echo") != "Bearer [REDACTED]" {
		t.Fatalf("Response %+v", resp)
	}
}

// A rate-limit header that echoes a secret (here a token of digits) is
// scrubbed before it is read, on both paths: the answer's own map (net/http's
// Transport) and a copy (any other RoundTripper). RateLimit would otherwise
// carry the token as a number, into every print and JSON of the Response.
func TestRateLimitNeverCarriesASecret(t *testing.T) {
	t.Parallel()
	const token = "5830194627"
	header := func(h http.Header) {
		h.Set("RateLimit-Limit", token)
		h.Set("RateLimit-Remaining", "7")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header(w.Header())
		io.WriteString(w, docsList)
	}))
	t.Cleanup(srv.Close)
	canned := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		header(h)
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(docsList)), Request: r}, nil
	})
	for name, hc := range map[string]*http.Client{
		"net/http's Transport": {Transport: srv.Client().Transport},
		"another RoundTripper": {Transport: canned},
	} {
		c, err := NewClient(WithToken(token), WithBaseURL(srv.URL), WithHTTPClient(hc), withEnv(nil))
		if err != nil {
			t.Fatal(err)
		}
		var resp Response
		if _, err := c.APIKeys.List(bg, WithResponseInto(&resp)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.RateLimit == nil || resp.RateLimit.Limit != 0 || resp.RateLimit.Remaining != 7 {
			t.Errorf("%s: RateLimit %+v", name, resp.RateLimit)
		}
		if j, _ := json.Marshal(resp); strings.Contains(string(j), token) {
			t.Errorf("%s: %s", name, j)
		}
	}
}

// Another RoundTripper's header map may name its headers in any case, and a
// name may hold the token (a proxy that echoes the request as headers):
// Response.Header drops every cookie whatever the case, and scrubs names as
// it scrubs values. "set-cookie" in lower case was kept.
func TestResponseHeaderOfOtherRoundTripperCookiesAndNames(t *testing.T) {
	t.Parallel()
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK,
			Header: http.Header{
				"set-cookie":          {"session=zq9-Mx7vP2wLr4Kt"},
				"SET-COOKIE2":         {"old=zq9-Mx7vP2wLr4Kt"},
				"X-Echo-" + testToken: {"1"},
				"X-Echo-[REDACTED]":   {"0"},
				"Content-Type":        {"application/json"},
			},
			Body:    io.NopCloser(strings.NewReader(`{"status":"success","data":[]}`)),
			Request: req,
		}, nil
	})
	c, err := NewClient(WithToken(testToken), WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	var resp Response
	if _, err := c.APIKeys.List(bg, WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(resp)
	if strings.Contains(string(js), "zq9-Mx7vP2wLr4Kt") || strings.Contains(string(js), testToken) {
		t.Errorf("Response shows a cookie or the token: %s", js)
	}
	if got := resp.Header["X-Echo-[REDACTED]"]; len(got) != 2 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Response.Header %v: want both X-Echo-[REDACTED] values and Content-Type kept", resp.Header)
	}
}
