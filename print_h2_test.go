package nebula

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A Client made without WithHTTPClient sends through the shared default
// transport, and that transport has the small HTTP/2 receive windows.
func TestDefaultTransportHasSmallHTTP2Windows(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken(testToken), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	at, ok := c.http.Transport.(attemptTransport)
	if !ok || at.rt != http.RoundTripper(sharedTransport()) {
		t.Fatalf("the client sends through %T, not the shared default transport", c.http.Transport)
	}
	h2 := sharedTransport().HTTP2
	if h2 == nil || h2.MaxReceiveBufferPerStream != h2StreamWindow || h2.MaxReceiveBufferPerConnection != h2ConnectionWindow {
		t.Fatalf("shared transport HTTP2 = %+v", h2)
	}
	if !sharedTransport().ForceAttemptHTTP2 || sharedTransport().MaxIdleConnsPerHost != 64 {
		t.Fatal("the shared transport lost http.DefaultTransport's settings or its own")
	}
}

// h2HeapChild marks the child process of TestHTTP2DownloadHoldsLittleHeap,
// which measures the heap alone: in the parent, parallel tests would add
// their own live data to what is measured.
const h2HeapChild = "NEBULA_TEST_H2_HEAP_CHILD"

// h2DownloadSize is the size of the invoice served over HTTP/2.
const h2DownloadSize = 50 << 20

// An HTTP/2 download held about 4 MB of heap (net/http's per-stream receive
// window, filled while the caller's writer lags); with the default
// transport's windows it holds under 1 MB.
func TestHTTP2DownloadHoldsLittleHeap(t *testing.T) {
	t.Parallel()
	if os.Getenv(h2HeapChild) == "1" {
		held := measureHTTP2DownloadHeap(t)
		fmt.Printf("held-heap-bytes=%d\n", held)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHTTP2DownloadHoldsLittleHeap$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), h2HeapChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`held-heap-bytes=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("child printed no measurement:\n%s", out)
	}
	held, _ := strconv.Atoi(string(m[1]))
	t.Logf("a %d MB HTTP/2 download held at most %d bytes of heap", h2DownloadSize>>20, held)
	if held >= 1<<20 {
		t.Fatalf("a %d MB HTTP/2 download held %d bytes of heap, want under 1 MiB", h2DownloadSize>>20, held)
	}
}

// measureHTTP2DownloadHeap downloads h2DownloadSize bytes through
// DownloadInvoice from an HTTP/2 TLS loopback server, with the default
// transport's settings (only the TLS configuration trusts the server), and
// returns the largest growth of the live heap seen during the download. The
// writer first holds back until the server has sent 3 MB or 300 ms passed,
// so that the receive window fills whatever its size.
func measureHTTP2DownloadHeap(t *testing.T) uint64 {
	var sent atomic.Int64
	farAhead := make(chan struct{})
	var once sync.Once
	var proto atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", strconv.Itoa(h2DownloadSize))
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KiB
		copy(chunk, "%PDF-1.7\n")
		for n := 0; n < h2DownloadSize; {
			m, err := w.Write(chunk[:min(len(chunk), h2DownloadSize-n)])
			if err != nil {
				return
			}
			n += m
			if sent.Add(int64(m)) >= 3<<20 {
				once.Do(func() { close(farAhead) })
			}
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	tr := newTransport(srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone())
	defer tr.CloseIdleConnections()
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api/v1"), withEnv(nil),
		WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	w := &heapSampler{base: base, farAhead: farAhead}
	n, err := c.Billing.DownloadInvoice(context.Background(), "5", w)
	if err != nil || n != h2DownloadSize {
		t.Fatalf("DownloadInvoice = %d, %v", n, err)
	}
	if proto.Load() != 2 {
		t.Fatalf("the download went over HTTP/%d, not HTTP/2", proto.Load())
	}
	return w.peak
}

// heapSampler is the download's writer: it measures the live heap (after a
// GC) at its first write, after holding back, and then every 4 MB.
type heapSampler struct {
	base     uint64
	farAhead <-chan struct{}
	written  int
	next     int
	peak     uint64
}

func (s *heapSampler) Write(p []byte) (int, error) {
	if s.written == 0 {
		select {
		case <-s.farAhead:
		case <-time.After(300 * time.Millisecond):
		}
	}
	if s.written >= s.next {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > s.base && ms.HeapAlloc-s.base > s.peak {
			s.peak = ms.HeapAlloc - s.base
		}
		s.next += 4 << 20
	}
	s.written += len(p)
	return len(p), nil
}

// BenchmarkDownloadInvoiceHTTP2 is DownloadInvoice of 50 MB over HTTP/2 on
// loopback TLS, with the default transport's windows and with net/http's
// own (4 MiB per stream), to show what the smaller window costs in
// throughput where the round trip is short:
//
//	go test -run '^$' -bench DownloadInvoiceHTTP2 -count 6 .
func BenchmarkDownloadInvoiceHTTP2(b *testing.B) {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10)
	copy(chunk, "%PDF-1.7\n")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", strconv.Itoa(h2DownloadSize))
		for n := 0; n < h2DownloadSize; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, window := range []string{"sdk", "net-http-default"} {
		b.Run("window="+window, func(b *testing.B) {
			tr := newTransport(srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone())
			if window != "sdk" {
				tr.HTTP2 = nil
			}
			defer tr.CloseIdleConnections()
			c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api/v1"), withEnv(nil),
				WithHTTPClient(&http.Client{Transport: tr}))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(h2DownloadSize)
			for range b.N {
				if n, err := c.Billing.DownloadInvoice(context.Background(), "5", io.Discard); err != nil || n != h2DownloadSize {
					b.Fatalf("%d bytes, err %v", n, err)
				}
			}
		})
	}
}
