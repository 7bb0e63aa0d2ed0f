package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fakeBinary is the program under test, built once by TestMain before any
// test runs and never changed after.
var fakeBinary string

func TestMain(m *testing.M) {
	if os.Getenv(minimalServerEnv) != "" {
		// The benchmarks' baseline, in a process of its own.
		os.Exit(serveMinimal(os.Getenv(minimalServerEnv)))
	}
	dir, err := os.MkdirTemp("", "nebula-fake-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		// go test puts its own GOROOT/bin first on the PATH (since Go
		// 1.19), so the go command that runs the test is found.
		goTool, err := exec.LookPath("go")
		if err != nil {
			fmt.Fprintln(os.Stderr, "finding the go command:", err)
			return 1
		}
		fakeBinary = filepath.Join(dir, "nebula-fake")
		args := []string{"build", "-o", fakeBinary}
		if raceEnabled {
			// Reuses the packages the race-enabled test build compiled, and
			// checks the program for races too.
			args = append(args, "-race")
		}
		build := exec.Command(goTool, append(args, ".")...)
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building nebula-fake: %v\n%s", err, out)
			return 1
		}
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// fakeCommand is the program with args. The race detector's usual second
// of sleep at exit is turned off: the tests stop many processes.
func fakeCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(fakeBinary, args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	return cmd
}

// syncBuffer collects a process's stderr while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fake is a running nebula-fake process.
type fake struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr *syncBuffer
	exited chan struct{} // closed once the process has exited
	lines  [3]string     // the environment lines
	apiURL string        // NEBULA_API_URL
	key    string        // NEBULA_API_KEY
	infURL string        // NEBULA_INFERENCE_URL
	root   string        // http://host:port, for the control routes
	client *http.Client
}

var envLine = regexp.MustCompile(`^(NEBULA_API_URL|NEBULA_API_KEY|NEBULA_INFERENCE_URL)=(\S+)$`)

// startFake starts the program on a free loopback port with args and reads
// its three environment lines; the test fails if it does not print them.
func startFake(t *testing.T, args ...string) *fake {
	t.Helper()
	f := &fake{t: t, stderr: &syncBuffer{}, exited: make(chan struct{})}
	f.cmd = fakeCommand(append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	f.cmd.Stderr = f.stderr
	// A pipe of our own, not StdoutPipe: Wait would close it, and the tests
	// read it after the exit, or close it while the program runs.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f.stdout, f.cmd.Stdout = r, w
	err = f.cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	go func() {
		f.cmd.Wait()
		close(f.exited)
	}()
	transport := &http.Transport{}
	f.client = &http.Client{Transport: transport, Timeout: 20 * time.Second}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		f.cmd.Process.Kill()
		<-f.exited
		f.stdout.Close()
	})
	lines := bufio.NewReader(f.stdout)
	for i := range f.lines {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("stdout line %d: %v (stderr: %s)", i+1, err, f.stderr)
		}
		f.lines[i] = strings.TrimSuffix(line, "\n")
	}
	for i, name := range []string{"NEBULA_API_URL", "NEBULA_API_KEY", "NEBULA_INFERENCE_URL"} {
		m := envLine.FindStringSubmatch(f.lines[i])
		if m == nil || m[1] != name {
			t.Fatalf("stdout line %d is %q, want %s=...", i+1, f.lines[i], name)
		}
	}
	f.apiURL = strings.TrimPrefix(f.lines[0], "NEBULA_API_URL=")
	f.key = strings.TrimPrefix(f.lines[1], "NEBULA_API_KEY=")
	f.infURL = strings.TrimPrefix(f.lines[2], "NEBULA_INFERENCE_URL=")
	f.root = strings.TrimSuffix(f.apiURL, "/api/v1")
	return f
}

// stop sends sig and returns the exit code.
func (f *fake) stop(sig os.Signal) int {
	f.t.Helper()
	if err := f.cmd.Process.Signal(sig); err != nil {
		f.t.Fatal(err)
	}
	return f.wait()
}

func (f *fake) wait() int {
	f.t.Helper()
	select {
	case <-f.exited:
	case <-time.After(15 * time.Second):
		f.t.Fatalf("nebula-fake did not exit; stderr:\n%s", f.stderr)
	}
	return f.cmd.ProcessState.ExitCode()
}

// call sends a request to url and decodes its JSON answer.
func (f *fake) call(method, url, token, contentType, body string) (int, map[string]any) {
	f.t.Helper()
	code, b := f.send(method, url, token, contentType, body)
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		f.t.Fatalf("%s %s: %d, not JSON: %q", method, url, code, b)
	}
	return code, env
}

