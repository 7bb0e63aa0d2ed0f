package nebulatest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withClock(c *testClock) Option { return WithClock(c.Now) }

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host"

func TestSSHKeys(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2024, 11, 5, 22, 1, 7, 0, time.UTC)}
	s := NewServer(withClock(clock))
	defer s.Close()
	tok := s.Token()
	code, env := raw(t, s, "POST", "/ssh-keys", tok, "application/json", `{"key_name":"laptop","key_data":"`+pubKey+`"}`)
	data, _ := env["data"].(map[string]any)
	if code != 200 || env["message"] != "SSH key created successfully" || data["id"] != 1.0 || data["key_name"] != "laptop" ||
		data["key_data"] != pubKey || data["create_time"] != fmt.Sprint(clock.Now().Unix()) {
		t.Fatalf("create: %d %v", code, env)
	}
	for i := 2; i <= 4; i++ {
		raw(t, s, "POST", "/ssh-keys", tok, "application/json", fmt.Sprintf(`{"key_name":"k%d","key_data":"ssh-rsa AAAAB3NzaC1yc2E="}`, i))
	}
	code, env = raw(t, s, "GET", "/ssh-keys?limit=2&offset=1", tok, "", "")
	data, _ = env["data"].(map[string]any)
	list, _ := data["ssh_keys"].([]any)
	if code != 200 || data["total_ssh_keys"] != 4.0 || len(list) != 2 || list[0].(map[string]any)["key_name"] != "k2" {
		t.Fatalf("list: %d %v", code, env)
	}
	if ct := list[0].(map[string]any)["create_time"]; ct != "EST 2024-11-05 17:01:07" {
		t.Fatalf("list create_time %v", ct)
	}
	code, env = raw(t, s, "PUT", "/ssh-keys/1", tok, "application/json", `{"key_name":"desk"}`)
	if data, _ := env["data"].(map[string]any); code != 200 || data["key_name"] != "desk" || data["id"] != 1.0 || env["message"] != "SSH key updated successfully" {
		t.Fatalf("rename: %d %v", code, env)
	}
	code, env = raw(t, s, "DELETE", "/ssh-keys/1", tok, "", "")
	if d, _ := env["data"].(map[string]any); code != 200 || d == nil || len(d) != 0 || env["message"] != "SSH key deleted successfully" {
		t.Fatalf("delete: %d %v", code, env)
	}
	_, env = raw(t, s, "GET", "/ssh-keys", tok, "", "")
	if env["data"].(map[string]any)["total_ssh_keys"] != 3.0 {
		t.Fatalf("after delete: %v", env)
	}

	const private = "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----"
	bad := []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"POST", "/ssh-keys", `{"name":"x","key_data":"` + pubKey + `"}`, 422, `"key_name", not "name"`},
		{"POST", "/ssh-keys", `{"key_name":"x"}`, 422, "key_data is required"},
		{"POST", "/ssh-keys", `{"key_name":"x","key_data":"` + private + `"}`, 400, "private key"},
		{"POST", "/ssh-keys", `{"key_name":"x","key_data":"hello"}`, 400, "one OpenSSH public key line"},
		{"POST", "/ssh-keys", `{"key_name":"x","key_data":"ssh-foo AAAA"}`, 400, "unknown key type"},
		{"POST", "/ssh-keys", `{"key_name":"x","key_data":"ssh-rsa not*base64"}`, 400, "base64"},
		{"POST", "/ssh-keys", `{"key_name":"k2","key_data":"` + pubKey + `"}`, 409, "already exists"},
		{"POST", "/ssh-keys", `{"key_name":"x",}`, 400, "JSON"},
		{"PUT", "/ssh-keys/1", `{"key_name":"y"}`, 404, "not found"},
		{"PUT", "/ssh-keys/2", `{"key_name":"k3"}`, 409, "already exists"},
		{"PUT", "/ssh-keys/2", `{}`, 422, "key_name is required"},
		{"PUT", "/ssh-keys/abc", `{"key_name":"y"}`, 422, "integer"},
		{"DELETE", "/ssh-keys/99", ``, 404, "not found"},
		{"GET", "/ssh-keys?limit=-1", ``, 422, "limit"},
		{"GET", "/ssh-keys?offset=x", ``, 422, "offset"},
	}
	for _, b := range bad {
		code, env := raw(t, s, b.method, b.path, tok, "application/json", b.body)
		msg, _ := env["message"].(string)
		if code != b.code || env["status"] != "failed" || !strings.Contains(msg, b.says) || strings.Contains(msg, "b3BlbnNzaC1rZXkt") {
			t.Errorf("%s %s %s: %d %q, want %d saying %q", b.method, b.path, b.body, code, msg, b.code, b.says)
		}
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	code, env := raw(t, s, "GET", "/computing/products", s.Token(), "", "")
	canada, _ := env["data"].(map[string]any)["CANADA"].(map[string]any)
	h100, _ := canada["H100"].([]any)
	if code != 200 || env["message"] != "All products retrieved successfully" || len(canada) != 3 || len(h100) != 2 {
		t.Fatalf("products: %d %v", code, env)
	}
	if p := h100[1].(map[string]any); p["id"] != "expde8da3529-f08d-4f86-8456-04094d19fbc4" || p["price_per_hour"] != 2.627 || p["is_available"] != true {
		t.Fatalf("product %v", p)
	}
	code, env = raw(t, s, "GET", "/computing/images", s.Token(), "", "")
	images, _ := env["data"].(map[string]any)
	if code != 200 || len(images) != 2 || len(images["NORWAY"].([]any)) != 2 || env["message"] != "All OS retrieved successfully" {
		t.Fatalf("images: %d %v", code, env)
	}

	s2 := NewServer(WithProducts(Product{ID: "p1", DCID: 7, Region: "MARS", GPUType: "X1", IsAvailable: true, Stock: 1}),
		WithImages(Image{ID: "i1", DCID: 7, Region: "MARS", OSName: "Plan 9"}))
	defer s2.Close()
	_, env = raw(t, s2, "GET", "/computing/products", s2.Token(), "", "")
	if p, _ := env["data"].(map[string]any)["MARS"].(map[string]any)["X1"].([]any); len(p) != 1 || len(env["data"].(map[string]any)) != 1 {
		t.Fatalf("seeded products: %v", env)
	}
	_, env = raw(t, s2, "GET", "/computing/images", s2.Token(), "", "")
	if im, _ := env["data"].(map[string]any)["MARS"].([]any); len(im) != 1 || im[0].(map[string]any)["os_name"] != "Plan 9" {
		t.Fatalf("seeded images: %v", env)
	}
}

