package nebulatest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// withHooks sets the test hooks before the Server starts.
func withHooks(newConn, body func()) Option {
	return func(s *Server) { s.onNewConn, s.onBody = newConn, body }
}

// control sends a request to a control route and decodes the envelope.
func control(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.URL, BasePath)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: not JSON: %v", method, path, err)
	}
	return resp.StatusCode, env
}

func TestWithListener(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(WithListener(l))
	defer s.Close()
	if want := "http://" + l.Addr().String() + BasePath; s.URL != want {
		t.Fatalf("URL %q, want %q", s.URL, want)
	}
	if code, _ := raw(t, s, "GET", "/api_keys", s.Token(), "", ""); code != 200 {
		t.Fatalf("list on the given listener: %d", code)
	}
}

func TestControlRoutesAreOptIn(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	if code, env := control(t, s, "POST", "/_fake/reset", ""); code != 404 || env["status"] != "failed" {
		t.Fatalf("control route served without WithControlRoutes: %d %v", code, env)
	}
}

func TestControlFaults(t *testing.T) {
	t.Parallel()
	s := NewServer(WithControlRoutes())
	defer s.Close()
	code, env := control(t, s, "POST", "/_fake/faults",
		`{"method":"post","path":"/api-keys","status":503,"times":2,"retry_after":1,"latency":"1ms"}`)
	if code != 200 || env["status"] != "success" {
		t.Fatalf("inject: %d %v", code, env)
	}
	for i := range 3 {
		resp, _, err := send(s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"k"}`)
		if err != nil {
			t.Fatal(err)
		}
		want, retryAfter := 503, "1"
		if i == 2 {
			want, retryAfter = 200, ""
		}
		if resp.StatusCode != want || resp.Header.Get("Retry-After") != retryAfter {
			t.Fatalf("request %d: %d Retry-After %q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	control(t, s, "POST", "/_fake/faults", `[{"method":"POST","path":"/api-keys","hang_up":"before"},{"path":"/api_keys","status":500,"times":-1}]`)
	if _, env := control(t, s, "GET", "/_fake/faults", ""); len(env["data"].([]any)) != 2 {
		t.Fatalf("pending faults %v", env["data"])
	}
	if _, _, err := send(s, "POST", "/api-keys", s.Token(), "", `{"name":"h"}`); err == nil {
		t.Fatal("hang_up before: an answer")
	}
	if code, _ := raw(t, s, "GET", "/api_keys", s.Token(), "", ""); code != 500 {
		t.Fatalf("status fault: %d", code)
	}
	control(t, s, "DELETE", "/_fake/faults", "")
	if code, _ := raw(t, s, "GET", "/api_keys", s.Token(), "", ""); code != 200 {
		t.Fatalf("after clearing faults: %d", code)
	}

	bad := []struct{ body, says string }{
		{`{"status":503,"latncy":"1s"}`, "latncy"},
		{`{"status":503,"latency":150}`, "latency"},
		{`{"latency":"soon"}`, "latency"},
		{`{"status":42}`, "status"},
		{`{"status":503,"times":-2}`, "times"},
		{`{"status":503,"skip":-1}`, "skip"},
		{`{"hang_up":"during"}`, "hang_up"},
		{`{"path":"api-keys","status":503}`, "path"},
		{`{"method":"GET"}`, "does nothing"},
		{`{"status":503,"hang_up":"after"}`, "exclude"},
		{`{"status":503,"retry_after":true}`, "retry_after"},
		{`{"status":`, "invalid"},
		{``, "invalid"},
	}
	for _, b := range bad {
		code, env := control(t, s, "POST", "/_fake/faults", b.body)
		msg, _ := env["message"].(string)
		if code != 400 || env["status"] != "failed" || !strings.Contains(msg, b.says) {
			t.Errorf("%s: %d %q, want 400 saying %q", b.body, code, msg, b.says)
		}
	}
	if _, env := control(t, s, "GET", "/_fake/faults", ""); len(env["data"].([]any)) != 0 {
		t.Fatalf("a bad fault was injected: %v", env["data"])
	}
}

func TestFaultJSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := Fault{Method: "POST", Path: "/x", Skip: 1, Times: -1, Latency: 150 * time.Millisecond, RetryAfter: "2", Status: 503, Body: "b"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"latency":"150ms"`) {
		t.Fatalf("latency not a duration string: %s", b)
	}
	var out Fault
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip: %v %+v", err, out)
	}
	in = Fault{HangUp: HangUpAfter}
	b, _ = json.Marshal(in)
	if err := json.Unmarshal(b, &out); err != nil || out != in || !strings.Contains(string(b), `"hang_up":"after"`) {
		t.Fatalf("hang-up round trip: %s %v %+v", b, err, out)
	}
}

