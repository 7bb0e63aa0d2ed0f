// Package nebulatest runs an in-memory fake of the Nebula Block Platform API
// on a loopback httptest server, for integration tests of code that uses the
// nebula SDK and for the SDK's examples.
//
// The fake serves the documented routes under /api/v1 (POST /api-keys,
// GET /api_keys, DELETE /api-keys/{id}, POST /login) with the documented
// envelope, checks bearer tokens (its seed key, every live key it created
// and every live login JWT; a deleted key gets 401), and can inject faults:
// error statuses with Retry-After, latency, and hang-ups before handling or
// after committing a create. It records every request. A Server is safe for
// concurrent use.
//
//	srv := nebulatest.NewServer()
//	defer srv.Close()
//	client, err := srv.NewClient()
package nebulatest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
)

// BasePath is the path prefix of the fake API, as on the real one.
const BasePath = "/api/v1"

// Server is a running fake Nebula API. Create it with NewServer and stop it
// with Close.
type Server struct {
	// URL is the base URL to give nebula.WithBaseURL, /api/v1 included,
	// e.g. "http://127.0.0.1:41234/api/v1".
	URL string

	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	uuidIDs     bool
	jwtLifetime time.Duration
	jwtKey      []byte

	mu      sync.Mutex
	seed    string
	keys    []*apiKey // in creation order; deleted keys are removed
	nextID  int
	users   map[string]*user // by username
	jwts    map[string]time.Time
	faults  []*Fault
	log     []Request
	created int
}

type apiKey struct {
	id          string
	numericID   bool
	name        string
	description string
	value       string
}

type user struct {
	id       int
	name     string
	email    string
	password string
}

// Request is one request the Server received, for assertions. Its answer
// carries the X-Request-Id "req-N", N being its place in the log from 1.
type Request struct {
	Method string
	Path   string // as sent, /api/v1 included, without the query
	Header http.Header
	Body   []byte
	Time   time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithUUIDs makes the Server give API keys UUID string IDs instead of the
// default integers.
func WithUUIDs() Option { return func(s *Server) { s.uuidIDs = true } }

// WithSeedToken sets the value of the account's initial API key, which
// NewServer otherwise draws at random. It must start with "ak_".
func WithSeedToken(token string) Option { return func(s *Server) { s.seed = token } }

// WithUser lets username log in with password through POST /login.
func WithUser(username, password string) Option {
	return func(s *Server) {
		s.users[username] = &user{id: 100 + len(s.users), name: username, email: username, password: password}
	}
}

// WithJWTLifetime sets how long login JWTs are valid; the default is two
// hours, as on the real API.
func WithJWTLifetime(d time.Duration) Option { return func(s *Server) { s.jwtLifetime = d } }

// NewServer starts a fake API on a loopback address. The account starts with
// one API key, the seed key (ID 1, name "default"), whose value Token
// returns.
func NewServer(opts ...Option) *Server {
	s := &Server{
		closing:     make(chan struct{}),
		jwtLifetime: 2 * time.Hour,
		jwtKey:      []byte(randomToken(32)),
		users:       map[string]*user{},
		jwts:        map[string]time.Time{},
		nextID:      1,
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.seed == "" {
		s.seed = newKeyValue()
	}
	s.keys = append(s.keys, s.newKey("default", "the account's initial key", s.seed))
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL + BasePath
	return s
}

// Close stops the Server, ending injected latencies at once, and waits for
// its handlers to return.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.srv.Close()
}

// Token returns the seed API key's value: a live credential until the seed
// key is deleted.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seed
}

