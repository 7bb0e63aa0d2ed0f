package nebula

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests hold the promise that a create is never sent twice, on any
// transport: HTTP/2 stream resets, RoundTrippers that emit no trace events,
// cancellations, refused certificates.

// h2Loopback is a minimal HTTP/2 server on TLS, at the level of frames:
// it answers the connection preface and SETTINGS, and hands every other
// frame (its payload read and dropped) to onFrame, which answers with
// write. client trusts its certificate and speaks HTTP/2.
type h2Loopback struct {
	addr   string
	client *http.Client
}

// h2Frame is one frame received: its type, flags and stream.
type h2Frame struct {
	typ, flags byte
	stream     uint32
}

func newH2Loopback(t *testing.T, onFrame func(f h2Frame, write func(typ, flags byte, stream uint32, payload []byte))) *h2Loopback {
	t.Helper()
	// Borrow httptest's certificate and a client configured to trust it.
	cert := httptest.NewUnstartedServer(http.NotFoundHandler())
	cert.EnableHTTP2 = true
	cert.StartTLS()
	t.Cleanup(cert.Close)
	tr := cert.Client().Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	s := &h2Loopback{client: &http.Client{Transport: tr}}
	t.Cleanup(tr.CloseIdleConnections)

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: cert.TLS.Certificates, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveH2Frames(conn, onFrame)
		}
	}()
	return s
}

const (
	h2FrameData     = 0x0
	h2FrameHeaders  = 0x1
	h2FrameRST      = 0x3
	h2FrameSettings = 0x4
	h2FlagEndStream = 0x1
	h2FlagAck       = 0x1
	h2ProtocolError = 0x1
)

func serveH2Frames(conn net.Conn, onFrame func(f h2Frame, write func(typ, flags byte, stream uint32, payload []byte))) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	preface := make([]byte, len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	if _, err := io.ReadFull(r, preface); err != nil {
		return
	}
	writeFrame := func(typ, flags byte, stream uint32, payload []byte) {
		var h [9]byte
		h[0], h[1], h[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
		h[3], h[4] = typ, flags
		binary.BigEndian.PutUint32(h[5:], stream)
		conn.Write(append(h[:], payload...))
	}
	writeFrame(h2FrameSettings, 0, 0, nil)
	for {
		var h [9]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return
		}
		length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		f := h2Frame{typ: h[3], flags: h[4], stream: binary.BigEndian.Uint32(h[5:]) & 0x7fffffff}
		if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
			return
		}
		if f.typ == h2FrameSettings && f.flags&h2FlagAck == 0 {
			writeFrame(h2FrameSettings, h2FlagAck, 0, nil)
			continue
		}
		onFrame(f, writeFrame)
	}
}

// h2ResetServer reads each request whole and then resets its stream with
// PROTOCOL_ERROR, a reset after which Go's HTTP/2 transport replays any
// request that has GetBody. It counts the requests (HEADERS frames) it
// received.
type h2ResetServer struct {
	*h2Loopback
	requests atomic.Int64
	second   chan struct{} // closed when a second request arrives
	once     sync.Once
}

func newH2ResetServer(t *testing.T) *h2ResetServer {
	t.Helper()
	s := &h2ResetServer{second: make(chan struct{})}
	s.h2Loopback = newH2Loopback(t, func(f h2Frame, write func(typ, flags byte, stream uint32, payload []byte)) {
		if f.typ == h2FrameHeaders && s.requests.Add(1) == 2 {
			s.once.Do(func() { close(s.second) })
		}
		if (f.typ == h2FrameHeaders || f.typ == h2FrameData) && f.flags&h2FlagEndStream != 0 {
			// The whole request arrived: the API may have acted on it.
			write(h2FrameRST, 0, f.stream, binary.BigEndian.AppendUint32(nil, h2ProtocolError))
		}
	})
	return s
}