func TestControlRequestsRedactsCredentials(t *testing.T) {
	t.Parallel()
	const password = "hunter2-pass"
	s := NewServer(WithControlRoutes(), WithUser("a@example.com", password))
	defer s.Close()
	_, env := raw(t, s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"k"}`)
	newKey := env["data"].(map[string]any)["key"].(string)
	_, env = raw(t, s, "POST", "/login", "", "application/x-www-form-urlencoded",
		url.Values{"username": {"a@example.com"}, "password": {password}}.Encode())
	jwt := env["data"].(map[string]any)["jwtToken"].(string)
	raw(t, s, "POST", "/login", "", "application/json", `{"username":"a@example.com","password":"`+password+`"}`)
	raw(t, s, "GET", "/api_keys", jwt, "", "")
	raw(t, s, "POST", "/api-keys", newKey, "application/json", `{"name":"`+newKey+`","description":"`+jwt+`"}`)
	raw(t, s, "DELETE", "/api-keys/2", "bearer "+s.Token(), "", "")
	req, _ := http.NewRequest("GET", s.URL+"/api_keys", nil)
	req.Header.Set("Cookie", "session=abc123xyz")
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	r, err := s.HTTPClient().Get(strings.TrimSuffix(s.URL, BasePath) + "/_fake/requests")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for name, secret := range map[string]string{"seed": s.Token(), "key": newKey, "jwt": jwt, "password": password, "cookie": "abc123xyz"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the %s shows in /_fake/requests", name)
		}
	}
	var got struct {
		Data []loggedRequest `json:"data"`
	}
	if err := json.Unmarshal(b, &got); err != nil || len(got.Data) != 7 {
		t.Fatalf("%v: %d entries", err, len(got.Data))
	}
	if got.Data[0].Method != "POST" || got.Data[0].Path != "/api/v1/api-keys" || got.Data[0].Seq != 1 ||
		got.Data[0].Headers["Authorization"][0] != "Bearer [REDACTED]" || got.Data[0].Body != `{"name":"k"}` {
		t.Fatalf("first entry %+v", got.Data[0])
	}
	if len(s.Requests()) != 7 {
		t.Fatal("control requests were logged")
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	s := NewServer(WithControlRoutes())
	defer s.Close()
	seed := s.Token()
	_, env := raw(t, s, "POST", "/api-keys", seed, "", `{"name":"k"}`)
	newKey := env["data"].(map[string]any)["key"].(string)
	s.Inject(Fault{Path: "/nowhere", Status: 500})
	for _, viaHTTP := range []bool{false, true} {
		if viaHTTP {
			raw(t, s, "POST", "/api-keys", seed, "", `{"name":"k2"}`)
			if code, _ := control(t, s, "POST", "/_fake/reset", ""); code != 200 {
				t.Fatalf("reset: %d", code)
			}
		} else {
			s.Reset()
		}
		if len(s.Keys()) != 1 || len(s.Requests()) != 0 || s.Created() != 0 || s.Token() != seed {
			t.Fatalf("after reset: %d keys, %d requests, %d created", len(s.Keys()), len(s.Requests()), s.Created())
		}
		if code, _ := raw(t, s, "GET", "/nowhere", seed, "", ""); code != 404 {
			t.Fatalf("fault survived reset: %d", code)
		}
		if code, _ := raw(t, s, "GET", "/api_keys", newKey, "", ""); code != 401 {
			t.Fatalf("created key survived reset: %d", code)
		}
		_, env = raw(t, s, "POST", "/api-keys", seed, "", `{"name":"k"}`)
		if id := env["data"].(map[string]any)["id"]; id != 2.0 {
			t.Fatalf("ID counter not reset: %v", id)
		}
	}
}

func TestSaveAndLoadState(t *testing.T) {
	t.Parallel()
	for _, uuids := range []bool{false, true} {
		t.Run(fmt.Sprint("uuids=", uuids), func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if uuids {
				opts = append(opts, WithUUIDs())
			}
			a := NewServer(opts...)
			defer a.Close()
			var ids []any
			var values []string
			for _, name := range []string{"one", "two", "three"} {
				_, env := raw(t, a, "POST", "/api-keys", a.Token(), "", `{"name":"`+name+`"}`)
				d := env["data"].(map[string]any)
				ids, values = append(ids, d["id"]), append(values, d["key"].(string))
			}
			raw(t, a, "DELETE", "/api-keys/"+fmt.Sprint(ids[1]), a.Token(), "", "")
			var buf bytes.Buffer
			if err := a.SaveState(&buf); err != nil {
				t.Fatal(err)
			}

			b, err := NewServerE(append(opts, WithState(&buf), WithSeedToken("ak_ignored"))...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Token() != a.Token() || len(b.Keys()) != 3 || b.Created() != 3 {
				t.Fatalf("restored: %d keys, %d created", len(b.Keys()), b.Created())
			}
			for i, want := range []int{200, 401, 200} {
				if code, _ := raw(t, b, "GET", "/api_keys", values[i], "", ""); code != want {
					t.Errorf("key %d: %d, want %d", i, code, want)
				}
			}
			_, env := raw(t, b, "POST", "/api-keys", b.Token(), "", `{"name":"four"}`)
			if id := env["data"].(map[string]any)["id"]; !uuids && id != 5.0 {
				t.Fatalf("ID counter not restored: %v", id)
			}
			if code, _ := raw(t, b, "POST", "/api-keys", b.Token(), "", `{"name":"three"}`); code != 409 {
				t.Fatalf("restored name not indexed: %d", code)
			}
		})
	}
}

func TestCorruptStateIsAClearError(t *testing.T) {
	t.Parallel()
	good := `{"format":"nebulatest-state/1","seed":"ak_x","next_key_id":3,"created":1,"api_keys":[` +
		`{"id":"1","numeric_id":true,"name":"default","description":"","key":"ak_x"}]}`
	if s, err := NewServerE(WithState(strings.NewReader(good))); err != nil {
		t.Fatalf("good state refused: %v", err)
	} else {
		s.Close()
	}
	cases := []struct{ state, says string }{
		{``, "EOF"},
		{`{"format":`, "unexpected EOF"},
		{`[]`, "cannot unmarshal"},
		{strings.Replace(good, "nebulatest-state/1", "other/2", 1), "format"},
		{strings.Replace(good, `"seed":"ak_x"`, `"seed":"x"`, 1), "seed"},
		{strings.Replace(good, `"next_key_id":3`, `"next_key_id":1`, 1), "next_key_id"},
		{strings.Replace(good, `"next_key_id":3`, `"next_key_id":-3`, 1), "negative"},
		{strings.Replace(good, `"api_keys"`, `"ssh_keys":[{"id":1,"key_name":"a","key_data":"-----BEGIN OPENSSH PRIVATE KEY----- secret-value"}],"api_keys"`, 1), "private key"},
		{strings.Replace(good, `"api_keys"`, `"instances":[{"id":"i","status":"Exploded"}],"api_keys"`, 1), "unknown status"},
		{strings.Replace(good, `"key":"ak_x"`, `"key":"secret-value"`, 1), "value"},
		{strings.Replace(good, `"name":"default"`, `"name":""`, 1), "no id or name"},
		{strings.Replace(good, `"api_keys"`, `"api_kyes"`, 1), "unknown field"},
		{good + "{}", "after the JSON"},
		{strings.Replace(good, `"numeric_id":true`, `"numeric_id":false`, 1), "needs numeric_id"},
		{strings.Replace(good, `"id":"1"`, `"id":"01"`, 1), "not an integer"},
		{strings.Replace(good, `"api_keys":[`, `"api_keys":[{"id":"1","numeric_id":true,"name":"other","description":"","key":"ak_y"},`, 1), "used twice"},
	}
	for _, c := range cases {
		s, err := NewServerE(WithState(strings.NewReader(c.state)))
		if err == nil {
			s.Close()
			t.Errorf("%q accepted", c.state)
			continue
		}
		if !errors.Is(err, errState) || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%q: %v, want it to say %q", c.state, err, c.says)
		}
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "invalid saved state") {
				t.Errorf("NewServer with a corrupt state: recovered %v", r)
			}
		}()
		NewServer(WithState(strings.NewReader("{"))).Close()
	}()
}

func TestRequestLogLimit(t *testing.T) {
	t.Parallel()
	s := NewServer(WithRequestLogLimit(3))
	defer s.Close()
	var last *http.Response
	for i := range 5 {
		resp, _, err := send(s, "GET", fmt.Sprintf("/nowhere/%d", i), "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		last = resp
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Path != "/api/v1/nowhere/2" || reqs[2].Path != "/api/v1/nowhere/4" {
		t.Fatalf("log %v", reqs)
	}
	if id := last.Header.Get("X-Request-Id"); id != "req-5" {
		t.Fatalf("X-Request-Id %q", id)
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	for scheme, want := range map[string]int{"Bearer": 200, "bearer": 200, "BEARER": 200, "Basic": 401, "Bearer  ": 401} {
		req, _ := http.NewRequest("GET", s.URL+"/api_keys", nil)
		req.Header.Set("Authorization", scheme+" "+s.Token())
		if scheme == "Bearer  " {
			req.Header.Set("Authorization", scheme)
		}
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%q: %d, want %d", scheme, resp.StatusCode, want)
		}
	}
}

func TestRequestsReturnsDeepCopies(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	raw(t, s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"k"}`)
	first := s.Requests()
	first[0].Header.Set("Content-Type", "text/evil")
	first[0].Header["Authorization"][0] = "changed"
	first[0].Body[2] = 'X'
	again := s.Requests()[0]
	if again.Header.Get("Content-Type") != "application/json" || again.Header.Get("Authorization") != "Bearer "+s.Token() || string(again.Body) != `{"name":"k"}` {
		t.Fatalf("the log changed: %v %s", again.Header, again.Body)
	}
}

func TestCloseDoesNotWaitForAStalledBody(t *testing.T) {
	t.Parallel()
	reading := make(chan struct{}, 1)
	s := NewServer(withHooks(nil, func() {
		select {
		case reading <- struct{}{}:
		default:
		}
	}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(s.URL, BasePath), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/api-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na")
	<-reading
	// Other requests are served meanwhile.
	if code, _ := raw(t, s, "GET", "/api_keys", s.Token(), "", ""); code != 200 {
		t.Fatalf("list beside a stalled body: %d", code)
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a stalled request body")
	}
}

func TestClientReusesConnections(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	s := NewServer(withHooks(func() { conns.Add(1) }, nil))
	defer s.Close()
	// The latency makes the requests of a round overlap.
	s.Inject(Fault{Path: "/api_keys", Latency: 5 * time.Millisecond, Times: -1})
	const parallel, rounds = 32, 4
	for range rounds {
		var wg sync.WaitGroup
		for range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp, _, err := send(s, "GET", "/api_keys", s.Token(), "", ""); err != nil || resp.StatusCode != 200 {
					t.Errorf("list: %v", err)
				}
			}()
		}
		wg.Wait()
	}
	if n := conns.Load(); n > parallel+parallel/4 {
		t.Fatalf("%d connections for %d rounds of %d parallel requests", n, rounds, parallel)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	for _, c := range []struct {
		method, path string
		want         int
	}{{"PUT", "/api_keys", 405}, {"GET", "/api-keys/3", 405}, {"GET", "/api-keys/", 404}, {"POST", "/nowhere", 404}} {
		if code, env := raw(t, s, c.method, c.path, s.Token(), "", ""); code != c.want || env["status"] != "failed" {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, env, c.want)
		}
	}
}
