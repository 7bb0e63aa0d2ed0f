package nebula

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

// benchPDFSize is the invoice BenchmarkDownloadInvoice streams: far more
// than any real invoice, so that a per-byte cost or a buffered copy shows.
const benchPDFSize = 50 << 20

// newPDFServer serves a benchPDFSize PDF-looking body from one 32 KiB
// chunk, so the server itself holds no copy of it.
func newPDFServer(b *testing.B) *httptest.Server {
	b.Helper()
	chunk := make([]byte, 32<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	copy(chunk, "%PDF-1.7\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", strconv.Itoa(benchPDFSize))
		for left := benchPDFSize; left > 0; left -= len(chunk) {
			if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
				return
			}
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkDownloadInvoice compares DownloadInvoice with io.Copy from a
// plain net/http response, both into io.Discard, from the same loopback
// server. heap-growth-B is how much larger the live heap was after a call
// than before it, averaged; alloc-B is what one call allocated in all.
//
//	go test -run '^$' -bench DownloadInvoice -count 6 . | tee bench-invoice.txt
func BenchmarkDownloadInvoice(b *testing.B) {
	srv := newPDFServer(b)
	sdk := benchSDK(b, srv)
	plain := newPlainClient(srv)
	contenders := []struct {
		name     string
		download func(context.Context) (int64, error)
	}{
		{"sdk", func(ctx context.Context) (int64, error) {
			return sdk.Billing.DownloadInvoice(ctx, "3688", io.Discard)
		}},
		{"plain", func(ctx context.Context) (int64, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, plain.base+"/users/invoice-download/3688", nil)
			if err != nil {
				return 0, err
			}
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := plain.hc.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			return io.Copy(io.Discard, resp.Body)
		}},
	}
	for _, c := range contenders {
		b.Run("client="+c.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(benchPDFSize)
			var before, after runtime.MemStats
			var growth, allocated float64
			for i := 0; i < b.N; i++ {
				runtime.ReadMemStats(&before)
				n, err := c.download(ctx)
				runtime.ReadMemStats(&after)
				if err != nil || n != benchPDFSize {
					b.Fatalf("%d bytes, err %v", n, err)
				}
				growth += float64(max(int64(after.HeapAlloc)-int64(before.HeapAlloc), 0))
				allocated += float64(after.TotalAlloc - before.TotalAlloc)
			}
			b.ReportMetric(growth/float64(b.N), "heap-growth-B")
			b.ReportMetric(allocated/float64(b.N), "alloc-B")
		})
	}
}
