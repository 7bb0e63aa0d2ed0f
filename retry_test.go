package nebula

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loopback is a test's own API server on loopback that counts requests and
// TCP connections.
type loopback struct {
	srv      *httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
}

func newLoopback(t *testing.T, h http.HandlerFunc) *loopback {
	t.Helper()
	lb := &loopback{}
	lb.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lb.requests.Add(1)
		h(w, r)
	}))
	lb.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			lb.conns.Add(1)
		}
	}
	lb.srv.Start()
	t.Cleanup(lb.srv.Close)
	return lb
}

// client returns a client for the server on the SDK's own default
// transport, with millisecond retry waits unless opts say otherwise.
func (lb *loopback) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(append([]Option{
		WithToken(testToken),
		WithBaseURL(lb.srv.URL + "/api/v1"),
		WithRetryWait(time.Millisecond, 5*time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (lb *loopback) count() int { return int(lb.requests.Load()) }

// hangUp closes the connection without an answer, after the request was
// read: the server may have acted on it.
func hangUp(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func writeJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// sequence answers the n-th request with handlers[n], repeating the last.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}
}

func reply(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, code, body) }
}

func TestCreateNotRetriedAfterHangUp(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, hangUp)
	key, err := lb.client(t).APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if key != nil || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("key %v err %v", key, err)
	}
	if n := lb.count(); n != 1 {
		t.Fatalf("POST sent %d times", n)
	}
	if !strings.Contains(err.Error(), "POST /api-keys") {
		t.Errorf("error does not name the call: %v", err)
	}
}

func TestListRetriedAfterHangUp(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(hangUp, hangUp, reply(200, docsList)))
	keys, err := lb.client(t).APIKeys.List(bg)
	if err != nil || len(keys) != 2 || lb.count() != 3 {
		t.Fatalf("keys %v err %v after %d requests", keys, err, lb.count())
	}
}

func TestListGivesUpAfterMaxRetries(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, reply(503, failedEnvelope("maintenance")))
	_, err := lb.client(t, WithMaxRetries(2)).APIKeys.List(bg)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 503 || apiErr.Attempts != 3 || apiErr.Message != "maintenance" {
		t.Fatalf("err %v", err)
	}
	if lb.count() != 3 {
		t.Fatalf("%d requests", lb.count())
	}
	lb2 := newLoopback(t, reply(503, failedEnvelope("maintenance")))
	if _, err := lb2.client(t, WithMaxRetries(0)).APIKeys.List(bg); !errors.Is(err, ErrServerError) || lb2.count() != 1 {
		t.Fatalf("WithMaxRetries(0): err %v, %d requests", err, lb2.count())
	}
}

func TestRetryByMethodAndStatus(t *testing.T) {
	t.Parallel()
	type call struct {
		name string
		do   func(*Client) error
	}
	list := call{"GET", func(c *Client) error { _, err := c.APIKeys.List(bg); return err }}
	del := call{"DELETE", func(c *Client) error { return c.APIKeys.Delete(bg, "5") }}
	create := call{"POST", func(c *Client) error {
		_, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
		return err
	}}
	html502 := "<html><head><title>502 Bad Gateway</title></head></html>"
	cases := []struct {
		call    call
		status  int
		body    string
		sends   int // with WithMaxRetries(1)
		unknown bool
	}{
		{list, 408, "", 2, false}, {list, 429, "", 2, false}, {list, 500, "", 2, false},
		{list, 502, html502, 2, false}, {list, 503, "", 2, false}, {list, 504, "", 2, false},
		{list, 400, "", 1, false}, {list, 401, "", 1, false}, {list, 404, "", 1, false}, {list, 501, "", 1, false},
		{del, 500, "", 2, false}, {del, 503, "", 2, false}, {del, 404, "", 1, false}, {del, 409, "", 1, false},
		{create, 429, "", 2, false},
		{create, 408, "", 1, false},
		{create, 503, failedEnvelope("down"), 1, false},
		{create, 500, failedEnvelope("could not create"), 1, false},
		{create, 500, "Internal Server Error", 1, true},
		{create, 500, "", 1, true},
		{create, 502, html502, 1, true},
		{create, 504, "", 1, true},
		{create, 400, failedEnvelope("bad"), 1, false},
	}
	for _, c := range cases {
		lb := newLoopback(t, reply(c.status, c.body))
		err := c.call.do(lb.client(t, WithMaxRetries(1)))
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatus != c.status {
			t.Errorf("%s %d: err %v", c.call.name, c.status, err)
		}
		if lb.count() != c.sends {
			t.Errorf("%s %d: sent %d times, want %d", c.call.name, c.status, lb.count(), c.sends)
		}
		if errors.Is(err, ErrOutcomeUnknown) != c.unknown {
			t.Errorf("%s %d: outcome unknown = %v, want %v (%v)", c.call.name, c.status, !c.unknown, c.unknown, err)
		}
	}
}

