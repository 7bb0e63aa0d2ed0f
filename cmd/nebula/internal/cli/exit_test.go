package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/nebula-sdk/nebula-go/nebulatest"
)

// TestBadUsageSendsNothing: every kind of bad usage exits 2 before a
// request leaves.
func TestBadUsageSendsNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"bogus"}, "unknown command"},
		{[]string{"instance", "list", "-o", "xml"}, "unknown output format"},
		{[]string{"instance", "list", "--columns", "name,colour"}, `unknown column "colour"`},
		{[]string{"instance", "list", "--no-such-flag"}, "unknown flag"},
		{[]string{"instance", "get"}, "accepts 1 arg"},
		{[]string{"instance", "wait", "5", "--status", "Runing"}, `unknown status "Runing"`},
		{[]string{"instance", "wait", "5"}, `unknown status ""`},
		{[]string{"instance", "create", "x", "--image", "i", "--ssh-key", "1"}, "--product is required"},
		{[]string{"instance"}, "needs a command"},
		{[]string{"api-key", "create", " "}, "invalid argument"},
		{[]string{"api-key", "delete", seedToken}, "invalid argument"},
		{[]string{"image", "generate", "--model", "m"}, "required"},
		{[]string{"ssh-key", "create", "k"}, "--public-key-file is required"},
		{[]string{"billing", "invoice", "download", "3688", "-O", "/nonexistent-dir/x.pdf"}, "cannot write"},
		{[]string{"image", "generate", "--model", "m", "--prompt", "p", "-O", "/nonexistent-dir/x.png"}, "cannot write"},
	}
	for _, c := range cases {
		h := newHarness(t)
		r := h.run(c.args...)
		if r.code != ExitUsage {
			t.Errorf("nebula %s: exit %d, want 2; stderr %q", strings.Join(c.args, " "), r.code, r.err)
		}
		if !strings.Contains(r.err, c.msg) {
			t.Errorf("nebula %s: stderr %q does not say %q", strings.Join(c.args, " "), r.err, c.msg)
		}
		if !strings.HasPrefix(r.err, "nebula: ") {
			t.Errorf("nebula %s: stderr %q does not start with nebula: ", strings.Join(c.args, " "), r.err)
		}
		if n := h.requests(); n != 0 {
			t.Errorf("nebula %s: %d requests sent", strings.Join(c.args, " "), n)
		}
		if r.out != "" {
			t.Errorf("nebula %s: stdout %q", strings.Join(c.args, " "), r.out)
		}
		if strings.Contains(r.err, seedToken) {
			t.Errorf("nebula %s: the key printed", strings.Join(c.args, " "))
		}
	}
}

// TestNotLoggedIn says how to log in, exit 2.
func TestNotLoggedIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	delete(h.vars, "NEBULA_API_KEY")
	r := h.run("instance", "list")
	if r.code != ExitUsage || !strings.Contains(r.err, "nebula auth login") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if h.requests() != 0 {
		t.Fatal("a request was sent")
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, args := range [][]string{
		{"instance", "get", "nope"},
		{"instance", "lookup", "nope"},
		{"instance", "start", "12345"},
		{"image", "list", "--product", "nope"},
		{"context", "use", "nope"},
		{"ssh-key", "delete", "99"},
	} {
		r := h.run(args...)
		if r.code != ExitNotFound {
			t.Errorf("nebula %s: exit %d, want 4; stderr %q", strings.Join(args, " "), r.code, r.err)
		}
	}
}

// TestAPIFailure: an API that keeps failing is exit 1, with its message.
func TestAPIFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.srv.Inject(nebulatest.Fault{Path: "/users/credits", Status: 503, Times: -1})
	r := h.run("billing", "balance")
	if r.code != ExitFailed || !strings.Contains(r.err, "503") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	// A refused key is exit 1 too.
	h.vars["NEBULA_API_KEY"] = "ak_zq9-Mx7vP2wLr4KtQ8bX"
	r = h.run("api-key", "list")
	if r.code != ExitFailed || !strings.Contains(r.err, "401") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if strings.Contains(r.err, "ak_zq9-Mx7vP2wLr4KtQ8bX") {
		t.Fatal("the key printed")
	}
}