// newSSHKey creates an SSH key and returns its id.
func newSSHKey(t *testing.T, s *Server) int {
	t.Helper()
	_, env := raw(t, s, "POST", "/ssh-keys", s.Token(), "application/json", `{"key_name":"`+randomToken(6)+`","key_data":"`+pubKey+`"}`)
	return int(env["data"].(map[string]any)["id"].(float64))
}

func createBody(name string, sshKey any) string {
	b, _ := json.Marshal(map[string]any{"instance_name": name, "product_id": "expd0ce88325-aeb0-48d0-8216-09506b58f1dd",
		"image_id": "exoscee6e762-1d11-4f65-a7d6-8c0670b603b2", "ssh_key_id": sshKey})
	return string(b)
}

// instanceStatus returns the detail of the instance of id.
func instanceDetail(t *testing.T, s *Server, id string) (int, map[string]any) {
	t.Helper()
	code, env := raw(t, s, "GET", "/computing/instance/"+id, s.Token(), "", "")
	list, _ := env["data"].([]any)
	if code != 200 {
		return code, env
	}
	if len(list) != 1 {
		t.Fatalf("detail is not an array of one: %v", env)
	}
	return code, list[0].(map[string]any)
}

func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2024, 11, 4, 15, 11, 50, 0, time.UTC)}
	s := NewServer(withClock(clock), WithBootTime(time.Minute))
	defer s.Close()
	tok := s.Token()
	key := newSSHKey(t, s)
	code, env := raw(t, s, "POST", "/computing/instance", tok, "application/json", createBody("demo", key))
	if _, hasData := env["data"]; code != 200 || hasData || env["message"] != "Instances created successfully" || env["status"] != "success" {
		t.Fatalf("create: %d %v", code, env)
	}
	// ssh_key_id as a string, as Nebula's MCP server sends it.
	if code, env := raw(t, s, "POST", "/computing/instance", tok, "application/json", createBody("other", fmt.Sprint(key))); code != 200 {
		t.Fatalf("create with a string ssh_key_id: %d %v", code, env)
	}
	code, env = raw(t, s, "GET", "/computing/instances?limit=1", tok, "", "")
	list, _ := env["data"].([]any)
	if code != 200 || env["total_instance"] != 2.0 || len(list) != 1 || env["message"] != "All instances retrieved successfully" {
		t.Fatalf("list: %d %v", code, env)
	}
	in := list[0].(map[string]any)
	id, _ := in["id"].(string)
	if in["host_name"] != "demo" || in["status"] != StatusCreating || in["cpu_cores"] != 28.0 || in["region"] != "CANADA" || in["price_per_hour"] != 0.697 {
		t.Fatalf("listed instance %v", in)
	}
	if code, env := raw(t, s, "GET", "/computing/instance/"+id+"/stop", tok, "", ""); code != 400 {
		t.Fatalf("stop while creating: %d %v", code, env)
	}

	clock.Add(time.Minute)
	_, d := instanceDetail(t, s, id)
	pw, _ := d["vm_password"].(string)
	if d["status"] != StatusRunning || len(pw) != 16 || d["cpu_cores"] != "28" || d["ram"] != "58" || d["vm_name"] != "demo" ||
		d["start_time"] != "EST 2024-11-04 10:12:50" || d["running_time"] != "0.0000 hours" || d["total_cost"] != "$0.0000" ||
		d["lan_ipv4"] == "" || d["public_ipv4"] == "" {
		t.Fatalf("detail after boot: %v", d)
	}
	_, other := instanceDetail(t, s, func() string {
		for oid := range s.Instances() {
			if oid != id {
				return oid
			}
		}
		return ""
	}())
	if other["vm_password"] == pw || other["public_ipv4"] == d["public_ipv4"] {
		t.Fatal("two instances share a password or an address")
	}

	clock.Add(2 * time.Hour)
	steps := []struct{ action, message, status string }{
		{"reboot", "Instances rebooted successfully", StatusRunning},
		{"stop", "Instances stopped successfully", StatusStopped},
		{"stop", "Instances stopped successfully", StatusStopped},
		{"start", "Instances started successfully", StatusRunning},
		{"start", "Instances started successfully", StatusRunning},
	}
	for i, step := range steps {
		code, env := raw(t, s, "GET", "/computing/instance/"+id+"/"+step.action, tok, "", "")
		if _, hasData := env["data"]; code != 200 || hasData || env["message"] != step.message {
			t.Fatalf("%s: %d %v", step.action, code, env)
		}
		if i == 1 {
			clock.Add(time.Hour) // stopped: not counted
		}
		if _, d := instanceDetail(t, s, id); d["status"] != step.status {
			t.Fatalf("after %s: %v", step.action, d["status"])
		}
	}
	clock.Add(time.Hour)
	if _, d := instanceDetail(t, s, id); d["running_time"] != "3.0000 hours" || d["total_cost"] != "$2.0910" {
		t.Fatalf("running time and cost: %v %v", d["running_time"], d["total_cost"])
	}
	raw(t, s, "GET", "/computing/instance/"+id+"/stop", tok, "", "")
	if code, env := raw(t, s, "GET", "/computing/instance/"+id+"/reboot", tok, "", ""); code != 400 {
		t.Fatalf("reboot while stopped: %d %v", code, env)
	}

	code, env = raw(t, s, "DELETE", "/computing/instance/"+id, tok, "", "")
	if _, hasData := env["data"]; code != 200 || hasData || env["message"] != "Instances deleted successfully" {
		t.Fatalf("delete: %d %v", code, env)
	}
	if code, _ := raw(t, s, "DELETE", "/computing/instance/"+id, tok, "", ""); code != 404 {
		t.Fatalf("second delete: %d", code)
	}
	if code, _ := raw(t, s, "GET", "/computing/instance/"+id+"/start", tok, "", ""); code != 404 {
		t.Fatalf("start a deleted instance: %d", code)
	}
	if _, d := instanceDetail(t, s, id); d["status"] != StatusDeleted {
		t.Fatalf("deleted instance detail: %v", d)
	}
	_, env = raw(t, s, "GET", "/computing/instances", tok, "", "")
	if env["total_instance"] != 1.0 {
		t.Fatalf("active after delete: %v", env)
	}
	_, env = raw(t, s, "GET", "/computing/deleted-instances", tok, "", "")
	del, _ := env["data"].([]any)
	if env["total_instance"] != 1.0 || len(del) != 1 || del[0].(map[string]any)["status"] != StatusDeleted || del[0].(map[string]any)["id"] != id ||
		env["message"] != "All deleted instances retrieved successfully" {
		t.Fatalf("deleted list: %v", env)
	}
}

