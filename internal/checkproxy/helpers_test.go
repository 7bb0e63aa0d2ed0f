package checkproxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// lines collects the proxy's log lines.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, fmt.Sprintf(format, args...))
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

// transport is a loopback transport of the test's own, closed at the end.
func transport(t testing.TB) *http.Transport {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// front starts the proxy in front of upstream (an http://127.0.0.1 URL
// with its base path) and returns it, its URL and its log.
func front(t testing.TB, upstream string, rec *Recorder) (*Proxy, string, *lines) {
	t.Helper()
	log := &lines{}
	p, err := New(Options{Upstream: upstream, Transport: transport(t), Logf: log.logf, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL, log
}

// sdk is an SDK client of baseURL (path prefix included) with token.
func sdk(t testing.TB, baseURL, token string) *nebula.Client {
	t.Helper()
	c, err := nebula.NewClient(
		nebula.WithToken(token),
		nebula.WithBaseURL(baseURL),
		nebula.WithHTTPClient(&http.Client{Transport: transport(t), Timeout: 10 * time.Second}),
		nebula.WithRetryWait(time.Millisecond, 2*time.Millisecond),
		nebula.WithPolling(time.Millisecond, 5*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send sends one request with an optional bearer token and returns the
// status and body.
func send(t testing.TB, c *http.Client, method, url, token, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// readDir returns every file of dir, by name.
func readDir(t testing.TB, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

// recorder is a Recorder writing into a fresh directory, and that directory.
func recorder(t testing.TB) (*Recorder, string) {
	t.Helper()
	dir := t.TempDir()
	rec, err := NewRecorder(dir)
	if err != nil {
		t.Fatal(err)
	}
	return rec, dir
}
