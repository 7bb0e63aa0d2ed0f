package nebula

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// changingTokens is a TokenSource that gives a new token every time it is
// asked, as a rotating credential store might.
func changingTokens() TokenSource {
	var n atomic.Int64
	return funcTokenSource(func(context.Context) (string, error) {
		return fmt.Sprintf("zq9-Mx7vP2wLr4Kt-%d", n.Add(1)), nil
	})
}

// A Delete whose first answer was lost (the key may be gone), whose retry
// then met a 401 and was replayed with a fresh token, must remember the lost
// answer: the replay's 404 means the key is gone, as asked.
func TestDeleteRemembersLostAnswerAcross401Replay(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(hangUp, reply(401, failedEnvelope("token expired")), reply(404, failedEnvelope("API key not found"))))
	c := lb.client(t, WithTokenSource(changingTokens()))
	var resp Response
	if err := c.APIKeys.Delete(bg, "5", WithResponseInto(&resp)); err != nil {
		t.Fatalf("Delete: %v after %d requests", err, lb.count())
	}
	if lb.count() != 3 || resp.Attempts != 3 || resp.StatusCode != 404 {
		t.Fatalf("%d requests; Response %+v", lb.count(), resp)
	}
}

// The same through Rotate: the old key is deleted, so no RotateError.
func TestRotateAfterDeleteReplayedIsNoRotateError(t *testing.T) {
	t.Parallel()
	var deletes atomic.Int64
	del := sequence(hangUp, reply(401, failedEnvelope("token expired")), reply(404, failedEnvelope("API key not found")))
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			writeJSON(w, 200, docsCreateIntID)
			return
		}
		deletes.Add(1)
		del(w, r)
	})
	c := lb.client(t, WithTokenSource(changingTokens()))
	key, err := c.APIKeys.Rotate(bg, "5", CreateAPIKeyRequest{Name: "n"})
	if err != nil || key == nil {
		t.Fatalf("Rotate: key %v, err %v", key, err)
	}
	if deletes.Load() != 3 {
		t.Fatalf("%d deletes", deletes.Load())
	}
}

// recordingObserver keeps every event; it checks that the context of the
// attempts is the one CallStart returned.
type recordingObserver struct {
	mu       sync.Mutex
	starts   []CallInfo
	attempts []AttemptInfo
	results  []CallResult
	infos    []CallInfo
	badCtx   int
}

type spanKey struct{}

func (o *recordingObserver) CallStart(ctx context.Context, info CallInfo) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.starts = append(o.starts, info)
	return context.WithValue(ctx, spanKey{}, "span")
}

func (o *recordingObserver) AttemptDone(ctx context.Context, info CallInfo, a AttemptInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ctx.Value(spanKey{}) != "span" {
		o.badCtx++
	}
	o.attempts = append(o.attempts, a)
	o.infos = append(o.infos, info)
}

func (o *recordingObserver) CallDone(ctx context.Context, info CallInfo, r CallResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ctx.Value(spanKey{}) != "span" {
		o.badCtx++
	}
	o.results = append(o.results, r)
	o.infos = append(o.infos, info)
}

// everything prints every event, for a check that no secret reached one.
func (o *recordingObserver) everything() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("%+v %+v %+v %+v", o.starts, o.attempts, o.results, o.infos)
}

