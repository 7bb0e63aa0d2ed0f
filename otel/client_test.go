package nebulaotel

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nebula-sdk/nebula-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// These tests run a real nebula.Client, with WithTelemetry, against a
// loopback server.

const keyList = `{"status":"success","message":"","data":[{"id":7,"name":"ci","description":"","partial_key_data":"ak_..."}]}`

// newServer serves h on 127.0.0.1 and returns a traced Client for it,
// with cred as its credential, or testToken when cred is nil.
func newServer(t *testing.T, s *sink, h http.HandlerFunc, cred nebula.Option) (*nebula.Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base := []nebula.Option{
		nebula.WithBaseURL(srv.URL + "/api/v1"),
		nebula.WithInsecureHTTP(),
		nebula.WithHTTPClient(srv.Client()),
		nebula.WithRetryWait(time.Millisecond, 2*time.Millisecond),
		WithTelemetry(s.options()...),
	}
	if cred == nil {
		cred = nebula.WithToken(testToken)
	}
	c, err := nebula.NewClient(append(base, cred)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// wantServer checks server.address and server.port against srv.
func wantServer(t *testing.T, what string, a attrs, srv *httptest.Server) {
	t.Helper()
	host, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	a.want(t, what, []attribute.KeyValue{semconv.ServerAddress(host), semconv.ServerPort(p)})
}

// echo answers with the request's credential everywhere a careless
// tracer might look: a header, the request id's neighbour, the body.
func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Echo", r.Header.Get("Authorization"))
	w.Header().Set("X-Request-Id", "req-42")
}

func TestClientPlainCall(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	c, srv := newServer(t, s, func(w http.ResponseWriter, r *http.Request) {
		echo(w, r)
		_, _ = io.WriteString(w, strings.Replace(keyList, `"ci"`, strconv.Quote(r.Header.Get("Authorization")), 1))
	}, nil)
	keys, err := c.APIKeys.List(context.Background())
	if err != nil || len(keys) != 1 {
		t.Fatalf("List = %v, %v", keys, err)
	}

	call, attempts := s.spans(t)
	if call.Name != "GET /api_keys" {
		t.Errorf("call span %q, want GET /api_keys", call.Name)
	}
	ca := attrsOf(call.Attributes)
	ca.want(t, "call span", []attribute.KeyValue{
		semconv.HTTPRequestMethodGet, semconv.URLTemplate("/api_keys"), semconv.HTTPResponseStatusCode(200),
		AttemptsKey.Int(1), OutcomeUnknownKey.Bool(false), RequestIDKey.String("req-42"),
		OperationKey.String("APIKeys.List"),
	}, semconv.ErrorTypeKey)
	wantServer(t, "call span", ca, srv)
	if len(attempts) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(attempts))
	}
	aa := attrsOf(attempts[0].Attributes)
	aa.want(t, "attempt span", []attribute.KeyValue{semconv.HTTPResponseStatusCode(200), RequestIDKey.String("req-42")},
		semconv.HTTPRequestResendCountKey, semconv.ErrorTypeKey)
	wantServer(t, "attempt span", aa, srv)
	if !within(attempts[0], call) {
		t.Errorf("attempt span [%v, %v] outside the call's [%v, %v]", attempts[0].StartTime, attempts[0].EndTime, call.StartTime, call.EndTime)
	}

	rm := s.collect(t)
	if p := floatHist(t, rm, "http.client.request.duration"); len(p) != 1 || p[0].Count != 1 {
		t.Errorf("http.client.request.duration = %+v, want one value", p)
	}
	if p := floatHist(t, rm, CallDurationMetric); len(p) != 1 || p[0].Count != 1 || p[0].Sum <= 0 {
		t.Errorf("%s = %+v, want one value", CallDurationMetric, p)
	}
	if p := intHist(t, rm, CallAttemptsMetric); len(p) != 1 || p[0].Sum != 1 {
		t.Errorf("%s = %+v, want one 1", CallAttemptsMetric, p)
	}
	s.assertNoSecret(t, testToken)
}

