package nebulatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingTB is a testing.TB whose failures are recorded instead of
// failing the test, so that a test can check what WithStrict reports.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.FailNow()
}

// FailNow ends the goroutine, as testing's does, without failing the test.
func (r *recordingTB) FailNow() { runtime.Goexit() }

func (r *recordingTB) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

func TestStrictReportsWhatTheFakeCouldNotServe(t *testing.T) {
	t.Parallel()
	tb := &recordingTB{TB: t}
	s := New(tb, WithStrict())
	tok := s.Token()

	// Served, even where the answer is an error: no report.
	raw(t, s, "GET", "/api_keys", tok, "", "")
	raw(t, s, "DELETE", "/api-keys/999", tok, "", "")             // a 404 on purpose: unknown ID
	raw(t, s, "POST", "/api-keys", tok, "application/json", `{}`) // 422: parsed, a field missing
	raw(t, s, "GET", "/api_keys", "ak_NotAKeyOfThisServer123", "", "")
	s.Inject(Fault{Path: "/ssh-keys", Status: 503})
	raw(t, s, "GET", "/ssh-keys", tok, "", "") // an injected fault
	v1(t, s, "GET", "/models", tok, "")
	if got := tb.reported(); len(got) != 0 {
		t.Fatalf("strict reported served requests: %q", got)
	}

	raw(t, s, "GET", "/no-such-route", tok, "", "")
	raw(t, s, "PATCH", "/api_keys", tok, "", "")
	raw(t, s, "POST", "/api-keys", tok, "application/json", `{"name":"x",}`)
	v1(t, s, "POST", "/embeddings", tok, `not json`)
	v1(t, s, "GET", "/nowhere", tok, "")
	got := tb.reported()
	want := []string{"GET /api/v1/no-such-route", "PATCH /api/v1/api_keys", "POST /api/v1/api-keys", "POST /v1/embeddings", "GET /v1/nowhere"}
	if len(got) != len(want) {
		t.Fatalf("reports %q, want one for each of %q", got, want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("report %q does not name %s", got[i], w)
		}
	}
}

func TestStrictIsOffByDefault(t *testing.T) {
	t.Parallel()
	tb := &recordingTB{TB: t}
	s := New(tb)
	raw(t, s, "GET", "/no-such-route", s.Token(), "", "")
	if got := tb.reported(); len(got) != 0 {
		t.Errorf("reports without WithStrict: %q", got)
	}
}

func TestStrictNeedsATest(t *testing.T) {
	t.Parallel()
	if s, err := NewServerE(WithStrict()); err == nil || !strings.Contains(err.Error(), "nebulatest.New") {
		if s != nil {
			s.Close()
		}
		t.Errorf("NewServerE(WithStrict()): %v, want an error naming New", err)
	}
}

func TestNewClosesAtCleanup(t *testing.T) {
	t.Parallel()
	var s *Server
	t.Run("inner", func(t *testing.T) {
		s = New(t)
		if code, _ := raw(t, s, "GET", "/api_keys", s.Token(), "", ""); code != 200 {
			t.Fatalf("list: %d", code)
		}
	})
	// The inner test's cleanup closed it: nothing answers any more.
	s.HTTPClient().CloseIdleConnections()
	if _, _, err := send(s, "GET", "/api_keys", s.Token(), "", ""); err == nil {
		t.Error("the server still answers after its test ended")
	}
}

func TestNewFailsTheTestOnABadState(t *testing.T) {
	t.Parallel()
	tb := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() { // FailNow ends this goroutine
		defer close(done)
		New(tb, WithState(strings.NewReader("not a state")))
	}()
	<-done
	if got := tb.reported(); len(got) != 1 || !strings.Contains(got[0], "invalid saved state") {
		t.Errorf("reports %q", got)
	}
}