func TestCreateRetriedWhenNothingWasSent(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, reply(200, docsCreateIntID))
	var dials atomic.Int64
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= 2 {
			return nil, errors.New("dial tcp: connection refused")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	key, err := lb.client(t, WithHTTPClient(&http.Client{Transport: tr})).APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if err != nil || key.ID != "5" {
		t.Fatalf("key %v err %v", key, err)
	}
	if dials.Load() != 3 || lb.count() != 1 {
		t.Fatalf("%d dials, %d requests", dials.Load(), lb.count())
	}
}

func TestCreateDialFailureIsNotOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now: every dial is refused
	c, err := NewClient(WithToken(testToken), WithBaseURL("http://"+addr+"/api/v1"), WithRetryWait(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if err == nil || errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("err %v", err)
	}
}

func TestBodyCutShort(t *testing.T) {
	t.Parallel()
	cut := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "500")
		w.WriteHeader(200)
		io.WriteString(w, `{"data": [{"id": 5, "na`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	lb := newLoopback(t, sequence(cut, reply(200, docsList)))
	keys, err := lb.client(t).APIKeys.List(bg)
	if err != nil || len(keys) != 2 || lb.count() != 2 {
		t.Fatalf("GET: keys %v err %v after %d requests", keys, err, lb.count())
	}

	lb = newLoopback(t, sequence(cut, reply(200, docsCreateIntID)))
	key, err := lb.client(t).APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if key != nil || !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, io.ErrUnexpectedEOF) || lb.count() != 1 {
		t.Fatalf("POST: key %v err %v after %d requests", key, err, lb.count())
	}
}

// The per-attempt timeout is 5 s, not 100 ms: the healthy attempt after
// the slow one must finish within it too, and on a loaded machine a loopback
// exchange took over 100 ms (and a transfer stalled for over 1 s). The slow
// handler waits a minute, so a timeout that does not apply still shows (as
// a call of a minute, past the bound). The cases run in parallel: each
// waits out the timeout once.
func TestPerAttemptTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 5 * time.Second
	slow := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so the server notices the client hanging up
		select {
		case <-time.After(time.Minute):
		case <-r.Context().Done():
		}
	}
	t.Run("GET retried", func(t *testing.T) {
		t.Parallel()
		lb := newLoopback(t, sequence(slow, reply(200, docsList)))
		start := time.Now()
		keys, err := lb.client(t, WithTimeout(timeout)).APIKeys.List(bg)
		if err != nil || len(keys) != 2 || lb.count() != 2 || time.Since(start) > 40*time.Second {
			t.Fatalf("keys %v err %v after %d requests in %v", keys, err, lb.count(), time.Since(start))
		}
	})
	t.Run("POST not retried", func(t *testing.T) {
		t.Parallel()
		lb := newLoopback(t, slow)
		_, err := lb.client(t, WithTimeout(timeout)).APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
		if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) || lb.count() != 1 {
			t.Fatalf("err %v after %d requests", err, lb.count())
		}
		if !strings.Contains(err.Error(), "attempt timed out after 5s") {
			t.Errorf("error does not say what timed out: %v", err)
		}
	})
	// The timeout covers the body too: a body that stalls is retried.
	t.Run("stalled body", func(t *testing.T) {
		t.Parallel()
		stall := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			io.WriteString(w, `{"data":`)
			w.(http.Flusher).Flush()
			slow(w, r)
		}
		lb := newLoopback(t, sequence(stall, reply(200, docsList)))
		keys, err := lb.client(t, WithTimeout(timeout)).APIKeys.List(bg)
		if err != nil || len(keys) != 2 || lb.count() != 2 {
			t.Fatalf("keys %v err %v after %d requests", keys, err, lb.count())
		}
	})
}