func TestClientRetriedCall(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	var n atomic.Int32
	c, _ := newServer(t, s, func(w http.ResponseWriter, r *http.Request) {
		echo(w, r)
		if n.Add(1) <= 2 {
			// A proxy that puts the credential in the request id: the SDK
			// scrubs it before an Observer sees it.
			w.Header().Set("X-Request-Id", "req-"+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"failed","message":"busy `+r.Header.Get("Authorization")+`"}`)
			return
		}
		_, _ = io.WriteString(w, keyList)
	}, nil)
	if _, err := c.APIKeys.List(context.Background()); err != nil {
		t.Fatal(err)
	}

	call, attempts := s.spans(t)
	attrsOf(call.Attributes).want(t, "call span", []attribute.KeyValue{AttemptsKey.Int(3), semconv.HTTPResponseStatusCode(200)}, semconv.ErrorTypeKey)
	if call.Status.Code == codes.Error {
		t.Errorf("call span status %+v, want no error", call.Status)
	}
	if len(attempts) != 3 {
		t.Fatalf("%d attempt spans, want 3", len(attempts))
	}
	for i, a := range attempts {
		at := attrsOf(a.Attributes)
		if i == 0 {
			at.want(t, "attempt 1", nil, semconv.HTTPRequestResendCountKey)
		} else {
			at.want(t, "attempt "+strconv.Itoa(i+1), []attribute.KeyValue{semconv.HTTPRequestResendCount(i)})
		}
		if i < 2 {
			at.want(t, "attempt "+strconv.Itoa(i+1), []attribute.KeyValue{semconv.HTTPResponseStatusCode(503), semconv.ErrorTypeKey.String("503")})
			if _, ok := at[RetryWaitKey]; !ok {
				t.Errorf("attempt %d: no %s", i+1, RetryWaitKey)
			}
			if a.Status.Code != codes.Error {
				t.Errorf("attempt %d status %+v, want an error", i+1, a.Status)
			}
		} else {
			at.want(t, "attempt 3", []attribute.KeyValue{semconv.HTTPResponseStatusCode(200)}, semconv.ErrorTypeKey, RetryWaitKey)
		}
		if i > 0 && a.StartTime.Before(attempts[i-1].EndTime) {
			t.Errorf("attempt %d starts before attempt %d ends", i+1, i)
		}
	}

	rm := s.collect(t)
	var count uint64
	for _, p := range floatHist(t, rm, "http.client.request.duration") {
		count += p.Count
		a := setAttrs(p.Attributes)
		if a[semconv.HTTPResponseStatusCodeKey].AsInt64() == 503 {
			a.want(t, "503 duration", []attribute.KeyValue{semconv.ErrorTypeKey.String("503")})
		}
	}
	if count != 3 {
		t.Errorf("http.client.request.duration holds %d values, want 3", count)
	}
	if p := intHist(t, rm, CallAttemptsMetric); len(p) != 1 || p[0].Sum != 3 || p[0].Count != 1 {
		t.Errorf("%s = %+v, want one 3", CallAttemptsMetric, p)
	}
	s.assertNoSecret(t, testToken)
}

// rotatingSource gives old until a 401 makes the SDK ask again.
type rotatingSource struct {
	calls    atomic.Int32
	old, new string
}

func (r *rotatingSource) Token(context.Context) (string, error) {
	if r.calls.Add(1) == 1 {
		return r.old, nil
	}
	return r.new, nil
}

func TestClient401Replay(t *testing.T) {
	t.Parallel()
	const fresh = "Rb4-Tn8wQ1xHs6Jy"
	s := newSink(t)
	ts := &rotatingSource{old: testToken, new: fresh}
	var creates atomic.Int32
	c, _ := newServer(t, s, func(w http.ResponseWriter, r *http.Request) {
		echo(w, r)
		if r.Header.Get("Authorization") != "Bearer "+fresh {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"status":"failed","message":"bad token `+r.Header.Get("Authorization")+`"}`)
			return
		}
		creates.Add(1)
		_, _ = io.WriteString(w, `{"status":"success","data":{"id":9,"name":"ci","key":"`+testToken+`x"}}`)
	}, nebula.WithTokenSource(ts))
	if _, err := c.APIKeys.Create(context.Background(), nebula.CreateAPIKeyRequest{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	if creates.Load() != 1 {
		t.Fatalf("%d keys created, want 1", creates.Load())
	}

	call, attempts := s.spans(t)
	if call.Name != "POST /api-keys" {
		t.Errorf("call span %q", call.Name)
	}
	attrsOf(call.Attributes).want(t, "call span", []attribute.KeyValue{
		AttemptsKey.Int(2), semconv.HTTPResponseStatusCode(200), OutcomeUnknownKey.Bool(false),
	}, semconv.ErrorTypeKey)
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans, want 2 (the 401 and its replay)", len(attempts))
	}
	attrsOf(attempts[0].Attributes).want(t, "the 401", []attribute.KeyValue{
		semconv.HTTPResponseStatusCode(401), semconv.ErrorTypeKey.String("401"),
	}, semconv.HTTPRequestResendCountKey)
	attrsOf(attempts[1].Attributes).want(t, "the replay", []attribute.KeyValue{
		semconv.HTTPResponseStatusCode(200), semconv.HTTPRequestResendCount(1),
	}, semconv.ErrorTypeKey)
	s.assertNoSecret(t, testToken, fresh)
}

