package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// A token no redaction pattern would recognise as a key by its look alone
// beyond the ak_ prefix the fake requires.
const seedToken = "ak_zq9-Mx7vP2wLr4KtQ8bN"

// harness is one fake API and one configuration directory.
type harness struct {
	t     *testing.T
	srv   *nebulatest.Server
	dir   string
	vars  map[string]string
	start time.Time
	stdin string
	tty   bool
	ctx   context.Context
}

func newHarness(t *testing.T, opts ...nebulatest.Option) *harness {
	t.Helper()
	opts = append([]nebulatest.Option{nebulatest.WithSeedToken(seedToken)}, opts...)
	srv := nebulatest.NewServer(opts...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	return &harness{
		t:     t,
		srv:   srv,
		dir:   dir,
		start: time.Now().Add(-time.Minute),
		vars: map[string]string{
			"NEBULA_CONFIG":  filepath.Join(dir, "config.toml"),
			"NEBULA_API_KEY": seedToken,
			"NEBULA_API_URL": srv.URL,
		},
		ctx: context.Background(),
	}
}

// result is what one run printed and its exit status.
type result struct {
	out, err string
	code     int
}

func (h *harness) app(out, errw interface{ Write([]byte) (int, error) }) *App {
	return &App{
		In:  strings.NewReader(h.stdin),
		Out: out,
		Err: errw,
		Env: func(k string) string { return h.vars[k] },
		ClientOptions: []nebula.Option{
			nebula.WithHTTPClient(h.srv.HTTPClient()),
			nebula.WithRetryWait(time.Millisecond, 2*time.Millisecond),
			nebula.WithPolling(time.Millisecond, 5*time.Millisecond),
		},
		Location:         time.UTC,
		StderrIsTerminal: h.tty,
	}
}

func (h *harness) run(args ...string) result {
	h.t.Helper()
	var out bytes.Buffer
	errw := &syncBuffer{}
	code := h.app(&out, errw).Run(h.ctx, args)
	return result{out.String(), errw.String(), code}
}

// mustRun runs a command that must succeed.
func (h *harness) mustRun(args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != 0 {
		h.t.Fatalf("nebula %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.err)
	}
	return r
}

func (h *harness) requests() int { return len(h.srv.Requests()) }

// syncBuffer is a stderr that tests can watch while a command runs.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	want   string
	signal chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.signal != nil && strings.Contains(b.buf.String(), b.want) {
		close(b.signal)
		b.signal = nil
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// when returns a channel closed once the buffer holds s.
func (b *syncBuffer) when(s string) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.want, b.signal = s, make(chan struct{})
	return b.signal
}

var (
	rfcTime    = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})`)
	shortTime  = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}`)
	quotedUUID = regexp.MustCompile(`"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"`)
	uuid       = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	varying    = regexp.MustCompile(`(?m)^(\s*"?(?:running_time|total_cost|password)"?:\s*)("[^"]*"|\S+)(,?)$`)
)

// normalize replaces what changes from run to run (times from the test's
// start on, instance UUIDs, running time and cost) with fixed marks, so that
// golden files hold everything else exactly.
func (h *harness) normalize(s string) string {
	s = rfcTime.ReplaceAllStringFunc(s, func(m string) string {
		if t, err := time.Parse(time.RFC3339, m); err == nil && t.After(h.start) {
			return "<NOW>"
		}
		return m
	})
	s = shortTime.ReplaceAllStringFunc(s, func(m string) string {
		if t, err := time.ParseInLocation("2006-01-02 15:04", m, time.UTC); err == nil && t.After(h.start.Add(-time.Minute)) {
			return "<NOW>           " // as wide as the time, so columns stay aligned
		}
		return m
	})
	// Same widths, so that tables stay aligned.
	s = uuid.ReplaceAllString(s, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	s = strings.ReplaceAll(s, h.srv.URL, "http://127.0.0.1:<PRT>/api/v1")
	return varying.ReplaceAllString(s, `$1"<VARIES>"$3`)
}

// golden compares got with testdata/name.golden (or rewrites it with
// -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// apiKey creates the API key name and returns it as create printed it.
func (h *harness) apiKey(name string) apiKeyView {
	h.t.Helper()
	r := h.mustRun("api-key", "create", name, "-o", "json")
	var created apiKeyView
	if err := json.Unmarshal([]byte(r.out), &created); err != nil {
		h.t.Fatalf("api-key create %s: %v: %q", name, err, r.out)
	}
	return created
}