func TestObserverSeesEveryAttemptAndTheReplay(t *testing.T) {
	t.Parallel()
	const headerValue = "Xk4-pQ8wZr2Tn6Vy"
	obs := &recordingObserver{}
	e := newTestEnv(t, WithObserver(obs), WithTokenSource(changingTokens()))
	answers := []answer{
		{status: 503, body: failedEnvelope("busy"), header: map[string]string{"X-Request-Id": "rid-1"}},
		{status: 401, body: failedEnvelope("token expired"), header: map[string]string{"X-Request-Id": "rid-2"}},
		{status: 200, body: docsDelete, header: map[string]string{"X-Request-Id": "rid-3"}},
	}
	var n, spans, headers atomic.Int64
	e.mock.RegisterResponder("DELETE", testBase+"/api-keys/5", func(req *http.Request) (*http.Response, error) {
		if req.Context().Value(spanKey{}) == "span" {
			spans.Add(1)
		}
		if req.Header.Get("X-Tenant") == headerValue {
			headers.Add(1)
		}
		return answers[n.Add(1)-1].response(req)
	})
	if err := e.client.APIKeys.Delete(bg, "5", WithCallHeader("X-Tenant", headerValue)); err != nil {
		t.Fatal(err)
	}
	if spans.Load() != 3 || headers.Load() != 3 {
		t.Fatalf("of 3 attempts, %d ran in CallStart's context and %d carried the call's header", spans.Load(), headers.Load())
	}
	wantInfo := CallInfo{Method: "DELETE", Route: "/api-keys/{id}", Service: "APIKeys", Operation: "Delete", ServerAddress: "api.nebula.test", ServerPort: 443} // the scheme's port
	if len(obs.starts) != 1 || obs.starts[0] != wantInfo {
		t.Fatalf("CallStart %+v", obs.starts)
	}
	for _, info := range obs.infos {
		if info != wantInfo {
			t.Fatalf("info %+v", info)
		}
	}
	if len(obs.attempts) != 3 || obs.badCtx != 0 {
		t.Fatalf("attempts %+v, %d events outside CallStart's context", obs.attempts, obs.badCtx)
	}
	for i, want := range []struct {
		status int
		retry  bool
		err    bool
	}{{503, true, true}, {401, false, true}, {200, false, false}} {
		a := obs.attempts[i]
		if a.Attempt != i+1 || a.StatusCode != want.status || a.Retry != want.retry || (a.Err != nil) != want.err || a.RequestID != fmt.Sprintf("rid-%d", i+1) {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
		if a.Retry && a.Wait <= 0 {
			t.Errorf("attempt %d retried without a wait", i+1)
		}
	}
	if len(obs.results) != 1 {
		t.Fatalf("CallDone %d times", len(obs.results))
	}
	r := obs.results[0]
	if r.Err != nil || r.Attempts != 3 || r.StatusCode != 200 || r.RequestID != "rid-3" || r.OutcomeUnknown || r.Duration <= 0 {
		t.Fatalf("CallDone %+v", r)
	}
	all := obs.everything()
	for _, secret := range []string{"zq9-Mx7vP2wLr4Kt", headerValue} {
		if strings.Contains(all, secret) {
			t.Fatalf("an observer saw %q: %s", secret, all)
		}
	}
}

// With an observer installed, the SDK's own connection trace still proves
// that a create never left (so it is retried) or may have (so it is not).
func TestObserverKeepsTheCreateProof(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	lb := newLoopback(t, hangUp)
	_, err := lb.client(t, WithObserver(obs)).APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if !errors.Is(err, ErrOutcomeUnknown) || lb.count() != 1 {
		t.Fatalf("err %v after %d requests", err, lb.count())
	}
	if len(obs.results) != 1 || !obs.results[0].OutcomeUnknown || obs.results[0].Attempts != 1 || obs.results[0].Err != err {
		t.Fatalf("CallDone %+v", obs.results)
	}

	// Port 1 on loopback refuses: nothing left, so the create is retried.
	obs = &recordingObserver{}
	c, err := NewClient(WithToken(testToken), WithBaseURL("http://127.0.0.1:1/api/v1"), WithRetryWait(time.Millisecond, time.Millisecond), WithMaxRetries(2), WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if err == nil || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err %v", err)
	}
	if len(obs.attempts) != 3 || obs.results[0].Attempts != 3 || obs.results[0].StatusCode != 0 {
		t.Fatalf("attempts %+v result %+v", obs.attempts, obs.results)
	}
}

// A call refused for bad input sends nothing and reaches no observer; its
// Response says 0 attempts and no status, even when it held an earlier
// call's.
func TestRefusedCallIsNotObservedAndZeroesResponse(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	e := newTestEnv(t, WithObserver(obs))
	rec := e.anyRequest(ok(docsList))
	stale := Response{StatusCode: 200, Attempts: 2, RequestID: "old"}
	resp := stale
	if _, err := e.client.APIKeys.List(bg, WithResponseInto(&resp), WithCallMaxRetries(-1)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("err %v", err)
	}
	//lint:ignore SA1012 a nil context is the bad input under test
	if _, err := e.client.APIKeys.List(nil, WithResponseInto(&resp)); !errors.Is(err, ErrInvalidArgument) { //nolint:staticcheck
		t.Fatalf("nil context: err %v", err)
	}
	if resp.StatusCode != 0 || resp.Attempts != 0 || resp.RequestID != "" || resp.Header != nil {
		t.Fatalf("Response %+v", resp)
	}
	resp = stale
	if err := e.client.APIKeys.Delete(bg, "", WithResponseInto(&resp)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("err %v", err)
	}
	if resp.StatusCode != 0 || resp.Attempts != 0 {
		t.Fatalf("refused by its method: Response %+v", resp)
	}
	if rec.count() != 0 || len(obs.starts)+len(obs.attempts)+len(obs.results) != 0 {
		t.Fatalf("%d requests, observer %s", rec.count(), obs.everything())
	}
}

// A TokenSource that fails is no bad input: the observer sees the call,
// with no attempt.
func TestObserverSeesTokenSourceFailure(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	boom := errors.New("vault sealed")
	e := newTestEnv(t, WithObserver(obs), WithTokenSource(funcTokenSource(func(context.Context) (string, error) { return "", boom })))
	var resp Response
	_, err := e.client.APIKeys.List(bg, WithResponseInto(&resp))
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if len(obs.starts) != 1 || len(obs.attempts) != 0 || len(obs.results) != 1 || obs.results[0].Attempts != 0 || !errors.Is(obs.results[0].Err, boom) {
		t.Fatalf("observer %s", obs.everything())
	}
	if resp.Attempts != 0 || resp.StatusCode != 0 {
		t.Fatalf("Response %+v", resp)
	}
}

// The fast path for request ids gives what scrubbing gives.
func TestPlainRequestIDAgreesWithScrub(t *testing.T) {
	t.Parallel()
	secrets := []string{"zq9-Mx7vP2wLr4Kt", "p@ss w0rd!x", testToken}
	for _, id := range []string{
		"req-1", "4f6c2a0e-9b1d-4e27-8c55-0d3f1b2a9e77", "abc.def:ghi_jkl",
		"x-zq9-Mx7vP2wLr4Kt-y", "p%40ss+w0rd%21x", `p\u0040ss`, "ak_" + strings.Repeat("a", 40),
		"eyJhbGciOiJIUzI1NiJ9", "a b", strings.Repeat("z", 200), "tab\there",
	} {
		if plainRequestID(id, secrets) && sanitizeHeader(id, secrets) != id {
			t.Errorf("%q: the fast path keeps what scrub changes to %q", id, sanitizeHeader(id, secrets))
		}
	}
	if !plainRequestID("4f6c2a0e-9b1d-4e27-8c55-0d3f1b2a9e77", secrets) {
		t.Error("a UUID takes the slow path")
	}
}

// nilContextObserver is an Observer whose CallStart returns nil, as a
// careless one may.
type nilContextObserver struct{ recordingObserver }

func (o *nilContextObserver) CallStart(ctx context.Context, info CallInfo) context.Context {
	o.recordingObserver.CallStart(ctx, info)
	return nil
}

// A CallStart that returns a nil context made the SDK panic; the call keeps
// the caller's context instead.
func TestObserverReturningNilContextIsNoPanic(t *testing.T) {
	t.Parallel()
	obs := &nilContextObserver{}
	e := newTestEnv(t, WithObserver(obs))
	e.reply("GET", "/api_keys", status(503, failedEnvelope("busy")), ok(docsList))
	keys, err := e.client.APIKeys.List(bg)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %v, err %v", keys, err)
	}
	if len(obs.attempts) != 2 || len(obs.results) != 1 {
		t.Fatalf("observer %s", obs.everything())
	}
}