// TestClientOutcomeUnknown: the server reads a create's body and hangs up
// without an answer, so the key may exist.
func TestClientOutcomeUnknown(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	var posts atomic.Int32
	c, _ := newServer(t, s, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_ = conn.Close()
	}, nil)
	_, err := c.APIKeys.Create(context.Background(), nebula.CreateAPIKeyRequest{Name: "ci"})
	if !errors.Is(err, nebula.ErrOutcomeUnknown) {
		t.Fatalf("Create error %v, want ErrOutcomeUnknown", err)
	}
	if posts.Load() != 1 {
		t.Fatalf("%d POSTs, want 1", posts.Load())
	}

	call, attempts := s.spans(t)
	ca := attrsOf(call.Attributes)
	ca.want(t, "call span", []attribute.KeyValue{OutcomeUnknownKey.Bool(true), AttemptsKey.Int(1)}, semconv.HTTPResponseStatusCodeKey)
	et := ca[semconv.ErrorTypeKey].AsString()
	if et == "" || et[0] >= '0' && et[0] <= '9' {
		t.Errorf("call span error.type %q, want a Go error type", et)
	}
	if call.Status.Code != codes.Error || call.Status.Description != et {
		t.Errorf("call span status %+v, want an error described as %q", call.Status, et)
	}
	if len(attempts) != 1 || attempts[0].Status.Code != codes.Error {
		t.Fatalf("attempt spans %d (%+v), want one failed", len(attempts), attempts)
	}

	rm := s.collect(t)
	p := counter(t, rm, OutcomeUnknownMetric)
	if len(p) != 1 || p[0].Value != 1 {
		t.Fatalf("%s = %+v, want 1", OutcomeUnknownMetric, p)
	}
	setAttrs(p[0].Attributes).want(t, OutcomeUnknownMetric, []attribute.KeyValue{
		OperationKey.String("APIKeys.Create"), semconv.HTTPRequestMethodPost, semconv.URLTemplate("/api-keys"),
		semconv.ErrorTypeKey.String(et),
	})
}

func TestClientContextCancelled(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	arrived := make(chan struct{})
	c, _ := newServer(t, s, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := c.APIKeys.List(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("List error %v, want context.Canceled", err)
	}

	call, attempts := s.spans(t)
	attrsOf(call.Attributes).want(t, "call span", []attribute.KeyValue{
		semconv.ErrorTypeKey.String("context.Canceled"), OutcomeUnknownKey.Bool(false), AttemptsKey.Int(1),
	}, semconv.HTTPResponseStatusCodeKey, RequestIDKey)
	if call.Status.Code != codes.Error || call.Status.Description != "context.Canceled" {
		t.Errorf("call span status %+v", call.Status)
	}
	if len(attempts) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(attempts))
	}
	attrsOf(attempts[0].Attributes).want(t, "attempt", []attribute.KeyValue{semconv.ErrorTypeKey.String("context.Canceled")}, RetryWaitKey)
	if hasMetric(s.collect(t), OutcomeUnknownMetric) {
		t.Errorf("%s counted a cancelled List", OutcomeUnknownMetric)
	}
}

func within(inner, outer tracetest.SpanStub) bool {
	return !inner.StartTime.Before(outer.StartTime) && !inner.EndTime.After(outer.EndTime)
}

// TestClientConcurrentCalls: calls in parallel on one Client each get
// their own span with their own attempts under it.
func TestClientConcurrentCalls(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	var seen sync.Map
	c, _ := newServer(t, s, func(w http.ResponseWriter, r *http.Request) {
		// Each call's first attempt fails, so every call has two.
		if _, again := seen.LoadOrStore(r.Header.Get("X-Call"), true); !again {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, keyList)
	}, nil)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := c.APIKeys.List(context.Background(), nebula.WithCallHeader("X-Call", strconv.Itoa(i)))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	children := map[[8]byte]int{}
	calls := 0
	for _, sp := range s.exp.GetSpans() {
		if sp.Parent.IsValid() {
			children[sp.Parent.SpanID()]++
			continue
		}
		calls++
		if got := attrsOf(sp.Attributes)[AttemptsKey].AsInt64(); got != 2 {
			t.Errorf("call span with %d attempts, want 2", got)
		}
	}
	if calls != n || len(children) != n {
		t.Fatalf("%d call spans with %d distinct parents of attempts, want %d and %d", calls, len(children), n, n)
	}
	for id, k := range children {
		if k != 2 {
			t.Errorf("call %x has %d attempt spans, want 2", id, k)
		}
	}
}

type sourceDown struct{}

func (sourceDown) Error() string { return "vault sealed" }

type failingSource struct{}

func (failingSource) Token(context.Context) (string, error) { return "", sourceDown{} }

// TestClientNothingSent: a call whose TokenSource fails sends nothing; its
// span says 0 attempts and has no attempt under it.
func TestClientNothingSent(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	c, _ := newServer(t, s, func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request arrived")
	}, nebula.WithTokenSource(failingSource{}))
	if _, err := c.APIKeys.List(context.Background()); !errors.As(err, new(sourceDown)) {
		t.Fatalf("List error %v, want the TokenSource's", err)
	}
	call, attempts := s.spans(t)
	if len(attempts) != 0 {
		t.Errorf("%d attempt spans, want none", len(attempts))
	}
	attrsOf(call.Attributes).want(t, "call span", []attribute.KeyValue{
		AttemptsKey.Int(0), OutcomeUnknownKey.Bool(false),
		semconv.ErrorTypeKey.String("nebulaotel.sourceDown"),
	}, semconv.HTTPResponseStatusCodeKey)
	if p := intHist(t, s.collect(t), CallAttemptsMetric); len(p) != 1 || p[0].Sum != 0 || p[0].Count != 1 {
		t.Errorf("%s = %+v, want one 0", CallAttemptsMetric, p)
	}
}
