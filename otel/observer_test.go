package nebulaotel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/nebula-sdk/nebula-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

var createInfo = nebula.CallInfo{Method: "POST", Route: "/computing/instance", Service: "Instances", Operation: "Create"}

// These tests drive the Observer's methods the way the SDK's pipeline
// does; client_test.go drives them through a real nebula.Client.

func TestObserverOneAttempt(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	o := s.observer(t)
	ctx := o.CallStart(context.Background(), createInfo)
	o.AttemptDone(ctx, createInfo, nebula.AttemptInfo{Attempt: 1, StatusCode: 200, RequestID: "req-1", Duration: 20 * time.Millisecond})
	o.CallDone(ctx, createInfo, nebula.CallResult{Attempts: 1, StatusCode: 200, RequestID: "req-1", Duration: 21 * time.Millisecond})

	call, attempts := s.spans(t)
	if call.Name != "POST /computing/instance" || call.SpanKind != trace.SpanKindClient {
		t.Errorf("call span %q kind %v, want POST /computing/instance, client", call.Name, call.SpanKind)
	}
	if call.Status.Code != codes.Unset {
		t.Errorf("call span status %v, want unset", call.Status)
	}
	attrsOf(call.Attributes).want(t, "call span", []attribute.KeyValue{
		semconv.HTTPRequestMethodPost,
		semconv.URLTemplate("/computing/instance"),
		semconv.HTTPResponseStatusCode(200),
		AttemptsKey.Int(1),
		OutcomeUnknownKey.Bool(false),
		RequestIDKey.String("req-1"),
		OperationKey.String("Instances.Create"),
	}, semconv.ErrorTypeKey)
	if len(attempts) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(attempts))
	}
	a := attempts[0]
	if a.Name != call.Name || a.SpanKind != trace.SpanKindClient {
		t.Errorf("attempt span %q kind %v", a.Name, a.SpanKind)
	}
	if d := a.EndTime.Sub(a.StartTime); d != 20*time.Millisecond {
		t.Errorf("attempt span lasts %v, want the attempt's 20ms", d)
	}
	attrsOf(a.Attributes).want(t, "attempt span", []attribute.KeyValue{
		semconv.HTTPRequestMethodPost,
		semconv.URLTemplate("/computing/instance"),
		semconv.HTTPResponseStatusCode(200),
		RequestIDKey.String("req-1"),
	}, semconv.HTTPRequestResendCountKey, semconv.ErrorTypeKey, RetryWaitKey)

	rm := s.collect(t)
	reqs := floatHist(t, rm, "http.client.request.duration")
	if len(reqs) != 1 || reqs[0].Count != 1 || reqs[0].Sum != 0.02 {
		t.Fatalf("http.client.request.duration = %+v, want one 0.02", reqs)
	}
	setAttrs(reqs[0].Attributes).want(t, "http.client.request.duration", []attribute.KeyValue{
		semconv.HTTPRequestMethodPost, semconv.URLTemplate("/computing/instance"), semconv.HTTPResponseStatusCode(200),
	}, semconv.ErrorTypeKey, RequestIDKey)
	// The semantic conventions' buckets.
	if b := reqs[0].Bounds; len(b) != 14 || b[0] != 0.005 || b[13] != 10 {
		t.Errorf("http.client.request.duration buckets %v", b)
	}
	calls := floatHist(t, rm, CallDurationMetric)
	if len(calls) != 1 || calls[0].Count != 1 || calls[0].Sum != 0.021 {
		t.Errorf("%s = %+v, want one 0.021", CallDurationMetric, calls)
	}
	n := intHist(t, rm, CallAttemptsMetric)
	if len(n) != 1 || n[0].Count != 1 || n[0].Sum != 1 {
		t.Errorf("%s = %+v, want one 1", CallAttemptsMetric, n)
	}
	setAttrs(n[0].Attributes).want(t, CallAttemptsMetric, []attribute.KeyValue{
		OperationKey.String("Instances.Create"), semconv.URLTemplate("/computing/instance"),
	}, RequestIDKey)
	if hasMetric(rm, OutcomeUnknownMetric) {
		t.Errorf("%s recorded for a call whose outcome is known", OutcomeUnknownMetric)
	}
}