func (f *fake) send(method, url, token, contentType, body string) (int, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// api calls an API route with the seed token.
func (f *fake) api(method, path, body string) (int, map[string]any) {
	f.t.Helper()
	return f.call(method, f.apiURL+path, f.key, "application/json", body)
}

// createKey creates an API key and returns its id (as JSON) and value.
func (f *fake) createKey(name string) (any, string) {
	f.t.Helper()
	code, env := f.api("POST", "/api-keys", `{"name":"`+name+`"}`)
	data, _ := env["data"].(map[string]any)
	value, _ := data["key"].(string)
	if code != 200 || !strings.HasPrefix(value, "ak_") {
		f.t.Fatalf("create key %s: %d %v", name, code, env)
	}
	return data["id"], value
}

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host"

func TestEnvironmentLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		key  *regexp.Regexp
	}{
		{"random token", nil, regexp.MustCompile(`^ak_[A-Za-z0-9_-]{43}$`)},
		{"-token", []string{"-token", "ak_fixed-token_123"}, regexp.MustCompile(`^ak_fixed-token_123$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, tt.args...)
			if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*/api/v1$`).MatchString(f.apiURL) {
				t.Errorf("NEBULA_API_URL=%s", f.apiURL)
			}
			if !tt.key.MatchString(f.key) {
				t.Errorf("NEBULA_API_KEY=%s", f.key)
			}
			if f.infURL != f.root+"/v1" {
				t.Errorf("NEBULA_INFERENCE_URL=%s, want %s/v1", f.infURL, f.root)
			}
			if code, env := f.api("GET", "/api_keys", ""); code != 200 || env["status"] != "success" {
				t.Errorf("the printed key does not authenticate: %d %v", code, env)
			}
			if code, _ := f.call("GET", f.apiURL+"/api_keys", "ak_notthetokenatall", "", ""); code != 401 {
				t.Errorf("another token got %d, want 401", code)
			}
			if code := f.stop(syscall.SIGINT); code != 0 {
				t.Errorf("exit code %d after SIGINT, want 0; stderr:\n%s", code, f.stderr)
			}
			if rest, err := io.ReadAll(f.stdout); err != nil || len(rest) != 0 {
				t.Errorf("stdout after the three lines: %q, %v", rest, err)
			}
			if strings.Contains(f.stderr.String(), f.key) {
				t.Errorf("stderr shows the token:\n%s", f.stderr)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, f *fake)
	}{
		{"integer ids by default", nil, func(t *testing.T, f *fake) {
			if id, _ := f.createKey("k"); id != 2.0 {
				t.Errorf("id %#v, want 2", id)
			}
		}},
		{"-uuids", []string{"-uuids"}, func(t *testing.T, f *fake) {
			id, _ := f.createKey("k")
			if s, _ := id.(string); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s) {
				t.Errorf("id %#v, want a UUID string", id)
			}
		}},
		{"-user twice", []string{"-user", "alice:pa55:word", "-user", "bob:hunter22"}, func(t *testing.T, f *fake) {
			for _, u := range []struct{ name, password string }{{"alice", "pa55:word"}, {"bob", "hunter22"}} {
				form := url.Values{"username": {u.name}, "password": {u.password}}.Encode()
				code, env := f.call("POST", f.apiURL+"/login", "", "application/x-www-form-urlencoded", form)
				data, _ := env["data"].(map[string]any)
				jwt, _ := data["jwtToken"].(string)
				if code != 200 || jwt == "" {
					t.Fatalf("login %s: %d %v", u.name, code, env)
				}
				if code, _ := f.call("GET", f.apiURL+"/api_keys", jwt, "", ""); code != 200 {
					t.Errorf("%s's JWT got %d", u.name, code)
				}
				form = url.Values{"username": {u.name}, "password": {u.password + "x"}}.Encode()
				if code, _ := f.call("POST", f.apiURL+"/login", "", "application/x-www-form-urlencoded", form); code != 401 {
					t.Errorf("%s with a wrong password: %d", u.name, code)
				}
			}
		}},
		{"-log-limit", []string{"-log-limit", "2"}, func(t *testing.T, f *fake) {
			for range 3 {
				f.api("GET", "/api_keys", "")
			}
			_, env := f.call("GET", f.root+"/_fake/requests", "", "", "")
			reqs, _ := env["data"].([]any)
			if len(reqs) != 2 || reqs[1].(map[string]any)["seq"] != 3.0 {
				t.Errorf("log %v, want the last 2 of 3", reqs)
			}
		}},
		{"-log-bytes", []string{"-log-bytes", "3000"}, func(t *testing.T, f *fake) {
			body := `{"name":"` + strings.Repeat("x", 1000) + `"}`
			for range 5 {
				f.api("POST", "/nowhere", body)
			}
			_, env := f.call("GET", f.root+"/_fake/requests", "", "", "")
			reqs, _ := env["data"].([]any)
			if len(reqs) == 0 || len(reqs) > 2 || reqs[len(reqs)-1].(map[string]any)["seq"] != 5.0 {
				t.Errorf("log of %d requests, want the last one or two of 5 (3000 bytes)", len(reqs))
			}
		}},
		{"-boot-time 0", []string{"-boot-time", "0"}, func(t *testing.T, f *fake) {
			if status := createInstance(t, f); status != "Running" {
				t.Errorf("status %q, want Running at once", status)
			}
		}},
		{"-boot-time 1h", []string{"-boot-time", "1h"}, func(t *testing.T, f *fake) {
			if status := createInstance(t, f); status != "Creating" {
				t.Errorf("status %q, want Creating", status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, tt.args...)
			tt.check(t, f)
			if code := f.stop(syscall.SIGTERM); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			for _, secret := range []string{f.key, "pa55:word", "pa55%3Aword", "hunter22"} {
				if strings.Contains(f.stderr.String(), secret) {
					t.Errorf("stderr shows %q:\n%s", secret, f.stderr)
				}
			}
		})
	}
}

