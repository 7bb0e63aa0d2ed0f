package checkproxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// witness is a loopback server that notes every request it gets.
type witness struct {
	mu   sync.Mutex
	reqs []*http.Request
	srv  *httptest.Server
}

func newWitness(t *testing.T, h http.HandlerFunc) *witness {
	t.Helper()
	w := &witness{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.reqs = append(w.reqs, r.Clone(r.Context()))
		w.mu.Unlock()
		if h != nil {
			h(rw, r)
			return
		}
		io.WriteString(rw, `{"data":{},"message":"ok","status":"success"}`)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *witness) requests() []*http.Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*http.Request(nil), w.reqs...)
}

const token = "zq9-Mx7vP2wLr4Kt"

// An upstream redirect goes back to the caller unchanged, and the proxy
// never follows it: the token never reaches another host or port.
func TestRedirectNeverCarriesTheToken(t *testing.T) {
	t.Parallel()
	other := newWitness(t, nil) // another port on the same host
	for _, status := range []int{301, 302, 303, 307, 308} {
		up := newWitness(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", other.srv.URL+"/api/v1/ssh-keys?from=upstream")
			w.WriteHeader(status)
		})
		_, url, _ := front(t, up.srv.URL+"/api/v1", nil)
		noFollow := &http.Client{Transport: transport(t), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("POST", url+"/api/v1/ssh-keys", strings.NewReader(`{"key_name":"k"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status || resp.Header.Get("Location") != other.srv.URL+"/api/v1/ssh-keys?from=upstream" {
			t.Errorf("%d: the caller got %d Location %q, want the upstream's redirect unchanged", status, resp.StatusCode, resp.Header.Get("Location"))
		}
		if n := len(up.requests()); n != 1 {
			t.Errorf("%d: upstream got %d requests, want 1", status, n)
		}
	}
	if reqs := other.requests(); len(reqs) != 0 {
		t.Errorf("the redirect target got %d requests (Authorization %q)", len(reqs), reqs[0].Header.Get("Authorization"))
	}
}

// The request's own idea of its host (an absolute-form URL, a Host header)
// never moves it: it goes to the upstream, and only there.
func TestTheRequestsHostIsIgnored(t *testing.T) {
	t.Parallel()
	other := newWitness(t, nil)
	up := newWitness(t, nil)
	_, proxyURL, _ := front(t, up.srv.URL+"/api/v1", nil)
	otherHost := strings.TrimPrefix(other.srv.URL, "http://")
	raw := []string{
		// Absolute form, naming the other server.
		"GET " + other.srv.URL + "/api/v1/ssh-keys HTTP/1.1\r\nHost: " + otherHost + "\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n",
		// Origin form with the other server's Host header.
		"GET /api/v1/ssh-keys HTTP/1.1\r\nHost: " + otherHost + "\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n",
		// A path that looks like a host.
		"GET /api/v1//" + otherHost + "/ssh-keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n",
	}
	for _, r := range raw {
		conn, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, r)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%q: %d", r, resp.StatusCode)
		}
	}
	reqs := up.requests()
	if len(reqs) != len(raw) {
		t.Fatalf("upstream got %d requests, want %d", len(reqs), len(raw))
	}
	upHost := strings.TrimPrefix(up.srv.URL, "http://")
	for _, r := range reqs {
		if r.Host != upHost || r.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("upstream got Host %q Authorization %q", r.Host, r.Header.Get("Authorization"))
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other server got %d requests", n)
	}
}

// /api/v1/X goes to UPSTREAM/X with the query exactly as sent (not
// re-encoded), the method, the headers and the body unchanged, and the
// answer comes back unchanged, compressed or not.
func TestForwardingIsUnchanged(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, `{"data":{"available_balance":"1"},"message":"ok","status":"success"}`)
	zw.Close()
	up := newWitness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/base/users/credits" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/json")
			w.Write(gz.Bytes())
			return
		}
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(429)
		io.WriteString(w, `{"data":null,"message":"slow down","status":"failed"}`)
	})
	p, proxyURL, _ := front(t, up.srv.URL+"/base/", nil)
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(c.CloseIdleConnections)

	const query = "b=2&a=1&a=%2F&sp=a+b&odd=%7e&empty="
	req, _ := http.NewRequest("PUT", proxyURL+"/api/v1/ssh-keys/a%2Fb?"+query, strings.NewReader(`{"key_name": "x"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Custom", "kept")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "dropped")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("X-Upstream") != "yes" || resp.Header.Get("Retry-After") != "3" || string(body) != `{"data":null,"message":"slow down","status":"failed"}` {
		t.Errorf("answer %d %v %q, want the upstream's unchanged", resp.StatusCode, resp.Header, body)
	}
	reqs := up.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests upstream", len(reqs))
	}
	r := reqs[0]
	if r.Method != "PUT" || r.URL.EscapedPath() != "/base/ssh-keys/a%2Fb" || r.URL.RawQuery != query {
		t.Errorf("upstream got %s %s ? %s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	}
	if r.Header.Get("X-Custom") != "kept" || r.Header.Get("X-Hop") != "" || r.Header.Get("Authorization") != "Bearer "+token {
		t.Errorf("upstream headers %v", r.Header)
	}

	// A compressed answer passes as it came, and is checked decompressed.
	req, _ = http.NewRequest("GET", proxyURL+"/api/v1/users/credits", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, gz.Bytes()) {
		t.Errorf("compressed answer changed: %v %q", resp.Header, body)
	}
	if d := p.Drift(); len(d) != 0 {
		t.Errorf("drift %+v: the gzipped answer was not read decompressed", d)
	}
}

func TestOnlyTheAPIIsForwarded(t *testing.T) {
	t.Parallel()
	up := newWitness(t, nil)
	_, proxyURL, _ := front(t, up.srv.URL+"/api/v1", nil)
	c := &http.Client{Transport: transport(t)}
	for _, path := range []string{"/", "/api/v10/ssh-keys", "/v1/chat/completions", "/_fake/requests"} {
		code, body := send(t, c, "GET", proxyURL+path, token, "", "")
		if code != 404 || !strings.Contains(body, `"status":"failed"`) {
			t.Errorf("GET %s: %d %q", path, code, body)
		}
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("upstream got %d requests", n)
	}
	if code, _ := send(t, c, "POST", proxyURL+DriftPath, "", "", ""); code != 405 {
		t.Errorf("POST %s: %d", DriftPath, code)
	}
	if code, body := send(t, c, "GET", proxyURL+DriftPath, "", "", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET %s with no drift: %d %q, want []", DriftPath, code, body)
	}
}

// An upstream that cannot be reached is a failed envelope, never a success.
func TestUnreachableUpstream(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, proxyURL, _ := front(t, "http://"+addr+"/api/v1", nil)
	code, body := send(t, &http.Client{Transport: transport(t)}, "GET", proxyURL+"/api/v1/ssh-keys", token, "", "")
	if code != http.StatusBadGateway || !strings.Contains(body, `"status":"failed"`) || strings.Contains(body, token) {
		t.Errorf("%d %q", code, body)
	}
}

func TestParseUpstream(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"https://api.nebulablock.com/api/v1":  true,
		"https://api.nebulablock.com/api/v1/": true,
		"http://127.0.0.1:8474/api/v1":        true,
		"http://localhost:8474/api/v1":        true,
		"http://[::1]:8474/api/v1":            true,
		"http://api.nebulablock.com/api/v1":   false, // the token would cross the network in clear
		"https://user:pw@api.example.com/":    false,
		"https://api.example.com/?x=1":        false,
		"https://api.example.com/#f":          false,
		"api.nebulablock.com/api/v1":          false,
		"ftp://api.example.com/":              false,
		"":                                    false,
	} {
		if _, err := ParseUpstream(raw); (err == nil) != ok {
			t.Errorf("ParseUpstream(%q): %v", raw, err)
		}
	}
}

// The upstream may compress only in gzip, which the proxy reads: offered
// deflate or br as the caller offered them, it answered in a form the proxy
// could neither check nor redact, and the cassette kept the new key's
// value. An upstream that compresses otherwise all the same has its answer
// passed on, but neither checked nor recorded.
func TestCompressionOnlyInWhatTheProxyReads(t *testing.T) {
	t.Parallel()
	const secret = "ak_SECRETnewkeyVALUE0123456789abcdef"
	up := newWitness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api-keys" {
			w.Header().Set("Content-Encoding", "br") // whatever was asked
			w.Write([]byte("\x1b\x2a\x00not-readable " + secret))
			return
		}
		io.WriteString(w, `{"data":{"available_balance":"1"},"message":"ok","status":"success"}`)
	})
	rec, dir := recorder(t)
	p, proxyURL, log := front(t, up.srv.URL, rec)
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(c.CloseIdleConnections)
	for offered, want := range map[string]string{
		"gzip, deflate, br": "gzip", "deflate, br": "identity", "br;q=1, gzip;q=0": "identity", "*": "gzip", "gzip;q=0, *": "identity", "gzip;q=0.000": "identity", "gzip; q=0.5": "gzip", "": "identity",
	} {
		req, _ := http.NewRequest("GET", proxyURL+"/api/v1/users/credits", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if offered != "" {
			req.Header.Set("Accept-Encoding", offered)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		reqs := up.requests()
		if got := reqs[len(reqs)-1].Header.Get("Accept-Encoding"); got != want {
			t.Errorf("offered %q: the upstream was offered %q, want %q", offered, got, want)
		}
	}
	req, _ := http.NewRequest("POST", proxyURL+"/api/v1/api-keys", strings.NewReader(`{"name":"ci"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "br" || !strings.Contains(string(body), secret) {
		t.Errorf("the answer was not passed on as it came: %v %q", resp.Header, body)
	}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		data, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		if strings.Contains(string(data), "SECRETnewkey") || strings.Contains(string(data), base64.StdEncoding.EncodeToString([]byte("\x1b\x2a\x00not-readable "))[:12]) {
			t.Errorf("%s holds the unreadable answer:\n%s", f.Name(), data)
		}
	}
	if d := p.Drift(); len(d) != 0 {
		t.Errorf("drift %+v for answers that did not change", d)
	}
	if got := strings.Join(log.get(), "\n"); !strings.Contains(got, `Content-Encoding "br"`) {
		t.Errorf("log:\n%s", got)
	}
}