func TestCreateNotReplayedByHTTP2AfterStreamReset(t *testing.T) {
	t.Parallel()
	s := newH2ResetServer(t)

	// The control: a request with GetBody is replayed by the transport
	// itself (with backoff, for up to a minute), so this server can tell.
	ctx, cancel := context.WithCancel(bg)
	control, _ := http.NewRequestWithContext(ctx, "POST", "https://"+s.addr+"/api/v1/api-keys", strings.NewReader(`{"name":"n"}`))
	go func() { <-s.second; cancel() }()
	if _, err := s.client.Do(control); err == nil {
		t.Fatal("control request succeeded")
	}
	cancel()
	if n := s.requests.Load(); n < 2 {
		t.Fatalf("control: the transport sent the request %d time(s); the test cannot tell a replay", n)
	}
	s.requests.Store(0)

	c, err := NewClient(WithToken(testToken), WithBaseURL("https://"+s.addr+"/api/v1"),
		WithHTTPClient(s.client), WithRetryWait(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	key, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if key != nil || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("key %v, err %v", key, err)
	}
	if n := s.requests.Load(); n != 1 {
		t.Fatalf("create sent %d times", n)
	}
}

// untracedTransport forwards to a real transport with a context of its own,
// so no httptrace hook of the caller ever fires, as with middleware that
// rebuilds requests or another protocol stack.
type untracedTransport struct{ rt http.RoundTripper }

func (u untracedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(req.Context(), cancel)
	resp, err := u.rt.RoundTrip(req.Clone(ctx))
	if err != nil {
		stop()
		cancel()
	}
	return resp, err
}

func TestCreateNotRetriedThroughTransportWithoutTraceEvents(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, hangUp)
	tr := lb.srv.Client().Transport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c := lb.client(t, WithHTTPClient(&http.Client{Transport: untracedTransport{tr}}))
	key, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if key != nil || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("key %v, err %v", key, err)
	}
	if n := lb.count(); n != 1 {
		t.Fatalf("create sent %d times", n)
	}
}

func TestCreateCancelledBeforeSendingIsNotOutcomeUnknown(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, reply(200, docsCreateIntID))
	dialing, stop := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop) })
	tr := lb.srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		close(dialing)
		// A connection that never comes. The transport dials on beyond the
		// request's cancellation, for its pool; the test's end stops it.
		select {
		case <-ctx.Done():
		case <-stop:
		}
		return nil, errors.New("no connection")
	}
	c := lb.client(t, WithHTTPClient(&http.Client{Transport: tr}))
	ctx, cancel := context.WithCancel(bg)
	go func() { <-dialing; cancel() }()
	key, err := c.APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "n"})
	if key != nil || !errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("key %v, err %v", key, err)
	}
	if lb.count() != 0 {
		t.Fatalf("%d requests reached the server", lb.count())
	}
}

func TestCreateCancelledAfterSendingIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	received := make(chan struct{})
	release := make(chan struct{})
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		close(received)
		<-release
	})
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(bg)
	go func() { <-received; cancel() }()
	_, err := lb.client(t).APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "n"})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err %v", err)
	}
}

func TestRefusedCertificateIsNotRetried(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are the point
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// A transport that does not trust httptest's certificate.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	for _, call := range []struct {
		name string
		do   func(*Client) error
	}{
		{"list", func(c *Client) error { _, err := c.APIKeys.List(bg); return err }},
		{"create", func(c *Client) error { _, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"}); return err }},
	} {
		conns.Store(0)
		c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: tr}),
			WithRetryWait(time.Millisecond, 2*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		err = call.do(c)
		if !tlsVerificationFailed(err) || errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("%s: err %v", call.name, err)
		}
		if n := conns.Load(); n != 1 {
			t.Fatalf("%s: %d connections: a refused certificate was retried", call.name, n)
		}
	}
}

func TestNeverLeft(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want bool
	}{
		{&net.DNSError{Err: "no such host", Name: "api.nebula.test"}, true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{&net.OpError{Op: "proxyconnect", Err: errors.New("connection refused")}, true},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, false},
		{&net.OpError{Op: "write", Err: errors.New("broken pipe")}, false},
		{io.ErrUnexpectedEOF, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{&tls.CertificateVerificationError{Err: errors.New("unknown authority")}, true},
	}
	for _, c := range cases {
		if got := neverLeft(c.err); got != c.want {
			t.Errorf("neverLeft(%v) = %v", c.err, got)
		}
	}
}

