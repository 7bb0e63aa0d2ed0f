package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenAISurface(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	code, b := f.send("GET", f.infURL+"/models", f.key, "", "")
	if code != 200 || !strings.Contains(string(b), `"id":"WhereIsAI/UAE-Large-V1"`) {
		t.Errorf("GET /v1/models: %d %s", code, b)
	}
	code, b = f.send("POST", f.infURL+"/embeddings", f.key, "application/json", `{"model":"WhereIsAI/UAE-Large-V1","input":"hi"}`)
	var emb struct {
		Data []struct{ Embedding []float64 }
	}
	if err := json.Unmarshal(b, &emb); err != nil || code != 200 || len(emb.Data) != 1 || len(emb.Data[0].Embedding) != 1024 {
		t.Errorf("POST /v1/embeddings: %d %.200s", code, b)
	}
	code, b = f.send("GET", f.infURL+"/models", "zq9-Mx7vP2wLr4Kt", "", "")
	if code != 401 || !strings.Contains(string(b), `"error":{`) {
		t.Errorf("bad key: %d %s", code, b)
	}
	if code, env := f.api("GET", "/keys", ""); code != 200 || len(env["data"].([]any)) != 1 {
		t.Errorf("GET /api/v1/keys: %d %v", code, env)
	}
	f.stop(syscall.SIGTERM)
}

// mktemp gives an empty file: it is no state yet, not a corrupt one.
func TestEmptyStateFileStartsFresh(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(state, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := startFake(t, "-state", state)
	_, value := f.createKey("kept")
	if code := f.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, f.stderr)
	}
	if !strings.Contains(f.stderr.String(), "is empty: starting fresh") {
		t.Errorf("stderr does not say it started fresh:\n%s", f.stderr)
	}
	info, err := os.Stat(state)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v, want mode 0600", err, info)
	}
	g := startFake(t, "-state", state)
	if code, _ := g.call("GET", g.apiURL+"/api_keys", value, "", ""); code != 200 || g.key != f.key {
		t.Errorf("after a restart from the saved file: %d", code)
	}
	g.stop(syscall.SIGTERM)
}

func TestResetAfterRestartKeepsThePrintedSeed(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	f := startFake(t, "-state", state)
	f.stop(syscall.SIGTERM)
	g := startFake(t, "-state", state)
	if code, env := g.call("POST", g.root+"/_fake/reset", "", "", ""); code != 200 {
		t.Fatalf("reset: %d %v", code, env)
	}
	if code, _ := g.api("GET", "/api_keys", ""); code != 200 {
		t.Errorf("the printed key after reset: %d, want 200", code)
	}
	g.stop(syscall.SIGTERM)
}

// A delete cut short by shutdown was answered 200 with an empty body, and
// logged as 200.
func TestShutdownNeverAnswersACutShortRequestAsSuccess(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	f := startFake(t, "-state", state, "-grace", "200ms")
	id, value := f.createKey("doomed")
	path := fmt.Sprintf("/api/v1/api-keys/%v", id)
	if code, env := f.call("POST", f.root+"/_fake/faults", "", "", `{"method":"DELETE","path":"/api-keys/","latency":"1h"}`); code != 200 {
		t.Fatalf("inject: %d %v", code, env)
	}
	type answer struct {
		code int
		body string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("DELETE", f.root+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.key)
		resp, err := f.client.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{code: resp.StatusCode, body: string(b)}
	}()
	waitLogged(t, f, path)
	start := time.Now()
	if code := f.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, f.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v with -grace 200ms", d)
	}
	got := <-done
	if got.err == nil && (got.code != 503 || !strings.Contains(got.body, `"status":"failed"`)) {
		t.Errorf("the cut-short delete got %d %q, want 503 failed or a closed connection", got.code, got.body)
	}
	line := regexp.MustCompile(`DELETE ` + regexp.QuoteMeta(path) + ` (\S+) .*`).FindString(f.stderr.String())
	if line == "" || strings.Contains(line, " 200 ") || !strings.Contains(line, "not carried out") {
		t.Errorf("stderr line %q, want one saying it was not carried out:\n%s", line, f.stderr)
	}
	g := startFake(t, "-state", state)
	if code, _ := g.call("GET", g.apiURL+"/api_keys", value, "", ""); code != 200 {
		t.Errorf("the key survived, but after a restart it gets %d", code)
	}
	g.stop(syscall.SIGTERM)
}

// A client that stopped reading blocked SIGTERM for good, and the state
// was never saved.
func TestShutdownWithAClientThatStoppedReading(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	f := startFake(t, "-state", state, "-grace", "200ms")
	body := `{"name":"` + strings.Repeat("x", 1<<20-20) + `"}`
	for range 12 { // more than loopback sockets buffer
		f.send("POST", f.apiURL+"/nowhere", f.key, "application/json", body)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.root, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /_fake/requests HTTP/1.1\r\nHost: x\r\n\r\n")
	if status, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(status, "200") {
		t.Fatalf("status line %q: %v", status, err)
	} // and never read again
	if code := f.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, f.stderr)
	}
	if saved, err := os.ReadFile(state); err != nil || !strings.Contains(string(saved), f.key) {
		t.Errorf("state not saved: %v", err)
	}
	if !strings.Contains(f.stderr.String(), "cut short") {
		t.Errorf("stderr does not say requests were cut short:\n%s", f.stderr)
	}
}

