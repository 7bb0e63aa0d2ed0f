package nebula

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchCall is one call of the SDK and the same request by the plain
// client, decoding the same answer (body, the docs' example).
type benchCall struct {
	name  string
	body  string
	sdk   func(context.Context, *Client, ...CallOption) error
	plain func(context.Context, *plainClient) error
}

// benchCalls are the calls BenchmarkCall and BenchmarkCallOverhead time.
func benchCalls() []benchCall {
	type plainBalance struct {
		AvailableBalance string `json:"available_balance"`
	}
	return []benchCall{
		{"Balance", docsBalance,
			func(ctx context.Context, c *Client, opts ...CallOption) error {
				_, err := c.Billing.Balance(ctx, opts...)
				return err
			},
			func(ctx context.Context, p *plainClient) error {
				_, err := plainDo[plainBalance](ctx, p, http.MethodGet, "/users/credits", nil)
				return err
			}},
		{"SSHKeys.List", docsSSHKeyList,
			func(ctx context.Context, c *Client, opts ...CallOption) error {
				_, err := c.SSHKeys.List(ctx, ListOptions{}, opts...)
				return err
			},
			func(ctx context.Context, p *plainClient) error {
				data, err := plainDo[plainSSHKeyList](ctx, p, http.MethodGet, "/ssh-keys", nil)
				if err != nil {
					return err
				}
				// The docs' create_time: "EST 2024-10-23 10:24:21".
				for _, k := range data.Keys {
					if _, err := time.Parse("MST 2006-01-02 15:04:05", k.CreateTime); err != nil {
						return err
					}
				}
				return nil
			}},
	}
}

// BenchmarkCall measures one call of the SDK against a plain net/http +
// encoding/json client making the same request and decoding the same
// answer (the docs' own examples, with their time and number forms), in
// the same run, with no options and with WithResponseInto:
//
//	go test -run '^$' -bench '^BenchmarkCall$' -benchmem -count 6 . | tee bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -filter '/client:(plain OR sdk OR sdk-response)' -col /client bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -filter '/options:*' -col /options bench.txt
func BenchmarkCall(b *testing.B) {
	bodies := map[string][]byte{
		"/api/v1/users/credits": []byte(docsBalance),
		"/api/v1/ssh-keys":      []byte(docsSSHKeyList),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-1")
		w.Header().Set("RateLimit-Limit", "100")
		w.Header().Set("RateLimit-Remaining", "99")
		w.Header().Set("RateLimit-Reset", "30")
		w.Write(bodies[r.URL.Path])
	}))
	b.Cleanup(srv.Close)
	sdk := benchSDK(b, srv)
	plain := newPlainClient(srv)
	// timed is the plain client with an http.Client.Timeout: like the SDK,
	// it bounds every request, which costs a deadline context per request.
	timed := newPlainClient(srv)
	timed.hc.Timeout = defaultTimeout

	// every order of the three clients, one per iteration in turn
	orders := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, c := range benchCalls() {
		// side by side: each iteration makes one call with each client,
		// and times each: on a shared machine, a burst of load slows all
		// alike, so the ratios hold where the separate sub-benchmarks
		// below vary by tens of percent. The order runs through all six
		// in turn, so that no client always follows the same one: a call
		// pays for some of what the one before it left (the timed
		// client's goroutine and timer per request end while the next
		// call runs).
		for _, opt := range []string{"none", "response"} {
			b.Run("call="+c.name+"/options="+opt+"/side-by-side", func(b *testing.B) {
				var resp Response
				ctx := context.Background()
				var times [3]time.Duration // plain, plain with timeout, SDK
				run := [3]func() error{
					func() error { return c.plain(ctx, plain) },
					func() error { return c.plain(ctx, timed) },
					func() error {
						if opt == "response" {
							return c.sdk(ctx, sdk, WithResponseInto(&resp))
						}
						return c.sdk(ctx, sdk)
					},
				}
				for i := 0; i < b.N; i++ {
					for _, k := range orders[i%len(orders)] {
						start := time.Now()
						if err := run[k](); err != nil {
							b.Fatal(err)
						}
						times[k] += time.Since(start)
					}
				}
				plainTime, timedTime, sdkTime := times[0], times[1], times[2]
				b.ReportMetric(float64(plainTime.Nanoseconds())/float64(b.N), "plain-ns/op")
				b.ReportMetric(float64(timedTime.Nanoseconds())/float64(b.N), "plain-timeout-ns/op")
				b.ReportMetric(float64(sdkTime.Nanoseconds())/float64(b.N), "sdk-ns/op")
				b.ReportMetric(float64(sdkTime)/float64(plainTime), "sdk/plain")
				b.ReportMetric(float64(sdkTime)/float64(timedTime), "sdk/plain-timeout")
			})
		}
		b.Run("call="+c.name+"/client=plain", func(b *testing.B) {
			runSerial(b, func(ctx context.Context) error { return c.plain(ctx, plain) })
		})
		b.Run("call="+c.name+"/client=plain-timeout", func(b *testing.B) {
			runSerial(b, func(ctx context.Context) error { return c.plain(ctx, timed) })
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