func TestLoginFailureInsideCallIsRetriedLikeARead(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithLogin("u@example.com", testPassword))
	logins := e.reply("POST", "/login", status(502, "<html><title>Bad Gateway</title></html>"),
		status(503, failedEnvelope("maintenance")), loginAnswer(makeJWT(`{"exp":4102444800}`)))
	lists := e.reply("GET", "/api_keys", ok(docsList))
	if _, err := e.client.APIKeys.List(bg); err != nil {
		t.Fatalf("list: %v", err)
	}
	if logins.count() != 3 || lists.count() != 1 {
		t.Fatalf("%d logins, %d lists", logins.count(), lists.count())
	}

	e = newTestEnv(t, WithLogin("u@example.com", testPassword), WithMaxRetries(1))
	e.reply("POST", "/login", status(502, "bad gateway"))
	lists = e.reply("GET", "/api_keys", ok(docsList))
	_, err := e.client.APIKeys.List(bg)
	if !errors.Is(err, ErrServerError) || errors.Is(err, ErrOutcomeUnknown) || lists.count() != 0 {
		t.Fatalf("err %v, %d lists", err, lists.count())
	}
}

func TestTokenSourceAskedBeforeEveryAttempt(t *testing.T) {
	t.Parallel()
	var asked atomic.Int64
	source := funcTokenSource(func(context.Context) (string, error) {
		return "tok-" + string(rune('a'+asked.Add(1)-1)), nil
	})
	e := newTestEnv(t, WithTokenSource(source))
	rec := e.reply("GET", "/api_keys", status(503, failedEnvelope("busy")), ok(docsList))
	if _, err := e.client.APIKeys.List(bg); err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer tok-a" || reqs[1].Header.Get("Authorization") != "Bearer tok-b" {
		t.Fatalf("attempts sent %v", reqs)
	}
}

func TestTokenSourceAfter401(t *testing.T) {
	t.Parallel()
	t.Run("a new token is replayed once", func(t *testing.T) {
		t.Parallel()
		var asked atomic.Int64
		source := funcTokenSource(func(context.Context) (string, error) {
			if asked.Add(1) == 1 {
				return "tok-old", nil
			}
			return "tok-new", nil
		})
		e := newTestEnv(t, WithTokenSource(source))
		rec := e.reply("POST", "/api-keys", status(401, failedEnvelope("expired")), ok(docsCreateIntID))
		if _, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"}); err != nil {
			t.Fatal(err)
		}
		reqs := rec.all()
		if len(reqs) != 2 || reqs[1].Header.Get("Authorization") != "Bearer tok-new" {
			t.Fatalf("sent %v", reqs)
		}
		if n := asked.Load(); n != 2 {
			t.Fatalf("the source was asked %d times: once per attempt, and once more after the 401", n)
		}
	})
	t.Run("the same token is not", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, WithTokenSource(funcTokenSource(func(context.Context) (string, error) { return "tok-same", nil })))
		rec := e.reply("GET", "/api_keys", status(401, failedEnvelope("revoked")))
		if _, err := e.client.APIKeys.List(bg); !errors.Is(err, ErrUnauthorized) || rec.count() != 1 {
			t.Fatalf("err %v after %d requests", err, rec.count())
		}
	})
	t.Run("a static token is not", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		rec := e.reply("GET", "/api_keys", status(401, failedEnvelope("revoked")))
		if _, err := e.client.APIKeys.List(bg); !errors.Is(err, ErrUnauthorized) || rec.count() != 1 {
			t.Fatalf("err %v after %d requests", err, rec.count())
		}
	})
}