// HTTPClient returns an *http.Client for the Server's loopback address.
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// NewClient returns a nebula.Client for this Server: its URL and HTTP
// client, the seed token, and millisecond retry waits so that injected
// faults do not slow tests down. opts come after these and override them
// (e.g. nebula.WithLogin instead of the seed token).
func (s *Server) NewClient(opts ...nebula.Option) (*nebula.Client, error) {
	base := []nebula.Option{
		nebula.WithBaseURL(s.URL),
		nebula.WithHTTPClient(s.HTTPClient()),
		nebula.WithToken(s.Token()),
		nebula.WithRetryWait(time.Millisecond, 10*time.Millisecond),
	}
	return nebula.NewClient(append(base, opts...)...)
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Keys returns the live API keys as List would show them.
func (s *Server) Keys() []nebula.APIKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]nebula.APIKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, nebula.APIKey{ID: nebula.ID(k.id), Name: k.name, Description: k.description, PartialKey: partialKey})
	}
	return out
}

// Created returns how many API keys the Server has created, including any
// whose answer never reached the client.
func (s *Server) Created() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

// RevokeJWTs makes every login JWT issued so far invalid, as an expiry
// would.
func (s *Server) RevokeJWTs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.jwts)
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

// Fault is a scripted failure. It applies to requests that match Method and
// Path, lets the first Skip of them through, then affects the next Times.
type Fault struct {
	Method string // "" matches any method
	// Path is relative to /api/v1; a trailing "/" matches every path below
	// it ("/api-keys/"). "" matches any path.
	Path  string
	Skip  int // matching requests to let through first
	Times int // matching requests to affect; 0 means 1, -1 means all

	Latency    time.Duration // added before handling; Close cuts it short
	Status     int           // answer with this status (and Body, or a failed envelope)
	RetryAfter string        // sent as Retry-After with Status
	Body       string        // raw body for Status; default: a failed envelope
	HangUp     HangUp
}

// Inject adds a fault. Faults are consulted in the order injected; the first
// one that applies to a request is used up by it.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// takeFault returns a copy of the fault that applies to r, if any, and
// counts it used.
func (s *Server) takeFault(method, path string) (Fault, bool) {
	for _, f := range s.faults {
		if f.Times == 0 || (f.Method != "" && f.Method != method) || !pathMatches(f.Path, path) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		if f.Times > 0 {
			f.Times--
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

// maxRequestBody bounds what the fake reads of a request.
const maxRequestBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	path := strings.TrimPrefix(r.URL.EscapedPath(), BasePath)

	s.mu.Lock()
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body, Time: time.Now()})
	requestID := "req-" + strconv.Itoa(len(s.log))
	fault, faulty := s.takeFault(r.Method, path)
	s.mu.Unlock()
	w.Header().Set("X-Request-Id", requestID)

	if faulty && fault.Latency > 0 {
		t := time.NewTimer(fault.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.closing:
			t.Stop()
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
		writeEnvelope(w, fault.Status, nil, "injected fault: "+http.StatusText(fault.Status), "failed")
		return
	}

	status, data, message := s.route(r, path, body)
	if faulty && fault.HangUp == HangUpAfter {
		hangUp(w)
		return
	}
	if status >= 300 {
		writeEnvelope(w, status, nil, message, "failed")
		return
	}
	writeEnvelope(w, status, data, message, "success")
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

func writeEnvelope(w http.ResponseWriter, status int, data any, message, result string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"data": data, "message": message, "status": result})
}

// route handles a request that no fault took; it returns the answer.
func (s *Server) route(r *http.Request, path string, body []byte) (int, any, string) {
	switch {
	case r.Method == http.MethodPost && path == "/login":
		return s.login(r, body)
	case !s.authorized(r):
		return http.StatusUnauthorized, nil, "Invalid or expired token"
	case r.Method == http.MethodPost && path == "/api-keys":
		return s.createKey(body)
	case r.Method == http.MethodGet && path == "/api_keys":
		return s.listKeys()
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/api-keys/"):
		id, err := url.PathUnescape(strings.TrimPrefix(path, "/api-keys/"))
		if err != nil {
			return http.StatusBadRequest, nil, "Invalid API key id"
		}
		return s.deleteKey(id)
	}
	return http.StatusNotFound, nil, "Not Found"
}