// expireOnArrival is a context whose deadline passes when the server has
// the request: a deadline on the clock (it was 100 ms) passed before the
// request left on a loaded machine, and then the create was provably unsent.
type expireOnArrival struct {
	context.Context
	done chan struct{}
}

func newExpireOnArrival() *expireOnArrival {
	return &expireOnArrival{Context: bg, done: make(chan struct{})}
}

func (c *expireOnArrival) Done() <-chan struct{} { return c.done }

func (c *expireOnArrival) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func TestContextDeadlineStaysVisible(t *testing.T) {
	t.Parallel()
	var current atomic.Pointer[expireOnArrival]
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if c := current.Swap(nil); c != nil {
			close(c.done)
		}
		select {
		case <-time.After(time.Minute):
		case <-r.Context().Done():
		}
	})
	cctx := newExpireOnArrival()
	current.Store(cctx)
	_, err := lb.client(t).APIKeys.List(cctx)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrOutcomeUnknown) || lb.count() != 1 {
		t.Fatalf("err %v after %d requests", err, lb.count())
	}

	// A create the deadline cut off after it was sent may have landed.
	cctx = newExpireOnArrival()
	current.Store(cctx)
	_, err = lb.client(t).APIKeys.Create(cctx, CreateAPIKeyRequest{Name: "n"})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrOutcomeUnknown) || lb.count() != 2 {
		t.Fatalf("create: err %v after %d requests", err, lb.count())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	forms := map[string]func() string{
		"seconds":   func() string { return "1" },
		"HTTP-date": func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) },
	}
	for name, value := range forms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var first time.Time
			var gap time.Duration
			lb := newLoopback(t, sequence(
				func(w http.ResponseWriter, r *http.Request) {
					first = time.Now()
					w.Header().Set("Retry-After", value())
					writeJSON(w, 429, failedEnvelope("slow down"))
				},
				func(w http.ResponseWriter, r *http.Request) {
					gap = time.Since(first)
					writeJSON(w, 200, docsCreateIntID)
				}))
			// A POST too: 429 means the API did nothing.
			if _, err := lb.client(t).APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"}); err != nil {
				t.Fatal(err)
			}
			// The upper bound only tells a wait of about the time asked
			// (1 to 2 s) from a far longer one; it is loose so that a
			// loaded machine cannot make it flake.
			if gap < 900*time.Millisecond || gap > 10*time.Second {
				t.Fatalf("waited %v", gap)
			}
		})
	}
}

func TestRetryAfterTooLongReturnsAtOnce(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		writeJSON(w, 503, failedEnvelope("come back later"))
	})
	start := time.Now()
	_, err := lb.client(t).APIKeys.List(bg)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.RetryAfter != 120*time.Second || apiErr.Attempts != 1 {
		t.Fatalf("err %v", err)
	}
	// 120 s asked: anything well below it shows the SDK did not sleep.
	if time.Since(start) > 10*time.Second || lb.count() != 1 {
		t.Fatalf("took %v, %d requests", time.Since(start), lb.count())
	}
}

func TestRetryAfterPastDeadlineReturnsAtOnce(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "59") // within maxRetryAfter, past the deadline
		writeJSON(w, 429, failedEnvelope("slow down"))
	})
	// Waiting out the deadline would take 45 s; returning at once takes
	// milliseconds. The bound between them is loose so that a loaded
	// machine cannot pass it (it was 1 s against a 2 s deadline).
	cctx, cancel := context.WithTimeout(bg, 45*time.Second)
	defer cancel()
	start := time.Now()
	_, err := lb.client(t).APIKeys.List(cctx)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrRateLimited) || apiErr.RetryAfter != 59*time.Second {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 15*time.Second || lb.count() != 1 {
		t.Fatalf("took %v, %d requests", time.Since(start), lb.count())
	}
}

// cancelOnAttempt cancels the call's context once its first attempt is
// done, as the backoff begins.
type cancelOnAttempt struct{ cancel context.CancelFunc }

