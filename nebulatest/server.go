// Package nebulatest runs an in-memory fake of the Nebula Block Platform API
// on a loopback httptest server, for integration tests of code that uses the
// nebula SDK and for the SDK's examples.
//
// The fake serves the documented routes under /api/v1 (API keys, login, SSH
// keys, the compute catalog, GPU instances, billing and inference) with the
// documented envelope, and a small OpenAI-compatible surface under /v1
// (chat completions, models, embeddings). It checks bearer tokens (its seed
// key, every live key it created and every live login JWT; a deleted key
// gets 401), and can inject faults: error statuses with Retry-After,
// latency, and hang-ups before handling or after committing a create. It
// records every request (the most recent 10 000, and at most
// DefaultRequestLogBytes, by default). A Server is safe for concurrent use.
//
//	srv := nebulatest.New(t) // closed by t.Cleanup
//	client, err := srv.NewClient()
package nebulatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	nebula "github.com/nebula-sdk/nebula-go"
)

// BasePath is the path prefix of the fake API, as on the real one.
const BasePath = "/api/v1"

// DefaultRequestLogLimit is how many requests a Server keeps in its log
// unless WithRequestLogLimit says otherwise.
const DefaultRequestLogLimit = 10000

// DefaultRequestLogBytes bounds the memory of the request log unless
// WithRequestLogBytes says otherwise: the oldest requests are dropped once
// the bodies, paths and headers kept add up to more.
const DefaultRequestLogBytes = 64 << 20

// DefaultGrace is how long Close waits for requests in flight before it
// closes their connections, unless WithGrace says otherwise.
const DefaultGrace = 5 * time.Second

// readHeaderTimeout drops a client that takes longer to send a request
// head: slow clients cannot hold connections for good.
const readHeaderTimeout = 30 * time.Second

// DefaultBootTime is how long a new instance stays "Creating" unless
// WithBootTime says otherwise.
const DefaultBootTime = 50 * time.Millisecond

// Server is a running fake Nebula API. Create it with NewServer (or
// NewServerE) and stop it with Close.
type Server struct {
	// URL is the base URL to give nebula.WithBaseURL, /api/v1 included,
	// e.g. "http://127.0.0.1:41234/api/v1".
	URL string

	srv    *httptest.Server
	mux    *http.ServeMux
	ctx    context.Context // cancelled by Close: ends latencies and body reads
	cancel context.CancelFunc

	cfg config

	closeOnce sync.Once
	connsMu   sync.Mutex
	conns     map[net.Conn]struct{} // open connections, to cut stalled bodies short

	mu        sync.Mutex
	st        *state
	faults    []*Fault
	log       requestLog
	onNewConn func() // test hook: counts connections
	onBody    func() // test hook: a request body is about to be read
	clock     func() time.Time
}

// now is the time instances and SSH keys see; tests set a clock.
func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// config is what the options set; Reset returns the state to it.
type config struct {
	uuidIDs     bool
	seed        string
	jwtLifetime time.Duration
	jwtKey      []byte
	users       map[string]*user // by username
	bootTime    time.Duration
	logLimit    int
	logBytes    int64
	grace       time.Duration
	headerWait  time.Duration // the read-header timeout; tests shorten it
	strict      bool
	tb          testing.TB // where WithStrict reports; set by New
	control     bool
	listener    net.Listener
	stateReader io.Reader
	catalog     catalog
	billing     billing
	models      []Model
	accessLog   func(Access)
}