func TestObserverRetriedAttempts(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	o := s.observer(t)
	info := nebula.CallInfo{Method: "GET", Route: "/ssh-keys", Service: "SSHKeys", Operation: "List"}
	ctx := o.CallStart(context.Background(), info)
	busy := &nebula.APIError{HTTPStatus: 503, Message: "busy " + testToken}
	o.AttemptDone(ctx, info, nebula.AttemptInfo{Attempt: 1, StatusCode: 503, Err: busy, Duration: time.Millisecond, Retry: true, Wait: 4 * time.Millisecond})
	reset := &url.Error{Op: "Get", URL: "http://127.0.0.1/ssh-keys", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}
	o.AttemptDone(ctx, info, nebula.AttemptInfo{Attempt: 2, Err: reset, Duration: time.Millisecond, Retry: true, Wait: 8 * time.Millisecond})
	o.AttemptDone(ctx, info, nebula.AttemptInfo{Attempt: 3, StatusCode: 200, Duration: time.Millisecond})
	o.CallDone(ctx, info, nebula.CallResult{Attempts: 3, StatusCode: 200, Duration: 15 * time.Millisecond})

	call, attempts := s.spans(t)
	attrsOf(call.Attributes).want(t, "call span", []attribute.KeyValue{AttemptsKey.Int(3), semconv.HTTPResponseStatusCode(200)}, semconv.ErrorTypeKey, RequestIDKey)
	if len(attempts) != 3 {
		t.Fatalf("%d attempt spans, want 3", len(attempts))
	}
	attrsOf(attempts[0].Attributes).want(t, "attempt 1", []attribute.KeyValue{
		semconv.HTTPResponseStatusCode(503), semconv.ErrorTypeKey.String("503"), RetryWaitKey.Float64(0.004),
	}, semconv.HTTPRequestResendCountKey)
	attrsOf(attempts[1].Attributes).want(t, "attempt 2", []attribute.KeyValue{
		semconv.ErrorTypeKey.String("*net.OpError"), semconv.HTTPRequestResendCount(1), RetryWaitKey.Float64(0.008),
	}, semconv.HTTPResponseStatusCodeKey)
	attrsOf(attempts[2].Attributes).want(t, "attempt 3", []attribute.KeyValue{
		semconv.HTTPResponseStatusCode(200), semconv.HTTPRequestResendCount(2),
	}, semconv.ErrorTypeKey, RetryWaitKey)
	for i, a := range attempts[:2] {
		if a.Status.Code != codes.Error || a.Status.Description == "" {
			t.Errorf("attempt %d status %+v, want an error", i+1, a.Status)
		}
	}
	rm := s.collect(t)
	var total uint64
	for _, p := range floatHist(t, rm, "http.client.request.duration") {
		total += p.Count
	}
	if total != 3 {
		t.Errorf("http.client.request.duration has %d values, want one per attempt (3)", total)
	}
	s.assertNoSecret(t, testToken)
}

func TestObserverOutcomeUnknown(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	o := s.observer(t)
	ctx := o.CallStart(context.Background(), createInfo)
	cause := fmt.Errorf("reading answer: %w", io.ErrUnexpectedEOF)
	o.AttemptDone(ctx, createInfo, nebula.AttemptInfo{Attempt: 1, Err: cause, Duration: time.Millisecond})
	err := errors.Join(nebula.ErrOutcomeUnknown, cause)
	o.CallDone(ctx, createInfo, nebula.CallResult{Err: err, Attempts: 1, Duration: time.Millisecond, OutcomeUnknown: true})

	call, _ := s.spans(t)
	attrsOf(call.Attributes).want(t, "call span", []attribute.KeyValue{
		OutcomeUnknownKey.Bool(true), semconv.ErrorTypeKey.String("io.ErrUnexpectedEOF"), AttemptsKey.Int(1),
	}, semconv.HTTPResponseStatusCodeKey)
	if call.Status.Code != codes.Error || call.Status.Description != "io.ErrUnexpectedEOF" {
		t.Errorf("call status %+v", call.Status)
	}
	rm := s.collect(t)
	c := counter(t, rm, OutcomeUnknownMetric)
	if len(c) != 1 || c[0].Value != 1 {
		t.Fatalf("%s = %+v, want 1", OutcomeUnknownMetric, c)
	}
	setAttrs(c[0].Attributes).want(t, OutcomeUnknownMetric, []attribute.KeyValue{
		OperationKey.String("Instances.Create"), semconv.HTTPRequestMethodPost, semconv.URLTemplate("/computing/instance"),
	})
}

