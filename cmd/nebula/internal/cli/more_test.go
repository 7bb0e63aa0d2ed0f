package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

func TestInvoiceDownload(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "march.pdf")
	r := h.mustRun("billing", "invoice", "download", "3688", "-O", file, "-o", "json")
	data, err := os.ReadFile(file)
	if err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("file: %v %q", err, data)
	}
	var v downloadView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || v.Bytes != int64(len(data)) || v.File != file {
		t.Fatalf("%v %+v", err, v)
	}
	if !strings.Contains(r.err, "invoice 3688:") {
		t.Fatalf("no progress line: %q", r.err)
	}

	// A failed download leaves an existing file as it was, and no
	// temporary file behind.
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.srv.Inject(nebulatest.Fault{Path: "/users/invoice-download/", Status: 500, Times: -1})
	if r := h.run("billing", "invoice", "download", "3688", "-O", file); r.code != ExitFailed {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if data, _ := os.ReadFile(file); string(data) != "keep me" {
		t.Fatalf("the existing file changed: %q", data)
	}
	// And no file under a new name.
	fresh := filepath.Join(dir, "new.pdf")
	if r := h.run("billing", "invoice", "download", "3688", "-O", fresh); r.code != ExitFailed {
		t.Fatalf("exit %d", r.code)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left: %v", entries)
	}
	// -O - writes the PDF to stdout.
	h2 := newHarness(t)
	r = h2.mustRun("billing", "invoice", "download", "3688", "-O", "-")
	if !strings.HasPrefix(r.out, "%PDF-") {
		t.Fatalf("stdout %q", r.out)
	}
}

func TestImageGenerate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "fox.png")
	r := h.mustRun("image", "generate", "--model", "black-forest-labs/FLUX.1-schnell", "--prompt", "a red fox", "-O", file, "--seed", "7", "-o", "json")
	data, err := os.ReadFile(file)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("%v %q", err, data)
	}
	var rows []generatedView
	if err := json.Unmarshal([]byte(r.out), &rows); err != nil || len(rows) != 1 || rows[0].Bytes != len(data) {
		t.Fatalf("%v %q", err, r.out)
	}
	h.srv.Inject(nebulatest.Fault{Method: "POST", Path: "/images/generation", HangUp: nebulatest.HangUpAfter})
	r = h.run("image", "generate", "--model", "black-forest-labs/FLUX.1-schnell", "--prompt", "a red fox", "-O", file)
	if r.code != ExitUnknown {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
}

func TestAPIKeyRotateAndDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created := h.apiKey("ci")
	r := h.mustRun("api-key", "rotate", string(created.ID), "-o", "json")
	var rotated apiKeyView
	if err := json.Unmarshal([]byte(r.out), &rotated); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rotated.Name, "ci-") || rotated.Key == "" || rotated.Key == created.Key || rotated.ID == created.ID {
		t.Fatalf("rotated %+v from %+v", rotated, created)
	}
	r = h.mustRun("api-key", "list", "-o", "json")
	if strings.Contains(r.out, created.Key) || strings.Contains(r.out, rotated.Key) || strings.Contains(r.out, `"id": "`+string(created.ID)+`"`) {
		t.Fatalf("list after rotate: %s", r.out)
	}
	h.mustRun("api-key", "delete", string(rotated.ID))
	if r := h.run("api-key", "rotate", "999"); r.code != ExitNotFound {
		t.Fatalf("rotate of a missing key: exit %d", r.code)
	}
}

func TestSSHKeyRenameDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sshKey()
	r := h.mustRun("ssh-key", "rename", "1", "work", "--columns", "name", "--no-header")
	if strings.TrimSpace(r.out) != "work" {
		t.Fatalf("%q", r.out)
	}
	h.mustRun("ssh-key", "delete", "1")
	r = h.mustRun("ssh-key", "list", "-o", "json")
	if strings.TrimSpace(r.out) != "[]" {
		t.Fatalf("an empty list is an empty array: %q", r.out)
	}
}