func TestInstanceBootsAfterBootTime(t *testing.T) {
	t.Parallel()
	s := NewServer(WithBootTime(0))
	defer s.Close()
	raw(t, s, "POST", "/computing/instance", s.Token(), "application/json", createBody("now", newSSHKey(t, s)))
	for id, status := range s.Instances() {
		if status != StatusRunning {
			t.Fatalf("instance %s is %s with no boot time", id, status)
		}
	}
}

func TestCreateInstanceValidation(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	key := newSSHKey(t, s)
	body := func(edit func(map[string]any)) string {
		m := map[string]any{}
		json.Unmarshal([]byte(createBody("x", key)), &m)
		edit(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	cases := []struct {
		name, body string
		code       int
		says       string
	}{
		{"no name", body(func(m map[string]any) { delete(m, "instance_name") }), 422, "instance_name"},
		{"no product", body(func(m map[string]any) { m["product_id"] = "" }), 422, "product_id"},
		{"no image", body(func(m map[string]any) { delete(m, "image_id") }), 422, "image_id"},
		{"no ssh key", body(func(m map[string]any) { delete(m, "ssh_key_id") }), 422, "ssh_key_id"},
		{"ssh key not a number", body(func(m map[string]any) { m["ssh_key_id"] = "abc" }), 422, "integer"},
		{"unknown product", body(func(m map[string]any) { m["product_id"] = "nope" }), 404, "Product"},
		{"unknown image", body(func(m map[string]any) { m["image_id"] = "nope" }), 404, "Image"},
		{"unknown ssh key", body(func(m map[string]any) { m["ssh_key_id"] = 999 }), 404, "SSH key"},
		{"other data centre", body(func(m map[string]any) { m["image_id"] = "fcp66d566c93a95010012" }), 400, "same data center"},
		{"other region", body(func(m map[string]any) { m["image_id"] = "exos60da1d80-a58b-4ff3-8a33-b566b65f3e6e" }), 400, "same data center"},
		{"not JSON", `{"instance_name":`, 400, "JSON"},
		{"empty", ``, 422, "body"},
	}
	for _, c := range cases {
		code, env := raw(t, s, "POST", "/computing/instance", s.Token(), "application/json", c.body)
		if msg, _ := env["message"].(string); code != c.code || env["status"] != "failed" || !strings.Contains(msg, c.says) {
			t.Errorf("%s: %d %v, want %d saying %q", c.name, code, env, c.code, c.says)
		}
	}
	for _, q := range []string{"limit=-1", "offset=-5", "limit=x"} {
		for _, path := range []string{"/computing/instances", "/computing/deleted-instances", "/users/credits/history", "/users/invoices"} {
			if code, _ := raw(t, s, "GET", path+"?"+q, s.Token(), "", ""); code != 422 {
				t.Errorf("%s?%s: %d", path, q, code)
			}
		}
	}
	for _, path := range []string{"/computing/instance/nope", "/computing/instance/nope/start"} {
		if code, _ := raw(t, s, "GET", path, s.Token(), "", ""); code != 404 {
			t.Errorf("%s: %d", path, code)
		}
	}
	if len(s.Instances()) != 0 {
		t.Fatal("an invalid create created")
	}
	s2 := NewServer(WithProducts(Product{ID: "p", DCID: 1, Region: "R", IsAvailable: false, Stock: 5}), WithImages(Image{ID: "i", DCID: 1, Region: "R"}))
	defer s2.Close()
	b, _ := json.Marshal(map[string]any{"instance_name": "x", "product_id": "p", "image_id": "i", "ssh_key_id": newSSHKey(t, s2)})
	if code, _ := raw(t, s2, "POST", "/computing/instance", s2.Token(), "application/json", string(b)); code != 400 {
		t.Fatalf("unavailable product: %d", code)
	}
}

func TestBilling(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	tok := s.Token()
	code, env := raw(t, s, "GET", "/users/credits", tok, "", "")
	if code != 200 || env["data"].(map[string]any)["available_balance"] != "1228.55600" || env["message"] != "User credit balance successfully retrieved" {
		t.Fatalf("credits: %d %v", code, env)
	}
	_, env = raw(t, s, "GET", "/users/credits/history?limit=1&offset=1", tok, "", "")
	data := env["data"].(map[string]any)
	hist, _ := data["credit_history"].([]any)
	if data["total_credit_histories"] != 2.0 || len(hist) != 1 || hist[0].(map[string]any)["create_time"] != "EST 2024-10-10 05:54:58" || data["credit_balance"] != 1228.556 {
		t.Fatalf("history: %v", env)
	}
	_, env = raw(t, s, "GET", "/users/invoices?limit=2&offset=0", tok, "", "")
	data = env["data"].(map[string]any)
	invs, _ := data["invoices"].([]any)
	if data["total_invoices"] != 3.0 || len(invs) != 2 || invs[0].(map[string]any)["invoice_id"] != "#NB-20241029181932-266" || invs[0].(map[string]any)["id"] != 3688.0 {
		t.Fatalf("invoices: %v", env)
	}
	resp, b, err := send(s, "GET", "/users/invoice-download/3687", tok, "", "")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" ||
		!bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) || !bytes.Contains(b, []byte("#NB-20241029181853-266")) {
		t.Fatalf("download: %v %v %q", err, resp.Header, b)
	}
	checkPDFXref(t, b)
	if code, _ := raw(t, s, "GET", "/users/invoice-download/1", tok, "", ""); code != 404 {
		t.Fatalf("unknown invoice: %d", code)
	}
	if code, _ := raw(t, s, "GET", "/users/invoice-download/x", tok, "", ""); code != 422 {
		t.Fatalf("invoice id not a number: %d", code)
	}

	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s2 := NewServer(WithBalance("5.5"), WithCreditHistory(), WithInvoices(Invoice{ID: 9, Number: "#NB-9", Price: 1, Type: "Reload", InvoicedAt: at}))
	defer s2.Close()
	_, env = raw(t, s2, "GET", "/users/credits", s2.Token(), "", "")
	if env["data"].(map[string]any)["available_balance"] != "5.5" {
		t.Fatalf("seeded balance: %v", env)
	}
	_, env = raw(t, s2, "GET", "/users/credits/history", s2.Token(), "", "")
	if d := env["data"].(map[string]any); d["total_credit_histories"] != 0.0 || len(d["credit_history"].([]any)) != 0 {
		t.Fatalf("seeded history: %v", env)
	}
	_, env = raw(t, s2, "GET", "/users/invoices", s2.Token(), "", "")
	if inv := env["data"].(map[string]any)["invoices"].([]any); len(inv) != 1 || inv[0].(map[string]any)["invoiced_time"] != "EST 2025-01-01 22:04:05" {
		t.Fatalf("seeded invoices: %v", env)
	}
}

// checkPDFXref checks that every cross-reference entry points at its object.
func checkPDFXref(t *testing.T, b []byte) {
	t.Helper()
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at xref", xref)
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(b[xref:], -1)
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if !bytes.HasPrefix(b[off:], []byte(fmt.Sprintf("%d 0 obj", i+1))) {
			t.Fatalf("xref entry %d points at %q", i+1, b[off:off+10])
		}
	}
}

