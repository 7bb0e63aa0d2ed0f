package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests call run in-process; main_test.go runs the built program.

func TestRunRefusesBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"token without ak_", []string{"-token", "secret-token-1234"}, `-token must be "ak_"`},
		{"short token", []string{"-token", "ak_short"}, `-token must be "ak_"`},
		{"token with a newline", []string{"-token", "ak_abcdefgh\nX=1"}, `-token must be "ak_"`},
		{"user without password", []string{"-user", "alice"}, "want name:password"},
		{"user without name", []string{"-user", ":password"}, "want name:password"},
		{"short password", []string{"-user", "alice:abc"}, "at least 4 characters"},
		{"user twice", []string{"-user", "alice:password", "-user", "alice:other1"}, `user "alice" given twice`},
		{"negative boot time", []string{"-boot-time", "-1s"}, "-boot-time must not be negative"},
		{"boot time not a duration", []string{"-boot-time", "soon"}, "invalid value"},
		{"negative grace", []string{"-grace", "-1s"}, "-grace must not be negative"},
		{"log limit not a number", []string{"-log-limit", "many"}, "invalid value"},
		{"log bytes not a number", []string{"-log-bytes", "1MiB"}, "invalid value"},
		{"address without port", []string{"-addr", "8474"}, "want host:port"},
		{"argument", []string{"serve"}, `unexpected argument "serve"`},
		{"unknown flag", []string{"-port", "1"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr strings.Builder
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q, want it to say %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"-h"}, &stdout, &stderr); code != exitOK {
		t.Errorf("exit code %d", code)
	}
	for _, flag := range []string{"-addr", "-token", "-uuids", "-user", "-boot-time", "-state", "-log-limit", "-log-bytes", "-grace"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("usage does not mention %s:\n%s", flag, stderr.String())
		}
	}
}

// runInProcess starts run with args and returns the environment lines, a
// cancel that stops it, and a channel with its exit code.
func runInProcess(t *testing.T, args ...string) (apiURL, key string, stop context.CancelFunc, exit <-chan int, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	stderr = &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, args, w, stderr)
		w.Close()
	}()
	lines := bufio.NewScanner(r)
	var got []string
	for len(got) < 2 && lines.Scan() {
		got = append(got, lines.Text())
	}
	if len(got) < 2 {
		cancel()
		t.Fatalf("no environment lines; exit %d; stderr:\n%s", <-code, stderr)
	}
	go io.Copy(io.Discard, r) // ends when run returns
	return strings.TrimPrefix(got[0], "NEBULA_API_URL="), strings.TrimPrefix(got[1], "NEBULA_API_KEY="), cancel, code, stderr
}

func TestRunServesUntilCancelledAndSaves(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	apiURL, key, stop, exit, stderr := runInProcess(t, "-addr", ":0", "-state", state, "-token", "ak_in-process-token")
	if key != "ak_in-process-token" || !strings.HasPrefix(apiURL, "http://127.0.0.1:") {
		t.Errorf("lines %q, %q (an empty host means 127.0.0.1)", apiURL, key)
	}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	req, _ := http.NewRequest("GET", apiURL+"/api_keys?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	stop()
	if code := <-exit; code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	saved, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(saved), `"seed": "ak_in-process-token"`) {
		t.Errorf("saved state: %v\n%s", err, saved)
	}
	log := stderr.String()
	if !strings.Contains(log, " GET /api/v1/api_keys 200 ") || strings.Contains(log, "limit=5") || strings.Contains(log, key) {
		t.Errorf("stderr should have one line for the request, without query or token:\n%s", log)
	}
	if !strings.Contains(log, "state saved to "+state) {
		t.Errorf("stderr does not say the state was saved:\n%s", log)
	}
}

