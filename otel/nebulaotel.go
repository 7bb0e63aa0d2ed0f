// Package nebulaotel traces and measures the calls of a nebula.Client with
// OpenTelemetry.
//
//	client, err := nebula.NewClient(nebulaotel.WithTelemetry())
//
// Each call becomes one client span named "{METHOD} {route}" ("POST
// /computing/instance") with a child span per attempt, the retries and the
// replay after a 401 included. The call's span carries the HTTP client
// semantic conventions (http.request.method, url.template, server.address,
// server.port, http.response.status_code, error.type) and nebula.attempts,
// nebula.outcome_unknown and nebula.request_id; an attempt's span carries
// http.request.resend_count from the second attempt on, and
// nebula.retry_wait (seconds) when another attempt follows.
//
// Metrics:
//
//   - http.client.request.duration (s): one value per attempt, with the
//     semantic conventions' buckets;
//   - nebula.client.call.duration (s): one value per call, waits included;
//   - nebula.client.call.attempts ({attempt}): attempts per call;
//   - nebula.client.outcome_unknown ({call}): calls, such as a create whose
//     connection broke after it was sent, that may or may not have been
//     carried out. Alert on it: an unknown create can be a billed GPU
//     instance that nobody knows about.
//
// No attribute carries a token, a header value (besides the scrubbed
// X-Request-Id), a body, a query or an error message: error.type is the
// HTTP status code when the API answered, else the Go error type, and a
// failed span's status description is that same error.type.
//
// The package lives in its own module, github.com/nebula-sdk/nebula-go/otel,
// so that programs which do not trace carry no OpenTelemetry dependency. It
// observes calls through nebula.WithObserver and leaves the Client's
// transport alone: wrapping it (otelhttp) would hide the *http.Transport
// whose connection trace proves that a failed create never left, and so
// turn retryable failures into unknown outcomes.
package nebulaotel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nebula-sdk/nebula-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and the meter: the
// module's path.
const ScopeName = "github.com/nebula-sdk/nebula-go/otel"

// Attribute keys of this package, besides the semantic conventions'.
const (
	// AttemptsKey (int) is on a call's span: the attempts made, the replay
	// after a 401 included; 0 when nothing was sent (a TokenSource that
	// failed, a context already done).
	AttemptsKey = attribute.Key("nebula.attempts")
	// OutcomeUnknownKey (bool) is on every call's span: whether the call
	// may have been carried out although it failed
	// (errors.Is(err, nebula.ErrOutcomeUnknown)).
	OutcomeUnknownKey = attribute.Key("nebula.outcome_unknown")
	// RequestIDKey (string) is the X-Request-Id the API answered with, on a
	// call's span (of its last answer) and on an attempt's; absent when the
	// API sent none.
	RequestIDKey = attribute.Key("nebula.request_id")
	// OperationKey (string) names the SDK method: "Instances.Create". It is
	// on spans and on the nebula.client.* metrics.
	OperationKey = attribute.Key("nebula.operation")
	// RetryWaitKey (float64, seconds) is on an attempt's span when another
	// attempt follows: how long the SDK waits before it.
	RetryWaitKey = attribute.Key("nebula.retry_wait")
)

// Metric names of this package, besides http.client.request.duration.
const (
	// CallDurationMetric is a float64 histogram (s): one value per call,
	// every attempt and wait included.
	CallDurationMetric = "nebula.client.call.duration"
	// CallAttemptsMetric is an int64 histogram ({attempt}): the attempts of
	// each call.
	CallAttemptsMetric = "nebula.client.call.attempts"
	// OutcomeUnknownMetric is an int64 counter ({call}) of the calls whose
	// outcome is unknown; its points carry nebula.operation.
	OutcomeUnknownMetric = "nebula.client.outcome_unknown"
)

// Option configures WithTelemetry.
type Option func(*config) error

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider makes the spans come from tp instead of the global
// TracerProvider (otel.GetTracerProvider, which also forwards to one that
// otel.SetTracerProvider sets later). A nil tp makes NewClient fail with
// nebula.ErrInvalidArgument.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		if tp == nil {
			return fmt.Errorf("%w: nebulaotel.WithTracerProvider: nil TracerProvider", nebula.ErrInvalidArgument)
		}
		c.tp = tp
		return nil
	}
}