func (o cancelOnAttempt) CallStart(ctx context.Context, _ CallInfo) context.Context { return ctx }
func (o cancelOnAttempt) AttemptDone(context.Context, CallInfo, AttemptInfo)        { o.cancel() }
func (o cancelOnAttempt) CallDone(context.Context, CallInfo, CallResult)            {}

// The cancel comes when the first attempt is done (an Observer), not 100 ms
// after the start: under load the timer fired before the 503 arrived, and
// the error had no ErrServerError. The backoff is 30 s; the bound tells a
// backoff cut short from one waited out.
func TestCancelCutsBackoffShort(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, reply(503, failedEnvelope("down")))
	cctx, cancel := context.WithCancel(bg)
	defer cancel()
	c := lb.client(t, WithRetryWait(30*time.Second, 30*time.Second), WithObserver(cancelOnAttempt{cancel}))
	start := time.Now()
	_, err := c.APIKeys.List(cctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrServerError) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 10*time.Second || lb.count() != 1 {
		t.Fatalf("returned after %v and %d requests", d, lb.count())
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	minW, maxW := 10*time.Millisecond, 300*time.Millisecond
	for n := 0; n < 70; n++ {
		// Retry n (from 0) waits within [min, min(max, min·2^(n+1))].
		ceiling := maxW
		if n < 4 {
			ceiling = min(maxW, minW<<(n+1))
		}
		if got := backoffCeiling(minW, maxW, n+1); got != ceiling {
			t.Fatalf("retry %d: ceiling %v, want %v", n, got, ceiling)
		}
		var top time.Duration
		for range 500 {
			w := uniformWait(minW, ceiling)
			if w < minW || w > ceiling {
				t.Fatalf("retry %d: wait %v outside [%v, %v]", n, w, minW, ceiling)
			}
			top = max(top, w)
		}
		if top < minW+(ceiling-minW)/2 {
			t.Errorf("retry %d: waits never above %v: no jitter", n, top)
		}
	}
	if w := uniformWait(time.Second, time.Second); w != time.Second {
		t.Errorf("min == max: %v", w)
	}
}

func TestDeleteSucceedsWhenRetryFindsKeyGone(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(hangUp, reply(404, failedEnvelope("API key not found"))))
	if err := lb.client(t).APIKeys.Delete(bg, "5"); err != nil || lb.count() != 2 {
		t.Fatalf("err %v after %d requests", err, lb.count())
	}
	lb = newLoopback(t, sequence(reply(502, ""), reply(404, failedEnvelope("API key not found"))))
	if err := lb.client(t).APIKeys.Delete(bg, "5"); err != nil || lb.count() != 2 {
		t.Fatalf("after 502: err %v after %d requests", err, lb.count())
	}
	// A 404 after an attempt that was surely not processed is the caller's news.
	lb = newLoopback(t, sequence(reply(503, failedEnvelope("down")), reply(404, failedEnvelope("API key not found"))))
	if err := lb.client(t).APIKeys.Delete(bg, "5"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after 503: err %v", err)
	}
}

func TestBodySizeCap(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, `{"data":[`)
		chunk := []byte(strings.Repeat(`{"id":1,"name":"x"},`, 1000))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := lb.client(t)
	c.maxBody = 1 << 20 // the real cap, 32 MiB, is slow to reach under -race
	// The body never ends: a call that read past the cap would run until
	// this deadline and fail with it instead of ErrUnexpectedResponse.
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	_, err := c.APIKeys.List(ctx)
	if !errors.Is(err, ErrUnexpectedResponse) || lb.count() != 1 {
		t.Fatalf("err %v after %d requests", err, lb.count())
	}
	if !strings.Contains(err.Error(), "body larger than 1048576 bytes") {
		t.Fatalf("err %v does not say why", err)
	}
}

func TestBodyExactlyAtTheCapIsRead(t *testing.T) {
	t.Parallel()
	const limit = 4096
	pad := limit - len(`{"data": [], "status": "success", "message": ""}`)
	exact := `{"data": [], "status": "success", "message": "` + strings.Repeat("x", pad) + `"}`
	for _, c := range []struct {
		body string
		ok   bool
	}{{exact, true}, {exact + " ", false}} {
		lb := newLoopback(t, reply(200, c.body))
		cl := lb.client(t)
		cl.maxBody = limit
		_, err := cl.APIKeys.List(bg)
		if (err == nil) != c.ok {
			t.Fatalf("body of %d bytes with a cap of %d: err %v", len(c.body), limit, err)
		}
	}
}

