package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proxyProc is a running nebula-fake -proxy or -replay.
type proxyProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
	stdout *bufio.Reader
	apiURL string // NEBULA_API_URL
	root   string
	client *http.Client
}

var apiURLLine = regexp.MustCompile(`^NEBULA_API_URL=(http://127\.0\.0\.1:[1-9][0-9]*/api/v1)\n$`)

// startProxy starts the program in -proxy or -replay mode and reads its one
// environment line.
func startProxy(t *testing.T, args ...string) *proxyProc {
	t.Helper()
	p := &proxyProc{t: t, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = fakeCommand(append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Stderr = p.stderr
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = w
	err = p.cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	transport := &http.Transport{}
	p.client = &http.Client{Transport: transport, Timeout: 20 * time.Second}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		p.cmd.Process.Kill()
		<-p.exited
		r.Close()
	})
	p.stdout = bufio.NewReader(r)
	line, err := p.stdout.ReadString('\n')
	m := apiURLLine.FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("stdout %q, %v; want NEBULA_API_URL=... (stderr: %s)", line, err, p.stderr)
	}
	p.apiURL = m[1]
	p.root = strings.TrimSuffix(p.apiURL, "/api/v1")
	return p
}

func (p *proxyProc) stop() int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.t.Fatalf("nebula-fake did not exit; stderr:\n%s", p.stderr)
	}
	// Nothing else came on stdout: no NEBULA_API_KEY to overwrite the
	// caller's own.
	if rest, err := io.ReadAll(p.stdout); err != nil || len(rest) > 0 {
		p.t.Errorf("more on stdout: %q %v", rest, err)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proxyProc) send(method, url, token, body string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

type drift struct {
	Route, Field, Seen, Expected string
	Count                        int
}

func (p *proxyProc) drift() []drift {
	p.t.Helper()
	code, body := p.send("GET", p.root+"/_fake/drift", "", "")
	var d []drift
	if err := json.Unmarshal([]byte(body), &d); code != 200 || err != nil || d == nil {
		p.t.Fatalf("GET /_fake/drift: %d %q %v", code, body, err)
	}
	return d
}

// The program as a harness uses it: a proxy in front of a second
// nebula-fake shows no drift and records; a replay of the recording gives
// the same answers; the cassettes hold no token.
func TestProxyRecordReplayProgram(t *testing.T) {
	t.Parallel()
	up := startFake(t, "-token", "ak_upstream-seed-token-7Hq2")
	dir := filepath.Join(t.TempDir(), "cassettes")
	p := startProxy(t, "-proxy", up.apiURL, "-record", dir)
	steps := []struct{ method, path, body string }{
		{"GET", "/ssh-keys", ""},
		{"POST", "/ssh-keys", `{"key_name":"laptop","key_data":"` + pubKey + `"}`},
		{"GET", "/ssh-keys?limit=5&offset=0", ""},
		{"GET", "/users/credits", ""},
		{"GET", "/computing/instances", ""},
		{"GET", "/nowhere", ""},
		{"DELETE", "/ssh-keys/" + up.key, ""}, // a key where an ID goes, by mistake
	}
	type answer struct {
		code int
		body string
	}
	var live []answer
	for _, s := range steps {
		code, body := p.send(s.method, p.apiURL+s.path, up.key, s.body)
		live = append(live, answer{code, body})
	}
	if live[1].code != 200 || live[0].body == live[2].body {
		t.Fatalf("answers through the proxy: %+v", live)
	}
	if d := p.drift(); len(d) != 0 {
		t.Errorf("drift from a second nebula-fake: %+v", d)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("exit %d after SIGTERM; stderr:\n%s", code, p.stderr)
	}
	stderr := p.stderr.String()
	if strings.Contains(stderr, "drift:") || strings.Contains(stderr, up.key) {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "GET /api/v1/ssh-keys 200") {
		t.Errorf("no access log line in stderr:\n%s", stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != len(steps) {
		t.Fatalf("%d cassettes (%v), want %d", len(entries), err, len(steps))
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || strings.Contains(string(b), up.key) {
			t.Errorf("%s holds the token (%v)", e.Name(), err)
		}
	}

	rp := startProxy(t, "-replay", dir)
	for i, s := range steps {
		code, body := rp.send(s.method, rp.apiURL+s.path, "", s.body)
		if code != live[i].code || body != live[i].body {
			t.Errorf("%s %s: replay %d %q, want %d %q", s.method, s.path, code, body, live[i].code, live[i].body)
		}
	}
	code, body := rp.send("DELETE", rp.apiURL+"/ssh-keys/1", "", "")
	if code != 404 || !strings.Contains(body, "cassette") {
		t.Errorf("an unrecorded request: %d %q", code, body)
	}
	if code := rp.stop(); code != 0 {
		t.Errorf("replay exit %d; stderr:\n%s", code, rp.stderr)
	}
}

// Against a loopback API that drifts on purpose, the program says so on
// stderr and in GET /_fake/drift.
func TestProxyReportsDriftProgram(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[{"id":7,"host_name":"vm","status":"Provisioning"}],"message":"ok","status":"success"}`)
	}))
	t.Cleanup(up.Close)
	p := startProxy(t, "-proxy", up.URL+"/api/v1")
	for range 3 {
		if code, _ := p.send("GET", p.apiURL+"/computing/instance/7", "zq9-Mx7vP2wLr4Kt", ""); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	d := p.drift()
	if len(d) != 1 || d[0].Route != "GET /computing/instance/{id}" || d[0].Field != "data[].status" || d[0].Seen != `"Provisioning"` || d[0].Count != 3 {
		t.Errorf("drift %+v", d)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	stderr := p.stderr.String()
	n := 0
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, `drift: GET /computing/instance/{id}: data[].status: seen "Provisioning"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d drift lines, want 1:\n%s", n, stderr)
	}
	if strings.Contains(stderr, "zq9-Mx7vP2wLr4Kt") {
		t.Errorf("stderr shows the token:\n%s", stderr)
	}
}

func TestProxyFlagErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-record", empty}, 2, "-record needs -proxy"},
		{[]string{"-proxy", "http://example.com/api/v1"}, 2, "plain http only to a loopback host"},
		{[]string{"-proxy", "https://ann:hunter22pw@example.com/api/v1"}, 2, "no user info"},
		{[]string{"-proxy", "https://example.com/api/v1", "-replay", empty}, 2, "exclude each other"},
		{[]string{"-proxy", "https://example.com/api/v1", "-state", filepath.Join(empty, "s")}, 2, "-state has no effect"},
		{[]string{"-replay", empty}, 1, "no cassettes"},
	}
	for _, tt := range tests {
		cmd := fakeCommand(append([]string{"-addr", "127.0.0.1:0"}, tt.args...)...)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != tt.code || !strings.Contains(string(out), tt.want) || strings.Contains(string(out), "hunter22pw") {
			t.Errorf("%q: exit %d, output %q; want %d and %q", tt.args, code, out, tt.code, tt.want)
		}
	}
}