// WithMeterProvider makes the metrics come from mp instead of the global
// MeterProvider (otel.GetMeterProvider, which also forwards to one that
// otel.SetMeterProvider sets later). A nil mp makes NewClient fail with
// nebula.ErrInvalidArgument.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		if mp == nil {
			return fmt.Errorf("%w: nebulaotel.WithMeterProvider: nil MeterProvider", nebula.ErrInvalidArgument)
		}
		c.mp = mp
		return nil
	}
}

// WithTelemetry returns a nebula.Client option that traces and measures
// every call of the Client (see the package documentation). NewClient
// fails with an error wrapping nebula.ErrInvalidArgument when an option is
// nil or refuses its input, and with the MeterProvider's error when it
// cannot create an instrument.
func WithTelemetry(opts ...Option) nebula.Option {
	o, err := newObserver(opts...)
	if err != nil {
		return failingOption(nebula.WithObserver(nil), err)
	}
	return nebula.WithObserver(o)
}

// failingOption returns an option of like's type that fails with err.
// nebula.Option's parameter type is unexported, so only inference can name
// it; this keeps a bad nebulaotel option a NewClient error, as a bad
// nebula option is, rather than a panic or a silent default.
func failingOption[C any](like func(*C) error, err error) func(*C) error {
	_ = like
	return func(*C) error { return err }
}

// observer is the nebula.Observer that WithTelemetry installs. It keeps no
// state between calls: a call's span travels in the context.
type observer struct {
	tracer       trace.Tracer
	reqDuration  metric.Float64Histogram
	callDuration metric.Float64Histogram
	callAttempts metric.Int64Histogram
	unknown      metric.Int64Counter
}

var _ nebula.Observer = (*observer)(nil)

func newObserver(opts ...Option) (*observer, error) {
	var c config
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nebulaotel.WithTelemetry: nil Option", nebula.ErrInvalidArgument)
		}
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	o := &observer{
		tracer: c.tp.Tracer(ScopeName,
			trace.WithInstrumentationVersion(nebula.Version),
			trace.WithSchemaURL(semconv.SchemaURL)),
	}
	meter := c.mp.Meter(ScopeName,
		metric.WithInstrumentationVersion(nebula.Version),
		metric.WithSchemaURL(semconv.SchemaURL))
	rd, err := httpconv.NewClientRequestDuration(meter)
	o.reqDuration = rd.Inst()
	var errs []error
	errs = append(errs, err)
	o.callDuration, err = meter.Float64Histogram(CallDurationMetric,
		metric.WithDescription("Duration of nebula-go calls, every attempt and the waits between them included."),
		metric.WithUnit("s"),
		// The semantic conventions' HTTP buckets, and room for the
		// retries' waits.
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120))
	errs = append(errs, err)
	o.callAttempts, err = meter.Int64Histogram(CallAttemptsMetric,
		metric.WithDescription("Attempts per nebula-go call, the replay after a 401 included."),
		metric.WithUnit("{attempt}"),
		metric.WithExplicitBucketBoundaries(0, 1, 2, 3, 4, 5, 10, 20, 50, 100))
	errs = append(errs, err)
	o.unknown, err = meter.Int64Counter(OutcomeUnknownMetric,
		metric.WithDescription("nebula-go calls that failed after the API may have carried them out (nebula.ErrOutcomeUnknown)."),
		metric.WithUnit("{call}"))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nebulaotel: creating instruments: %w", err)
	}
	return o, nil
}

type callKey struct{}

// callState is what CallStart leaves in the context for the rest of the
// call.
type callState struct {
	span  trace.Span
	attrs []attribute.KeyValue // the call's names, shared by every span and metric
}

