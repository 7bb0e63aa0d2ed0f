package nebula

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// cannedTransport answers every request at once with body, in memory: what
// is left to measure is the clients' own work.
type cannedTransport struct{ body []byte }

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode:    200,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req-1"}},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}, nil
}

// BenchmarkCallOverhead is BenchmarkCall without the network: both clients
// get the docs' answers from an in-memory transport, so the difference is
// the SDK's own cost per call (the pipeline, the retry adapter, the
// envelope checks), which loopback HTTP otherwise drowns in noise.
func BenchmarkCallOverhead(b *testing.B) {
	for _, c := range benchCalls() {
		rt := cannedTransport{body: []byte(c.body)}
		sdk, err := NewClient(WithToken(testToken), WithBaseURL("https://api.nebula.test/api/v1"), WithHTTPClient(&http.Client{Transport: rt}))
		if err != nil {
			b.Fatal(err)
		}
		plain := &plainClient{hc: &http.Client{Transport: rt}, base: "https://api.nebula.test/api/v1"}
		// Side by side, as in BenchmarkCall: the ratio holds under load.
		for _, opt := range []string{"none", "response"} {
			b.Run("call="+c.name+"/options="+opt+"/side-by-side", func(b *testing.B) {
				var resp Response
				ctx := context.Background()
				var times [2]time.Duration // plain, SDK
				run := [2]func() error{
					func() error { return c.plain(ctx, plain) },
					func() error {
						if opt == "response" {
							return c.sdk(ctx, sdk, WithResponseInto(&resp))
						}
						return c.sdk(ctx, sdk)
					},
				}
				for i := 0; i < b.N; i++ {
					// each client goes first every other iteration, as in
					// BenchmarkCall
					for j := range run {
						k := (i + j) % 2
						start := time.Now()
						if err := run[k](); err != nil {
							b.Fatal(err)
						}
						times[k] += time.Since(start)
					}
				}
				plainTime, sdkTime := times[0], times[1]
				b.ReportMetric(float64(plainTime.Nanoseconds())/float64(b.N), "plain-ns/op")
				b.ReportMetric(float64(sdkTime.Nanoseconds())/float64(b.N), "sdk-ns/op")
				b.ReportMetric(float64(sdkTime)/float64(plainTime), "sdk/plain")
			})
		}
		b.Run("call="+c.name+"/client=plain", func(b *testing.B) {
			runSerial(b, func(ctx context.Context) error { return c.plain(ctx, plain) })
		})
		b.Run("call="+c.name+"/client=sdk", func(b *testing.B) {
			runSerial(b, func(ctx context.Context) error { return c.sdk(ctx, sdk) })
		})
		b.Run("call="+c.name+"/client=sdk-response", func(b *testing.B) {
			var resp Response
			runSerial(b, func(ctx context.Context) error { return c.sdk(ctx, sdk, WithResponseInto(&resp)) })
		})
	}
}