// Request is one request the Server received, for assertions. Its answer
// carries the X-Request-Id "req-N", N being its place in the sequence of
// requests the Server received, from 1 (entries dropped from a bounded log
// keep their numbers).
type Request struct {
	Method string
	Path   string // as sent, /api/v1 included, without the query
	Query  string // the raw query, without "?"
	Header http.Header
	Body   []byte
	Time   time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithUUIDs makes the Server give API keys UUID string IDs instead of the
// default integers.
func WithUUIDs() Option { return func(s *Server) { s.cfg.uuidIDs = true } }

// WithSeedToken sets the value of the account's initial API key, which
// NewServer otherwise draws at random. It must start with "ak_".
func WithSeedToken(token string) Option { return func(s *Server) { s.cfg.seed = token } }

// WithUser lets username log in with password through POST /login.
func WithUser(username, password string) Option {
	return func(s *Server) {
		s.cfg.users[username] = &user{id: 100 + len(s.cfg.users), name: username, email: username, password: password}
	}
}

// WithJWTLifetime sets how long login JWTs are valid; the default is two
// hours, as on the real API.
func WithJWTLifetime(d time.Duration) Option { return func(s *Server) { s.cfg.jwtLifetime = d } }

// WithListener makes the Server serve on l (for example a fixed address)
// instead of a fresh loopback listener. Close closes l. If NewServerE fails,
// l is left open and the caller still owns it.
func WithListener(l net.Listener) Option { return func(s *Server) { s.cfg.listener = l } }

// WithControlRoutes also serves the control routes under /_fake/ (never
// under /api/v1), for harnesses that are not written in Go:
//
//	POST   /_fake/faults    inject a Fault given as JSON (or a JSON array of them)
//	GET    /_fake/faults    the faults not used up yet
//	DELETE /_fake/faults    drop every fault
//	GET    /_fake/requests  the request log, streamed, credentials redacted
//	POST   /_fake/reset     Reset
//
// They need no token, are not logged and take no faults: serve them on
// loopback only.
func WithControlRoutes() Option { return func(s *Server) { s.cfg.control = true } }

// WithBootTime sets how long a new instance stays "Creating" before it is
// "Running". Stop, Start and Reboot take effect at once (the fake has no
// other transitional states). The default is DefaultBootTime; 0 makes a
// new instance "Running" at once.
func WithBootTime(d time.Duration) Option { return func(s *Server) { s.cfg.bootTime = max(d, 0) } }

// WithClock sets the time the fake's instances and SSH keys see: their
// creation times, and when a new instance is done booting (WithBootTime).
// A test that must see an instance "Creating" and then "Running" moves its
// clock past the boot time when it has seen "Creating", instead of hoping
// that a short boot time outlasts its first look. nil is time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithRequestLogLimit bounds the request log to the n most recent requests
// (older ones are dropped), so that a long-running fake keeps constant
// memory. The default is DefaultRequestLogLimit; n <= 0 keeps every request.
func WithRequestLogLimit(n int) Option { return func(s *Server) { s.cfg.logLimit = n } }

// WithRequestLogBytes bounds the request log's memory to about n bytes
// (bodies, paths, queries and headers): the oldest requests are dropped
// first, and the newest one is always kept. The default is
// DefaultRequestLogBytes; n <= 0 removes the byte bound (the entry bound of
// WithRequestLogLimit still applies).
func WithRequestLogBytes(n int64) Option { return func(s *Server) { s.cfg.logBytes = n } }

// WithGrace sets how long Close waits for requests in flight before it
// closes every connection (a client that stopped reading included). The
// default is DefaultGrace.
func WithGrace(d time.Duration) Option { return func(s *Server) { s.cfg.grace = max(d, 0) } }

// WithStrict makes a Server started by New fail its test (through
// testing.TB.Errorf, naming the method and path) on every request the fake
// could not serve: a route it does not have, or a body it could not parse.
// A 404 it serves on purpose (an unknown ID) is no failure, nor is an
// injected fault. NewServer and NewServerE refuse it: they have no test to
// report to.
func WithStrict() Option { return func(s *Server) { s.cfg.strict = true } }

// New starts a Server for the test t and closes it when the test ends
// (t.Cleanup). With WithStrict, requests the fake could not serve fail t. A
// Server that cannot start (an invalid WithState) fails t at once.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := newServer(t, opts)
	if err != nil {
		t.Fatalf("nebulatest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a fake API on a loopback address. The account starts with
// one API key, the seed key (ID 1, name "default"), whose value Token
// returns. NewServer panics where NewServerE would return an error (only a
// state given by WithState can be invalid), as httptest.NewServer does.
func NewServer(opts ...Option) *Server {
	s, err := NewServerE(opts...)
	if err != nil {
		panic("nebulatest: " + err.Error())
	}
	return s
}

// NewServerE is NewServer returning an error instead of panicking: a state
// given by WithState that cannot be read or is not a valid saved state.
// Nothing is served when it fails.
func NewServerE(opts ...Option) (*Server, error) { return newServer(nil, opts) }

func newServer(tb testing.TB, opts []Option) (*Server, error) {
	s := &Server{cfg: config{
		logBytes:    DefaultRequestLogBytes,
		grace:       DefaultGrace,
		headerWait:  readHeaderTimeout,
		jwtLifetime: 2 * time.Hour,
		jwtKey:      []byte(randomToken(32)),
		users:       map[string]*user{},
		bootTime:    DefaultBootTime,
		logLimit:    DefaultRequestLogLimit,
		catalog:     defaultCatalog(),
		billing:     defaultBilling(),
		models:      defaultModels(),
	}}
	for _, opt := range opts {
		opt(s)
	}
	if s.cfg.strict && tb == nil {
		return nil, errors.New("WithStrict needs a test to report to: start the server with nebulatest.New(t, ...)")
	}
	s.cfg.tb = tb
	if s.cfg.seed == "" {
		s.cfg.seed = newKeyValue()
	}
	s.st = s.initialState()
	if s.cfg.stateReader != nil {
		st, err := s.loadState(s.cfg.stateReader)
		if err != nil {
			return nil, err
		}
		s.st = st
		// Reset keeps the seed token the restarted server hands out.
		s.cfg.seed = st.seed
	}
	s.log = newRequestLog(s.cfg.logLimit, s.cfg.logBytes)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = http.NewServeMux()
	s.routes()

	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Config.ReadHeaderTimeout = s.cfg.headerWait
	// A request's head and body must arrive within ReadTimeout, which
	// net/http sets on the connection per request, at no cost to us.
	s.srv.Config.ReadTimeout = s.cfg.headerWait + bodyTimeout
	s.srv.Config.IdleTimeout = 2 * time.Minute
	s.conns = map[net.Conn]struct{}{}
	s.srv.Config.ConnState = func(c net.Conn, cs http.ConnState) {
		switch cs {
		case http.StateNew:
			s.connsMu.Lock()
			s.conns[c] = struct{}{}
			s.connsMu.Unlock()
			if s.onNewConn != nil {
				s.onNewConn()
			}
		case http.StateClosed, http.StateHijacked:
			s.connsMu.Lock()
			delete(s.conns, c)
			s.connsMu.Unlock()
		}
	}
	if s.cfg.listener != nil {
		s.srv.Listener.Close()
		s.srv.Listener = s.cfg.listener
	}
	s.srv.Start()
	// httptest's own client keeps two idle connections per host: parallel
	// tests would dial a new connection for nearly every request.
	s.srv.Client().Transport = loopbackTransport()
	s.URL = s.srv.URL + BasePath
	return s, nil
}

func loopbackTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Close stops the Server. Injected latencies and stalled request bodies end
// at once, and those requests are not carried out: they get a 503 failed
// envelope (or their connection is closed), never a success. Close waits
// for the other requests in flight for at most the grace period
// (WithGrace), then closes every connection, and returns once every
// handler has. Calling it again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.grace)
		defer cancel()
		if err := s.srv.Config.Shutdown(ctx); err != nil {
			s.srv.CloseClientConnections()
		}
		s.srv.Close()
	})
}