// baseAttrs are the attributes every span and metric of a call carries.
func baseAttrs(info nebula.CallInfo) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(info.Method),
		semconv.URLTemplate(info.Route),
	)
	if addr, port, ok := serverOf(info); ok {
		attrs = append(attrs, semconv.ServerAddress(addr), semconv.ServerPort(port))
	}
	return attrs
}

func spanName(info nebula.CallInfo) string { return info.Method + " " + info.Route }

func operation(info nebula.CallInfo) attribute.KeyValue {
	return OperationKey.String(info.Service + "." + info.Operation)
}

// CallStart starts the call's span.
func (o *observer) CallStart(ctx context.Context, info nebula.CallInfo) context.Context {
	st := &callState{attrs: baseAttrs(info)}
	ctx, st.span = o.tracer.Start(ctx, spanName(info),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(st.attrs...),
		trace.WithAttributes(operation(info)))
	return context.WithValue(ctx, callKey{}, st)
}

// outcomeAttrs returns the call's state (nil when CallStart's context was
// lost), the attributes of an attempt's or a call's outcome (the call's
// own, then the status code and error.type when there are), and that
// error.type ("" on success).
func outcomeAttrs(ctx context.Context, info nebula.CallInfo, status int, err error) (*callState, []attribute.KeyValue, string) {
	st, _ := ctx.Value(callKey{}).(*callState)
	var common []attribute.KeyValue
	if st != nil {
		common = st.attrs
	} else {
		common = baseAttrs(info)
	}
	attrs := make([]attribute.KeyValue, 0, len(common)+3)
	attrs = append(attrs, common...)
	if status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	}
	var errType string
	if err != nil {
		errType = errorType(err, status)
		attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
	}
	return st, attrs, errType
}

// AttemptDone records the attempt as a child span of the call's, from its
// start (now less its duration) to now, and in http.client.request.duration.
func (o *observer) AttemptDone(ctx context.Context, info nebula.CallInfo, a nebula.AttemptInfo) {
	st, attrs, errType := outcomeAttrs(ctx, info, a.StatusCode, a.Err)
	o.reqDuration.Record(ctx, a.Duration.Seconds(), metric.WithAttributes(attrs...))

	if st == nil || !st.span.IsRecording() {
		return // no call span to hang the attempt on, or one nobody records
	}
	end := time.Now()
	spanAttrs := append(attrs, operation(info))
	if a.Attempt > 1 {
		spanAttrs = append(spanAttrs, semconv.HTTPRequestResendCount(a.Attempt-1))
	}
	if a.RequestID != "" {
		spanAttrs = append(spanAttrs, RequestIDKey.String(a.RequestID))
	}
	if a.Retry {
		spanAttrs = append(spanAttrs, RetryWaitKey.Float64(a.Wait.Seconds()))
	}
	_, span := o.tracer.Start(ctx, spanName(info),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(end.Add(-a.Duration)),
		trace.WithAttributes(spanAttrs...))
	if a.Err != nil {
		span.SetStatus(codes.Error, errType)
	}
	span.End(trace.WithTimestamp(end))
}

// CallDone ends the call's span and records the call's metrics.
func (o *observer) CallDone(ctx context.Context, info nebula.CallInfo, r nebula.CallResult) {
	st, attrs, errType := outcomeAttrs(ctx, info, r.StatusCode, r.Err)
	op := operation(info)
	metricAttrs := metric.WithAttributes(append(attrs, op)...)
	o.callDuration.Record(ctx, r.Duration.Seconds(), metricAttrs)
	o.callAttempts.Record(ctx, int64(r.Attempts), metricAttrs)
	if r.OutcomeUnknown {
		o.unknown.Add(ctx, 1, metricAttrs)
	}

	if st == nil {
		return
	}
	span := st.span
	span.SetAttributes(attrs[len(st.attrs):]...) // the outcome; the rest the span has
	span.SetAttributes(AttemptsKey.Int(r.Attempts), OutcomeUnknownKey.Bool(r.OutcomeUnknown))
	if r.RequestID != "" {
		span.SetAttributes(RequestIDKey.String(r.RequestID))
	}
	if r.Err != nil {
		span.SetStatus(codes.Error, errType)
	}
	span.End()
}
