package nebulaotel

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nebula-sdk/nebula-go"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discard is a span exporter that drops what it gets, so the benchmark
// measures making and ending spans, not keeping them.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkCall compares a call on loopback without telemetry, with
// WithTelemetry on the global providers while nobody set them (no-ops),
// and with the SDK's providers sampling every span.
func BenchmarkCall(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-1")
		_, _ = io.WriteString(w, keyList)
	}))
	defer srv.Close()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}()
	for _, bc := range []struct {
		name string
		opts []nebula.Option
	}{
		{"untraced", nil},
		{"noop-globals", []nebula.Option{WithTelemetry()}},
		{"traced", []nebula.Option{WithTelemetry(WithTracerProvider(tp), WithMeterProvider(mp))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := nebula.NewClient(append([]nebula.Option{
				nebula.WithBaseURL(srv.URL + "/api/v1"), nebula.WithInsecureHTTP(),
				nebula.WithHTTPClient(srv.Client()), nebula.WithToken(testToken),
			}, bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.APIKeys.List(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObserver is the observer's own cost per call of one attempt:
// two spans and four metric records, no network.
func BenchmarkObserver(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}()
	o, err := newObserver(WithTracerProvider(tp), WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	info := nebula.CallInfo{Method: "GET", Route: "/api_keys", Service: "APIKeys", Operation: "List"}
	attempt := nebula.AttemptInfo{Attempt: 1, StatusCode: 200, RequestID: "req-1"}
	result := nebula.CallResult{Attempts: 1, StatusCode: 200, RequestID: "req-1"}
	b.ReportAllocs()
	for b.Loop() {
		ctx := o.CallStart(context.Background(), info)
		o.AttemptDone(ctx, info, attempt)
		o.CallDone(ctx, info, result)
	}
}