// Reset puts the Server back in its initial state: the seed key only (with
// the same value), the catalog, balance, invoices and models the options
// set, no SSH keys or instances, no faults, no live JWTs and an empty
// request log. Requests in flight finish against the old or the new state.
func (s *Server) Reset() {
	st := s.initialState()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	s.faults = nil
	s.log = newRequestLog(s.cfg.logLimit, s.cfg.logBytes)
}

// Token returns the seed API key's value: a live credential until the seed
// key is deleted.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.seed
}

// HTTPClient returns an *http.Client for the Server's loopback address. Its
// transport keeps up to 64 idle connections, so that parallel tests reuse
// connections; Close closes them.
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// NewClient returns a nebula.Client for this Server: its URL and HTTP
// client, the seed token, and millisecond retry waits and instance polling
// (nebula.WithPolling) so that injected faults and instance lifecycles do
// not slow tests down. opts come after these and override them
// (e.g. nebula.WithLogin instead of the seed token).
func (s *Server) NewClient(opts ...nebula.Option) (*nebula.Client, error) {
	base := []nebula.Option{
		nebula.WithBaseURL(s.URL),
		nebula.WithHTTPClient(s.HTTPClient()),
		nebula.WithToken(s.Token()),
		nebula.WithRetryWait(time.Millisecond, 10*time.Millisecond),
		nebula.WithPolling(time.Millisecond, 20*time.Millisecond),
	}
	return nebula.NewClient(append(base, opts...)...)
}

// Requests returns a deep copy of the request log, oldest first: editing it
// does not change the log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.all()
}

// Created returns how many API keys the Server has created, including any
// whose answer never reached the client.
func (s *Server) Created() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.created
}

// RevokeJWTs makes every login JWT issued so far invalid, as an expiry
// would.
func (s *Server) RevokeJWTs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.st.jwts)
}

// requestLog is a ring of the most recent requests, bounded in entries
// and in bytes. The ring grows by doubling up to the entry bound and is
// never copied again: appending to a slice of 10 000 entries and
// compacting it cost a third of a request's handling.
type requestLog struct {
	limit    int   // <= 0: no entry bound
	maxBytes int64 // <= 0: no byte bound
	ring     []logEntry
	head     int   // the oldest entry
	n        int   // entries kept
	bytes    int64 // their size
	seq      int   // requests ever logged
}

func newRequestLog(limit int, maxBytes int64) requestLog {
	return requestLog{limit: limit, maxBytes: maxBytes}
}

// logEntry is a Request as the log keeps it: its text (method, path,
// query and every header) as one string, and the time as a number. A
// long-running fake keeps thousands of entries, and every garbage
// collection scans them: two pointers per entry instead of a dozen made
// the collector's share of a request small again.
type logEntry struct {
	text  string // method "\n" path "\n" query "\n" then "Name:value\n" per header value
	body  []byte
	nanos int64 // the time received, in Unix nanoseconds
	bytes int64 // what the entry holds, for the byte bound
}

// entryOverhead is about what an entry costs beside its text and body.
const entryOverhead = 64