func TestRunLogScrubsCredentialsFromPaths(t *testing.T) {
	t.Parallel()
	apiURL, key, stop, exit, stderr := runInProcess(t, "-addr", "127.0.0.1:0", "-user", "alice:pass/word")
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	for _, path := range []string{"/api-keys/" + key, "/x/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "/users/pass%2Fword"} {
		resp, err := (&http.Client{Transport: transport}).Get(apiURL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	stop()
	<-exit
	log := stderr.String()
	for _, secret := range []string{key, "eyJhbGciOiJIUzI1NiJ9", "pass%2Fword", "pass/word"} {
		if strings.Contains(log, secret) {
			t.Errorf("stderr shows %q:\n%s", secret, log)
		}
	}
	if strings.Count(log, "[REDACTED]") != 3 {
		t.Errorf("want 3 redacted paths:\n%s", log)
	}
}

func TestRunFailsToStart(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // after the parallel subtests
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		args  []string
		file  string // left unchanged
		wants []string
	}{
		{"port in use", []string{"-addr", l.Addr().String()}, "", []string{"cannot listen on " + l.Addr().String(), "address already in use"}},
		{"state not JSON", []string{"-state", write("a.json", "not json")}, "a.json", []string{"invalid saved state", "left unchanged"}},
		{"state of another format", []string{"-state", write("c.json", `{"format":"other/1","seed":"ak_abcdefghij"}`)}, "c.json", []string{`format "other/1"`}},
		{"state in a missing directory", []string{"-state", filepath.Join(dir, "missing", "s.json")}, "", []string{"cannot write beside it"}},
		{"state is a directory", []string{"-state", dir}, "", []string{"-state " + dir}},
		// A seed the request log cannot recognise, which -token refuses,
		// was loaded from a state file.
		{"state with a short seed", []string{"-state", write("d.json", `{"format":"nebulatest-state/1","seed":"ak_x","next_key_id":2,"created":0,"api_keys":[{"id":"1","numeric_id":true,"name":"default","description":"","key":"ak_x"}]}`)}, "d.json", []string{"seed token saved there", "left unchanged"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var before []byte
			if tt.file != "" {
				before, _ = os.ReadFile(filepath.Join(dir, tt.file))
			}
			args := append([]string{"-addr", "127.0.0.1:0"}, tt.args...)
			var stdout, stderr strings.Builder
			if code := run(context.Background(), args, &stdout, &stderr); code != exitFail {
				t.Errorf("exit code %d, want %d", code, exitFail)
			}
			for _, want := range tt.wants {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q, want it to say %q", stderr.String(), want)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if tt.file != "" {
				if after, _ := os.ReadFile(filepath.Join(dir, tt.file)); string(after) != string(before) {
					t.Errorf("the file changed to %q", after)
				}
			}
		})
	}
}

func TestAppendDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0.000ms", 999 * time.Nanosecond: "0.000ms", 1234567 * time.Nanosecond: "1.234ms",
		5 * time.Microsecond: "0.005ms", 2*time.Second + 50*time.Microsecond: "2000.050ms",
	} {
		if got := string(appendDuration(nil, d)); got != want {
			t.Errorf("appendDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// callingStdout is a harness that calls the API the moment it reads
// NEBULA_API_URL, before run has gone on to anything else.
type callingStdout struct {
	t     *testing.T
	token string
	read  chan struct{} // closed after the first call
}

func (w *callingStdout) Write(p []byte) (int, error) {
	select {
	case <-w.read:
		return len(p), nil
	default:
	}
	defer close(w.read)
	line, _, _ := strings.Cut(string(p), "\n")
	req, err := http.NewRequest("GET", strings.TrimPrefix(line, "NEBULA_API_URL=")+"/ssh-keys", nil)
	if err != nil {
		w.t.Errorf("stdout %q: %v", p, err)
		return len(p), nil
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		w.t.Errorf("a call on reading stdout: %v", err)
		return len(p), nil
	}
	resp.Body.Close()
	return len(p), nil
}

// A harness calls as soon as it reads stdout, so the banner is written
// before stdout: stderr begins with it, never with an access-log line. It
// began with the request's line when the harness was quick (CI saw it).
func TestBannerComesBeforeTheFirstRequestLine(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[],"message":"ok","status":"success"}`)
	}))
	t.Cleanup(up.Close)
	tests := []struct {
		name   string
		args   []string
		banner string
	}{
		{"fake", []string{"-token", "ak_banner-order-token"}, "nebula-fake: serving the fake Nebula API at "},
		{"proxy", []string{"-proxy", up.URL + "/api/v1"}, "nebula-fake: checking proxy to "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			stdout := &callingStdout{t: t, token: "ak_banner-order-token", read: make(chan struct{})}
			stderr := &syncBuffer{}
			code := make(chan int, 1)
			go func() { code <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, tt.args...), stdout, stderr) }()
			select {
			case <-stdout.read:
			case c := <-code:
				t.Fatalf("exit %d before stdout; stderr:\n%s", c, stderr)
			}
			cancel()
			if c := <-code; c != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", c, stderr)
			}
			log := stderr.String()
			if !strings.HasPrefix(log, tt.banner) || !strings.Contains(log, " GET /api/v1/ssh-keys 200 ") {
				t.Errorf("stderr should begin with %q and log the call:\n%s", tt.banner, log)
			}
		})
	}
}

// The fake serves only once its banner is queued: a connection made
// before that waits in the listen backlog, and is taken once the gate
// opens; closing the gate ends an Accept that waits.
func TestGatedListener(t *testing.T) {
	t.Parallel()
	l := mustListen(t)
	g := newGatedListener(l)
	accepted := make(chan error, 1)
	go func() {
		c, err := g.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Proving that Accept waits takes a wait: without the gate it
	// returns within a millisecond of the dial.
	select {
	case err := <-accepted:
		t.Fatalf("Accept returned (%v) before the gate opened", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.open()
	if err := <-accepted; err != nil {
		t.Fatalf("Accept after open: %v", err)
	}

	closing := newGatedListener(mustListen(t))
	go func() { _, err := closing.Accept(); accepted <- err }()
	closing.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a gate closed before it opened: %v, want net.ErrClosed", err)
	}
	g.Close()
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// notifyingStdout closes written on its first write.
type notifyingStdout struct {
	once    sync.Once
	written chan struct{}
}

func (w *notifyingStdout) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.written) })
	return len(p), nil
}

// -addr localhost listens on loopback, like 127.0.0.1: no warning that the
// fake is reachable beyond this machine (there was one); 0.0.0.0 gets it.
func TestReachableWarningOnlyBeyondLoopback(t *testing.T) {
	t.Parallel()
	for addr, warned := range map[string]bool{"localhost:0": false, "127.0.0.1:0": false, "0.0.0.0:0": true} {
		ctx, cancel := context.WithCancel(context.Background())
		stdout := &notifyingStdout{written: make(chan struct{})}
		stderr := &syncBuffer{}
		code := make(chan int, 1)
		go func() { code <- run(ctx, []string{"-addr", addr}, stdout, stderr) }()
		select {
		case <-stdout.written:
		case c := <-code:
			t.Fatalf("%s: exit %d; stderr:\n%s", addr, c, stderr)
		}
		cancel()
		<-code
		if got := strings.Contains(stderr.String(), "reachable beyond this machine"); got != warned {
			t.Errorf("-addr %s: warned %v, want %v; stderr:\n%s", addr, got, warned, stderr)
		}
	}
}