// The caller's own httptrace.ClientTrace sees each event once: the SDK's
// connection trace (the proof that a create never left) was composed with
// it again for the replay after a 401, so every hook of the caller's then
// ran twice.
func TestCallersClientTraceRunsOnceAcrossReplay(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(reply(401, failedEnvelope("token expired")), reply(200, docsCreateIntID)))
	var got, wrote atomic.Int64
	ctx := httptrace.WithClientTrace(bg, &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { got.Add(1) },
		WroteHeaders: func() { wrote.Add(1) },
	})
	if _, err := lb.client(t, WithTokenSource(changingTokens())).APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "n"}); err != nil {
		t.Fatal(err)
	}
	if lb.count() != 2 || got.Load() != 2 || wrote.Load() != 2 {
		t.Fatalf("%d requests; the caller's trace saw %d connections and %d requests written", lb.count(), got.Load(), wrote.Load())
	}
}

// TestCallClear checks that a call handed back to the pool keeps nothing of
// the call it served: not its token, request, secrets or answer.
func TestCallClear(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken(testToken), WithBaseURL("http://127.0.0.1:1"), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	cl := newCall(context.Background(), c, &request{method: http.MethodPost, path: "/login", safety: sendOnce,
		body: []byte(`{"password":"pw"}`), secrets: []string{"zq9-Mx7vP2wLr4Kt"}}, callConfig{maxRetries: -1})
	if cl.conn == nil {
		t.Fatal("a create on a *http.Transport has no connWatch")
	}
	cl.token, cl.status, cl.header = "k5-Wd8sQ2", 200, http.Header{"X-Request-Id": {"r"}}
	cl.clear()
	if !reflect.ValueOf(cl.callState).IsZero() || cl.rc.HTTPClient != nil || cl.rc.PrepareRetry != nil {
		t.Fatalf("a cleared call keeps state: %+v", cl.callState)
	}
	if cl.rc.CheckRetry == nil || cl.handle == nil {
		t.Fatal("a cleared call lost its bound hooks")
	}
}