func newLogEntry(r *http.Request, path string, body []byte) logEntry {
	n := len(r.Method) + len(path) + len(r.URL.RawQuery) + 3
	for name, vs := range r.Header {
		for _, v := range vs {
			n += len(name) + len(v) + 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(r.URL.RawQuery)
	b.WriteByte('\n')
	for name, vs := range r.Header {
		for _, v := range vs {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	e := logEntry{text: b.String(), body: body, nanos: time.Now().UnixNano()}
	e.bytes = int64(entryOverhead + len(e.text) + cap(e.body))
	return e
}

// parts splits the entry's text. Header values hold no "\n" (net/http
// refuses them) and names no ":".
func (e *logEntry) parts() (method, path, query, headers string) {
	method, rest, _ := strings.Cut(e.text, "\n")
	path, rest, _ = strings.Cut(rest, "\n")
	query, headers, _ = strings.Cut(rest, "\n")
	return method, path, query, headers
}

// eachHeader calls f with every header value, in the order kept.
func eachHeader(headers string, f func(name, value string)) {
	for headers != "" {
		var line string
		line, headers, _ = strings.Cut(headers, "\n")
		name, value, _ := strings.Cut(line, ":")
		f(name, value)
	}
}

func (e *logEntry) time() time.Time { return time.Unix(0, e.nanos) }

// request returns a fresh Request, so that a caller editing it cannot
// change the log.
func (e logEntry) request() Request {
	method, path, query, headers := e.parts()
	h := make(http.Header)
	eachHeader(headers, func(name, value string) { h[name] = append(h[name], value) })
	r := Request{Method: method, Path: path, Query: query, Header: h, Time: e.time()}
	if e.body != nil {
		r.Body = append([]byte(nil), e.body...)
	}
	return r
}

// add logs e, drops the oldest entries beyond the bounds (never e itself),
// and returns e's sequence number.
func (l *requestLog) add(e logEntry) int {
	l.seq++
	if l.limit > 0 && l.n >= l.limit {
		l.pop()
	}
	if l.n == len(l.ring) {
		size := max(16, 2*len(l.ring))
		if l.limit > 0 {
			size = min(size, l.limit)
		}
		ring := make([]logEntry, size)
		for i := range l.n {
			ring[i] = l.at(i)
		}
		l.ring, l.head = ring, 0
	}
	l.ring[(l.head+l.n)%len(l.ring)] = e
	l.n++
	l.bytes += e.bytes
	for l.n > 1 && l.maxBytes > 0 && l.bytes > l.maxBytes {
		l.pop()
	}
	return l.seq
}

// at returns the i-th oldest entry.
func (l *requestLog) at(i int) logEntry { return l.ring[(l.head+i)%len(l.ring)] }

// pop drops the oldest entry.
func (l *requestLog) pop() {
	l.bytes -= l.ring[l.head].bytes
	l.ring[l.head] = logEntry{} // let the body go
	l.head = (l.head + 1) % len(l.ring)
	l.n--
}

func (l *requestLog) len() int { return l.n }

// snapshot returns the entries kept, oldest first, and the sequence number
// of the first. The entries share their bodies with the log, which never
// changes a body it holds.
func (l *requestLog) snapshot() ([]logEntry, int) {
	out := make([]logEntry, l.n)
	for i := range out {
		out[i] = l.at(i)
	}
	return out, l.seq - len(out) + 1
}

func (l *requestLog) all() []Request {
	out := make([]Request, 0, l.n)
	for i := range l.n {
		out = append(out, l.at(i).request())
	}
	return out
}

// HangUp says whether and when a Fault drops the connection.
type HangUp int

const (
	// NoHangUp answers normally (with the Fault's status, if any).
	NoHangUp HangUp = iota
	// HangUpBefore closes the connection before handling the request:
	// nothing is done.
	HangUpBefore
	// HangUpAfter handles the request (a create is committed) and then
	// closes the connection without answering: the ambiguous case.
	HangUpAfter
)

// String returns "none", "before" or "after", the names the JSON form uses.
func (h HangUp) String() string {
	switch h {
	case NoHangUp:
		return "none"
	case HangUpBefore:
		return "before"
	case HangUpAfter:
		return "after"
	}
	return "HangUp(" + strconv.Itoa(int(h)) + ")"
}

// MarshalText encodes h as "none", "before" or "after".
func (h HangUp) MarshalText() ([]byte, error) {
	if h < NoHangUp || h > HangUpAfter {
		return nil, fmt.Errorf("invalid hang-up %d", int(h))
	}
	return []byte(h.String()), nil
}

// UnmarshalText reads "none" (or ""), "before" or "after", in any case; it
// returns an error for anything else.
func (h *HangUp) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "", "none":
		*h = NoHangUp
	case "before":
		*h = HangUpBefore
	case "after":
		*h = HangUpAfter
	default:
		return fmt.Errorf(`hang_up must be "none", "before" or "after", not %q`, b)
	}
	return nil
}

// Fault is a scripted failure. It applies to requests that match Method and
// Path, lets the first Skip of them through, then affects the next Times.
//
// Its JSON form (for POST /_fake/faults) uses the tags below; latency is a
// Go duration string ("150ms"), hang_up is "none", "before" or "after", and
// retry_after may be a string or a number.
type Fault struct {
	Method string `json:"method,omitempty"` // "" matches any method
	// Path is relative to /api/v1; a trailing "/" matches every path below
	// it ("/api-keys/"). "" matches any path. Paths outside /api/v1 (the
	// chat completion route /v1/chat/completions) are matched in full. A
	// path given with /api/v1 in front ("/api/v1/api_keys", as a request
	// log shows it) is taken as the same relative path.
	Path  string `json:"path,omitempty"`
	Skip  int    `json:"skip,omitempty"`  // matching requests to let through first
	Times int    `json:"times,omitempty"` // matching requests to affect; 0 means 1, -1 means all

	Latency    time.Duration `json:"latency,omitempty"`     // added before handling; Close cuts it short
	Status     int           `json:"status,omitempty"`      // answer with this status (and Body, or a failed envelope)
	RetryAfter string        `json:"retry_after,omitempty"` // sent as Retry-After with Status
	Body       string        `json:"body,omitempty"`        // raw body for Status; default: a failed envelope
	HangUp     HangUp        `json:"hang_up,omitempty"`
}

// faultJSON is Fault's JSON form.
type faultJSON struct {
	Method     string          `json:"method,omitempty"`
	Path       string          `json:"path,omitempty"`
	Skip       int             `json:"skip,omitempty"`
	Times      int             `json:"times,omitempty"`
	Latency    string          `json:"latency,omitempty"`
	Status     int             `json:"status,omitempty"`
	RetryAfter json.RawMessage `json:"retry_after,omitempty"`
	Body       string          `json:"body,omitempty"`
	HangUp     HangUp          `json:"hang_up,omitempty"`
}

// MarshalJSON encodes f in the form UnmarshalJSON reads.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Method: f.Method, Path: f.Path, Skip: f.Skip, Times: f.Times, Status: f.Status, Body: f.Body, HangUp: f.HangUp}
	if f.Latency != 0 {
		j.Latency = f.Latency.String()
	}
	if f.RetryAfter != "" {
		j.RetryAfter, _ = json.Marshal(f.RetryAfter)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a fault and checks it: unknown fields, a latency that
// is not a duration string, an impossible status or count, or a fault that
// does nothing are errors that say what is wrong.
func (f *Fault) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var j faultJSON
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("invalid fault: %w", err)
	}
	out := Fault{Method: strings.ToUpper(j.Method), Path: j.Path, Skip: j.Skip, Times: j.Times, Status: j.Status, Body: j.Body, HangUp: j.HangUp}
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil || d < 0 {
			return fmt.Errorf("invalid fault: latency must be a duration such as \"150ms\", not %q", j.Latency)
		}
		out.Latency = d
	}
	if len(j.RetryAfter) > 0 && string(j.RetryAfter) != "null" {
		var str string
		var n json.Number
		switch {
		case json.Unmarshal(j.RetryAfter, &str) == nil:
			out.RetryAfter = str
		case json.Unmarshal(j.RetryAfter, &n) == nil:
			out.RetryAfter = n.String()
		default:
			return errors.New("invalid fault: retry_after must be a string or a number")
		}
	}
	if err := out.validate(); err != nil {
		return err
	}
	*f = out
	return nil
}