func TestClientLeavingIsLoggedAsNotCarriedOut(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.call("POST", f.root+"/_fake/faults", "", "", `{"path":"/api_keys","latency":"1h"}`)
	// The client leaves once the fake has logged the request, not after a
	// 100 ms timeout: under load that timeout could pass before the request
	// arrived, and then nothing was logged.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.apiURL+"/api_keys", nil)
	req.Header.Set("Authorization", "Bearer "+f.key)
	answered := make(chan int, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	waitLogged(t, f, "/api/v1/api_keys")
	cancel()
	if code := <-answered; code != 0 {
		t.Fatalf("answered %d", code)
	}
	f.stop(syscall.SIGTERM)
	log := f.stderr.String()
	if !strings.Contains(log, "GET /api/v1/api_keys hung-up") || !strings.Contains(log, "(not carried out: the client left)") || strings.Contains(log, "api_keys 200") {
		t.Errorf("stderr:\n%s", log)
	}
}

func TestRejectedUserFlagNeverEchoesThePassword(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-user", "alice:zq9"},                                         // too short
		{"-user", "zq9-Mx7vP2wLr4Kt"},                                  // no name: all of it may be a password
		{"-user", ":zq9-Mx7vP2wLr4Kt"},                                 // no name
		{"-user", "a:zq9-Mx7vP2wLr4Kt", "-user", "a:zq9-Mx7vP2wLr4Kt"}, // twice
	} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d", args, code)
		}
		if strings.Contains(stderr.String(), "zq9") {
			t.Errorf("%q: stderr shows the password:\n%s", args, stderr.String())
		}
		if !strings.Contains(stderr.String(), "-user") {
			t.Errorf("%q: stderr does not name the flag:\n%s", args, stderr.String())
		}
	}
}

func TestRequestsRouteStreamsAndRedacts(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	req, _ := http.NewRequest("GET", f.apiURL+"/api_keys", nil)
	req.Header.Set("Authorization", "zq9-Mx7vP2wLr4Kt")
	if resp, err := f.client.Do(req); err == nil {
		resp.Body.Close()
	}
	resp, err := f.client.Get(f.root + "/_fake/requests")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ContentLength != -1 || strings.Contains(string(b), "zq9-Mx7vP2wLr4Kt") || !strings.Contains(string(b), `"Authorization":["[REDACTED]"]`) {
		t.Errorf("Content-Length %d, log %s", resp.ContentLength, b)
	}
	f.stop(syscall.SIGTERM)
}

// The built binary must not be committed by mistake.
func TestBuiltBinaryIsIgnored(t *testing.T) {
	t.Parallel()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	for _, path := range []string{"nebula-fake", "cmd/nebula-fake/nebula-fake"} {
		cmd := exec.Command(git, "check-ignore", "--no-index", "-q", path)
		cmd.Dir = "../.."
		if err := cmd.Run(); err != nil {
			t.Errorf("git does not ignore %s: %v", path, err)
		}
	}
	// ... and the sources stay visible.
	cmd := exec.Command(git, "check-ignore", "--no-index", "-q", "cmd/nebula-fake/main.go")
	cmd.Dir = "../.."
	if cmd.Run() == nil {
		t.Error("git ignores cmd/nebula-fake/main.go")
	}
}

// The docs' shell example ("Using it from a shell script", in README.md
// or docs/), run exactly as shown: from a directory holding the built
// binary as ./nebula-fake, with NEBULA_FAKE naming it (the docs show both
// forms).
func TestDocsHarnessScript(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	var script string
	for _, path := range append([]string{"../../README.md"}, docs...) {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, section, found := strings.Cut(string(text), "### Using it from a shell script")
		if !found {
			continue
		}
		_, block, found := strings.Cut(section, "```bash\n")
		code, _, closed := strings.Cut(block, "```")
		if !found || !closed {
			t.Fatalf("%s: the section has no bash block", path)
		}
		script = code
		break
	}
	if script == "" {
		t.Fatal("no section \"Using it from a shell script\" in README.md or docs/*.md")
	}
	dir := t.TempDir()
	if err := os.Symlink(fakeBinary, filepath.Join(dir, "nebula-fake")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", script+"\necho README-SCRIPT-DONE\n")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "NEBULA_FAKE="+fakeBinary)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "README-SCRIPT-DONE") {
		t.Fatalf("the docs' script: %v\n%s\n--- script ---\n%s", err, out, script)
	}
}
