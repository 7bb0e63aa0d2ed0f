package nebulaotel

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// testToken matches no token pattern, so a leak cannot hide behind a
// redactor that recognises its shape.
const testToken = "zq9-Mx7vP2wLr4Kt"

// sink collects one test's spans and metrics.
type sink struct {
	exp    *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newSink(t testing.TB) *sink {
	t.Helper()
	s := &sink{exp: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(s.exp))
	s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	t.Cleanup(func() {
		_ = s.tp.Shutdown(context.Background())
		_ = s.mp.Shutdown(context.Background())
	})
	return s
}

func (s *sink) options() []Option {
	return []Option{WithTracerProvider(s.tp), WithMeterProvider(s.mp)}
}

func (s *sink) observer(t testing.TB) *observer {
	t.Helper()
	o, err := newObserver(s.options()...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// spans returns the ended spans: the call's first, then its attempts in
// order. It fails the test unless there is exactly one call span (no
// parent) and every other span is its child.
func (s *sink) spans(t testing.TB) (call tracetest.SpanStub, attempts []tracetest.SpanStub) {
	t.Helper()
	var calls []tracetest.SpanStub
	for _, sp := range s.exp.GetSpans() {
		if sp.Parent.IsValid() {
			attempts = append(attempts, sp)
		} else {
			calls = append(calls, sp)
		}
	}
	if len(calls) != 1 {
		t.Fatalf("%d call spans, want 1", len(calls))
	}
	call = calls[0]
	for i, a := range attempts {
		if a.Parent.SpanID() != call.SpanContext.SpanID() || a.Parent.TraceID() != call.SpanContext.TraceID() {
			t.Errorf("attempt span %d is not a child of the call span", i+1)
		}
	}
	slices.SortStableFunc(attempts, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	return call, attempts
}

func (s *sink) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

func findMetric(t testing.TB, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				if sm.Scope.Name != ScopeName {
					t.Errorf("%s: scope %q, want %q", name, sm.Scope.Name, ScopeName)
				}
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

// floatHist returns the data points of a float64 histogram.
func floatHist(t testing.TB, rm metricdata.ResourceMetrics, name string) []metricdata.HistogramDataPoint[float64] {
	t.Helper()
	h, ok := findMetric(t, rm, name).Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is no float64 histogram", name)
	}
	return h.DataPoints
}

func intHist(t testing.TB, rm metricdata.ResourceMetrics, name string) []metricdata.HistogramDataPoint[int64] {
	t.Helper()
	h, ok := findMetric(t, rm, name).Data.(metricdata.Histogram[int64])
	if !ok {
		t.Fatalf("%s is no int64 histogram", name)
	}
	return h.DataPoints
}

func counter(t testing.TB, rm metricdata.ResourceMetrics, name string) []metricdata.DataPoint[int64] {
	t.Helper()
	c, ok := findMetric(t, rm, name).Data.(metricdata.Sum[int64])
	if !ok || !c.IsMonotonic {
		t.Fatalf("%s is no int64 counter", name)
	}
	return c.DataPoints
}

func hasMetric(rm metricdata.ResourceMetrics, name string) bool {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return true
			}
		}
	}
	return false
}

type attrs map[attribute.Key]attribute.Value

func attrsOf(kvs []attribute.KeyValue) attrs {
	m := attrs{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func setAttrs(s attribute.Set) attrs { return attrsOf(s.ToSlice()) }

// want checks that every attribute in w is present with its value and that
// every key in absent is not.
func (a attrs) want(t testing.TB, what string, w []attribute.KeyValue, absent ...attribute.Key) {
	t.Helper()
	for _, kv := range w {
		got, ok := a[kv.Key]
		if !ok {
			t.Errorf("%s: no %s, want %s", what, kv.Key, kv.Value.String())
			continue
		}
		if got != kv.Value {
			t.Errorf("%s: %s = %s (%s), want %s (%s)", what, kv.Key, got.String(), got.Type(), kv.Value.String(), kv.Value.Type())
		}
	}
	for _, k := range absent {
		if v, ok := a[k]; ok {
			t.Errorf("%s: %s = %s, want none", what, k, v.String())
		}
	}
}

// texts is every string a backend would receive from this sink: span
// names, attributes, events, links, status descriptions, metric names and
// attributes.
func (s *sink) texts(t testing.TB) []string {
	t.Helper()
	var out []string
	kvs := func(kv []attribute.KeyValue) {
		for _, a := range kv {
			out = append(out, string(a.Key), a.Value.String())
		}
	}
	for _, sp := range s.exp.GetSpans() {
		out = append(out, sp.Name, sp.Status.Description)
		kvs(sp.Attributes)
		for _, e := range sp.Events {
			out = append(out, e.Name)
			kvs(e.Attributes)
		}
		for _, l := range sp.Links {
			kvs(l.Attributes)
		}
		kvs(sp.Resource.Attributes())
	}
	rm := s.collect(t)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out = append(out, m.Name, m.Description, m.Unit)
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					kvs(p.Attributes.ToSlice())
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					kvs(p.Attributes.ToSlice())
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					kvs(p.Attributes.ToSlice())
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// assertNoSecret fails if any text the sink would export contains one of
// secrets, in clear or in any casing.
func (s *sink) assertNoSecret(t testing.TB, secrets ...string) {
	t.Helper()
	texts := s.texts(t)
	if len(texts) == 0 {
		t.Fatal("nothing exported to search")
	}
	for _, txt := range texts {
		for _, sec := range secrets {
			if strings.Contains(strings.ToLower(txt), strings.ToLower(sec)) {
				t.Errorf("exported text %q contains a secret", txt)
			}
		}
	}
}