// TestCreateOutcomeUnknown: a create whose answer is lost is sent once.
// When the fake committed it, Create finds the instance and the command
// succeeds; when it did not, the outcome stays unknown: exit 3, naming the
// lookup, which then finds nothing.
func TestCreateOutcomeUnknown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nebulatest.WithBootTime(0))
	h.sshKey()
	h.srv.Inject(nebulatest.Fault{Method: "POST", Path: "/computing/instance", HangUp: nebulatest.HangUpAfter})
	r := h.run("instance", "create", "trainer", "--product", testProduct, "--image", testImage, "--ssh-key", "1", "--columns", "name", "--no-header")
	if r.code != ExitOK || strings.TrimSpace(r.out) != "trainer" {
		t.Fatalf("answer lost after the create: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
	if n := len(h.srv.Instances()); n != 1 {
		t.Fatalf("%d instances, want 1 (never created twice)", n)
	}

	h.srv.Inject(nebulatest.Fault{Method: "POST", Path: "/computing/instance", HangUp: nebulatest.HangUpBefore})
	r = h.run("instance", "create", "trainer-2", "--product", testProduct, "--image", testImage, "--ssh-key", "1")
	if r.code != ExitUnknown {
		t.Fatalf("exit %d, want 3; stderr %q", r.code, r.err)
	}
	if !strings.Contains(r.err, "nebula instance lookup trainer-2") {
		t.Fatalf("stderr does not name the lookup: %q", r.err)
	}
	if r.out != "" {
		t.Fatalf("stdout %q", r.out)
	}
	if n := len(h.srv.Instances()); n != 1 {
		t.Fatalf("%d instances, want 1", n)
	}
	r = h.run("instance", "lookup", "trainer-2")
	if r.code != ExitNotFound || !strings.Contains(r.err, "trainer-2") {
		t.Fatalf("lookup of an instance never created: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}

	h2 := newHarness(t)
	h2.srv.Inject(nebulatest.Fault{Method: "POST", Path: "/api-keys", HangUp: nebulatest.HangUpAfter})
	r = h2.run("api-key", "create", "ci")
	if r.code != ExitUnknown || !strings.Contains(r.err, "nebula api-key list") {
		t.Fatalf("api-key create: exit %d, stderr %q", r.code, r.err)
	}
}

// TestWaitInterrupted: Ctrl-C during create --wait exits 130, says how to
// wait again, and deletes nothing.
func TestWaitInterrupted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nebulatest.WithBootTime(time.Hour))
	h.sshKey()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errw := &syncBuffer{}
	creating := errw.when("Creating")
	done := make(chan int)
	go func() {
		done <- h.app(&out, errw).Run(ctx, []string{"instance", "create", "trainer", "--product", testProduct, "--image", testImage, "--ssh-key", "1", "--wait"})
	}()
	select {
	case <-creating:
	case code := <-done:
		t.Fatalf("ended before waiting: exit %d, stderr %q", code, errw.String())
	}
	cancel()
	code := <-done
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want 130; stderr %q", code, errw.String())
	}
	if !strings.Contains(errw.String(), "--status Running") || !strings.Contains(errw.String(), "nothing was deleted") {
		t.Fatalf("stderr %q", errw.String())
	}
	st := h.srv.Instances()
	if len(st) != 1 {
		t.Fatalf("instances %v, want the one created", st)
	}
	for _, s := range st {
		if s != nebulatest.StatusCreating {
			t.Fatalf("status %q", s)
		}
	}
	for _, r := range h.srv.Requests() {
		if r.Method == "DELETE" {
			t.Fatalf("a DELETE was sent: %s", r.Path)
		}
	}
}

