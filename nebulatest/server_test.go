package nebulatest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// send sends one request to the fake with token and returns the answer and
// its body; err is a transport error, such as a hang-up.
func send(s *Server, method, path, token, contentType, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// raw is send for an answer that must be a JSON envelope; it returns the
// status and the decoded envelope.
func raw(t *testing.T, s *Server, method, path, token, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, b, err := send(s, method, path, token, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, env
}

var keyPattern = regexp.MustCompile(`^ak_[A-Za-z0-9_-]{43}$`)

func TestDocumentedRoutesAndEnvelopes(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	if !keyPattern.MatchString(s.Token()) {
		t.Fatalf("seed token %q", s.Token())
	}

	code, env := raw(t, s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"k1","description":"d"}`)
	data, _ := env["data"].(map[string]any)
	if code != 200 || env["status"] != "success" || env["message"] != "API key successfully created" || data == nil {
		t.Fatalf("create: %d %v", code, env)
	}
	if id, isNum := data["id"].(float64); !isNum || id != 2 || data["name"] != "k1" || data["description"] != "d" {
		t.Fatalf("create data %v", data)
	}
	newKey, _ := data["key"].(string)
	if !keyPattern.MatchString(newKey) {
		t.Fatalf("key %q", newKey)
	}

	code, env = raw(t, s, "GET", "/api_keys", newKey, "", "")
	list, _ := env["data"].([]any)
	if code != 200 || env["status"] != "success" || len(list) != 2 {
		t.Fatalf("list: %d %v", code, env)
	}
	for _, item := range list {
		k := item.(map[string]any)
		if k["partial_key_data"] != "ak_..." || k["key"] != nil {
			t.Fatalf("list item %v", k)
		}
	}

	code, env = raw(t, s, "DELETE", "/api-keys/2", s.Token(), "", "")
	if code != 200 || env["status"] != "success" || env["message"] != "API key successfully deleted" {
		t.Fatalf("delete: %d %v", code, env)
	}
	if d, ok := env["data"].(map[string]any); !ok || len(d) != 0 {
		t.Fatalf("delete data %v", env["data"])
	}
	if code, _ := raw(t, s, "GET", "/api_keys", newKey, "", ""); code != 401 {
		t.Fatalf("deleted key authenticated: %d", code)
	}
}

func TestFailedEnvelopesForBadRequests(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	cases := []struct {
		method, path, token, body string
		code                      int
	}{
		{"GET", "/api_keys", "", "", 401},
		{"GET", "/api_keys", "ak_wrong", "", 401},
		{"POST", "/api-keys", s.Token(), `{"name":`, 400},
		{"POST", "/api-keys", s.Token(), `{"description":"x"}`, 422},
		{"POST", "/api-keys", s.Token(), `{"name":"  "}`, 422},
		{"POST", "/api-keys", s.Token(), `{"name":"default"}`, 409},
		{"DELETE", "/api-keys/999", s.Token(), "", 404},
		{"GET", "/nowhere", s.Token(), "", 404},
	}
	for _, c := range cases {
		code, env := raw(t, s, c.method, c.path, c.token, "application/json", c.body)
		if code != c.code || env["status"] != "failed" || env["message"] == "" {
			t.Errorf("%s %s %s: %d %v, want %d", c.method, c.path, c.body, code, env, c.code)
		}
	}
}

func TestUUIDIDs(t *testing.T) {
	t.Parallel()
	s := NewServer(WithUUIDs())
	defer s.Close()
	_, env := raw(t, s, "POST", "/api-keys", s.Token(), "", `{"name":"k"}`)
	id, _ := env["data"].(map[string]any)["id"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("id %q", id)
	}
	if code, _ := raw(t, s, "DELETE", "/api-keys/"+id, s.Token(), "", ""); code != 200 {
		t.Fatalf("delete by UUID: %d", code)
	}
}

// The JWT lives 5 s, not 150 ms: its first use must come within its
// lifetime, and on a loaded machine 150 ms passed before it (and a transfer
// elsewhere stalled for over 1 s). The expiry
// check waits until the lifetime has surely passed since the login
// answered, instead of a fixed sleep.
func TestLoginAndJWTs(t *testing.T) {
	t.Parallel()
	const lifetime = 5 * time.Second
	s := NewServer(WithUser("a@example.com", "pw&1"), WithJWTLifetime(lifetime))
	defer s.Close()
	form := url.Values{"username": {"a@example.com"}, "password": {"pw&1"}}.Encode()
	code, env := raw(t, s, "POST", "/login", "", "application/x-www-form-urlencoded", form)
	expires := time.Now().Add(lifetime) // no earlier than the fake's expiry
	data, _ := env["data"].(map[string]any)
	jwt, _ := data["jwtToken"].(string)
	if code != 200 || strings.Count(jwt, ".") != 2 || data["email"] != "a@example.com" || data["is_active"] != true {
		t.Fatalf("login: %d %v", code, env)
	}
	if code, _ := raw(t, s, "GET", "/api_keys", jwt, "", ""); code != 200 {
		t.Fatalf("JWT refused: %d", code)
	}
	// The docs' own example sends JSON with the form content type.
	if code, _ := raw(t, s, "POST", "/login", "", "application/x-www-form-urlencoded", `{"username":"a@example.com","password":"pw&1"}`); code != 200 {
		t.Fatalf("JSON login: %d", code)
	}
	if code, _ := raw(t, s, "POST", "/login", "", "", url.Values{"username": {"a@example.com"}, "password": {"nope"}}.Encode()); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	time.Sleep(time.Until(expires) + 10*time.Millisecond)
	if code, _ := raw(t, s, "GET", "/api_keys", jwt, "", ""); code != 401 {
		t.Fatalf("expired JWT accepted: %d", code)
	}
	_, env = raw(t, s, "POST", "/login", "", "", form)
	jwt = env["data"].(map[string]any)["jwtToken"].(string)
	s.RevokeJWTs()
	if code, _ := raw(t, s, "GET", "/api_keys", jwt, "", ""); code != 401 {
		t.Fatalf("revoked JWT accepted: %d", code)
	}
}

func TestFaultsScriptedPerRouteAndCount(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.Inject(Fault{Method: "GET", Path: "/api_keys", Skip: 1, Times: 2, Status: 429, RetryAfter: "3"})
	s.Inject(Fault{Method: "DELETE", Path: "/api-keys/", Status: 502, Body: "<html><title>502 Bad Gateway</title></html>"})
	s.Inject(Fault{Method: "POST", Path: "/api-keys", Times: -1, Status: 503})
	var codes []int
	for range 4 {
		code, _ := raw(t, s, "GET", "/api_keys", s.Token(), "", "")
		codes = append(codes, code)
	}
	if want := []int{200, 429, 429, 200}; !equalInts(codes, want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	resp, b, err := send(s, "DELETE", "/api-keys/1", s.Token(), "", "")
	if err != nil || resp.StatusCode != 502 || !strings.Contains(string(b), "Bad Gateway") {
		t.Fatalf("delete fault: %v %s", err, b)
	}
	if len(s.Keys()) != 1 {
		t.Fatal("a faulted delete deleted")
	}
	for range 3 { // Times: -1 never runs out
		if code, _ := raw(t, s, "POST", "/api-keys", s.Token(), "", `{"name":"x"}`); code != 503 {
			t.Fatalf("Times -1: %d", code)
		}
	}
	if n := len(s.Requests()); n != 8 || s.Created() != 0 {
		t.Fatalf("request log has %d entries, %d created", len(s.Requests()), s.Created())
	}
}

func TestFaultRetryAfterHeader(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.Inject(Fault{Status: 503, RetryAfter: "7"})
	resp, err := s.HTTPClient().Get(s.URL + "/api_keys")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("%d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestHangUps(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.Inject(Fault{Method: "POST", Path: "/api-keys", HangUp: HangUpBefore})
	s.Inject(Fault{Method: "POST", Path: "/api-keys", HangUp: HangUpAfter})
	post := func(name string) error {
		_, _, err := send(s, "POST", "/api-keys", s.Token(), "", `{"name":"`+name+`"}`)
		return err
	}
	if err := post("before"); err == nil || s.Created() != 0 {
		t.Fatalf("hang-up before: err %v, created %d", err, s.Created())
	}
	if err := post("after"); err == nil || s.Created() != 1 || len(s.Keys()) != 2 {
		t.Fatalf("hang-up after: err %v, created %d", err, s.Created())
	}
}

func TestCloseEndsLatency(t *testing.T) {
	t.Parallel()
	s := NewServer()
	s.Inject(Fault{Latency: time.Minute})
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := s.HTTPClient().Get(s.URL + "/api_keys")
		if err == nil {
			resp.Body.Close()
		}
	}()
	for len(s.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	s.Close()
	<-done
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, env := raw(t, s, "POST", "/api-keys", s.Token(), "", `{"name":"k`+string(rune('a'+i))+`"}`)
			if code != 200 {
				t.Errorf("create: %d %v", code, env)
				return
			}
			id := env["data"].(map[string]any)["id"].(float64)
			if code, _ := raw(t, s, "DELETE", "/api-keys/"+jsonNumber(id), s.Token(), "", ""); code != 200 {
				t.Errorf("delete %v: %d", id, code)
			}
		}()
	}
	wg.Wait()
	if len(s.Keys()) != 1 || s.Created() != 16 {
		t.Fatalf("%d keys left, %d created", len(s.Keys()), s.Created())
	}
}

func jsonNumber(f float64) string { b, _ := json.Marshal(f); return string(b) }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAnswersCarryContentLength: short answers get their Content-Length
// from net/http, long ones from the fake; none is chunked, envelopes
// encoded by encoding/json or by hand alike.
func TestAnswersCarryContentLength(t *testing.T) {
	t.Parallel()
	s := New(t)
	for i := range 40 {
		name := "key-" + strings.Repeat("x", 40) + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if code, env := raw(t, s, "POST", "/api-keys", s.Token(), "", `{"name":"`+name+`"}`); code != 200 {
			t.Fatalf("create: %d %v", code, env)
		}
		body := `{"key_name":"` + name + `","key_data":"` + pubKey + `"}`
		if code, env := raw(t, s, "POST", "/ssh-keys", s.Token(), "", body); code != 200 {
			t.Fatalf("create SSH key: %d %v", code, env)
		}
	}
	var short, long int
	for _, req := range []struct{ method, path, token, body string }{
		{"POST", "/api-keys", s.Token(), `{"name":"one more"}`},  // by hand, short
		{"GET", "/api_keys", s.Token(), ""},                      // by hand, long
		{"GET", "/api_keys", "", ""},                             // encoding/json, short
		{"GET", "/ssh-keys", s.Token(), ""},                      // encoding/json, long
		{"DELETE", "/api-keys/2", s.Token(), ""},                 // encoding/json, short
		{"POST", "/api-keys", s.Token(), `{"name":"one more"}`},  // a conflict
		{"GET", "/no/such/route", s.Token(), ""},                 // not found
		{"POST", "/api-keys", s.Token(), `{"name":"trailing",}`}, // a mistake explained
	} {
		resp, b, err := send(s, req.method, req.path, req.token, "", req.body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != int64(len(b)) || len(resp.TransferEncoding) > 0 || resp.Header.Get("Content-Length") == "" {
			t.Errorf("%s %s: %d bytes, Content-Length %d, Transfer-Encoding %v", req.method, req.path, len(b), resp.ContentLength, resp.TransferEncoding)
		}
		if len(b) > netHTTPBuffer {
			long++
		} else {
			short++
		}
	}
	if long != 2 || short != 6 {
		t.Fatalf("%d long and %d short answers: the test does not cover both", long, short)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	for _, seq := range []int{1, 9, 10, 12345, 1<<63 - 1} {
		if got, want := requestID(seq), "req-"+strconv.Itoa(seq); got != want {
			t.Errorf("requestID(%d) = %q, want %q", seq, got, want)
		}
	}
}

// A fault's path given with /api/v1 in front, as a request log shows
// paths, is the same relative path: it matched only /api/v1/api/v1/...,
// so the fault was accepted and never fired.
func TestFaultPathWithBasePath(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.Inject(Fault{Method: "GET", Path: BasePath + "/api_keys", Status: 500})
	if code, _ := raw(t, s, "GET", "/api_keys", s.Token(), "", ""); code != 500 {
		t.Fatalf("GET /api_keys: %d, want the fault's 500", code)
	}
	s.Inject(Fault{Path: "/v1/chat/completions", Status: 429}) // outside /api/v1: in full, as before
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) != 1 || s.faults[0].Path != "/v1/chat/completions" {
		t.Fatalf("faults %+v", s.faults)
	}
}