func TestKeysRouteListsLikeAPIKeys(t *testing.T) {
	t.Parallel()
	s := New(t)
	raw(t, s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"second"}`)
	_, a := raw(t, s, "GET", "/api_keys", s.Token(), "", "")
	code, b := raw(t, s, "GET", "/keys", s.Token(), "", "")
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if code != 200 || !bytes.Equal(ja, jb) {
		t.Errorf("/keys: %d %s, want as /api_keys: %s", code, jb, ja)
	}
	if code, _ := raw(t, s, "GET", "/keys", "", "", ""); code != 401 {
		t.Errorf("/keys without a token: %d", code)
	}
}

func TestRequestLogIsBoundedInBytes(t *testing.T) {
	t.Parallel()
	const bound = 64 << 10
	s := New(t, WithRequestLogBytes(bound), WithRequestLogLimit(0))
	body := `{"name":"` + strings.Repeat("x", 4000) + `"}`
	for range 100 {
		raw(t, s, "POST", "/nowhere", s.Token(), "application/json", body)
	}
	reqs := s.Requests()
	total := 0
	for _, r := range reqs {
		total += len(r.Body)
	}
	if total > bound || len(reqs) < 10 || len(reqs) == 100 {
		t.Errorf("%d requests with %d body bytes kept, want the most recent under %d bytes", len(reqs), total, bound)
	}
	if got := s.log.seq; got != 100 {
		t.Errorf("seq %d", got)
	}
	// One request larger than the bound is kept, alone.
	big := New(t, WithRequestLogBytes(1000))
	raw(t, big, "POST", "/nowhere", big.Token(), "application/json", body)
	raw(t, big, "POST", "/nowhere", big.Token(), "application/json", body)
	if reqs := big.Requests(); len(reqs) != 1 || string(reqs[0].Body) != body {
		t.Errorf("%d requests kept, want the newest only", len(reqs))
	}
}

func TestControlRequestsStreams(t *testing.T) {
	t.Parallel()
	s := New(t, WithControlRoutes())
	for i := range 3 {
		raw(t, s, "POST", "/api-keys", s.Token(), "application/json", fmt.Sprintf(`{"name":"k%d"}`, i))
	}
	resp, err := s.HTTPClient().Get(strings.TrimSuffix(s.URL, BasePath) + "/_fake/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != -1 || resp.Header.Get("Content-Length") != "" || len(resp.TransferEncoding) == 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v: want a chunked stream", resp.ContentLength, resp.TransferEncoding)
	}
	var log struct {
		Data    []loggedRequest
		Message string
		Status  string
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log.Data) != 3 || log.Status != "success" || log.Data[2].Seq != 3 || log.Data[2].Body != `{"name":"k2"}` {
		t.Errorf("log %v: %s", err, b)
	}
}

// Credentials no pattern would recognise: the log must hide them because
// of where they are, not what they look like.
func TestRequestLogRedactsEveryAuthorizationAndPrivateKey(t *testing.T) {
	t.Parallel()
	const secret = "zq9-Mx7vP2wLr4Kt"
	s := New(t, WithControlRoutes())
	auths := []string{secret, "Bearer\t" + secret, "Token " + secret, "Basic " + secret, "  " + secret + " trailing", "bearer  " + secret}
	for _, a := range auths {
		req, _ := http.NewRequest("GET", s.URL+"/api_keys", nil)
		req.Header.Set("Authorization", a)
		req.Header.Set("X-Api-Key", secret)
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	keys := map[string]string{
		"PEM RSA":   "-----BEGIN RSA PRIVATE KEY-----\\nMIIEzq9Mx7vP2wLr4KtPEM\\n-----END RSA PRIVATE KEY-----",
		"OpenSSH":   "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3zq9Mx7vP2wLr4KtOSSH\\n-----END OPENSSH PRIVATE KEY-----\\n",
		"SSH2":      "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\\nComment: \\\"rsa-key-2024\\\"\\nP2/56wzq9Mx7vP2wLr4KtSSH2\\n---- END SSH2 ENCRYPTED PRIVATE KEY ----",
		"PuTTY":     "PuTTY-User-Key-File-3: ssh-ed25519\\nEncryption: none\\nComment: \\\"me\\\"\\nPublic-Lines: 2\\nAAAAC3Nz\\nPrivate-Lines: 1\\nAAAAzq9Mx7vP2wLr4KtPUTTY\\nPrivate-MAC: 0123abcd",
		"cut short": "-----BEGIN PRIVATE KEY-----\\nMIIEzq9Mx7vP2wLr4KtCUT",
	}
	for _, k := range keys {
		raw(t, s, "POST", "/ssh-keys", s.Token(), "application/json", `{"key_name":"k","key_data":"`+k+`"}`)
	}
	// Not JSON: a raw SSH2 key with a quoted comment.
	raw(t, s, "POST", "/ssh-keys", s.Token(), "text/plain", "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: \"x\"\nAAAAzq9Mx7vP2wLr4KtRAW\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n")

	resp, err := s.HTTPClient().Get(strings.TrimSuffix(s.URL, BasePath) + "/_fake/requests")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, leak := range []string{secret, "zq9Mx7vP2wLr4Kt"} {
		if i := bytes.Index(b, []byte(leak)); i >= 0 {
			t.Errorf("GET /_fake/requests shows %q: …%s…", leak, b[max(0, i-200):min(len(b), i+50)])
		}
	}
	var log struct{ Data []loggedRequest }
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	want := []string{"[REDACTED]", "Bearer [REDACTED]", "Token [REDACTED]", "Basic [REDACTED]", "[REDACTED]", "bearer [REDACTED]"}
	for i, w := range want {
		if got := log.Data[i].Headers["Authorization"]; len(got) != 1 || got[0] != w {
			t.Errorf("Authorization %q shown as %q, want %q", auths[i], got, w)
		}
	}
}

func TestResetKeepsTheRestoredSeedToken(t *testing.T) {
	t.Parallel()
	first := New(t)
	var state bytes.Buffer
	if err := first.SaveState(&state); err != nil {
		t.Fatal(err)
	}
	s := New(t, WithState(&state), WithControlRoutes())
	if s.Token() != first.Token() {
		t.Fatal("the restored server has another seed")
	}
	resp, err := s.HTTPClient().Post(strings.TrimSuffix(s.URL, BasePath)+"/_fake/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s.Token() != first.Token() {
		t.Error("reset swapped the restored seed token for another")
	}
	if code, _ := raw(t, s, "GET", "/api_keys", first.Token(), "", ""); code != 200 {
		t.Errorf("the restored seed token after reset: %d", code)
	}
}

// waitForRequest returns once the fake has logged a request to path.
func waitForRequest(t *testing.T, s *Server, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range s.Requests() {
			if r.Path == path {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s never reached the fake", path)
}

// A request cut short by Close was answered 200 with an empty body: the
// SDK took a Delete as done while the key still existed.
func TestCloseNeverAnswersACutShortRequestAsSuccess(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var accesses []Access
	s := NewServer(WithAccessLog(func(a Access) {
		mu.Lock()
		defer mu.Unlock()
		accesses = append(accesses, a)
	}))
	defer s.Close()
	raw(t, s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"doomed"}`)
	s.Inject(Fault{Method: "DELETE", Path: "/api-keys/2", Latency: time.Hour})
	type answer struct {
		code int
		body []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		resp, b, err := send(s, "DELETE", "/api-keys/2", s.Token(), "", "")
		if err != nil {
			done <- answer{err: err}
			return
		}
		done <- answer{code: resp.StatusCode, body: b}
	}()
	waitForRequest(t, s, "/api/v1/api-keys/2")
	s.Close()
	got := <-done
	if got.err == nil && (got.code < 500 || !bytes.Contains(got.body, []byte(`"status":"failed"`))) {
		t.Errorf("the cut-short delete got %d %q, want a 503 failed envelope or a closed connection", got.code, got.body)
	}
	if len(s.Keys()) != 2 {
		t.Errorf("the key was deleted: %v", s.Keys())
	}
	mu.Lock()
	defer mu.Unlock()
	last := accesses[len(accesses)-1]
	if last.Status == 200 || !strings.Contains(last.Note, "not carried out") {
		t.Errorf("access %+v, want it to say the request was not carried out", last)
	}
}