func TestMultipleChoicesIsNotASuccess(t *testing.T) {
	t.Parallel()
	// 300 is the first status that is not a success, whether or not it
	// carries a Location.
	for _, code := range []int{300, 299} {
		e := newTestEnv(t)
		e.reply("GET", "/api_keys", status(code, docsList))
		keys, err := e.client.APIKeys.List(bg)
		var apiErr *APIError
		got := errors.As(err, &apiErr) && apiErr.HTTPStatus == code && apiErr.Message == "redirect not followed" && !errors.Is(err, ErrUnexpectedResponse)
		if got != (code == 300) || (code == 299 && len(keys) != 2) {
			t.Fatalf("%d: keys %v, err %v", code, keys, err)
		}
	}
}

func TestConnectionsReusedAcrossErrors(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET":
			writeJSON(w, 200, docsList)
		case strings.HasSuffix(r.URL.Path, "/404"):
			// An error body larger than the drain bound of go-retryablehttp.
			writeJSON(w, 404, failedEnvelope("API key not found"+strings.Repeat(".", 8000)))
		default:
			writeJSON(w, 503, failedEnvelope("down"))
		}
	})
	c := lb.client(t)
	for i := range 150 {
		var err error
		switch i % 3 {
		case 0:
			_, err = c.APIKeys.List(bg)
		case 1:
			if err = c.APIKeys.Delete(bg, "404"); errors.Is(err, ErrNotFound) {
				err = nil
			}
		case 2:
			if err = c.APIKeys.Delete(bg, "503"); errors.Is(err, ErrServerError) {
				err = nil
			}
		}
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := lb.conns.Load(); n > 2 {
		t.Fatalf("150 calls used %d connections", n)
	}
}

// TestFailedCallKeepsPoolIdleConnections pins two ways to lose the pool:
// go-retryablehttp's CloseIdleConnections after a failed Do (every idle
// connection closed, so the second burst dials them all again) and a
// transport that keeps fewer idle connections per host than callers
// (net/http's default 2). It waits for net/http's PutIdleConn event, not
// for the call to return: a connection goes back to the pool after the
// caller read the body, asynchronously, and a burst started before that
// dialled one connection more on a loaded machine (flaked with "1 new
// connections (had 8)"). The server holds each burst's requests until all
// callers arrived, so a burst needs exactly callers connections.
func TestFailedCallKeepsPoolIdleConnections(t *testing.T) {
	t.Parallel()
	const callers = 8
	var (
		mu      sync.Mutex
		arrived int
		release = make(chan struct{})
	)
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "DELETE" {
			writeJSON(w, 404, failedEnvelope("API key not found"))
			return
		}
		mu.Lock()
		arrived++
		gate := release
		if arrived == callers {
			arrived = 0
			close(release)
			release = make(chan struct{})
		}
		mu.Unlock()
		select {
		case <-gate:
		case <-time.After(10 * time.Second): // fewer callers than connections: the counts tell
		}
		writeJSON(w, 200, docsList)
	})
	c := lb.client(t)
	pooled := make(chan error, callers)
	ctx := httptrace.WithClientTrace(bg, &httptrace.ClientTrace{
		PutIdleConn: func(err error) { pooled <- err },
	})
	// awaitPooled waits until n connections went back to the idle pool.
	awaitPooled := func(what string, n int) {
		t.Helper()
		for i := range n {
			select {
			case err := <-pooled:
				if err != nil {
					t.Fatalf("%s: connection %d not kept idle: %v", what, i, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: %d of %d connections back in the pool", what, i, n)
			}
		}
	}
	burst := func() {
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.APIKeys.List(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	burst()
	awaitPooled("first burst", callers)
	warm := lb.conns.Load()
	if warm != callers {
		t.Fatalf("%d callers used %d connections", callers, warm)
	}
	if err := c.APIKeys.Delete(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	awaitPooled("failed call", 1)
	burst()
	if added := lb.conns.Load() - warm; added > 0 {
		t.Fatalf("after a failed call, %d new connections (had %d)", added, warm)
	}
}

func TestRedirectToOtherHostNotFollowed(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int64
	other := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		writeJSON(w, 200, docsList)
	})
	// "localhost" is another host than 127.0.0.1 as far as the token goes.
	target := strings.Replace(other.srv.URL, "127.0.0.1", "localhost", 1)
	for _, code := range []int{301, 302, 307, 308} {
		lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target+r.URL.Path, code)
		})
		_, err := lb.client(t).APIKeys.List(bg)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatus != code || !strings.Contains(apiErr.Message, "redirect not followed") {
			t.Errorf("%d: err %v", code, err)
		}
	}
	if other.count() != 0 || leaked.Load() != 0 {
		t.Fatalf("the other host got %d requests, %d with a token", other.count(), leaked.Load())
	}
}

