package nebulaotel_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
	nebulaotel "github.com/nebula-sdk/nebula-go/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A service usually sets the global providers once (otel.SetTracerProvider,
// otel.SetMeterProvider, with an OTLP exporter) and calls WithTelemetry()
// without options. Here in-memory ones show what a call records.
func ExampleWithTelemetry() {
	api := nebulatest.NewServer() // a fake API on 127.0.0.1
	defer api.Close()

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	metrics := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(metrics))

	client, err := api.NewClient(nebulaotel.WithTelemetry(
		nebulaotel.WithTracerProvider(tp),
		nebulaotel.WithMeterProvider(mp),
	))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.SSHKeys.List(context.Background(), nebula.ListOptions{}); err != nil {
		log.Fatal(err)
	}

	// The attempt's span ends first, then the call's.
	for _, s := range spans.GetSpans() {
		set := attribute.NewSet(s.Attributes...)
		status, _ := set.Value("http.response.status_code")
		if s.Parent.IsValid() {
			fmt.Printf("  attempt %q: status %d\n", s.Name, status.AsInt64())
			continue
		}
		attempts, _ := set.Value("nebula.attempts")
		unknown, _ := set.Value("nebula.outcome_unknown")
		fmt.Printf("call %q: status %d, %d attempt(s), outcome unknown: %t\n",
			s.Name, status.AsInt64(), attempts.AsInt64(), unknown.AsBool())
	}

	var rm metricdata.ResourceMetrics
	if err := metrics.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Println(m.Name, m.Unit)
		}
	}
	// Output:
	//   attempt "GET /ssh-keys": status 200
	// call "GET /ssh-keys": status 200, 1 attempt(s), outcome unknown: false
	// http.client.request.duration s
	// nebula.client.call.duration s
	// nebula.client.call.attempts {attempt}
}
