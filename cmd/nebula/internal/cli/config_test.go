package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nebula-sdk/nebula-go/nebulatest"
)

// loggedOut is a harness whose key and URL come only from the config file.
func loggedOut(t *testing.T, opts ...nebulatest.Option) *harness {
	h := newHarness(t, opts...)
	delete(h.vars, "NEBULA_API_KEY")
	delete(h.vars, "NEBULA_API_URL")
	return h
}

func TestLoginStatusLogout(t *testing.T) {
	t.Parallel()
	h := loggedOut(t)
	h.stdin = seedToken + "\n"
	r := h.mustRun("auth", "login", "--api-url", h.srv.URL)
	if r.out != "" || strings.Contains(r.err, seedToken) || !strings.Contains(r.err, "ak_...Q8bN") {
		t.Fatalf("login: stdout %q stderr %q", r.out, r.err)
	}
	cfg := h.vars["NEBULA_CONFIG"]
	st, err := os.Stat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %04o, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(cfg)
	if !bytes.Contains(data, []byte(seedToken)) || !bytes.Contains(data, []byte(h.srv.URL)) {
		t.Fatalf("config:\n%s", data)
	}
	r = h.mustRun("auth", "status", "-o", "json")
	if !strings.Contains(r.out, `"context": "default"`) || !strings.Contains(r.out, `"key": "ak_...Q8bN"`) || strings.Contains(r.out, seedToken) {
		t.Fatalf("status %q", r.out)
	}
	h.mustRun("billing", "balance")

	// The environment overrides the context...
	h.vars["NEBULA_API_KEY"] = "ak_zq9-Mx7vP2wLr4KtQ8bX"
	if r := h.run("billing", "balance"); r.code != ExitFailed {
		t.Fatalf("NEBULA_API_KEY did not override the context: exit %d", r.code)
	}
	// ... and --context overrides the environment.
	h.mustRun("billing", "balance", "--context", "default")
	delete(h.vars, "NEBULA_API_KEY")

	h.mustRun("auth", "logout")
	data, _ = os.ReadFile(cfg)
	if bytes.Contains(data, []byte(seedToken)) {
		t.Fatal("logout kept the key")
	}
	r = h.run("billing", "balance")
	if r.code != ExitUsage || !strings.Contains(r.err, "nebula auth login") {
		t.Fatalf("after logout: exit %d, stderr %q", r.code, r.err)
	}
}