func TestInference(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	tok := s.Token()
	code, env := raw(t, s, "GET", "/serverless/models", tok, "", "")
	models, _ := env["data"].(map[string]any)["models"].([]any)
	if code != 200 || len(models) != 6 || models[1].(map[string]any)["model_type"] != "Image" || models[1].(map[string]any)["context_length"] != nil ||
		env["message"] != "Get models list successfully." {
		t.Fatalf("models: %d %v", code, env)
	}
	code, env = raw(t, s, "POST", "/images/generation", tok, "application/json",
		`{"model":"stabilityai/stable-diffusion-xl-base-1.0","prompt":"a cat","num_steps":25,"guidance_scale":9,"width":1024,"height":1024,"negative_prompt":null}`)
	imgs, _ := env["data"].([]any)
	if code != 200 || env["model"] != "stabilityai/stable-diffusion-xl-base-1.0" || env["object"] != "list" || env["message"] != "Image generated successfully" || len(imgs) != 1 {
		t.Fatalf("generate: %d %v", code, env)
	}
	img := imgs[0].(map[string]any)
	pngBytes, err := base64.StdEncoding.DecodeString(img["b64_json"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(pngBytes)); err != nil || img["index"] != 0.0 || img["timings"].(map[string]any)["inference"] == nil {
		t.Fatalf("image: %v %v", err, img)
	}
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"prompt":"a"}`, 422},
		{`{"model":"stabilityai/stable-diffusion-xl-base-1.0"}`, 422},
		{`{"model":"nope","prompt":"a"}`, 404},
		{`{"model":"WhereIsAI/UAE-Large-V1","prompt":"a"}`, 400},
		{`{"model":"stabilityai/stable-diffusion-xl-base-1.0","prompt":"a","width":-1}`, 422},
	} {
		if code, env := raw(t, s, "POST", "/images/generation", tok, "application/json", c.body); code != c.code || env["status"] != "failed" {
			t.Errorf("%s: %d %v", c.body, code, env)
		}
	}
	s2 := NewServer(WithModels(Model{Name: "m/img", Type: "Image"}))
	defer s2.Close()
	if code, _ := raw(t, s2, "POST", "/images/generation", s2.Token(), "application/json", `{"model":"m/img","prompt":"p"}`); code != 200 {
		t.Fatalf("seeded model: %d", code)
	}
}

func TestChatCompletions(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	if !strings.HasSuffix(s.InferenceURL(), "/v1") || !strings.HasPrefix(s.URL, strings.TrimSuffix(s.InferenceURL(), "/v1")) {
		t.Fatalf("InferenceURL %q", s.InferenceURL())
	}
	post := func(token, body string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", s.InferenceURL()+"/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp, b.Bytes()
	}
	const msg = `"messages":[{"role":"user","content":"hi"}]`
	resp, b := post(s.Token(), `{"model":"meta-llama/Llama-3.1-8B-Instruct",`+msg+`}`)
	var completion struct {
		Object  string
		Model   string
		Choices []struct {
			FinishReason string `json:"finish_reason"`
			Message      struct{ Role, Content string }
		}
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(b, &completion); err != nil || resp.StatusCode != 200 || completion.Object != "chat.completion" ||
		completion.Model != "meta-llama/Llama-3.1-8B-Instruct" || len(completion.Choices) != 1 || completion.Choices[0].Message.Content != chatCompletion ||
		completion.Choices[0].Message.Role != "assistant" || completion.Usage.TotalTokens == 0 {
		t.Fatalf("completion: %d %s", resp.StatusCode, b)
	}

	resp, b = post(s.Token(), `{"model":"meta-llama/Llama-3.1-8B-Instruct","stream":true,`+msg+`}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	events := strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("stream does not end in [DONE]: %q", b)
	}
	var text strings.Builder
	for _, e := range events[:len(events)-1] {
		var chunk struct {
			Object  string
			Choices []struct{ Delta struct{ Content string } }
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(e, "data: ")), &chunk); err != nil || chunk.Object != "chat.completion.chunk" {
			t.Fatalf("chunk %q: %v", e, err)
		}
		text.WriteString(chunk.Choices[0].Delta.Content)
	}
	if text.String() != chatCompletion {
		t.Fatalf("streamed text %q", text.String())
	}

	for _, c := range []struct {
		token, body string
		code        int
	}{
		{"ak_wrong", `{"model":"m",` + msg + `}`, 401},
		{s.Token(), `{` + msg + `}`, 400},
		{s.Token(), `{"model":"m","messages":[]}`, 400},
		{s.Token(), `{"model":`, 400},
	} {
		resp, b := post(c.token, c.body)
		var e struct{ Error struct{ Message string } }
		if json.Unmarshal(b, &e); resp.StatusCode != c.code || e.Error.Message == "" {
			t.Errorf("%s: %d %s", c.body, resp.StatusCode, b)
		}
	}
}