// validate reports what makes f unusable.
func (f Fault) validate() error {
	switch {
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return fmt.Errorf("invalid fault: status %d is not between 200 and 599", f.Status)
	case f.Skip < 0:
		return errors.New("invalid fault: skip must not be negative")
	case f.Times < -1:
		return errors.New("invalid fault: times must be -1 (always), 0 (once) or more")
	case f.Latency < 0:
		return errors.New("invalid fault: latency must not be negative")
	case f.HangUp < NoHangUp || f.HangUp > HangUpAfter:
		return errors.New("invalid fault: unknown hang_up")
	case f.Path != "" && !strings.HasPrefix(f.Path, "/"):
		return fmt.Errorf("invalid fault: path %q must start with \"/\" (relative to /api/v1)", f.Path)
	case f.Status == 0 && f.Latency == 0 && f.HangUp == NoHangUp:
		return errors.New("invalid fault: it does nothing (give status, latency or hang_up)")
	case f.Status != 0 && f.HangUp != NoHangUp:
		return errors.New("invalid fault: status and hang_up exclude each other")
	}
	return nil
}

// Inject adds a fault. Faults are consulted in the order injected; the first
// one that applies to a request is used up by it.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	// It would otherwise match only /api/v1/api/v1/..., never a request.
	if rel, ok := strings.CutPrefix(f.Path, BasePath); ok && strings.HasPrefix(rel, "/") {
		f.Path = rel
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// takeFault returns a copy of the fault that applies to a request, if any,
// and counts it used. Used-up faults are dropped.
func (s *Server) takeFault(method, path string) (Fault, bool) {
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != method) || !pathMatches(f.Path, path) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		if f.Times > 0 {
			f.Times--
		}
		if f.Times == 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return *f, true
	}
	return Fault{}, false
}

func pathMatches(pattern, path string) bool {
	if pattern == "" {
		return true
	}
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(path, pattern)
	}
	return path == pattern
}

const (
	// maxRequestBody bounds what the fake reads of a request.
	maxRequestBody = 1 << 20
	// bodyTimeout bounds how long a request body may take to arrive.
	bodyTimeout = 10 * time.Second
)

var errBodyTooLarge = errors.New("request body too large")

// stop ends what the Server is waiting for: injected latencies (through
// s.ctx) and request bodies still arriving (a read deadline in the past on
// every connection; their handlers answer 503). Answers being written go
// on.
func (s *Server) stop() {
	s.cancel()
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for c := range s.conns {
		_ = c.SetReadDeadline(time.Now())
	}
}