func TestClientLeavingIsNotASuccess(t *testing.T) {
	t.Parallel()
	accesses := make(chan Access, 4)
	s := New(t, WithAccessLog(func(a Access) { accesses <- a }))
	s.Inject(Fault{Path: "/api_keys", Latency: time.Hour})
	// The client leaves once the fake has the request, not after a 50 ms
	// timeout: under load that timeout passed before the request arrived,
	// and then no access was logged at all (the test hung).
	client := &http.Client{Transport: loopbackTransport()}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api_keys", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	answered := make(chan int, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	waitForRequest(t, s, "/api/v1/api_keys")
	cancel()
	if code := <-answered; code != 0 {
		t.Fatalf("answered %d, want the client to have left", code)
	}
	a := <-accesses
	if a.Status != 0 || a.Note != "not carried out: the client left" {
		t.Errorf("access %+v, want no status and a note that the client left", a)
	}
}

// A client that stops reading blocked Close for good.
func TestCloseIsBoundedByTheGracePeriod(t *testing.T) {
	t.Parallel()
	s := NewServer(WithControlRoutes(), WithGrace(100*time.Millisecond))
	defer s.Close()
	body := `{"name":"` + strings.Repeat("x", 1<<20-20) + `"}`
	for range 12 { // more than loopback sockets buffer
		raw(t, s, "POST", "/nowhere", s.Token(), "application/json", body)
	}
	conn, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /_fake/requests HTTP/1.1\r\nHost: x\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n') // then stop reading
	if err != nil || !strings.Contains(status, "200") {
		t.Fatalf("status line %q: %v", status, err)
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits for a client that stopped reading")
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("reading the rest: %v", err)
	}
	if n > 11<<20 {
		t.Errorf("the whole log (%d bytes) was delivered; the test did not block the writer", n)
	}
}