func TestFaultsOnEveryRoute(t *testing.T) {
	t.Parallel()
	s := NewServer(WithBootTime(0))
	defer s.Close()
	key := newSSHKey(t, s)
	raw(t, s, "POST", "/computing/instance", s.Token(), "application/json", createBody("f", key))
	var id string
	for id = range s.Instances() {
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/login", "username=a&password=b"},
		{"POST", "/api-keys", `{"name":"f"}`},
		{"GET", "/api_keys", ""},
		{"DELETE", "/api-keys/1", ""},
		{"POST", "/ssh-keys", `{"key_name":"f","key_data":"` + pubKey + `"}`},
		{"GET", "/ssh-keys", ""},
		{"PUT", "/ssh-keys/1", `{"key_name":"g"}`},
		{"DELETE", "/ssh-keys/1", ""},
		{"GET", "/computing/products", ""},
		{"GET", "/computing/images", ""},
		{"POST", "/computing/instance", createBody("g", key)},
		{"GET", "/computing/instances", ""},
		{"GET", "/computing/deleted-instances", ""},
		{"GET", "/computing/instance/" + id, ""},
		{"GET", "/computing/instance/" + id + "/stop", ""},
		{"DELETE", "/computing/instance/" + id, ""},
		{"GET", "/users/credits", ""},
		{"GET", "/users/credits/history", ""},
		{"GET", "/users/invoices", ""},
		{"GET", "/users/invoice-download/3688", ""},
		{"GET", "/serverless/models", ""},
		{"POST", "/images/generation", `{"model":"stabilityai/stable-diffusion-xl-base-1.0","prompt":"p"}`},
	}
	for _, r := range routes {
		s.Inject(Fault{Method: r.method, Path: r.path, Status: 418, RetryAfter: "4"})
		resp, _, err := send(s, r.method, r.path, s.Token(), "application/json", r.body)
		if err != nil || resp.StatusCode != 418 || resp.Header.Get("Retry-After") != "4" {
			t.Errorf("%s %s: fault not applied: %v %v", r.method, r.path, err, resp)
		}
	}
	// The chat route is outside /api/v1: its fault path is the full path.
	s.Inject(Fault{Path: "/v1/chat/completions", Status: 418})
	resp, err := s.HTTPClient().Post(s.InferenceURL()+"/chat/completions", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 418 {
		t.Errorf("chat completion fault not applied: %d", resp.StatusCode)
	}
	if len(s.Instances()) != 1 || len(s.Keys()) != 1 {
		t.Fatal("a faulted request changed the state")
	}
}

func TestStateCarriesSSHKeysAndInstances(t *testing.T) {
	t.Parallel()
	a := NewServer(WithBootTime(time.Hour))
	defer a.Close()
	key := newSSHKey(t, a)
	raw(t, a, "POST", "/computing/instance", a.Token(), "application/json", createBody("keep", key))
	raw(t, a, "POST", "/computing/instance", a.Token(), "application/json", createBody("gone", key))
	var ids []string
	_, env := raw(t, a, "GET", "/computing/instances", a.Token(), "", "")
	for _, in := range env["data"].([]any) {
		ids = append(ids, in.(map[string]any)["id"].(string))
	}
	raw(t, a, "DELETE", "/computing/instance/"+ids[1], a.Token(), "", "")
	_, before := instanceDetail(t, a, ids[0])
	var buf bytes.Buffer
	if err := a.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := NewServerE(WithState(&buf))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, after := instanceDetail(t, b, ids[0])
	if after["vm_password"] != before["vm_password"] || after["status"] != StatusCreating || after["host_name"] != "keep" {
		t.Fatalf("restored instance %v", after)
	}
	_, env = raw(t, b, "GET", "/computing/deleted-instances", b.Token(), "", "")
	if env["total_instance"] != 1.0 {
		t.Fatalf("deleted instances not restored: %v", env)
	}
	_, env = raw(t, b, "GET", "/ssh-keys", b.Token(), "", "")
	if env["data"].(map[string]any)["total_ssh_keys"] != 1.0 {
		t.Fatalf("SSH keys not restored: %v", env)
	}
	if next := newSSHKey(t, b); next != key+1 {
		t.Fatalf("SSH key counter not restored: %d", next)
	}
}

// TestNewClientPollsInMilliseconds: a client from NewClient waits for an
// instance at the fake's pace, not at the real API's (2 s between polls).
func TestNewClientPollsInMilliseconds(t *testing.T) {
	t.Parallel()
	s := NewServer(WithBootTime(20 * time.Millisecond))
	defer s.Close()
	c, err := s.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key, err := c.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "k", PublicKey: pubKey})
	if err != nil {
		t.Fatal(err)
	}
	products, err := c.Compute.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	images, err := c.Compute.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var req nebula.CreateInstanceRequest
	for _, p := range products {
		for _, img := range images {
			if p.Available && req.ProductID == "" && p.Region == img.Region && p.DataCenterID == img.DataCenterID {
				req = nebula.CreateInstanceRequest{Name: "fast", ProductID: p.ID, ImageID: img.ID, SSHKeyID: key.ID}
			}
		}
	}
	in, err := c.Instances.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Instances.Wait(ctx, in.ID, "Running"); err != nil {
		t.Fatal(err)
	}
	// Four polls, three waits between them: milliseconds at the fake's
	// pace, 2+4+8 s at the real API's. The bound sits far from both: it
	// was 1 s for the create and the wait, which a loaded machine took, and
	// the instance could be Running at the first poll, so that the pace did
	// not show.
	polls := 0
	start := time.Now()
	_, err = c.Instances.WaitFunc(ctx, in.ID, func(*nebula.Instance) (bool, error) {
		polls++
		return polls == 4, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("four polls took %v", d)
	}
}