// readBody reads r's body, giving up when it is too large, when the request
// takes longer than the server's ReadTimeout (head and body), or at once
// when the Server closes: a client that stalls mid-body must not hold Close
// up.
func (s *Server) readBody(_ http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if s.onBody != nil {
		s.onBody()
	}
	// The time limit is the server's ReadTimeout; stop cuts reads short.
	if r.ContentLength > maxRequestBody {
		return nil, errBodyTooLarge
	}
	if r.ContentLength >= 0 {
		// Exactly the announced size: the log keeps the body, and
		// io.ReadAll's buffer would be ten times larger than most bodies.
		body := make([]byte, r.ContentLength)
		n, err := io.ReadFull(r.Body, body)
		return body[:n], err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return body, err
	}
	if len(body) > maxRequestBody {
		return nil, errBodyTooLarge
	}
	return bytes.Clone(body), nil // right-sized, for the log
}

// call is one API request being handled.
type call struct {
	r    *http.Request
	body []byte
	// requestID backs the X-Request-Id header's value slice, which would
	// otherwise be an allocation of its own.
	requestID [1]string
}

// requestID is the X-Request-Id of the request numbered seq, made in one
// allocation.
func requestID(seq int) string {
	var b [24]byte
	return string(strconv.AppendInt(append(b[:0], "req-"...), int64(seq), 10))
}

// reply is the answer to a call: by default the envelope
// {"data", "message", "status"} ("success" below 300, else "failed").
type reply struct {
	status  int
	data    any
	noData  bool           // the envelope has no "data" (documented so)
	message string         //
	extra   map[string]any // top-level fields beside "data"

	contentType string // with raw: an answer that is not an envelope
	raw         []byte
	stream      func(http.ResponseWriter) // writes the whole answer itself

	// unserved marks a request the fake could not serve (no such route, a
	// body it could not parse), which WithStrict reports.
	unserved bool
}

func ok(data any, message string) reply {
	return reply{status: http.StatusOK, data: data, message: message}
}

func fail(status int, message string) reply { return reply{status: status, message: message} }

// handler is an API route's logic. It runs without s.mu held.
type handler func(*call) reply

// routeKind says what a route needs and how it answers errors.
type routeKind int

const (
	public routeKind = iota // no token
	authed                  // a token, errors in the envelope
	openAI                  // a token, errors in OpenAI's shape
)

// handle registers an API route that needs a token.
func (s *Server) handle(pattern string, h handler) { s.mux.Handle(pattern, s.api(h, authed)) }

// handlePublic registers an API route that needs no token.
func (s *Server) handlePublic(pattern string, h handler) { s.mux.Handle(pattern, s.api(h, public)) }

// handleOpenAI registers a route of the OpenAI-compatible surface.
func (s *Server) handleOpenAI(pattern string, h handler) { s.mux.Handle(pattern, s.api(h, openAI)) }

// serveHTTP routes a request. Unmatched paths get a failed envelope.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.accessLog != nil {
		s.logAccess(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// allowedMethods lists the other methods a route serves at r's path.
func (s *Server) allowedMethods(r *http.Request, catchAll string) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(context.Background())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != catchAll && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// notFound answers what no route matches: 405 where another method would
// match, else 404, with a hint for the docs' examples that repeat /api/v1.
func (s *Server) notFound(c *call) reply {
	var rep reply
	switch allowed := s.allowedMethods(c.r, "/"); {
	case len(allowed) > 0:
		rep = fail(http.StatusMethodNotAllowed, "Method Not Allowed: use "+strings.Join(allowed, " or "))
	case strings.HasPrefix(c.r.URL.Path, BasePath+BasePath+"/"):
		rep = fail(http.StatusNotFound, "Not Found: the path repeats /api/v1 (the API URL already ends in /api/v1)")
	default:
		rep = fail(http.StatusNotFound, "Not Found")
	}
	rep.unserved = true
	return rep
}

// notCarriedOut answers a request the Server gave up on as it shut down.
func notCarriedOut(w http.ResponseWriter) {
	setNote(w, "not carried out: the server is shutting down")
	w.Header().Set("Connection", "close")
	writeReply(w, fail(http.StatusServiceUnavailable, "The fake API is shutting down: the request was not carried out"))
}

// clientLeft drops a request whose client went away before it was carried
// out: nothing was done, and nothing is answered.
func clientLeft(w http.ResponseWriter) {
	setNote(w, "not carried out: the client left")
	panic(http.ErrAbortHandler)
}

// api wraps a route: it reads the body, logs the request, applies any
// fault, checks the token unless the route is public, runs h and writes
// its reply.
func (s *Server) api(h handler, kind routeKind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, bodyErr := s.readBody(w, r)
		path := r.URL.EscapedPath()
		faultPath := path
		if rel, found := strings.CutPrefix(path, BasePath); found && (rel == "" || rel[0] == '/') {
			faultPath = rel
		}

		c := &call{r: r, body: body}
		entry := newLogEntry(r, path, body)
		token, hasToken := bearer(r)
		s.mu.Lock()
		seq := s.log.add(entry)
		fault, faulty := s.takeFault(r.Method, faultPath)
		// Checked now, under the lock the log takes anyway.
		authorized := hasToken && s.validToken(token)
		s.mu.Unlock()
		c.requestID[0] = requestID(seq)
		w.Header()["X-Request-Id"] = c.requestID[:]

		if faulty && fault.Latency > 0 {
			t := time.NewTimer(fault.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				if s.ctx.Err() != nil {
					// Closing cuts reads short, which ends the request's
					// context too: say why.
					notCarriedOut(w)
					return
				}
				clientLeft(w)
			case <-s.ctx.Done():
				t.Stop()
				notCarriedOut(w)
				return
			}
		}
		if faulty && fault.HangUp == HangUpBefore {
			hangUp(w)
			return
		}
		if faulty && fault.Status != 0 {
			if fault.RetryAfter != "" {
				w.Header().Set("Retry-After", fault.RetryAfter)
			}
			if fault.Body != "" {
				w.WriteHeader(fault.Status)
				io.WriteString(w, fault.Body)
				return
			}
			writeReply(w, fail(fault.Status, "injected fault: "+http.StatusText(fault.Status)))
			return
		}
		if bodyErr != nil && s.ctx.Err() != nil {
			notCarriedOut(w)
			return
		}

		var rep reply
		switch {
		case errors.Is(bodyErr, errBodyTooLarge) && kind == openAI:
			rep = openAIError(http.StatusRequestEntityTooLarge, "Request body too large", "invalid_request_error", "", "")
		case errors.Is(bodyErr, errBodyTooLarge):
			rep = fail(http.StatusRequestEntityTooLarge, "Request body too large")
		case bodyErr != nil && kind == openAI:
			rep = openAIError(http.StatusBadRequest, "Could not read the request body", "invalid_request_error", "", "")
		case bodyErr != nil:
			rep = fail(http.StatusBadRequest, "Could not read the request body")
		case kind == openAI && r.Header.Get("Authorization") == "":
			rep = openAIError(http.StatusUnauthorized, "You didn't provide an API key: send the header Authorization: Bearer <API key>", "invalid_request_error", "", "missing_api_key")
		case kind == openAI && !authorized:
			rep = openAIError(http.StatusUnauthorized, "Incorrect API key provided", "invalid_request_error", "", "invalid_api_key")
		case kind == authed && r.Header.Get("Authorization") == "":
			rep = fail(http.StatusUnauthorized, "Not authenticated: send the header Authorization: Bearer <API key or JWT>")
		case kind == authed && !authorized:
			rep = fail(http.StatusUnauthorized, "Invalid or expired token")
		default:
			rep = h(c)
		}
		if rep.unserved && s.cfg.strict {
			s.cfg.tb.Errorf("nebulatest: the fake could not serve %s %s: %d %s", r.Method, path, rep.status, rep.message)
		}
		if faulty && fault.HangUp == HangUpAfter {
			hangUp(w)
			return
		}
		writeReply(w, rep)
	})
}

