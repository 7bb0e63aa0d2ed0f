package checkproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host"

// session makes every call of the SDK once through c, and fails the test
// on any error: it is what a conformance run does.
func session(t *testing.T, c *nebula.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	key, err := c.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "proxied"})
	must("APIKeys.Create", err)
	_, err = c.APIKeys.List(ctx)
	must("APIKeys.List", err)
	must("APIKeys.Delete", c.APIKeys.Delete(ctx, key.ID))

	ssh, err := c.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "laptop", PublicKey: pubKey})
	must("SSHKeys.Create", err)
	_, err = c.SSHKeys.List(ctx, nebula.ListOptions{Limit: 5})
	must("SSHKeys.List", err)
	_, err = c.SSHKeys.Rename(ctx, ssh.ID, "desk")
	must("SSHKeys.Rename", err)

	products, err := c.Compute.Products(ctx)
	must("Compute.Products", err)
	images, err := c.Compute.Images(ctx)
	must("Compute.Images", err)
	var product nebula.Product
	var image nebula.Image
	for _, p := range products {
		for _, im := range images {
			if p.Available && im.Region == p.Region && im.DataCenterID == p.DataCenterID {
				product, image = p, im
			}
		}
	}
	if image.ID == "" {
		t.Fatal("no product with an image")
	}
	in, err := c.Instances.Create(ctx, nebula.CreateInstanceRequest{Name: "vm-1", ProductID: product.ID, ImageID: image.ID, SSHKeyID: ssh.ID})
	must("Instances.Create", err)
	_, err = c.Instances.Wait(ctx, in.ID, nebula.StatusRunning)
	must("Instances.Wait", err)
	_, err = c.Instances.List(ctx, nebula.ListOptions{Limit: 10})
	must("Instances.List", err)
	must("Instances.Stop", c.Instances.Stop(ctx, in.ID))
	must("Instances.Start", c.Instances.Start(ctx, in.ID))
	must("Instances.Reboot", c.Instances.Reboot(ctx, in.ID))
	_, err = c.Instances.Get(ctx, in.ID)
	must("Instances.Get", err)
	must("Instances.Delete", c.Instances.Delete(ctx, in.ID))
	_, err = c.Instances.ListDeleted(ctx, nebula.ListOptions{})
	must("Instances.ListDeleted", err)
	must("SSHKeys.Delete", c.SSHKeys.Delete(ctx, ssh.ID))

	_, err = c.Billing.Balance(ctx)
	must("Billing.Balance", err)
	_, err = c.Billing.CreditHistory(ctx, nebula.ListOptions{Limit: 2})
	must("Billing.CreditHistory", err)
	invoices, err := c.Billing.Invoices(ctx, nebula.ListOptions{})
	must("Billing.Invoices", err)
	if len(invoices.Items) > 0 {
		_, err = c.Billing.DownloadInvoice(ctx, invoices.Items[0].ID, io.Discard)
		must("Billing.DownloadInvoice", err)
	}
	_, err = c.Inference.Models(ctx)
	must("Inference.Models", err)
	_, err = c.Inference.GenerateImage(ctx, nebula.GenerateImageRequest{Model: "black-forest-labs/FLUX.1-schnell", Prompt: "a lighthouse", Width: 64, Height: 64, Steps: 1})
	must("Inference.GenerateImage", err)
}

// A faithful upstream (a second fake) shows no drift: the contract the
// proxy checks against is the one the fake and the SDK keep.
func TestFaithfulUpstreamShowsNoDrift(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []nebulatest.Option
	}{
		{"integer ids", nil},
		{"uuid ids", []nebulatest.Option{nebulatest.WithUUIDs()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := nebulatest.NewServer(append(tt.opts, nebulatest.WithBootTime(0), nebulatest.WithUser("ada@example.org", "correct-horse"))...)
			t.Cleanup(up.Close)
			p, url, log := front(t, up.URL, nil)
			c := sdk(t, url+BasePath, up.Token())
			session(t, c)
			ctx := context.Background()
			if _, err := c.Auth.Login(ctx, "ada@example.org", "correct-horse"); err != nil {
				t.Fatalf("Auth.Login: %v", err)
			}
			if d := p.Drift(); len(d) != 0 {
				t.Errorf("drift from a faithful upstream: %+v", d)
			}
			if l := log.get(); len(l) != 0 {
				t.Errorf("log lines: %q", l)
			}
			// The session went through the proxy, not around it.
			if n := len(up.Requests()); n < 25 {
				t.Errorf("upstream saw %d requests, want the whole session", n)
			}
		})
	}
}