// TestWaitProgress: --wait reports each status on stderr, one line each
// when stderr is no terminal; stdout has the result only. The instance
// boots when the command has reported it "Creating": the fake's clock
// jumps past the boot time then (a 20 ms boot time was over before a
// loaded machine's first look, which then saw only "Running").
func TestWaitProgress(t *testing.T) {
	t.Parallel()
	var booted atomic.Bool
	clock := func() time.Time {
		if booted.Load() {
			return time.Now().Add(2 * time.Hour)
		}
		return time.Now()
	}
	h := newHarness(t, nebulatest.WithBootTime(time.Hour), nebulatest.WithClock(clock))
	h.sshKey()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a command that never sees "Creating" fails, not hangs
	defer cancel()
	var out bytes.Buffer
	errw := &syncBuffer{}
	creating := errw.when(`instance "trainer": Creating`)
	go func() {
		select {
		case <-creating:
			booted.Store(true)
		case <-ctx.Done():
		}
	}()
	code := h.app(&out, errw).Run(ctx, []string{"instance", "create", "trainer", "--product", testProduct, "--image", testImage, "--ssh-key", "1", "--wait", "-o", "json"})
	r := result{out.String(), errw.String(), code}
	if code != 0 || !strings.Contains(r.err, `instance "trainer": Creating`) || !strings.Contains(r.err, `instance "trainer": Running`) {
		t.Fatalf("exit %d, stderr %q", code, r.err)
	}
	if strings.Contains(r.err, "\r") {
		t.Fatal("a live line on a stderr that is no terminal")
	}
	checkParses(t, "create", "json", r.out, false)
	if !strings.Contains(r.out, `"status": "Running"`) {
		t.Fatalf("stdout %q", r.out)
	}
	// On a terminal, one live line.
	h.tty = true
	r = h.mustRun("instance", "stop", "trainer", "--wait", "-o", "json")
	if !strings.Contains(r.err, "\r\x1b[K") || !strings.Contains(r.err, "Stopped") {
		t.Fatalf("stderr %q", r.err)
	}
	id := h.id("trainer")
	r = h.mustRun("instance", "delete", id, "--wait")
	if r.out != "" || !strings.Contains(r.err, "is deleted") {
		t.Fatalf("delete --wait: stdout %q stderr %q", r.out, r.err)
	}
	// Waiting for a deleted instance to be deleted ends at once.
	r = h.mustRun("instance", "wait", id, "--status", "deleted")
	if !strings.Contains(r.err, "is deleted") {
		t.Fatalf("wait --status deleted: %q", r.err)
	}
	r = h.mustRun("instance", "list", "--deleted", "--columns", "name,status", "--no-header")
	if got := strings.Fields(r.out); len(got) != 2 || got[0] != "trainer" {
		t.Fatalf("deleted list %q", r.out)
	}
}

// id is the ID of the active instance named name.
func (h *harness) id(name string) string {
	h.t.Helper()
	r := h.mustRun("instance", "lookup", name, "--columns", "id", "--no-header")
	return strings.TrimSpace(r.out)
}

// TestGlobalFlagsAnywhere: -o, --columns, --no-header, --context and
// --api-url after the verb and before the noun.
func TestGlobalFlagsAnywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.mustRun("-o", "json", "billing", "balance")
	b := h.mustRun("billing", "-o", "json", "balance")
	c := h.mustRun("billing", "balance", "-o", "json")
	if a.out != b.out || b.out != c.out || !strings.Contains(a.out, `"available"`) {
		t.Fatalf("%q %q %q", a.out, b.out, c.out)
	}
	// --api-url overrides NEBULA_API_URL.
	h.vars["NEBULA_API_URL"] = "http://127.0.0.1:1/api/v1"
	h.mustRun("billing", "balance", "--api-url", h.srv.URL)
}

// TestEveryCommandHasAnExample: -h of every command shows one.
func TestEveryCommandHasAnExample(t *testing.T) {
	t.Parallel()
	a := &App{}
	walk(a.rootCommand(nil), func(c *cobra.Command) {
		if c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
	})
	h := newHarness(t)
	r := h.mustRun("instance", "create", "-h")
	if !strings.Contains(r.out, "Examples:") || !strings.Contains(r.out, "--wait") {
		t.Fatalf("%q", r.out)
	}
	r = h.mustRun("completion", "bash")
	if !strings.Contains(r.out, "nebula") || len(r.out) < 1000 {
		t.Fatalf("completion bash: %d bytes", len(r.out))
	}
}

// TestPrivateKeyRefused: a private key file is refused by name, never
// printed, never sent.
func TestPrivateKeyRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	secret := "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQzq9Mx7vP2wLr4Kt"
	f := filepath.Join(h.dir, "id_ed25519")
	body := "-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "\n-----END OPENSSH PRIVATE KEY-----\n"
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.run("ssh-key", "create", "laptop", "--public-key-file", f)
	if r.code != ExitUsage || !strings.Contains(r.err, "private key") || strings.Contains(r.err, secret) {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if h.requests() != 0 {
		t.Fatal("a request was sent")
	}
}

// A public key in PEM or SSH2 armour is refused, before sending, as a form
// the API does not take, with the conversion: it was called a private key.
func TestArmouredPublicKeyRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := filepath.Join(h.dir, "id.pem.pub")
	body := "---- BEGIN SSH2 PUBLIC KEY ----\nAAAAC3NzaC1lZDI1NTE5AAAAIGVkMjU1MTkta2V5LWZvci10ZXN0cy1vbmx5\n---- END SSH2 PUBLIC KEY ----\n"
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.run("ssh-key", "create", "laptop", "--public-key-file", f)
	if r.code != ExitUsage || !strings.Contains(r.err, "ssh-keygen -i -f") || strings.Contains(r.err, "private") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if h.requests() != 0 {
		t.Fatal("a request was sent")
	}
}