func TestSlowRequestHeadIsDropped(t *testing.T) {
	t.Parallel()
	if readHeaderTimeout <= 0 || readHeaderTimeout > 60*time.Second {
		t.Errorf("readHeaderTimeout %v, want at most 60s", readHeaderTimeout)
	}
	s := New(t, func(s *Server) { s.cfg.headerWait = 50 * time.Millisecond })
	conn, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/api_keys HTTP/1.1\r\nHost: x\r\n") // never ends the head
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the slow head was not dropped (read %q)", b)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\s`, "<a&b>", "\x00\x1f\t\n\r", "\u2028\u2029", "\xff\xfe", "héllo 世界", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestRequestLogRing(t *testing.T) {
	t.Parallel()
	entry := func(i, size int) logEntry {
		r := httptest.NewRequest("GET", "/"+fmt.Sprintf("%03d", i), nil)
		return newLogEntry(r, fmt.Sprintf("%03d", i), make([]byte, size))
	}
	paths := func(l *requestLog) string {
		var out []string
		for _, r := range l.all() {
			out = append(out, r.Path)
		}
		return strings.Join(out, ",")
	}
	l := newRequestLog(3, 0)
	for i := 1; i <= 5; i++ {
		if seq := l.add(entry(i, 0)); seq != i {
			t.Fatalf("seq %d, want %d", seq, i)
		}
	}
	if got := paths(&l); got != "003,004,005" {
		t.Errorf("entry-bounded log %s, want 003,004,005", got)
	}
	big := entry(0, 1000).bytes
	l = newRequestLog(0, 3*big)
	for i := 1; i <= 40; i++ { // past a few doublings of the ring
		l.add(entry(i, 1000))
	}
	if got := paths(&l); got != "038,039,040" || l.bytes != 3*big {
		t.Errorf("byte-bounded log %s (%d bytes), want 038,039,040", got, l.bytes)
	}
	l.add(entry(41, 5000))
	if got := paths(&l); got != "041" || l.bytes != entry(41, 5000).bytes {
		t.Errorf("after an entry over the bound: %s, want it alone", got)
	}
	snap, first := l.snapshot()
	if len(snap) != 1 || first != 41 {
		t.Errorf("snapshot %d entries from %d", len(snap), first)
	}
	l = newRequestLog(0, 0)
	for i := 1; i <= 100; i++ {
		l.add(entry(i, 10))
	}
	if l.len() != 100 || !strings.HasPrefix(paths(&l), "001,002,003,") {
		t.Errorf("unbounded log: %d entries", l.len())
	}
}
