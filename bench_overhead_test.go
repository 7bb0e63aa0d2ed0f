package nebula

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
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
// get the docs' balance from an in-memory transport, so the difference is
// the SDK's own cost per call (the pipeline, the retry adapter, the
// envelope checks), which loopback HTTP otherwise drowns in noise.
func BenchmarkCallOverhead(b *testing.B) {
	rt := cannedTransport{body: []byte(docsBalance)}
	sdk, err := NewClient(WithToken(testToken), WithBaseURL("https://api.nebula.test/api/v1"), WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		b.Fatal(err)
	}
	plain := &plainClient{hc: &http.Client{Transport: rt}, base: "https://api.nebula.test/api/v1"}
	type plainBalance struct {
		AvailableBalance string `json:"available_balance"`
	}
	b.Run("client=plain", func(b *testing.B) {
		runSerial(b, func(ctx context.Context) error {
			_, err := plainDo[plainBalance](ctx, plain, http.MethodGet, "/users/credits", nil)
			return err
		})
	})
	b.Run("client=sdk", func(b *testing.B) {
		runSerial(b, func(ctx context.Context) error { _, err := sdk.Billing.Balance(ctx); return err })
	})
	b.Run("client=sdk-response", func(b *testing.B) {
		var resp Response
		runSerial(b, func(ctx context.Context) error {
			_, err := sdk.Billing.Balance(ctx, WithResponseInto(&resp))
			return err
		})
	})
}