// TestPartialTree: a line that names a command builds only that one, and
// behaves as with the whole tree; help lists every command.
func TestPartialTree(t *testing.T) {
	t.Parallel()
	a := &App{}
	if got := len(a.rootCommand([]string{"version"}).Commands()); got != 1 {
		t.Fatalf("nebula version built %d commands", got)
	}
	h := newHarness(t)
	r := h.mustRun("-h")
	for _, noun := range []string{"api-key", "auth", "billing", "context", "image", "instance", "model", "product", "ssh-key", "version", "completion"} {
		if !strings.Contains(r.out, "\n  "+noun+" ") {
			t.Errorf("nebula -h does not list %s:\n%s", noun, r.out)
		}
	}
	r = h.mustRun("help", "instance", "create")
	if !strings.Contains(r.out, "--wait") {
		t.Fatalf("help instance create: %q", r.out)
	}
	r = h.mustRun("--no-header", "billing", "balance")
	if strings.TrimSpace(r.out) != "1228.55600" {
		t.Fatalf("%q", r.out)
	}
	r = h.mustRun("version")
	if !strings.HasPrefix(r.out, "nebula ") {
		t.Fatalf("%q", r.out)
	}
}

// A create whose wait then fails (the API failing its reads) made the
// instance: stdout shows it, and the error says how to wait again. It said
// nothing of the instance, and exit 1 read as "not created".
func TestCreateWaitFailsAfterTheCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nebulatest.WithBootTime(time.Hour))
	h.sshKey()
	h.srv.Inject(nebulatest.Fault{Method: "GET", Path: "/computing/instance/", Status: 500, Times: -1})
	r := h.run("instance", "create", "trainer", "--product", testProduct, "--image", testImage, "--ssh-key", "1", "--wait", "--columns", "id", "--no-header")
	ins := h.srv.Instances()
	if len(ins) != 1 {
		t.Fatalf("%d instances", len(ins))
	}
	var id string
	for id = range ins {
	}
	if r.code != ExitFailed || strings.TrimSpace(r.out) != id || !strings.Contains(r.err, "nebula instance wait "+id+" --status Running") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
}

// Commands that only change the configuration refuse an unknown output
// format before doing anything, as the others do: they made their change
// and exited 0.
func TestUnknownFormatRefusedByLocalCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stdin = seedToken + "\n"
	h.mustRun("auth", "login", "--context", "second")
	before, _ := os.ReadFile(h.vars["NEBULA_CONFIG"])
	for _, args := range [][]string{{"context", "use", "default"}, {"auth", "logout"}, {"context", "delete", "second"}} {
		if r := h.run(append(args, "-o", "xml")...); r.code != ExitUsage || !strings.Contains(r.err, "unknown output format") {
			t.Errorf("%v -o xml: exit %d, stderr %q", args, r.code, r.err)
		}
	}
	if after, _ := os.ReadFile(h.vars["NEBULA_CONFIG"]); !bytes.Equal(before, after) {
		t.Errorf("the configuration changed:\n%s\nto\n%s", before, after)
	}
}

// --ssh-key takes an ID or a name, and a key that is not there stops the
// create before it is sent: a name was sent where the ID goes, and the
// billed create refused by the API.
func TestCreateSSHKeyByIDOrName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nebulatest.WithBootTime(0))
	h.sshKey() // "laptop", ID 1
	posts := func() int {
		n := 0
		for _, r := range h.srv.Requests() {
			if r.Method == "POST" && r.Path == "/api/v1/computing/instance" {
				n++
			}
		}
		return n
	}
	if r := h.run("instance", "create", "a", "--product", testProduct, "--image", testImage, "--ssh-key", "laptop2"); r.code != ExitNotFound || posts() != 0 {
		t.Fatalf("an unknown key: exit %d, %d creates sent, stderr %q", r.code, posts(), r.err)
	}
	h.mustRun("instance", "create", "b", "--product", testProduct, "--image", testImage, "--ssh-key", "laptop")
	var body string
	for _, r := range h.srv.Requests() {
		if r.Method == "POST" && r.Path == "/api/v1/computing/instance" {
			body = string(r.Body)
		}
	}
	if !strings.Contains(body, `"ssh_key_id":1`) {
		t.Fatalf("the create sent %s", body)
	}
	h.mustRun("instance", "create", "d", "--product", testProduct, "--image", testImage, "--ssh-key", "1")
}