// TestDebugRedacted: --debug shows the SDK's records on stderr, never the
// key.
func TestDebugRedacted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("api-key", "list", "--debug")
	if !strings.Contains(r.err, "level=DEBUG") || strings.Contains(r.err, seedToken) || strings.Contains(r.err, "zq9-Mx7vP2wLr4Kt") {
		t.Fatalf("stderr %q", r.err)
	}
	if strings.Contains(r.out, "level=") {
		t.Fatal("log records on stdout")
	}
}

// TestShowPassword: the instance password shows only with --show-password.
func TestShowPassword(t *testing.T) {
	t.Parallel()
	h := seeded(t)
	for _, format := range []string{"table", "json", "yaml"} {
		r := h.mustRun("instance", "get", "trainer", "-o", format, "--columns", "name,password")
		if strings.Contains(r.out, "password\":") && !strings.Contains(r.out, `"password": ""`) {
			t.Fatalf("-o %s without --show-password: %q", format, r.out)
		}
		withPw := h.mustRun("instance", "get", "trainer", "-o", format, "--columns", "name,password", "--show-password")
		if len(withPw.out) <= len(r.out) {
			t.Fatalf("-o %s --show-password shows nothing more: %q vs %q", format, withPw.out, r.out)
		}
	}
	r := h.mustRun("instance", "get", "trainer", "--show-password", "--columns", "password", "--no-header")
	pw := strings.TrimSpace(r.out)
	if len(pw) < 8 || pw == "-" {
		t.Fatalf("password %q", pw)
	}
	for _, args := range [][]string{{"instance", "list", "-o", "json"}, {"instance", "get", "trainer", "-o", "yaml"}, {"instance", "lookup", "trainer", "-o", "json"}} {
		if r := h.mustRun(args...); strings.Contains(r.out, pw) {
			t.Fatalf("%v printed the password", args)
		}
	}
}

// TestTableCellsStayOnTheirLine: a name with a line break or an escape
// sequence cannot break a table or drive a terminal.
func TestTableCellsStayOnTheirLine(t *testing.T) {
	t.Parallel()
	if got := cleanCell("a\nb\x1b[2Jc\u009bd"); got != "a b [2Jc d" {
		t.Fatalf("%q", got)
	}
}

// TestCompleteInstances: shell completion offers the instances' names.
func TestCompleteInstances(t *testing.T) {
	t.Parallel()
	h := seeded(t)
	r := h.mustRun("__complete", "instance", "stop", "")
	if !strings.HasPrefix(r.out, "trainer\tRunning\n") {
		t.Fatalf("%q", r.out)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.mustRun("version", "-o", "JSON")
	var v versionView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || v.SDK == "" || v.GoVersion == "" || v.Version == "" {
		t.Fatalf("%v %q", err, r.out)
	}
	if h.requests() != 0 {
		t.Fatal("version sent a request")
	}
}

// "-O -" writes the generated PNG to stdout, and nothing else: it wrote the
// result table there, and the image to a file named "-".
func TestImageGenerateToStdout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.run("image", "generate", "--model", "black-forest-labs/FLUX.1-schnell", "--prompt", "a red fox", "-O", "-")
	if r.code != ExitOK || !strings.HasPrefix(r.out, "\x89PNG") {
		t.Fatalf("exit %d, stdout %.40q, stderr %q", r.code, r.out, r.err)
	}
}

// An existing directory as -O is bad input, found before the request is
// sent: the image was generated (and billed), then lost when the rename
// onto the directory failed.
func TestOutputFileThatIsADirectory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	before := h.requests()
	for _, args := range [][]string{
		{"image", "generate", "--model", "black-forest-labs/FLUX.1-schnell", "--prompt", "a red fox", "-O", dir},
		{"billing", "invoice", "download", "3688", "-O", dir},
	} {
		if r := h.run(args...); r.code != ExitUsage || !strings.Contains(r.err, "is a directory") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.err)
		}
	}
	if n := h.requests() - before; n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// -O through a symbolic link writes the file the link names and keeps the