func (s *Server) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.jwts[token]; ok {
		return time.Now().Before(exp)
	}
	for _, k := range s.keys {
		if hmac.Equal([]byte(k.value), []byte(token)) {
			return true
		}
	}
	return false
}

func (s *Server) createKey(body []byte) (int, any, string) {
	var req struct {
		Name        *string `json:"name"`
		Description string  `json:"description"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusBadRequest, nil, "Invalid JSON body"
	}
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		return http.StatusUnprocessableEntity, nil, "name is required"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.name == *req.Name {
			return http.StatusConflict, nil, "API key name already exists"
		}
	}
	k := s.newKey(*req.Name, req.Description, newKeyValue())
	s.keys = append(s.keys, k)
	s.created++
	return http.StatusOK, map[string]any{
		"id": k.jsonID(), "key": k.value, "name": k.name, "description": k.description,
	}, "API key successfully created"
}

// partialKey is what List shows of every key, as documented.
const partialKey = "ak_..."

func (s *Server) listKeys() (int, any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, map[string]any{
			"id": k.jsonID(), "name": k.name, "description": k.description, "partial_key_data": partialKey,
		})
	}
	return http.StatusOK, out, "API keys successfully retrieved"
}

func (s *Server) deleteKey(id string) (int, any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.keys {
		if k.id == id {
			s.keys = append(s.keys[:i], s.keys[i+1:]...)
			return http.StatusOK, map[string]any{}, "API key successfully deleted"
		}
	}
	return http.StatusNotFound, nil, "API key not found"
}

func (s *Server) login(r *http.Request, body []byte) (int, any, string) {
	username, password, ok := loginCredentials(r, body)
	if !ok {
		return http.StatusUnprocessableEntity, nil, "username and password are required"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[username]
	if u == nil || !hmac.Equal([]byte(u.password), []byte(password)) {
		return http.StatusUnauthorized, nil, "Invalid username or password"
	}
	exp := time.Now().Add(s.jwtLifetime)
	token := s.signJWT(u.email, exp)
	s.jwts[token] = exp
	return http.StatusOK, map[string]any{
		"id": u.id, "name": u.name, "email": u.email, "is_staff": false, "is_active": true, "jwtToken": token,
	}, "Login successful"
}

// loginCredentials reads the form the SDK sends and, as the docs' own
// example does, a JSON body.
func loginCredentials(r *http.Request, body []byte) (string, string, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var username, password string
	if ct == "application/json" || bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		var v struct{ Username, Password string }
		if json.Unmarshal(body, &v) != nil {
			return "", "", false
		}
		username, password = v.Username, v.Password
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", false
		}
		username, password = form.Get("username"), form.Get("password")
	}
	return username, password, username != "" && password != ""
}

// signJWT makes an HS256 JWT shaped like the real API's.
func (s *Server) signJWT(subject string, exp time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sub": subject, "roles": []string{"USER"}, "exp": exp.Unix(), "scopes": []string{"USER"},
		"jti": randomToken(8), // two logins in one second still get distinct tokens
	})
	unsigned := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.jwtKey)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

func (s *Server) newKey(name, description, value string) *apiKey {
	k := &apiKey{name: name, description: description, value: value}
	if s.uuidIDs {
		k.id = newUUID()
	} else {
		k.id, k.numericID = strconv.Itoa(s.nextID), true
		s.nextID++
	}
	return k
}

// jsonID is the id as the API sends it: a JSON integer or a UUID string.
func (k *apiKey) jsonID() any {
	if k.numericID {
		return json.Number(k.id)
	}
	return k.id
}

// newKeyValue makes an API key value as the real API does: "ak_" and 43
// URL-safe base64 characters (32 random bytes).
func newKeyValue() string { return "ak_" + randomToken(32) }

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