// pooledCallsObserver records each call's CallResult by the trace id the
// test put in its context.
type pooledCallsObserver struct {
	mu   sync.Mutex
	done map[string]CallResult
}

type traceKey struct{}

func (o *pooledCallsObserver) CallStart(ctx context.Context, _ CallInfo) context.Context { return ctx }
func (o *pooledCallsObserver) AttemptDone(context.Context, CallInfo, AttemptInfo)        {}
func (o *pooledCallsObserver) CallDone(ctx context.Context, _ CallInfo, r CallResult) {
	trace, _ := ctx.Value(traceKey{}).(string)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done[trace] = r
}

// Concurrent callers on one Client each get a pooled call of their own: no
// result, Response, attempt count or Observer report of one call shows
// another's, across retries and 401 replays (run with -race). The server
// answers each call by its trace header, which the call sends with
// WithCallHeader.
func TestPooledCallsKeepConcurrentCallsApart(t *testing.T) {
	t.Parallel()
	var seen sync.Map // trace -> *atomic.Int64, the requests of that call
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		trace := r.Header.Get("X-Trace")
		v, _ := seen.LoadOrStore(trace, new(atomic.Int64))
		first := v.(*atomic.Int64).Add(1) == 1
		w.Header().Set("X-Request-Id", trace)
		switch {
		case first && strings.HasSuffix(trace, "-replay"):
			writeJSON(w, 401, failedEnvelope("token expired"))
		case first && strings.HasSuffix(trace, "-retry"):
			writeJSON(w, 503, failedEnvelope("busy"))
		case r.Method == http.MethodPost:
			writeJSON(w, 200, fmt.Sprintf(`{"status":"success","data":{"id":%q,"key":"ak_%s","name":%q}}`, trace, strings.ReplaceAll(trace, "-", ""), trace))
		default:
			writeJSON(w, 200, fmt.Sprintf(`{"status":"success","data":[{"id":%q,"name":%q}]}`, trace, trace))
		}
	})
	obs := &pooledCallsObserver{done: map[string]CallResult{}}
	c := lb.client(t, WithTokenSource(changingTokens()), WithObserver(obs))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 12 {
				trace := fmt.Sprintf("g%d-c%d", g, i)
				attempts := 1
				switch i % 3 {
				case 1:
					trace, attempts = trace+"-replay", 2
				case 2:
					trace, attempts = trace+"-retry", 2
				}
				ctx := context.WithValue(bg, traceKey{}, trace)
				var resp Response
				opts := []CallOption{WithResponseInto(&resp), WithCallHeader("X-Trace", trace)}
				var got string
				if i%2 == 0 || attempts == 2 && i%3 == 2 { // a create is not retried on 503: list instead
					keys, err := c.APIKeys.List(ctx, opts...)
					if err != nil {
						t.Errorf("%s: %v", trace, err)
						continue
					}
					got = string(keys[0].ID) + " " + keys[0].Name
				} else {
					key, err := c.APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "n"}, opts...)
					if err != nil {
						t.Errorf("%s: %v", trace, err)
						continue
					}
					got = string(key.ID) + " " + key.Name
					if key.Key.Reveal() != "ak_"+strings.ReplaceAll(trace, "-", "") {
						t.Errorf("%s: got the key of another call", trace)
					}
				}
				if got != trace+" "+trace {
					t.Errorf("%s: got %s", trace, got)
				}
				if resp.RequestID != trace || resp.Attempts != attempts || resp.StatusCode != 200 {
					t.Errorf("%s: Response %+v", trace, resp)
				}
				obs.mu.Lock()
				done := obs.done[trace]
				obs.mu.Unlock()
				if done.RequestID != trace || done.Attempts != attempts || done.Err != nil {
					t.Errorf("%s: CallDone %+v", trace, done)
				}
			}
		}()
	}
	wg.Wait()
}