func TestClientsWithoutHTTPClientShareOneTransport(t *testing.T) {
	t.Parallel()
	a, err := NewClient(WithToken(testToken), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewClient(WithToken(testToken), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	ta, tb := a.http.Transport.(attemptTransport).rt, b.http.Transport.(attemptTransport).rt
	if ta != tb {
		t.Fatal("each Client has its own transport")
	}
	tr, ok := ta.(*http.Transport)
	if !ok || tr == http.DefaultTransport || tr.MaxIdleConnsPerHost < 32 || !tr.ForceAttemptHTTP2 {
		t.Fatalf("shared transport %#v", ta)
	}
}

func TestFailedEnvelopeWithStructuredMessage(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{`{"name": ["must be unique"]}`, `["name is required", "description too long"]`} {
		e := newTestEnv(t)
		body := `{"data": null, "message": ` + msg + `, "status": "failed"}`
		rec := e.reply("POST", "/api-keys", status(500, body))
		_, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || errors.Is(err, ErrOutcomeUnknown) || apiErr.Status != "failed" {
			t.Fatalf("%s: err %v", msg, err)
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, []byte(msg))
		if apiErr.Message != compact.String() || rec.count() != 1 {
			t.Fatalf("%s: message %q after %d requests", msg, apiErr.Message, rec.count())
		}
	}
}

func TestNullAndAbsentData(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("GET", "/api_keys", ok(`{"data": null, "message": "none", "status": "success"}`))
	keys, err := e.client.APIKeys.List(bg)
	if err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("null list: %v %v", keys, err)
	}
	e = newTestEnv(t)
	e.reply("GET", "/api_keys", ok(`{"message": "none", "status": "success"}`))
	if _, err := e.client.APIKeys.List(bg); !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("absent list: %v", err)
	}
	for _, body := range []string{
		`{"data": null, "status": "success"}`, `{"status": "success"}`, `{"data": {}, "status": "success"}`,
		`{"data": [], "status": "success"}`, `{"data": "deleted", "status": "success"}`, ``,
	} {
		e := newTestEnv(t)
		e.reply("DELETE", "/api-keys/5", ok(body))
		if err := e.client.APIKeys.Delete(bg, "5"); err != nil {
			t.Errorf("delete answered %q: %v", body, err)
		}
	}
}

func TestListOfAHundredThousandKeys(t *testing.T) {
	t.Parallel()
	var body bytes.Buffer
	body.WriteString(`{"data": [`)
	for i := range 100_000 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"id": `)
		body.WriteString("9" + strconv.Itoa(i))
		body.WriteString(`, "name": "key-number-` + strconv.Itoa(i) + `", "description": "a key of the load test", "partial_key_data": "ak_..."}`)
	}
	body.WriteString(`], "message": "ok", "status": "success"}`)
	if body.Len() < 8<<20 {
		t.Fatalf("body only %d bytes", body.Len())
	}
	lb := newLoopback(t, reply(200, body.String()))
	keys, err := lb.client(t).APIKeys.List(bg)
	if err != nil || len(keys) != 100_000 || keys[99_999].Name != "key-number-99999" {
		t.Fatalf("%d keys, err %v", len(keys), err)
	}
}

func TestCreateNeverFollowsARedirect(t *testing.T) {
	t.Parallel()
	var posts, gets atomic.Int64
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			io.Copy(io.Discard, r.Body)
			http.Redirect(w, r, "/api/v1/elsewhere", http.StatusFound)
			return
		}
		gets.Add(1)
		writeJSON(w, 200, docsCreateIntID) // would pass for the create's answer
	})
	key, err := lb.client(t).APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	var apiErr *APIError
	if key != nil || !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusFound {
		t.Fatalf("key %v, err %v", key, err)
	}
	if posts.Load() != 1 || gets.Load() != 0 {
		t.Fatalf("%d creates, %d redirected reads", posts.Load(), gets.Load())
	}
}

func TestTokenSourceFailingBeforeARetryKeepsTheEarlierError(t *testing.T) {
	t.Parallel()
	vault := errors.New("vault sealed")
	var asked atomic.Int64
	e := newTestEnv(t, WithTokenSource(funcTokenSource(func(context.Context) (string, error) {
		if asked.Add(1) > 1 {
			return "", vault
		}
		return "tok-a", nil
	})))
	rec := e.reply("GET", "/api_keys", status(503, failedEnvelope("busy")))
	_, err := e.client.APIKeys.List(bg)
	if !errors.Is(err, vault) || !errors.Is(err, ErrServerError) || rec.count() != 1 {
		t.Fatalf("err %v after %d requests", err, rec.count())
	}
}