// createInstance creates an instance and returns its status as listed.
func createInstance(t *testing.T, f *fake) string {
	t.Helper()
	code, env := f.api("POST", "/ssh-keys", `{"key_name":"k","key_data":"`+pubKey+`"}`)
	data, _ := env["data"].(map[string]any)
	if code != 200 || data == nil {
		t.Fatalf("create SSH key: %d %v", code, env)
	}
	body := fmt.Sprintf(`{"instance_name":"vm","product_id":"fcp66d566c43a9501001256","image_id":"fcp66d566c93a95010012","ssh_key_id":%v}`, data["id"])
	if code, env := f.api("POST", "/computing/instance", body); code != 200 {
		t.Fatalf("create instance: %d %v", code, env)
	}
	_, env = f.api("GET", "/computing/instances", "")
	list, _ := env["data"].([]any)
	if len(list) != 1 {
		t.Fatalf("instances: %v", env)
	}
	status, _ := list[0].(map[string]any)["status"].(string)
	return status
}

func TestControlRoutes(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	control := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		return f.call(method, f.root+"/_fake"+path, "", "application/json", body)
	}

	if code, env := control("POST", "/faults", `{"method":"GET","path":"/api_keys","status":503,"retry_after":"7"}`); code != 200 || env["status"] != "success" {
		t.Fatalf("inject: %d %v", code, env)
	}
	if code, env := control("POST", "/faults", `[{"path":"/ssh-keys","status":429,"times":2},{"path":"/users/credits","status":500}]`); code != 200 {
		t.Fatalf("inject an array: %d %v", code, env)
	}
	for _, bad := range []string{`{"status":503,"nope":1}`, `{"latency":"soon"}`, `{"status":99}`, `{}`, `not json`} {
		if code, env := control("POST", "/faults", bad); code != 400 || env["status"] != "failed" {
			t.Errorf("fault %s: %d %v, want 400", bad, code, env)
		}
	}
	_, env := control("GET", "/faults", "")
	if pending, _ := env["data"].([]any); len(pending) != 3 {
		t.Fatalf("pending faults: %v", env)
	}
	req, _ := http.NewRequest("GET", f.apiURL+"/api_keys", nil)
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("faulted list: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, env := control("DELETE", "/faults", ""); code != 200 {
		t.Fatalf("drop faults: %d %v", code, env)
	}
	if _, env := control("GET", "/faults", ""); len(env["data"].([]any)) != 0 {
		t.Errorf("faults left after DELETE: %v", env)
	}
	if code, _ := f.api("GET", "/ssh-keys", ""); code != 200 {
		t.Errorf("a dropped fault still applies: %d", code)
	}

	_, value := f.createKey("made-by-test")
	form := url.Values{"username": {"nobody"}, "password": {"pw-in-a-form"}}.Encode()
	f.call("POST", f.apiURL+"/login", "", "application/x-www-form-urlencoded", form)
	code, b := f.send("GET", f.root+"/_fake/requests", "", "", "")
	if code != 200 {
		t.Fatalf("requests: %d %s", code, b)
	}
	var log struct {
		Data []struct {
			Method, Path string
			Headers      map[string][]string
		}
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log.Data) != 4 {
		t.Fatalf("requests: %v, %s", err, b)
	}
	if got := log.Data[2]; got.Method != "POST" || got.Path != "/api/v1/api-keys" || got.Headers["Authorization"][0] != "Bearer [REDACTED]" {
		t.Errorf("logged create: %+v", got)
	}
	for _, secret := range []string{f.key, value} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("GET /_fake/requests shows a key in clear: %s", b)
		}
	}

	if code, env := control("POST", "/reset", ""); code != 200 {
		t.Fatalf("reset: %d %v", code, env)
	}
	if _, env := f.api("GET", "/api_keys", ""); len(env["data"].([]any)) != 1 {
		t.Errorf("keys after reset: %v", env)
	}
	if code, _ := f.call("GET", f.apiURL+"/api_keys", value, "", ""); code != 401 {
		t.Errorf("a key created before reset still authenticates: %d", code)
	}
	if code, env := control("GET", "/nowhere", ""); code != 404 || env["status"] != "failed" {
		t.Errorf("unknown control route: %d %v", code, env)
	}
	if code := f.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// waitLogged waits until the fake's request log holds a request to path.