// hangUp drops the connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// net/http's own way to abort a response: it closes the connection
	// (or resets the HTTP/2 stream) and logs nothing.
	panic(http.ErrAbortHandler)
}

func writeReply(w http.ResponseWriter, rep reply) {
	switch {
	case rep.stream != nil:
		rep.stream(w)
		return
	case rep.raw != nil:
		h := w.Header()
		if rep.contentType == "application/json" {
			h["Content-Type"] = jsonContentType
		} else {
			h.Set("Content-Type", rep.contentType)
		}
		setContentLength(h, len(rep.raw))
		w.WriteHeader(rep.status)
		w.Write(rep.raw)
		return
	}
	if len(rep.extra) == 0 {
		// Structs encode faster than maps (no key sorting): this is every
		// answer but the instance lists.
		status := "success"
		if rep.status >= 300 {
			status = "failed"
			rep.data, rep.noData = nil, false
		}
		if rep.noData {
			writeJSON(w, rep.status, envelopeNoData{Message: rep.message, Status: status})
			return
		}
		writeJSON(w, rep.status, envelopeJSON{Data: rep.data, Message: rep.message, Status: status})
		return
	}
	env := make(map[string]any, 3+len(rep.extra))
	for k, v := range rep.extra {
		env[k] = v
	}
	env["message"] = rep.message
	if rep.status >= 300 {
		env["status"] = "failed"
		env["data"] = nil
	} else {
		env["status"] = "success"
		if !rep.noData {
			env["data"] = rep.data
		}
	}
	writeJSON(w, rep.status, env)
}

// envelopeJSON and envelopeNoData are the API's envelope, with and without
// data.
type envelopeJSON struct {
	Data    any    `json:"data"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

type envelopeNoData struct {
	Message string `json:"message"`
	Status  string `json:"status"`
}

// jsonContentType is shared by every answer's header: net/http only reads
// it. Header.Set would allocate a slice per answer.
var jsonContentType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"data":null,"message":"nebulatest: cannot encode the answer","status":"failed"}`)
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	setContentLength(h, len(b)+1)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// netHTTPBuffer is how much of an answer net/http keeps before it sends the
// head (its bufferBeforeChunkingSize): an answer no longer than that,
// written by a handler that then returns, gets its Content-Length from
// net/http, which takes no allocation and no header map entry of ours.
const netHTTPBuffer = 2048

// setContentLength sets Content-Length for an answer of n bytes that
// net/http would otherwise send chunked.
func setContentLength(h http.Header, n int) {
	if n > netHTTPBuffer {
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
}

// bearer returns the token of an "Authorization: Bearer ..." header; the
// scheme is case-insensitive (RFC 9110).
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	token := strings.TrimSpace(h[7:])
	return token, token != ""
}

