package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nebula-sdk/nebula-go/nebulatest"
	yaml "go.yaml.in/yaml/v3"
)

const testPubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl laptop@example"

// Products and images of the fake's default catalog that fit together.
const (
	testProduct = "expd0ce88325-aeb0-48d0-8216-09506b58f1dd"
	testImage   = "exoscee6e762-1d11-4f65-a7d6-8c0670b603b2"
)

// seeded returns a harness with an SSH key and a running instance.
func seeded(t *testing.T) *harness {
	h := newHarness(t, nebulatest.WithBootTime(0))
	h.sshKey()
	h.mustRun("instance", "create", "trainer", "--product", testProduct, "--image", testImage, "--ssh-key", "1")
	return h
}

// sshKey adds the SSH key "laptop" (ID 1 on a fresh fake).
func (h *harness) sshKey() {
	h.t.Helper()
	pub := filepath.Join(h.dir, "id.pub")
	if err := os.WriteFile(pub, []byte(testPubKey+"\n"), 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.mustRun("ssh-key", "create", "laptop", "--public-key-file", pub)
}

// TestGolden runs every read command in each output format and compares
// stdout with testdata/*.golden; json must parse and be an array for lists,
// yaml likewise.
func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		list bool
	}{
		{"product-list", []string{"product", "list"}, true},
		{"product-list-region-gpu", []string{"product", "list", "--region", "canada", "--gpu", "h100"}, true},
		{"image-list", []string{"image", "list"}, true},
		{"image-list-product", []string{"image", "list", "--product", testProduct}, true},
		{"billing-balance", []string{"billing", "balance"}, false},
		{"billing-credits", []string{"billing", "credits"}, true},
		{"invoice-list", []string{"billing", "invoice", "list"}, true},
		{"model-list", []string{"model", "list"}, true},
		{"api-key-list", []string{"api-key", "list"}, true},
		{"ssh-key-list", []string{"ssh-key", "list"}, true},
		{"instance-list", []string{"instance", "list"}, true},
		{"instance-get", []string{"instance", "get", "trainer"}, false},
		{"instance-lookup", []string{"instance", "lookup", "trainer"}, false},
		{"auth-status", []string{"auth", "status"}, false},
	}
	h := seeded(t)
	for _, c := range cases {
		var jsonOut string
		for _, format := range []string{"table", "json", "yaml"} {
			r := h.mustRun(append(c.args, "-o", format)...)
			switch format {
			case "json":
				jsonOut = r.out
			case "yaml":
				sameDocument(t, c.name, jsonOut, r.out)
			}
			if strings.Contains(r.out, seedToken) || strings.Contains(r.err, seedToken) {
				t.Errorf("%s -o %s printed the key", c.name, format)
			}
			checkParses(t, c.name, format, r.out, c.list)
			out := r.out
			if format == "yaml" {
				// A UUID that starts with a digit is quoted, one that
				// starts with a letter is not.
				out = quotedUUID.ReplaceAllString(out, "$1")
			}
			golden(t, c.name+"."+format, h.normalize(out))
		}
	}
}

// sameDocument checks that a YAML reader reads the yaml output as the
// json output (the lists of instances read before a second apart may
// differ in running time and cost, so those are dropped).
func sameDocument(t *testing.T, name, jsonOut, yamlOut string) {
	t.Helper()
	var j, y any
	if err := json.Unmarshal([]byte(jsonOut), &j); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := yaml.Unmarshal([]byte(yamlOut), &y); err != nil {
		t.Fatalf("%s: yaml does not parse: %v\n%s", name, err, yamlOut)
	}
	jb, _ := json.Marshal(dropVarying(j))
	yb, err := json.Marshal(dropVarying(y))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if string(jb) != string(yb) {
		t.Errorf("%s: yaml reads as\n%s\njson as\n%s", name, yb, jb)
	}
}

func dropVarying(v any) any {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "running_time")
		delete(t, "total_cost")
	case []any:
		for _, e := range t {
			dropVarying(e)
		}
	}
	return v
}

func checkParses(t *testing.T, name, format, out string, list bool) {
	t.Helper()
	var v any
	switch format {
	case "json":
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s -o json does not parse: %v", name, err)
			return
		}
		if dec.More() {
			t.Errorf("%s -o json is more than one document", name)
		}
	case "yaml":
		if err := yaml.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s -o yaml does not parse: %v", name, err)
			return
		}
	default:
		return
	}
	_, isList := v.([]any)
	if isList != list {
		t.Errorf("%s -o %s: list = %v, want %v", name, format, isList, list)
	}
}

// TestGoldenTableOptions covers --columns (names matched ignoring case, _
// and -) and --no-header.
func TestGoldenTableOptions(t *testing.T) {
	t.Parallel()
	h := seeded(t)
	r := h.mustRun("instance", "list", "--columns", "name,Status,public-ipv4,gpu_count")
	golden(t, "instance-list-columns.table", h.normalize(r.out))
	r = h.mustRun("product", "list", "--no-header", "--columns", "id")
	golden(t, "product-list-ids.table", r.out)
	// --columns picks columns that the default table leaves out.
	r = h.mustRun("instance", "get", "trainer", "--columns", "os,username,disk_gb")
	golden(t, "instance-get-extra-columns.table", r.out)
}

// TestGoldenCreates covers what the creates print: the one-time key of
// api-key create in every format, an SSH key, an instance.
func TestGoldenCreates(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"table", "json", "yaml"} {
		h := newHarness(t, nebulatest.WithBootTime(0))
		r := h.mustRun("api-key", "create", "ci", "--description", "CI pipeline", "-o", format)
		keys := h.srv.Keys()
		var id string
		for _, k := range keys {
			if k.Name == "ci" {
				id = string(k.ID)
			}
		}
		if id == "" {
			t.Fatalf("no key ci on the server: %v", keys)
		}
		// The value printed is the live key: it authenticates.
		value := keyIn(t, format, r.out)
		if !strings.HasPrefix(value, "ak_") || strings.Contains(value, "...") {
			t.Fatalf("-o %s: key %q is not a key value", format, value)
		}
		h.vars["NEBULA_API_KEY"] = value
		h.mustRun("api-key", "list")
		if !strings.Contains(r.err, "never shows its value again") {
			t.Errorf("no warning on stderr: %q", r.err)
		}
		golden(t, "api-key-create."+format, strings.ReplaceAll(r.out, value, "<KEY>"))
	}
}

func keyIn(t *testing.T, format, out string) string {
	t.Helper()
	switch format {
	case "json", "yaml":
		var v struct {
			Key string `json:"key" yaml:"key"`
		}
		var err error
		if format == "json" {
			err = json.Unmarshal([]byte(out), &v)
		} else {
			err = yaml.Unmarshal([]byte(out), &v)
		}
		if err != nil {
			t.Fatal(err)
		}
		return v.Key
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Fields(lines[len(lines)-1])
	return f[len(f)-1]
}