func waitLogged(t *testing.T, f *fake, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, b := f.send("GET", f.root+"/_fake/requests", "", "", "")
		if bytes.Contains(b, []byte(`"path":"`+path+`"`)) {
			return
		}
	}
	t.Fatalf("%s never reached the fake", path)
}

func TestSIGTERMLetsTheRequestInFlightFinish(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	f := startFake(t, "-state", state)
	if code, env := f.call("POST", f.root+"/_fake/faults", "", "", `{"method":"POST","path":"/api-keys","latency":"1s"}`); code != 200 {
		t.Fatalf("inject: %d %v", code, env)
	}
	type answer struct {
		code  int
		value string
	}
	done := make(chan answer, 1)
	go func() {
		_, value := f.createKey("in-flight")
		done <- answer{200, value}
	}()
	waitLogged(t, f, "/api/v1/api-keys") // logged, now waiting out the latency
	if err := f.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if code := f.wait(); code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", code, f.stderr)
	}
	if !strings.Contains(f.stderr.String(), "POST /api/v1/api-keys 200") {
		t.Errorf("no log line for the request in flight:\n%s", f.stderr)
	}

	g := startFake(t, "-state", state)
	if g.key != f.key {
		t.Errorf("the restarted fake has another seed token")
	}
	if code, _ := g.call("GET", g.apiURL+"/api_keys", got.value, "", ""); code != 200 {
		t.Errorf("the key created in flight does not authenticate after a restart: %d", code)
	}
}

func TestRestartWithStateKeepsKeys(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	f := startFake(t, "-state", state)
	_, value := f.createKey("kept")
	doomedID, doomed := f.createKey("deleted")
	if code, env := f.api("DELETE", fmt.Sprintf("/api-keys/%v", doomedID), ""); code != 200 {
		t.Fatalf("delete: %d %v", code, env)
	}
	if code, env := f.api("POST", "/ssh-keys", `{"key_name":"laptop","key_data":"`+pubKey+`"}`); code != 200 {
		t.Fatalf("create SSH key: %d %v", code, env)
	}
	if code := f.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, f.stderr)
	}
	info, err := os.Stat(state)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", info.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(state), ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// The saved seed token wins over -token.
	g := startFake(t, "-state", state, "-token", "ak_ignored-because-saved")
	if g.key != f.key {
		t.Errorf("NEBULA_API_KEY changed across the restart")
	}
	if code, _ := g.call("GET", g.apiURL+"/api_keys", value, "", ""); code != 200 {
		t.Errorf("the saved key does not authenticate: %d", code)
	}
	if code, _ := g.call("GET", g.apiURL+"/api_keys", doomed, "", ""); code != 401 {
		t.Errorf("the deleted key authenticates: %d", code)
	}
	_, env := g.api("GET", "/api_keys", "")
	if keys, _ := env["data"].([]any); len(keys) != 2 || keys[1].(map[string]any)["name"] != "kept" || keys[1].(map[string]any)["id"] != 2.0 {
		t.Errorf("keys after restart: %v", env)
	}
	if id, _ := g.createKey("next"); id != 4.0 {
		t.Errorf("the next key's id is %v, want 4 (ids go on)", id)
	}
	_, env = g.api("GET", "/ssh-keys", "")
	if data, _ := env["data"].(map[string]any); data["total_ssh_keys"] != 1.0 {
		t.Errorf("SSH keys after restart: %v", env)
	}
	if code := g.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d", code)
	}
	// After the exit: stderr is written in batches, every 10 ms under load.
	if !strings.Contains(g.stderr.String(), "-token ignored") {
		t.Errorf("no warning that -token was ignored:\n%s", g.stderr)
	}
}