// TestLoginRefusedKey saves nothing.
func TestLoginRefusedKey(t *testing.T) {
	t.Parallel()
	h := loggedOut(t)
	bad := "ak_zq9-Mx7vP2wLr4KtQ8bX"
	h.stdin = bad + "\n"
	r := h.run("auth", "login", "--api-url", h.srv.URL)
	if r.code != ExitFailed || !strings.Contains(r.err, "refused") || strings.Contains(r.err, bad) {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if _, err := os.Stat(h.vars["NEBULA_CONFIG"]); !os.IsNotExist(err) {
		t.Fatalf("a config was written: %v", err)
	}
	h.stdin = ""
	if r := h.run("auth", "login", "--api-url", h.srv.URL); r.code != ExitUsage {
		t.Fatalf("empty key: exit %d", r.code)
	}
}

// TestLoginPrompt reads the key through the no-echo reader on a terminal.
func TestLoginPrompt(t *testing.T) {
	t.Parallel()
	h := loggedOut(t)
	var out bytes.Buffer
	errw := &syncBuffer{}
	a := h.app(&out, errw)
	a.StdinIsTerminal = true
	a.ReadPassword = func() (string, error) { return seedToken, nil }
	if code := a.Run(h.ctx, []string{"auth", "login", "--api-url", h.srv.URL}); code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	if !strings.HasPrefix(errw.String(), "API key: ") || strings.Contains(errw.String(), seedToken) {
		t.Fatalf("stderr %q", errw.String())
	}
}

// TestConfigReadableByOthers is refused, with the chmod that fixes it.
func TestConfigReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions on Windows")
	}
	t.Parallel()
	h := loggedOut(t)
	cfg := h.vars["NEBULA_CONFIG"]
	body := "active_context = \"default\"\n[[contexts]]\nname = \"default\"\napi_key = \"" + seedToken + "\"\napi_url = \"" + h.srv.URL + "\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	r := h.run("billing", "balance")
	if r.code != ExitUsage || !strings.Contains(r.err, "chmod 600 "+cfg) || strings.Contains(r.err, seedToken) {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if h.requests() != 0 {
		t.Fatal("a request was sent")
	}
	if err := os.Chmod(cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	h.mustRun("billing", "balance")
}

func TestContexts(t *testing.T) {
	t.Parallel()
	h := loggedOut(t)
	other := nebulatest.NewServer(nebulatest.WithSeedToken("ak_other-Mx7vP2wLr4KtQ8b"), nebulatest.WithBalance("7.25"))
	t.Cleanup(other.Close)
	h.stdin = seedToken + "\n"
	h.mustRun("auth", "login", "--api-url", h.srv.URL)
	h.stdin = "ak_other-Mx7vP2wLr4KtQ8b\n"
	// The test's HTTP client reaches either loopback server.
	h.mustRun("auth", "login", "--context", "other", "--api-url", other.URL)
	r := h.mustRun("context", "list", "--columns", "active,name,key")
	want := "ACTIVE   NAME      KEY\n         default   ak_...Q8bN\n*        other     ak_...tQ8b\n"
	if r.out != want {
		t.Fatalf("context list:\n%s", r.out)
	}
	r = h.mustRun("billing", "balance", "--no-header")
	if strings.TrimSpace(r.out) != "7.25" {
		t.Fatalf("balance in context other: %q", r.out)
	}
	h.mustRun("context", "use", "default")
	r = h.mustRun("billing", "balance", "--no-header")
	if strings.TrimSpace(r.out) != "1228.55600" {
		t.Fatalf("balance in context default: %q", r.out)
	}
	h.mustRun("context", "delete", "default")
	r = h.run("billing", "balance")
	if r.code != ExitUsage {
		t.Fatalf("no active context: exit %d", r.code)
	}
	if r := h.run("context", "delete", "default"); r.code != ExitNotFound {
		t.Fatalf("delete again: exit %d", r.code)
	}
}

// TestConfigLocation: NEBULA_CONFIG, else XDG_CONFIG_HOME, else HOME.
func TestConfigLocation(t *testing.T) {
	t.Parallel()
	a := &App{Env: func(k string) string {
		return map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}[k]
	}}
	if p, _ := a.configPath(); p != filepath.Join("/x", "nebula", "config.toml") {
		t.Fatal(p)
	}
	a.Env = func(k string) string { return map[string]string{"HOME": "/h"}[k] }
	if p, _ := a.configPath(); p != filepath.Join("/h", ".config", "nebula", "config.toml") {
		t.Fatal(p)
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                        "",
		"ak_zq9-Mx7vP2wLr4KtQ8bN": "ak_...Q8bN",
		"ak_short":                "ak_...",
	} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// auth login takes its URL as every other command does: --api-url, then
// NEBULA_API_URL, then the context's. It checked and saved the key against
// the context's URL though NEBULA_API_URL said otherwise.
func TestLoginURLFollowsTheEnvironmentOverTheContext(t *testing.T) {
	t.Parallel()
	h := loggedOut(t)
	h.stdin = seedToken + "\n"
	// A context whose saved URL nothing answers.
	if err := os.WriteFile(h.vars["NEBULA_CONFIG"], []byte("active_context = 'default'\n[[contexts]]\nname = 'default'\napi_url = 'http://127.0.0.1:9/api/v1'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.vars["NEBULA_API_URL"] = h.srv.URL
	h.mustRun("auth", "login")
	data, _ := os.ReadFile(h.vars["NEBULA_CONFIG"])
	if !bytes.Contains(data, []byte(h.srv.URL)) {
		t.Fatalf("config:\n%s", data)
	}
}

// NEBULA_API_KEY and NEBULA_API_URL are enough without a configuration file
// to be found (a container without HOME): a read command asked for HOME.
func TestEnvironmentAloneWithoutHome(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	delete(h.vars, "NEBULA_CONFIG")
	delete(h.vars, "HOME")
	delete(h.vars, "XDG_CONFIG_HOME")
	h.mustRun("billing", "balance")
	delete(h.vars, "NEBULA_API_KEY")
	if r := h.run("billing", "balance"); r.code != ExitUsage || !strings.Contains(r.err, "set NEBULA_CONFIG or HOME") {
		t.Fatalf("without a key: exit %d, stderr %q", r.code, r.err)
	}
}

// Messages that said the wrong thing: a configuration path that is a
// directory was told to chmod 600, an active context missing from the file
// "holds no API key", and the SDK's "nebula: " came twice.
func TestConfigMessages(t *testing.T) {
	t.Parallel()
	h := loggedOut(t)
	dir := filepath.Join(h.dir, "cfgdir")
	if err := os.Mkdir(dir, 0o755); err != nil { // readable by others, as most directories
		t.Fatal(err)
	}
	h.vars["NEBULA_CONFIG"] = dir
	if r := h.run("billing", "balance"); r.code != ExitUsage || !strings.Contains(r.err, "is a directory") || strings.Contains(r.err, "chmod") {
		t.Errorf("a directory: exit %d, stderr %q", r.code, r.err)
	}
	cfg := filepath.Join(h.dir, "config.toml")
	h.vars["NEBULA_CONFIG"] = cfg
	if err := os.WriteFile(cfg, []byte("active_context = 'gone'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.run("billing", "balance"); r.code != ExitUsage || !strings.Contains(r.err, `"gone" is not in the configuration file`) {
		t.Errorf("a missing context: exit %d, stderr %q", r.code, r.err)
	}
	h.stdin = "ak_zq9-Mx7vP2wLr4KtQ8bXnotakey\n"
	if r := h.run("auth", "login", "--api-url", h.srv.URL); r.code == ExitOK || strings.Count(r.err, "nebula: ") != 1 {
		t.Errorf("a refused key: exit %d, stderr %q", r.code, r.err)
	}
}