// validToken says whether token is a live API key or login JWT. s.mu must
// be held.
func (s *Server) validToken(token string) bool {
	if exp, ok := s.st.jwts[token]; ok {
		return time.Now().Before(exp)
	}
	_, ok := s.st.keysByValue[token]
	return ok
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("nebulatest: crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("nebulatest: crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// routes registers every route. Go's ServeMux matches method and path; what
// it does not match gets notFound's failed envelope.
func (s *Server) routes() {
	s.handlePublic("POST "+BasePath+"/login", s.login)
	s.handle("POST "+BasePath+"/api-keys", s.createKey)
	s.handle("GET "+BasePath+"/api_keys", s.listKeys)
	// Nebula's own MCP server lists keys here ("to include the team keys");
	// its live shape is unverified, so it answers as /api_keys does.
	s.handle("GET "+BasePath+"/keys", s.listKeys)
	s.handle("DELETE "+BasePath+"/api-keys/{id}", s.deleteKey)

	s.handle("POST "+BasePath+"/ssh-keys", s.createSSHKey)
	s.handle("GET "+BasePath+"/ssh-keys", s.listSSHKeys)
	s.handle("PUT "+BasePath+"/ssh-keys/{id}", s.renameSSHKey)
	s.handle("DELETE "+BasePath+"/ssh-keys/{id}", s.deleteSSHKey)

	s.handle("GET "+BasePath+"/computing/products", s.listProducts)
	s.handle("GET "+BasePath+"/computing/images", s.listImages)
	s.handle("POST "+BasePath+"/computing/instance", s.createInstance)
	s.handle("GET "+BasePath+"/computing/instances", s.listInstances)
	s.handle("GET "+BasePath+"/computing/deleted-instances", s.listDeletedInstances)
	s.handle("GET "+BasePath+"/computing/instance/{id}", s.getInstance)
	s.handle("GET "+BasePath+"/computing/instance/{id}/{action}", s.instanceAction)
	s.handle("DELETE "+BasePath+"/computing/instance/{id}", s.deleteInstance)

	s.handle("GET "+BasePath+"/users/credits", s.credits)
	s.handle("GET "+BasePath+"/users/credits/history", s.creditHistory)
	s.handle("GET "+BasePath+"/users/invoices", s.listInvoices)
	s.handle("GET "+BasePath+"/users/invoice-download/{id}", s.downloadInvoice)

	s.handle("GET "+BasePath+"/serverless/models", s.listModels)
	s.handle("POST "+BasePath+"/images/generation", s.generateImage)
	s.handleOpenAI("POST /v1/chat/completions", s.chatCompletions)
	s.handleOpenAI("GET /v1/models", s.openAIModels)
	s.handleOpenAI("GET /v1/models/{id...}", s.retrieveOpenAIModel)
	s.handleOpenAI("POST /v1/embeddings", s.embeddings)
	s.handlePublic("/v1/", s.openAINotFound)

	s.handlePublic("/", s.notFound)
	if s.cfg.control {
		s.controlRoutes()
	}
}

// decodeJSON decodes the body of c into v; when it cannot, it returns the
// failed answer to give and true. Like FastAPI, it reads a body with no
// Content-Type as JSON and refuses other content types (422); its message
// names every problem, so that a pasted example that is wrong in two ways
// is not fixed one error at a time.
func decodeJSON(c *call, v any) (reply, bool) {
	var problems []string
	status := http.StatusBadRequest
	// The common case skips mime.ParseMediaType, which builds a map.
	if ct := c.r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			if len(mt) > 64 || mt == "" {
				mt = "another type"
			}
			problems = append(problems, "Content-Type must be application/json, not "+mt+" (curl -d sends a form unless told -H 'Content-Type: application/json')")
			status = http.StatusUnprocessableEntity
		}
	}
	if len(bytes.TrimSpace(c.body)) == 0 {
		rep := fail(http.StatusUnprocessableEntity, "A JSON request body is required")
		rep.unserved = true
		return rep, true
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		problems = append(problems, describeJSONError(c.body, err))
	}
	if len(problems) > 0 {
		rep := fail(status, strings.Join(problems, "; "))
		rep.unserved = true
		return rep, true
	}
	return reply{}, false
}

// trailingComma finds the mistake of the docs' own examples.
var trailingComma = regexp.MustCompile(`,\s*[}\]]`)

// describeJSONError says what is wrong with a body without quoting it (it
// may hold a credential).
func describeJSONError(body []byte, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case trailingComma.Match(body) && errors.As(err, &syntax):
		return "Invalid JSON body: a trailing comma before a closing brace or bracket (JSON allows none)"
	case errors.As(err, &syntax):
		return fmt.Sprintf("Invalid JSON body: syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("Invalid JSON body: %s must be a %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &typ):
		return "Invalid JSON body: it must be a JSON object, not a JSON " + typ.Value
	}
	return "Invalid JSON body: unexpected end of input"
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "number"
	case goKind == "bool":
		return "boolean"
	case goKind == "ptr", goKind == "string":
		return "string"
	}
	return goKind
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters and U+2028/U+2029 included; invalid UTF-8
// as U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