// A create replayed after a 401 over HTTP/2 gets a connection hook of its
// own: the first request's stream goroutine reads its trace (WroteRequest)
// with nothing ordering that read before the replay, so the replay must
// not rewrite that trace (a data race, which -race reports).
func TestCreateReplayOverHTTP2KeepsFirstTrace(t *testing.T) {
	t.Parallel()
	var requests, proto atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int64(r.ProtoMajor))
		if requests.Add(1) == 1 {
			writeJSON(w, 401, failedEnvelope("token expired"))
			return
		}
		writeJSON(w, 200, docsCreateIntID)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr := newTransport(srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone())
	t.Cleanup(tr.CloseIdleConnections)
	c, err := NewClient(WithTokenSource(changingTokens()), WithBaseURL(srv.URL+"/api/v1"), withEnv(nil),
		WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		requests.Store(0)
		var resp Response
		key, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"}, WithResponseInto(&resp))
		if err != nil || key == nil || resp.Attempts != 2 {
			t.Fatalf("Create: %v, %v, %+v", key, err, resp)
		}
		if proto.Load() != 2 {
			t.Fatalf("the create went over HTTP/%d, not HTTP/2", proto.Load())
		}
	}
}

// Retry says what the policy decided; the retry may still not be sent: a
// TokenSource that fails before it ends the call, and CallDone counts the
// attempts that were sent, with the TokenSource's error.
func TestObserverRetryDecidedButTokenSourceFailed(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	boom := errors.New("vault sealed")
	var calls atomic.Int32
	ts := funcTokenSource(func(context.Context) (string, error) {
		if calls.Add(1) > 1 {
			return "", boom
		}
		return testToken, nil
	})
	e := newTestEnv(t, WithObserver(obs), WithTokenSource(ts))
	e.reply("GET", "/api_keys", status(503, failedEnvelope("busy")))
	var resp Response
	_, err := e.client.APIKeys.List(bg, WithResponseInto(&resp))
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if len(obs.attempts) != 1 || !obs.attempts[0].Retry || obs.attempts[0].StatusCode != 503 {
		t.Fatalf("attempts %+v", obs.attempts)
	}
	if len(obs.results) != 1 || obs.results[0].Attempts != 1 || !errors.Is(obs.results[0].Err, boom) || resp.Attempts != 1 {
		t.Fatalf("observer %s, Response %+v", obs.everything(), resp)
	}
}

// cancelOnRetryObserver ends the call's context when a retry is decided,
// during the wait before it.
type cancelOnRetryObserver struct {
	recordingObserver
	cancel context.CancelFunc
}

func (o *cancelOnRetryObserver) AttemptDone(ctx context.Context, info CallInfo, a AttemptInfo) {
	o.recordingObserver.AttemptDone(ctx, info, a)
	if a.Retry {
		o.cancel()
	}
}

// The same when the context ends during the wait: no attempt follows the
// decided retry, and CallDone counts one.
func TestObserverRetryDecidedButContextEnded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	obs := &cancelOnRetryObserver{cancel: cancel}
	e := newTestEnv(t, WithObserver(obs), WithRetryWait(time.Minute, time.Minute))
	rec := e.anyRequest(status(503, failedEnvelope("busy")))
	_, err := e.client.APIKeys.List(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if rec.count() != 1 || len(obs.attempts) != 1 || !obs.attempts[0].Retry || len(obs.results) != 1 || obs.results[0].Attempts != 1 {
		t.Fatalf("%d requests, observer %s", rec.count(), obs.everything())
	}
}