// link, which was replaced by a new file.
func TestOutputFileThroughALink(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.pdf"), filepath.Join(dir, "link.pdf")
	if err := os.WriteFile(real, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	h.mustRun("billing", "invoice", "download", "3688", "-O", link)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	if data, _ := os.ReadFile(real); !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("the linked file holds %.20q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("files: %v", entries)
	}
}

// A key typed where a command or a flag value goes is refused without
// being printed: cobra's errors quote the argument, and showed the key.
func TestAKeyTypedAsAnArgumentNeverPrints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const key = "ak_Zq7vPlover7781MintXw3Rt9Ks2Lm4Nb6"
	for _, args := range [][]string{{"auth", "login", key}, {"auth", key}, {key}, {"--context", key, "billing", "balance"}, {"billing", "balance", "-o", key}} {
		r := h.run(args...)
		if r.code != ExitUsage || strings.Contains(r.out+r.err, "Plover") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.out, r.err)
		}
	}
}

func TestRotatedNameDoesNotGrow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 13, 22, 2, 0, time.UTC)
	for name, want := range map[string]string{
		"ci":                                 "ci-20261205-132202",
		"ci-20261204-090000":                 "ci-20261205-132202",
		"ci-20261204-090000-20261205-100000": "ci-20261204-090000-20261205-132202",
		"ci-2025":                            "ci-2025-20261205-132202",
		"ci-20261205-132202":                 "ci-20261205-132202-2", // the same second
		"ci-20261205-132202-2":               "ci-20261205-132202",   // and again
	} {
		if got := rotatedName(name, now); got != want {
			t.Errorf("rotatedName(%q) = %q, want %q", name, got, want)
		}
	}
}

// A table without the key column would lose a new key's value for good:
// create and rotate refuse it before sending. They created the key, left
// its value out, and still said "Save this key now".
func TestAPIKeyColumnsMustShowTheKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created := h.apiKey("ci")
	before := h.requests()
	for _, args := range [][]string{
		{"api-key", "create", "ci5", "--columns", "id,name"},
		{"api-key", "rotate", string(created.ID), "--columns", "id"},
	} {
		if r := h.run(args...); r.code != ExitUsage || !strings.Contains(r.err, "--columns must include key") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.err)
		}
	}
	if n := h.requests() - before; n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	h.mustRun("api-key", "create", "ci6", "--columns", "key", "--no-header")
}

// failingWriter is a stdout that cannot be written (a closed pipe, a full
// disk).
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A key created whose value cannot be written is lost: the error says it
// was created, and how to delete it.
func TestAPIKeyCreatedButNotWritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	errw := &syncBuffer{}
	code := h.app(failingWriter{}, errw).Run(h.ctx, []string{"api-key", "create", "lost"})
	keys := h.srv.Keys()
	var id nebula.ID
	for _, k := range keys {
		if k.Name == "lost" {
			id = k.ID
		}
	}
	if code != ExitFailed || id == "" || !strings.Contains(errw.String(), "nebula api-key delete "+string(id)) {
		t.Fatalf("exit %d, key %q, stderr %q", code, id, errw.String())
	}
}

// A rotation whose delete of the old key has an unknown outcome says the
// old key may be gone (exit 3): it said the old key "still works".
func TestAPIKeyRotateDeleteOutcomeUnknown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created := h.apiKey("ci")
	h.srv.Inject(nebulatest.Fault{Method: "DELETE", Path: "/api-keys/", HangUp: nebulatest.HangUpAfter, Times: -1})
	r := h.run("api-key", "rotate", string(created.ID))
	if r.code != ExitUnknown || !strings.Contains(r.err, "may have been deleted") || strings.Contains(r.err, "still works") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	// A delete the API refused (a 4xx) left the old key working.
	h = newHarness(t)
	created = h.apiKey("ci")
	h.srv.Inject(nebulatest.Fault{Method: "DELETE", Path: "/api-keys/", Status: 403, Times: -1})
	r = h.run("api-key", "rotate", string(created.ID))
	if r.code != ExitFailed || !strings.Contains(r.err, "still works") {
		t.Fatalf("a refused delete: exit %d, stderr %q", r.code, r.err)
	}
}
