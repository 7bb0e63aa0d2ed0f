package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/internal/leakcheck"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// newLauncher starts a fake and a launcher for it, writing to out.
func newLauncher(t *testing.T, out *bytes.Buffer, opts ...nebulatest.Option) (*nebulatest.Server, *launcher) {
	t.Helper()
	srv := nebulatest.NewServer(opts...)
	t.Cleanup(srv.Close)
	client, err := srv.NewClient(nebula.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return srv, &launcher{client: client, out: out, poll: time.Millisecond, fake: true}
}

// instances returns the fake's active and deleted instances, read through
// the API.
func instances(t *testing.T, client *nebula.Client) (active, deleted []nebula.Instance) {
	t.Helper()
	ctx := context.Background()
	a, err := client.Instances.List(ctx, nebula.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := client.Instances.ListDeleted(ctx, nebula.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Items, d.Items
}

func TestRunOnEmbeddedFake(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	if err := run(context.Background(), &out, noEnv, []string{"-cleanup", "-name", "gpu-1"}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := regexp.MustCompile(`(?s)^NEBULA_API_KEY is not set: using an embedded fake Nebula API at http://127\.0\.0\.1:\d+/api/v1 \(nothing is billed\)\.
Product: .*
Image: .*
SSH key: none in ~/\.ssh, so an ephemeral ed25519 key .*
Creating instance "gpu-1"\.\.\.
(?:Status:  Creating
)?Created instance (\S+)\.
(?:Status:  Creating
)?Status:  Running
Ready:   ssh -i <your private key> \S+@\d+\.\d+\.\d+\.\d+
The instance password is not printed: .*
Deleting instance (\S+)\.\.\.
Deleted instance (\S+)\.
$`)
	m := want.FindStringSubmatch(out.String())
	if m == nil || m[1] != m[2] || m[1] != m[3] || strings.Count(out.String(), "Status:  Creating") > 1 {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestRunRefusesBadArguments(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"unknown flag":   {"-gpus", "8"},
		"stray argument": {"-cleanup", "now"},
		"no timeout":     {"-timeout", "0s"},
		"missing key":    {"-ssh-key", filepath.Join(t.TempDir(), "absent.pub")},
		"empty key file": {"-ssh-key", writeFile(t, "empty.pub", "\n# nothing\n")},
		"not a key":      {"-ssh-key", writeFile(t, "junk.pub", "hello world\n")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), &out, func(string) string { return "" }, args)
			if err == nil {
				t.Fatalf("no error:\n%s", out.String())
			}
			if strings.Contains(out.String(), "Created instance") {
				t.Fatalf("created an instance:\n%s", out.String())
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCleanupDeletesTheInstance(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	srv, l := newLauncher(t, &out, nebulatest.WithBootTime(5*time.Millisecond))
	if err := l.launch(context.Background(), options{name: "gpu-1", cleanup: true, timeout: time.Minute}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if left := srv.Instances(); len(left) != 0 {
		t.Fatalf("instances left: %v\n%s", left, out.String())
	}
	active, deleted := instances(t, l.client)
	if len(active) != 0 || len(deleted) != 1 || deleted[0].Name != "gpu-1" {
		t.Fatalf("active %v, deleted %v", active, deleted)
	}
	// The fake still answers the detail of a deleted instance, password
	// included: the output must not show it.
	detail, err := l.client.Instances.Get(context.Background(), deleted[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if pw := detail.Password.Reveal(); pw == "" || strings.Contains(out.String(), pw) {
		t.Fatalf("password %q empty or printed:\n%s", detail.Password, out.String())
	}
	if !strings.Contains(out.String(), "@"+detail.PublicIPv4+"\n") {
		t.Fatalf("no ssh line with the public IP %s:\n%s", detail.PublicIPv4, out.String())
	}
}

func TestWithoutCleanupTheInstanceKeepsRunning(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	srv, l := newLauncher(t, &out, nebulatest.WithBootTime(0))
	if err := l.launch(context.Background(), options{name: "gpu-1", timeout: time.Minute}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	left := srv.Instances()
	if len(left) != 1 {
		t.Fatalf("instances: %v", left)
	}
	for id, status := range left {
		if status != nebulatest.StatusRunning || !strings.Contains(out.String(), "Created instance "+id+".") {
			t.Fatalf("instance %s is %s:\n%s", id, status, out.String())
		}
	}
}

// TestPicksTheCheapestAvailableProductWithAnImage: the cheapest product is
// unavailable, the next cheapest has no image in its data centre; the third
// must be chosen, with the image of its region and data centre.
func TestPicksTheCheapestAvailableProductWithAnImage(t *testing.T) {
	t.Parallel()
	product := func(id string, price float64, dc int, region string, available bool) nebulatest.Product {
		return nebulatest.Product{ID: id, DCID: dc, Region: region, PricePerHour: price, GPU: "G", GPUType: "G", GPUCount: 1,
			ProductType: "Virtual Machine", Cycle: "hourly", Stock: 9, IsAvailable: available}
	}
	var out bytes.Buffer
	_, l := newLauncher(t, &out, nebulatest.WithBootTime(0),
		nebulatest.WithProducts(
			product("p-expensive", 9.5, 1, "CANADA", true),
			product("p-unavailable", 0.1, 1, "CANADA", false),
			product("p-no-image", 0.2, 3, "CANADA", true),
			product("p-right", 0.30, 2, "NORWAY", true),
		),
		nebulatest.WithImages(
			nebulatest.Image{ID: "i-canada-1", DCID: 1, Region: "CANADA", OSName: "Ubuntu", OSType: "Ubuntu"},
			nebulatest.Image{ID: "i-canada-2", DCID: 2, Region: "CANADA", OSName: "Ubuntu", OSType: "Ubuntu"},
			nebulatest.Image{ID: "i-norway-2", DCID: 2, Region: "NORWAY", OSName: "Ubuntu", OSType: "Ubuntu"},
		))
	p, img, err := l.pick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "p-right" || img.ID != "i-norway-2" {
		t.Fatalf("picked %s and %s", p.ID, img.ID)
	}
}

func TestNoProductFitsAnyImage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	srv, l := newLauncher(t, &out, nebulatest.WithImages(nebulatest.Image{ID: "i", DCID: 7, Region: "MARS", OSName: "x", OSType: "x"}))
	err := l.launch(context.Background(), options{timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "no available product") {
		t.Fatalf("err %v", err)
	}
	if len(srv.Instances()) != 0 {
		t.Fatal("an instance was created")
	}
}

// TestAFailedCreateLeavesNothingBillable fails the create, or a step after
// it, in several ways; in every case no instance is left active, and where
// the fake did create one, it was deleted.
func TestAFailedCreateLeavesNothingBillable(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		fault   nebulatest.Fault
		created bool // the fake made the instance before the failure
	}{
		"create refused":               {fault: nebulatest.Fault{Method: "POST", Path: "/computing/instance", Status: 400}},
		"create answered 502":          {fault: nebulatest.Fault{Method: "POST", Path: "/computing/instance", Status: 502}},
		"create not made, answer lost": {fault: nebulatest.Fault{Method: "POST", Path: "/computing/instance", HangUp: nebulatest.HangUpBefore}},
		"status check fails":           {fault: nebulatest.Fault{Method: "GET", Path: "/computing/instance/", Status: 403, Times: -1}, created: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			srv, l := newLauncher(t, &out, nebulatest.WithBootTime(0))
			srv.Inject(tc.fault)
			err := l.launch(context.Background(), options{name: "gpu-1", timeout: time.Minute})
			if err == nil {
				t.Fatalf("no error:\n%s", out.String())
			}
			if left := srv.Instances(); len(left) != 0 {
				t.Fatalf("instances left: %v (%v)\n%s", left, err, out.String())
			}
			_, deleted := instances(t, l.client)
			if tc.created != (len(deleted) == 1) {
				t.Fatalf("created %v, but %d deleted instances (%v)\n%s", tc.created, len(deleted), err, out.String())
			}
		})
	}
}

// cancelOn is a writer that cancels when a line starts with prefix.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.HasPrefix(p, []byte(w.prefix)) {
		w.cancel()
	}
	return w.buf.Write(p)
}

// TestInterruptDeletesTheInstance cancels the context, as Ctrl-C does, at
// each point of the run after which an instance may exist.
func TestInterruptDeletesTheInstance(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"Creating instance", "Created instance", "Status:  Creating"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &cancelOn{prefix: prefix, cancel: cancel}
			// Booting takes an hour: only the interrupt ends the wait.
			srv, l := newLauncher(t, nil, nebulatest.WithBootTime(time.Hour))
			l.out = w
			err := l.launch(ctx, options{name: "gpu-1", timeout: time.Hour})
			w.mu.Lock()
			defer w.mu.Unlock()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled\n%s", err, w.buf.String())
			}
			if left := srv.Instances(); len(left) != 0 {
				t.Fatalf("instances left: %v\n%s", left, w.buf.String())
			}
			if _, deleted := instances(t, l.client); len(deleted) > 1 {
				t.Fatalf("%d instances created", len(deleted))
			}
		})
	}
}

func TestSSHKeyFromHomeIsAddedOnceAndReused(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	line, err := ephemeralKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(home, ".ssh", "id_ed25519.pub")
	if err := os.WriteFile(pub, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, l := newLauncher(t, &out, nebulatest.WithBootTime(0))
	l.home, l.fake = home, false // a key is found: no ephemeral one needed
	for i, want := range []string{"added to the account", "already in the account"} {
		out.Reset()
		key, err := l.ensureSSHKey(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if !sameKey(key.PublicKey, line) || !strings.Contains(out.String(), "SSH key: "+pub+", "+want) {
			t.Fatalf("run %d: key %+v\n%s", i, key, out.String())
		}
	}
	var n int
	for _, err := range l.client.SSHKeys.All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d SSH keys in the account, want 1", n)
	}
}

func TestNoSSHKeyAgainstTheRealAPIIsAnError(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	srv, l := newLauncher(t, &out)
	l.home, l.fake = t.TempDir(), false
	err := l.launch(context.Background(), options{timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "-ssh-key") {
		t.Fatalf("err %v", err)
	}
	if len(srv.Instances()) != 0 {
		t.Fatal("an instance was created")
	}
}

// TestPrivateKeyIsRefusedUnquoted: a private key passed as -ssh-key is
// refused, and neither the error nor the output shows it.
func TestPrivateKeyIsRefusedUnquoted(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: priv})
	path := writeFile(t, "id_ed25519", string(block))
	var out bytes.Buffer
	srv, l := newLauncher(t, &out)
	err = l.launch(context.Background(), options{sshKey: path, timeout: time.Minute})
	if !errors.Is(err, nebula.ErrInvalidArgument) {
		t.Fatalf("err %v, want ErrInvalidArgument", err)
	}
	body := strings.Split(string(block), "\n")[1]
	if strings.Contains(err.Error()+out.String(), body[:16]) {
		t.Fatal("the private key is shown")
	}
	if len(srv.Instances()) != 0 {
		t.Fatal("an instance was created")
	}
}

func TestATakenNameIsRefusedAndLeftAlone(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	srv, l := newLauncher(t, &out, nebulatest.WithBootTime(0))
	if err := l.launch(context.Background(), options{name: "gpu-1", timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	err := l.launch(context.Background(), options{name: "gpu-1", cleanup: true, timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("err %v", err)
	}
	if left := srv.Instances(); len(left) != 1 {
		t.Fatalf("instances: %v", left)
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), &out, func(string) string { return "" }, []string{"-h"})
	if code := exitCode(context.Background(), err); code != 0 || !strings.Contains(out.String(), "-cleanup") {
		t.Errorf("-h: exit %d, error %v, output:\n%s", code, err, out.String())
	}
	if code := exitCode(context.Background(), errors.New("boom")); code != 1 {
		t.Errorf("a failure exits %d, want 1", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := exitCode(ctx, context.Canceled); code != 130 {
		t.Errorf("an interrupted run exits %d, want 130", code)
	}
}

func TestInterruptSaysItDeletes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOn{prefix: "Created instance", cancel: cancel}
	srv, l := newLauncher(t, nil, nebulatest.WithBootTime(time.Hour))
	l.out = w
	err := l.launch(ctx, options{name: "gpu-1", timeout: time.Hour})
	w.mu.Lock()
	defer w.mu.Unlock()
	if exitCode(ctx, err) != 130 || !regexp.MustCompile(`(?m)^Interrupted: deleting instance \S+ .*\.\.\.\nDeleted instance \S+\.$`).MatchString(w.buf.String()) {
		t.Fatalf("exit %d, error %v, output:\n%s", exitCode(ctx, err), err, w.buf.String())
	}
	if left := srv.Instances(); len(left) != 0 {
		t.Fatalf("instances left: %v", left)
	}
}

func TestRealAPINamesItsURL(t *testing.T) {
	t.Parallel()
	// A fake standing in for the real API: the run takes the branch that
	// spends money, and says where before it does.
	srv := nebulatest.NewServer(nebulatest.WithBootTime(0)) // the real branch polls every 5 s
	defer srv.Close()
	line, err := ephemeralKey()
	if err != nil {
		t.Fatal(err)
	}
	key := writeFile(t, "id.pub", line+"\n")
	env := map[string]string{"NEBULA_API_KEY": srv.Token(), "NEBULA_API_URL": srv.URL}
	var out bytes.Buffer
	err = run(context.Background(), &out, func(k string) string { return env[k] }, []string{"-cleanup", "-ssh-key", key, "-name", "paid"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	if first != "Using the Nebula API at "+srv.URL+" (NEBULA_API_KEY is set): the instance costs money while it exists." {
		t.Errorf("first line %q", first)
	}
	if strings.Contains(out.String(), srv.Token()) {
		t.Error("the output shows the API key")
	}
}

// TestSwappedVariablesPrintNoSecret: NEBULA_API_URL holding the API key
// (the variables swapped) is refused before anything is printed about it,
// and the key shows in neither the output nor the error.
func TestSwappedVariablesPrintNoSecret(t *testing.T) {
	t.Parallel()
	const secret = "zq9-Mx7vP2wLr4Kt"
	env := map[string]string{"NEBULA_API_KEY": "https://api.example.invalid/api/v1", "NEBULA_API_URL": secret}
	var out bytes.Buffer
	err := run(context.Background(), &out, func(k string) string { return env[k] }, []string{"-name", "paid"})
	if err == nil {
		t.Fatalf("no error\n%s", out.String())
	}
	if strings.Contains(out.String()+err.Error(), secret) {
		t.Fatalf("the key shows: error %v, output:\n%s", err, out.String())
	}
}