func TestCorruptStateIsRefusedAndKept(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	corrupt := []byte(`{"format":"nebulatest-state/1","seed":"ak_`) // cut short
	if err := os.WriteFile(state, corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd := fakeCommand("-addr", "127.0.0.1:0", "-state", state)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1", err)
	}
	if len(out) != 0 {
		t.Errorf("stdout %q, want nothing", out)
	}
	if msg := stderr.String(); !strings.Contains(msg, state) || !strings.Contains(msg, "invalid saved state") || !strings.Contains(msg, "left unchanged") {
		t.Errorf("stderr does not say what is wrong:\n%s", msg)
	}
	if got, _ := os.ReadFile(state); !bytes.Equal(got, corrupt) {
		t.Errorf("the corrupt file was changed to %q", got)
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var stderr syncBuffer
	cmd := fakeCommand("-addr", l.Addr().String())
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want code 1", err)
	}
	if len(out) != 0 {
		t.Errorf("stdout %q, want nothing", out)
	}
	if msg := stderr.String(); !strings.Contains(msg, "cannot listen on "+l.Addr().String()) || !strings.Contains(msg, "address already in use") {
		t.Errorf("stderr:\n%s", msg)
	}
}

func TestEndlessRequestBody(t *testing.T) {
	t.Parallel()
	f := startFake(t, "-grace", "100ms")
	u, _ := url.Parse(f.apiURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/api-keys HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"name\":", u.Host, f.key)

	for i := range 5 {
		if code, _ := f.api("GET", "/api_keys", ""); code != 200 {
			t.Fatalf("request %d beside the endless body: %d", i, code)
		}
	}
	if code := f.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", code, f.stderr)
	}
	if !strings.Contains(f.stderr.String(), "cut short") {
		t.Errorf("stderr does not say a request was cut short:\n%s", f.stderr)
	}
	// The stalled connection is closed, not left hanging.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("reading the stalled connection: %v, want its end", err)
	}
}

func TestStdoutReaderGoneKeepsServing(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	if err := f.stdout.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if code, _ := f.api("GET", "/api_keys", ""); code != 200 {
			t.Fatalf("request %d after stdout was closed: %d", i, code)
		}
	}
	if code := f.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit code %d, want 0 (not killed by SIGPIPE); stderr:\n%s", code, f.stderr)
	}
}

func TestStderrNotReadKeepsServing(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // never read: the pipe fills up
	cmd := fakeCommand("-addr", "127.0.0.1:0")
	cmd.Stderr = w
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lines := bufio.NewReader(stdout)
	first, _ := lines.ReadString('\n')
	apiURL := strings.TrimSpace(strings.TrimPrefix(first, "NEBULA_API_URL="))
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	// Lines of 8 KB: a 64 KB pipe is full after 8 of them.
	long := apiURL + "/" + strings.Repeat("x", 8<<10)
	for i := range 40 {
		resp, err := client.Get(long)
		if err != nil {
			t.Fatalf("request %d with stderr full: %v", i, err)
		}
		resp.Body.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nebula-fake did not exit with stderr full")
	}
}

func TestHarnessScript(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "testdata/harness.sh")
	cmd.Env = append(os.Environ(), "NEBULA_FAKE="+fakeBinary, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("harness.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "harness: ok") {
		t.Fatalf("harness.sh did not finish its checks:\n%s", out)
	}
}

// TestLogWriterAfterClose: a handler that hijacked its connection (a
// hang-up fault) can log after shutdown closed the queue; the line is
// dropped rather than panicking on a closed channel.
func TestLogWriterAfterClose(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	l := newLogWriter(&out)
	l.printf("before %d", 1)
	l.close()
	l.printf("after %d", 2) // panicked before
	if got := out.String(); got != "before 1\n" {
		t.Fatalf("log %q", got)
	}
}