func TestRedirectOnSameHostFollowed(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/api_keys" {
			http.Redirect(w, r, "/api/v2/api_keys", http.StatusTemporaryRedirect)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeJSON(w, 401, failedEnvelope("no token"))
			return
		}
		writeJSON(w, 200, docsList)
	})
	if keys, err := lb.client(t).APIKeys.List(bg); err != nil || len(keys) != 2 {
		t.Fatalf("keys %v err %v", keys, err)
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken(testToken), WithBaseURL("https://api.nebula.test/api/v1"))
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]bool{
		"https://api.nebula.test/x":      true,
		"https://API.nebula.test/x":      true,
		"http://api.nebula.test/x":       false, // downgrade
		"https://evil.test/x":            false,
		"https://api.nebula.test:8443/x": false,
	} {
		if got := c.sameOrigin(mustParse(t, u)); got != want {
			t.Errorf("sameOrigin(%s) = %v", u, got)
		}
	}
}

func TestLoggerRecordsAttemptsWithoutSecrets(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "rid-1")
			writeJSON(w, 503, failedEnvelope("token "+testToken+" unavailable"))
		},
		reply(200, docsCreateIntID),
		reply(400, failedEnvelope("bad key "+docsKeyValue)),
	))
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := lb.client(t, WithLogger(logger))
	if _, err := c.APIKeys.List(bg); err == nil {
		t.Fatal("want the 503 list to fail after retrying into a create answer")
	}
	key, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if err == nil {
		t.Fatalf("want 400, got %v", key)
	}
	out := buf.String()
	for _, want := range []string{`"msg":"nebula: attempt"`, `"method":"GET"`, `"path":"/api_keys"`, `"status":503`,
		`"attempt":2`, `"request_id":"rid-1"`, `"duration"`, `"level":"WARN"`, `"msg":"nebula: retrying"`, `"wait"`,
		`"reason":"503 Service Unavailable"`, `"status":400`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{testToken, docsKeyValue, "Authorization", "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("log carries %q:\n%s", secret, out)
		}
	}
	if strings.Contains(err.Error(), docsKeyValue) {
		t.Errorf("error carries the key: %v", err)
	}
}

func TestDefaultLoggerIsSilent(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, reply(200, docsList))
	c := lb.client(t)
	if c.logger != nil {
		t.Fatal("default logger is not nil")
	}
	if _, err := c.APIKeys.List(bg); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentCallersDoNotChurnConnections(t *testing.T) {
	t.Parallel()
	const callers, calls = 32, 20
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		writeJSON(w, 200, docsList)
	})
	// The default transport's settings, but not the instance shared with
	// the other tests, whose idle connections count against MaxIdleConns.
	tr := newDefaultTransport()
	t.Cleanup(tr.CloseIdleConnections)
	c := lb.client(t, WithHTTPClient(&http.Client{Transport: tr}))
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				if _, err := c.APIKeys.List(bg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// A caller whose previous connection is not back in the pool yet dials
	// another, which then stays in the pool: more than 32 connections may be
	// opened, but as long as they fit in the idle pool none is closed and
	// reopened. Churn (net/http's 2 idle connections per host) opens hundreds.
	if n := lb.conns.Load(); n > int64(tr.MaxIdleConnsPerHost) {
		t.Fatalf("%d calls from %d callers opened %d connections", callers*calls, callers, n)
	}
}