// A context that carries no call of this observer (an SDK that passed the
// caller's context on) must not make the observer end the caller's span.
func TestObserverLeavesForeignSpansAlone(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	o := s.observer(t)
	ctx, parent := s.tp.Tracer("caller").Start(context.Background(), "caller")
	o.AttemptDone(ctx, createInfo, nebula.AttemptInfo{Attempt: 1, StatusCode: 200})
	o.CallDone(ctx, createInfo, nebula.CallResult{Attempts: 1, StatusCode: 200})
	if n := len(s.exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans ended, want none", n)
	}
	parent.End()
	// The metrics are still recorded.
	if n := intHist(t, s.collect(t), CallAttemptsMetric); len(n) != 1 {
		t.Errorf("%s = %+v", CallAttemptsMetric, n)
	}
}

func TestObserverCallSpanIsChildOfCaller(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	o := s.observer(t)
	ctx, parent := s.tp.Tracer("caller").Start(context.Background(), "caller")
	cctx := o.CallStart(ctx, createInfo)
	o.CallDone(cctx, createInfo, nebula.CallResult{})
	parent.End()
	spans := s.exp.GetSpans()
	if len(spans) != 2 || spans[0].Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %+v: want the call's under the caller's", spans)
	}
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"api error", &nebula.APIError{HTTPStatus: 409, Message: testToken}, 409, "409"},
		{"wrapped api error", fmt.Errorf("x: %w", &nebula.APIError{HTTPStatus: 500}), 500, "500"},
		{"failed envelope on a 200", &nebula.APIError{HTTPStatus: 200, Status: "failed"}, 200, "200"},
		{"status without api error", errors.New("odd"), 502, "502"},
		{"cancelled", &url.Error{Op: "Get", URL: "u", Err: context.Canceled}, 0, "context.Canceled"},
		{"cancelled after a 503", errors.Join(context.Canceled, &nebula.APIError{HTTPStatus: 503}), 503, "context.Canceled"},
		{"deadline", fmt.Errorf("a: %w", context.DeadlineExceeded), 0, "context.DeadlineExceeded"},
		{"connection refused", &url.Error{Op: "Post", URL: "u", Err: opErr}, 0, "*net.OpError"},
		{"eof", &url.Error{Op: "Post", URL: "u", Err: io.EOF}, 0, "io.EOF"},
		{"invalid argument", fmt.Errorf("%w: name", nebula.ErrInvalidArgument), 0, "nebula.ErrInvalidArgument"},
		{"outcome unknown skips the sentinel", errors.Join(nebula.ErrOutcomeUnknown, opErr), 0, "*net.OpError"},
		{"plain", errors.New(testToken), 0, "*errors.errorString"},
		{"errno", syscall.ECONNRESET, 0, "syscall.Errno"},
	} {
		if got := errorType(tc.err, tc.status); got != tc.want {
			t.Errorf("%s: errorType = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWithTelemetryRefusesNil(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]Option{
		"nil option":         nil,
		"nil TracerProvider": WithTracerProvider(nil),
		"nil MeterProvider":  WithMeterProvider(nil),
	} {
		_, err := nebula.NewClient(nebula.WithToken(testToken), nebula.WithBaseURL("http://127.0.0.1:1"), nebula.WithInsecureHTTP(), WithTelemetry(opt))
		if !errors.Is(err, nebula.ErrInvalidArgument) {
			t.Errorf("%s: NewClient error %v, want ErrInvalidArgument", name, err)
		}
	}
}

// A call its sampler drops makes no spans, but its metrics still count.
func TestObserverUnsampledCall(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSyncer(s.exp))
	t.Cleanup(func() { _ = never.Shutdown(context.Background()) })
	o, err := newObserver(WithTracerProvider(never), WithMeterProvider(s.mp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := o.CallStart(context.Background(), createInfo)
	o.AttemptDone(ctx, createInfo, nebula.AttemptInfo{Attempt: 1, Err: io.EOF})
	o.CallDone(ctx, createInfo, nebula.CallResult{Attempts: 1, Err: errors.Join(nebula.ErrOutcomeUnknown, io.EOF), OutcomeUnknown: true})
	if n := len(s.exp.GetSpans()); n != 0 {
		t.Errorf("%d spans exported, want none", n)
	}
	if c := counter(t, s.collect(t), OutcomeUnknownMetric); len(c) != 1 || c[0].Value != 1 {
		t.Errorf("%s = %+v, want 1", OutcomeUnknownMetric, c)
	}
}