// drifting is a loopback API that answers each "METHOD path" with a canned
// status and body.
func drifting(t *testing.T, answers map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		status := http.StatusOK
		if code, rest, found := strings.Cut(body, " "); found && len(code) == 3 && code[0] >= '1' && code[0] <= '5' {
			switch code {
			case "404", "405", "500", "302":
				status = map[string]int{"404": 404, "405": 405, "500": 500, "302": 302}[code]
				body = rest
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1"
}

func TestDriftIsReported(t *testing.T) {
	t.Parallel()
	const key = `"id":1,"key_name":"k","key_data":"` + pubKey + `","create_time":"1730847667"`
	tests := []struct {
		name   string
		method string
		path   string
		answer string
		want   []Drift // Seen compared as a prefix; Count 0 means 1
		noSDK  bool    // the SDK decodes it (drift only by the contract)
	}{
		{
			name: "unknown instance status", method: "GET", path: "/computing/instance/7",
			answer: `{"data":[{"id":7,"host_name":"vm","status":"Provisioning"}],"message":"ok","status":"success"}`,
			want:   []Drift{{Route: "GET /computing/instance/{id}", Field: "data[].status", Seen: `"Provisioning"`, Expected: "one of Creating, Starting, Running"}},
			noSDK:  true,
		},
		{
			name: "a number as a non-numeric string", method: "GET", path: "/users/credits",
			answer: `{"data":{"available_balance":"lots"},"message":"ok","status":"success"}`,
			want: []Drift{
				{Route: "GET /users/credits", Field: "data.available_balance", Seen: "non-numeric string"},
				{Route: "GET /users/credits", Field: "(sdk)", Seen: "nebula: "},
			},
		},
		{
			name: "a missing field", method: "GET", path: "/ssh-keys",
			answer: `{"data":{"ssh_keys":[{"id":1,"key_data":"` + pubKey + `"}],"total_ssh_keys":1},"message":"ok","status":"success"}`,
			want:   []Drift{{Route: "GET /ssh-keys", Field: "data.ssh_keys[].key_name", Seen: "absent", Expected: "required by the contract"}},
			noSDK:  true,
		},
		{
			name: "an extra field", method: "GET", path: "/ssh-keys",
			answer: `{"data":{"ssh_keys":[{` + key + `,"fingerprint":"SHA256:x"}],"total_ssh_keys":1},"message":"ok","status":"success"}`,
			want:   []Drift{{Route: "GET /ssh-keys", Field: "data.ssh_keys[].fingerprint", Seen: "present", Expected: "not in the contract"}},
			noSDK:  true,
		},
		{
			name: "an envelope without status", method: "GET", path: "/users/credits",
			answer: `{"data":{"available_balance":"12.5"},"message":"ok"}`,
			want: []Drift{
				{Route: "GET /users/credits", Field: "status", Seen: "absent", Expected: `"success"`},
				{Route: "GET /users/credits", Field: "(sdk)", Seen: "nebula: "},
			},
		},
		{
			name: "an ID of the wrong kind", method: "GET", path: "/ssh-keys",
			answer: `{"data":{"ssh_keys":[{"id":true,"key_name":"k","key_data":"` + pubKey + `"}],"total_ssh_keys":1},"message":"ok","status":"success"}`,
			want: []Drift{
				{Route: "GET /ssh-keys", Field: "data.ssh_keys[].id", Seen: "boolean", Expected: "ID"},
				{Route: "GET /ssh-keys", Field: "(sdk)", Seen: "nebula: "},
			},
		},
		{
			name: "a total below the items", method: "GET", path: "/ssh-keys",
			answer: `{"data":{"ssh_keys":[{` + key + `},{` + strings.Replace(key, `"id":1`, `"id":2`, 1) + `}],"total_ssh_keys":1},"message":"ok","status":"success"}`,
			want:   []Drift{{Route: "GET /ssh-keys", Field: "data.total_ssh_keys", Seen: "less than the items"}},
		},
		{
			name: "a route that does not exist", method: "PUT", path: "/ssh-keys/1",
			answer: `405 {"detail":"Method Not Allowed"}`,
			want:   []Drift{{Route: "PUT /ssh-keys/{id}", Field: "(route)", Seen: "HTTP 405", Expected: "the route exists"}},
		},
		{
			name: "a failed answer without the envelope", method: "GET", path: "/users/credits",
			answer: `500 {"error":"boom"}`,
			want:   []Drift{{Route: "GET /users/credits", Field: "status", Seen: "absent in a failed answer", Expected: `"failed"`}, {Route: "GET /users/credits", Field: "message", Seen: "absent in a failed answer"}},
		},
		{
			name: "data where none is documented", method: "GET", path: "/computing/instance/7/stop",
			answer: `{"data":{"id":7},"message":"ok","status":"success"}`,
			want:   []Drift{{Route: "GET /computing/instance/{id}/stop", Field: "data", Seen: "object", Expected: "no data"}},
		},
		{
			name: "a route outside the contract answered", method: "GET", path: "/users/profile",
			answer: `{"data":{},"message":"ok","status":"success"}`,
			want:   []Drift{{Route: "GET /users/profile", Field: "(route)", Seen: "HTTP 200", Expected: "a route of the contract"}},
		},
		{
			name: "an extra top-level field", method: "GET", path: "/computing/instances",
			answer: `{"data":[],"message":"ok","status":"success","total_instance":0,"page":1}`,
			want:   []Drift{{Route: "GET /computing/instances", Field: "page", Seen: "present", Expected: "not in the contract"}},
			noSDK:  true,
		},
		{
			name: "a detail of two instances", method: "GET", path: "/computing/instance/7",
			answer: `{"data":[{"id":7,"host_name":"a","status":"Running"},{"id":8,"host_name":"b","status":"Running"}],"message":"ok","status":"success"}`,
			want:   []Drift{{Route: "GET /computing/instance/{id}", Field: "data", Seen: "2 items", Expected: "an array of one"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := drifting(t, map[string]string{tt.method + " /api/v1" + tt.path: tt.answer})
			p, url, log := front(t, up, nil)
			c := &http.Client{Transport: transport(t)}
			for range 2 {
				code, body := send(t, c, tt.method, url+BasePath+tt.path, "zq9-Mx7vP2wLr4Kt", "", "")
				// The answer comes back unchanged, drift or not.
				if want, _ := strings.CutPrefix(tt.answer, tt.answer[:4]); (code == 200 && body != tt.answer) || (code != 200 && body != want) {
					t.Errorf("answer %d %q, want the upstream's %q", code, body, tt.answer)
				}
			}
			got := p.Drift()
			for _, w := range tt.want {
				found := false
				for _, d := range got {
					if d.Route == w.Route && d.Field == w.Field && strings.HasPrefix(d.Seen, w.Seen) && strings.HasPrefix(d.Expected, w.Expected) {
						found = true
						if d.Count != 2 {
							t.Errorf("%+v: count %d, want 2 (two answers showed it)", d, d.Count)
						}
					}
				}
				if !found {
					t.Errorf("no drift %+v in %+v", w, got)
				}
			}
			if tt.noSDK {
				for _, d := range got {
					if d.Field == "(sdk)" {
						t.Errorf("the SDK decodes this answer, but: %+v", d)
					}
				}
			}
			// One stderr line per difference, not per answer.
			if l := log.get(); len(l) != len(got) {
				t.Errorf("%d log lines for %d differences: %q", len(l), len(got), l)
			} else {
				for _, line := range l {
					if !strings.HasPrefix(line, "drift: ") {
						t.Errorf("log line %q", line)
					}
				}
			}
			// GET /_fake/drift shows the same report.
			code, body := send(t, c, "GET", url+DriftPath, "", "", "")
			var served []Drift
			if err := json.Unmarshal([]byte(body), &served); code != 200 || err != nil || len(served) != len(got) {
				t.Errorf("GET %s: %d %s (%v), want %d entries", DriftPath, code, body, err, len(got))
			}
		})
	}
}

// What the docs allow is no drift: numbers as numeric strings, "" for an
// empty count, nulls for optional fields, FastAPI's detail on failures;
// and the invoice PDF and /keys are not checked at all.
func TestAllowedVariationsAreNoDrift(t *testing.T) {
	t.Parallel()
	up := drifting(t, map[string]string{
		"GET /api/v1/ssh-keys":                       `{"data":{"ssh_keys":[{"id":"1","key_name":"k","key_data":"x","create_time":null}],"total_ssh_keys":"1"},"message":"ok","status":"success"}`,
		"GET /api/v1/computing/instance/5":           `{"data":[{"id":"5","host_name":"vm","status":"running","cpu_cores":"28","ram":"120","price_per_hour":"1.2","total_cost":"$0.0000","gpu_count":""}],"message":"ok","status":"success"}`,
		"GET /api/v1/users/credits":                  `{"data":{"available_balance":1228.556},"message":"ok","status":"success"}`,
		"DELETE /api/v1/ssh-keys/1":                  `{"data":{},"message":"ok","status":"success"}`,
		"POST /api/v1/computing/instance":            `{"message":"ok","status":"success"}`,
		"GET /api/v1/users/invoice-download/1":       `%PDF-1.4 not json at all`,
		"GET /api/v1/keys":                           `{"whatever":true}`,
		"GET /api/v1/computing/instance/6":           `404 {"data":null,"message":"Instance not found","status":"failed"}`,
		"GET /api/v1/computing/instance/6/reboot":    `404 {"detail":"Instance not found"}`,
		"GET /api/v1/computing/deleted-instances":    `{"data":[],"message":"ok","status":"success","total_instance":0}`,
		"GET /api/v1/users/credits/history":          `{"data":{"credit_balance":"12","credit_history":[],"total_credit_histories":0},"message":"ok","status":"success"}`,
		"GET /api/v1/computing/instance/5/somewhere": `302 `,
	})
	p, url, _ := front(t, up, nil)
	c := &http.Client{Transport: transport(t), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, r := range []string{
		"GET /ssh-keys", "GET /computing/instance/5", "GET /users/credits", "DELETE /ssh-keys/1",
		"POST /computing/instance", "GET /users/invoice-download/1", "GET /keys",
		"GET /computing/instance/6", "GET /computing/instance/6/reboot", "GET /computing/deleted-instances",
		"GET /users/credits/history", "GET /computing/instance/5/somewhere",
	} {
		method, path, _ := strings.Cut(r, " ")
		send(t, c, method, url+BasePath+path, "zq9-Mx7vP2wLr4Kt", "", "")
	}
	if d := p.Drift(); len(d) != 0 {
		t.Errorf("drift: %+v", d)
	}
}

// One field that sends integer IDs in one answer and string IDs in another
// is drift: the docs show both and a team should know which is live.
func TestMixedIDKindsAreDrift(t *testing.T) {
	t.Parallel()
	ch := NewChecker(nil)
	ch.sdk = false
	for _, id := range []string{`1`, `"2"`, `3`} {
		ch.Check(&Exchange{Method: "GET", Path: "/ssh-keys", Status: 200, Header: http.Header{},
			Body: []byte(`{"data":{"ssh_keys":[{"id":` + id + `,"key_name":"k","key_data":"x"}],"total_ssh_keys":1},"message":"ok","status":"success"}`)})
	}
	got := ch.Report()
	if len(got) != 1 || got[0].Field != "data.ssh_keys[].id" || got[0].Seen != "both integer and string IDs" {
		t.Errorf("report %+v, want one mixed-ID entry", got)
	}
}

// The report keeps constant memory against an API that differs in a new
// way in every answer.
func TestDriftReportIsBounded(t *testing.T) {
	t.Parallel()
	ch := NewChecker(nil)
	ch.sdk = false
	for i := range maxDrifts + 50 {
		ch.Check(&Exchange{Method: "GET", Path: "/users/credits", Status: 200, Header: http.Header{},
			Body: []byte(`{"data":{"available_balance":"1","f` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `":1,"g` + itoa(i) + `":1},"message":"ok","status":"success"}`)})
	}
	got := ch.Report()
	if len(got) != maxDrifts+1 || got[maxDrifts].Route != "(any)" || got[maxDrifts].Count == 0 {
		t.Errorf("%d entries, last %+v; want %d and an overflow entry", len(got), got[len(got)-1], maxDrifts+1)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// The report is shared with the project: no secret of the answer, nor one
// in a path, is quoted in it, even where the SDK's error quotes the answer.
func TestDriftReportHoldsNoSecret(t *testing.T) {
	t.Parallel()
	const password = "Zz-Secret-991x"
	ch := NewChecker(nil)
	ch.Check(&Exchange{Method: "GET", Path: "/computing/instance/9", Status: 200, Header: http.Header{},
		Body: []byte(`{"data":[{"id":9,"host_name":"vm","status":"Running","vm_password":"` + password + `","running_time":"` + password + `"}],"message":"ok","status":"success"}`)})
	ch.Check(&Exchange{Method: "GET", Path: "/users/ak_Qw3rTy-uIoP-aSdF/profile", Status: 200, Header: http.Header{},
		Body: []byte(`{"data":{"email":"ada.lovelace@example.org"},"message":"ok","status":"success"}`)})
	got := ch.Report()
	sdkSeen := false
	for _, d := range got {
		b, _ := json.Marshal(d)
		for _, secret := range []string{password, "ak_Qw3rTy-uIoP-aSdF", "ada.lovelace"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %q", b, secret)
			}
		}
		sdkSeen = sdkSeen || d.Field == "(sdk)"
	}
	if !sdkSeen || len(got) < 2 {
		t.Errorf("report %+v, want an SDK error and an unknown route", got)
	}
}
