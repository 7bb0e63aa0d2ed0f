package nebula

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

const (
	// DefaultBaseURL is the Nebula Block Platform API, used unless WithBaseURL
	// or the NEBULA_API_URL environment variable says otherwise.
	DefaultBaseURL = "https://api.nebulablock.com/api/v1"

	// Version is the SDK's semantic version, sent in the User-Agent.
	Version = "0.1.0"
)

// Environment variables read by NewClient when the matching option is absent.
const (
	envAPIKey  = "NEBULA_API_KEY"
	envBaseURL = "NEBULA_API_URL"
)

// Defaults of the request pipeline; each has an option.
const (
	defaultMaxRetries   = 3
	defaultRetryWaitMin = 500 * time.Millisecond
	defaultRetryWaitMax = 10 * time.Second
	defaultTimeout      = 30 * time.Second
)

// Client talks to the Nebula Block Platform API. Create it with NewClient;
// it is safe for concurrent use by many goroutines, and is meant to be
// created once and reused so that connections are.
type Client struct {
	// APIKeys creates, lists, deletes and rotates API keys.
	APIKeys *APIKeysService
	// Auth logs in with a username and password.
	Auth *AuthService
	// SSHKeys creates, lists, renames and deletes SSH keys.
	SSHKeys *SSHKeysService
	// Compute lists the catalog: GPU products and OS images.
	Compute *ComputeService
	// Instances creates, lists, starts, stops, deletes and waits for GPU instances.
	Instances *InstancesService
	// Billing reads the balance, credit history and invoices.
	Billing *BillingService
	// Inference lists serverless models and generates images.
	Inference *InferenceService

	baseURL    string // scheme://host/path, no trailing slash
	baseScheme string
	baseHost   string
	http       *http.Client
	// stdTransport: requests go through a *http.Transport, which is known
	// to find a connection (httptrace GotConn) before it writes a byte.
	stdTransport bool

	cred      *credentials // behind a pointer: fmt never follows it
	userAgent []string

	maxRetries       int
	waitMin, waitMax time.Duration
	logger           *slog.Logger // nil: silent
	observer         Observer     // nil: none
	maxBody          int64        // cap of a success body: maxBodyBytes, lowered by tests
}

// credentials is how a Client authenticates: exactly one of a static token,
// a TokenSource, or a login.
type credentials struct {
	static string   // WithToken or NEBULA_API_KEY
	header []string // "Bearer <static>", built once
	source TokenSource
	login  *loginSource // also source; a 401 then logs in again
}

// authorization returns the token for the next attempt and its
// Authorization header value. A TokenSource is asked every time.
func (cr *credentials) authorization(ctx context.Context) (string, []string, error) {
	if cr.header != nil {
		return cr.static, cr.header, nil
	}
	token, err := cr.source.Token(ctx)
	if err == nil {
		err = checkToken(token)
	}
	if err != nil {
		return "", nil, fmt.Errorf("token source: %w", err)
	}
	return token, []string{"Bearer " + token}, nil
}

// Option configures a Client. Options that receive bad input make NewClient
// fail with an error that wraps ErrInvalidArgument.
type Option func(*config) error

// config collects the options before NewClient checks them as a whole.
type config struct {
	token        string
	tokenSource  TokenSource
	username     string
	password     string
	baseURL      string
	baseURLSet   bool
	httpClient   *http.Client
	userAgent    string
	maxRetries   int
	waitMin      time.Duration
	waitMax      time.Duration
	timeout      time.Duration
	logger       *slog.Logger
	insecureHTTP bool
	pollMin      time.Duration // WithPolling; zero: the defaults of Wait and Create
	pollMax      time.Duration
	observer     Observer            // WithObserver; nil: none
	getenv       func(string) string // os.Getenv; tests replace it
}

// setCredential keeps only the last credential option given, as with any
// other option.
func (c *config) setCredential(token string, ts TokenSource, username, password string) {
	c.token, c.tokenSource, c.username, c.password = token, ts, username, password
}

// WithToken authenticates every request with token, an "ak_" API key or a
// login JWT. Without any credential option NewClient reads NEBULA_API_KEY.
// An empty token, or one with control characters or line breaks, is
// ErrInvalidArgument.
func WithToken(token string) Option {
	return func(c *config) error {
		if err := checkToken(token); err != nil {
			return err
		}
		c.setCredential(token, nil, "", "")
		return nil
	}
}

// WithTokenSource asks ts for the token before every attempt, for
// credentials that change; after a 401 it asks once more and, if the token
// changed, replays the call once. An error from ts fails that call, wrapped,
// and nothing more is sent.
func WithTokenSource(ts TokenSource) Option {
	return func(c *config) error {
		if ts == nil {
			return invalidArgument("WithTokenSource: nil TokenSource")
		}
		c.setCredential("", ts, "", "")
		return nil
	}
}

// WithLogin authenticates with a JWT obtained through POST /login. The SDK
// logs in on first use, caches the JWT, logs in again shortly before it
// expires, and after a 401 logs in once more and replays the call.
func WithLogin(username, password string) Option {
	return func(c *config) error {
		if strings.TrimSpace(username) == "" || password == "" {
			return invalidArgument("WithLogin: username and password must not be empty")
		}
		c.setCredential("", nil, username, password)
		return nil
	}
}

// WithBaseURL sets the API's base URL, path prefix included
// ("https://api.nebulablock.com/api/v1"); a trailing slash does not matter.
// Without it NewClient reads NEBULA_API_URL, else uses DefaultBaseURL. The
// URL must be absolute http(s) with a host and without user info, query or
// fragment; plain http is accepted only for loopback hosts unless
// WithInsecureHTTP is given.
func WithBaseURL(rawURL string) Option {
	return func(c *config) error {
		c.baseURL, c.baseURLSet = rawURL, true
		return nil
	}
}

// WithHTTPClient sends requests through hc's Transport and uses its Timeout
// as the per-attempt timeout unless WithTimeout is given; its Jar and
// CheckRedirect are honoured after the SDK's own redirect check. hc itself
// is never modified.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return invalidArgument("WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithUserAgent puts prefix in front of the SDK's "nebula-go/<Version>" in
// the User-Agent header.
func WithUserAgent(prefix string) Option {
	return func(c *config) error {
		if hasControl(prefix) {
			return invalidArgument("WithUserAgent: control character in prefix")
		}
		c.userAgent = strings.TrimSpace(prefix)
		return nil
	}
}

// WithMaxRetries sets how many times a failed attempt may be retried (see
// the README for which failures are retried); 0 disables retries. The
// default is 3; n must be between 0 and 100.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 100 {
			return invalidArgument("WithMaxRetries: %d is not between 0 and 100", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryWait bounds the wait before a retry: retry n (from 0) waits a
// random time between min and min(max, min·2^(n+1)). The default is 500ms
// to 10s. min must be positive and max at least min.
func WithRetryWait(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min {
			return invalidArgument("WithRetryWait: need 0 < min <= max, got %s and %s", min, max)
		}
		c.waitMin, c.waitMax = min, max
		return nil
	}
}

// WithTimeout limits each attempt, from sending the request to reading the
// whole response. The default is the WithHTTPClient client's Timeout if set,
// else 30s. The context passed to each call limits the call as a whole.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalidArgument("WithTimeout: %s is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithLogger logs one debug record per attempt and a warning per retry to
// l. Records never hold headers, bodies or credentials. The default, and a
// nil l, is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithPolling sets how Instances.Wait polls, from min backing off to max
// (default 2s to 15s), and how Instances.Create looks for the instance it
// just created (default 0.5s to 4s, five looks). Tests against nebulatest
// use milliseconds; against the real API the defaults spare the rate limit.
// min must be positive and max at least min.
func WithPolling(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min {
			return invalidArgument("WithPolling: need 0 < min <= max, got %s and %s", min, max)
		}
		c.pollMin, c.pollMax = min, max
		return nil
	}
}

// WithInsecureHTTP allows a plain-http base URL whose host is not loopback.
// The token then crosses the network in clear; use it only on networks you
// trust.
func WithInsecureHTTP() Option {
	return func(c *config) error {
		c.insecureHTTP = true
		return nil
	}
}

// NewClient returns a Client configured by opts. It fails, with an error
// wrapping ErrInvalidArgument, on the first bad option, when no credential
// is given (no WithToken, WithTokenSource or WithLogin, and NEBULA_API_KEY
// unset), or when the base URL is unusable. Of several credential options
// the last one counts.
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{
		maxRetries: defaultMaxRetries,
		waitMin:    defaultRetryWaitMin,
		waitMax:    defaultRetryWaitMax,
		getenv:     os.Getenv,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}

	if !cfg.baseURLSet {
		cfg.baseURL = DefaultBaseURL
		if v := cfg.getenv(envBaseURL); v != "" {
			cfg.baseURL = v
		}
	}
	base, err := parseBaseURL(cfg.baseURL, cfg.insecureHTTP)
	if err != nil {
		return nil, err
	}

	c := &Client{
		baseURL:    strings.TrimSuffix(base.String(), "/"),
		baseScheme: base.Scheme,
		baseHost:   base.Host,
		maxRetries: cfg.maxRetries,
		waitMin:    cfg.waitMin,
		waitMax:    cfg.waitMax,
		logger:     cfg.logger,
		observer:   cfg.observer,
		maxBody:    maxBodyBytes,
	}
	ua := "nebula-go/" + Version
	if cfg.userAgent != "" {
		ua = cfg.userAgent + " " + ua
	}
	c.userAgent = []string{ua}
	c.http = c.newHTTPClient(cfg)
	c.APIKeys = &APIKeysService{client: c}
	c.Auth = &AuthService{client: c}
	c.SSHKeys = &SSHKeysService{client: c}
	c.Compute = &ComputeService{client: c}
	c.Instances = &InstancesService{client: c,
		waitMin: cfg.pollMin, waitMax: cfg.pollMax, createPoll: cfg.pollMin, createPollMax: cfg.pollMax}
	c.Billing = &BillingService{client: c}
	c.Inference = &InferenceService{client: c}

	switch {
	case cfg.tokenSource != nil:
		c.cred = &credentials{source: cfg.tokenSource}
	case cfg.username != "":
		login := newLoginSource(c.Auth, cfg.username, cfg.password)
		c.cred = &credentials{source: login, login: login}
	default:
		token := cfg.token
		if token == "" {
			token = cfg.getenv(envAPIKey)
			if token == "" {
				return nil, invalidArgument("no credential: use WithToken, WithTokenSource or WithLogin, or set %s", envAPIKey)
			}
			if err := checkToken(token); err != nil {
				return nil, fmt.Errorf("%s: %w", envAPIKey, err)
			}
		}
		c.cred = &credentials{static: token, header: []string{"Bearer " + token}}
	}
	return c, nil
}

// String keeps the credential out of any print of the Client.
func (c *Client) String() string { return "nebula.Client(" + c.baseURL + ")" }

// GoString keeps the credential out of %#v.
func (c *Client) GoString() string { return c.String() }

// newHTTPClient builds the Client's own *http.Client around the caller's
// transport: the per-attempt timeout, the redirect rule that keeps the token
// on the base URL's host, and no CloseIdleConnections for go-retryablehttp
// to call.
func (c *Client) newHTTPClient(cfg config) *http.Client {
	var (
		rt        http.RoundTripper
		jar       http.CookieJar
		redirects func(*http.Request, []*http.Request) error
		timeout   = cfg.timeout
	)
	if hc := cfg.httpClient; hc != nil {
		rt, jar, redirects = hc.Transport, hc.Jar, hc.CheckRedirect
		if rt == nil {
			rt = http.DefaultTransport
		}
		if timeout == 0 {
			timeout = hc.Timeout
		}
	} else {
		rt = sharedTransport()
	}
	if timeout == 0 {
		timeout = defaultTimeout
	}
	_, c.stdTransport = rt.(*http.Transport)
	return &http.Client{
		Transport: attemptTransport{rt: rt, timeout: timeout},
		Jar:       jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// Only reads follow redirects: net/http turns a redirected
			// POST into a GET, whose answer would pass for the create's,
			// and a second hop would blur what reached the API.
			if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
				return http.ErrUseLastResponse
			}
			if !c.sameOrigin(req.URL) || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			if redirects != nil {
				return redirects(req, via)
			}
			return nil
		},
	}
}

// sharedTransport is the transport of every Client made without
// WithHTTPClient. Like http.DefaultTransport it is shared, so a program that
// makes a Client per request does not keep a connection pool (and its
// goroutines) per Client.
var sharedTransport = sync.OnceValue(newDefaultTransport)

// newDefaultTransport is http.DefaultTransport (HTTP/2, proxies from the
// environment, dial and TLS timeouts) with enough idle connections per host
// that 32 concurrent callers reuse rather than churn connections (net/http
// keeps 2, go-cleanhttp GOMAXPROCS+1).
func newDefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 64
	return t
}

// attemptTransport limits each attempt, response body included, to timeout.
// It does with one context what http.Client.Timeout does with a context, a
// timer and a goroutine per request.
//
// It also hides the wrapped transport's CloseIdleConnections: after a failed
// Do, go-retryablehttp calls CloseIdleConnections on the client, which would
// throw away every pooled connection, including those of concurrent calls
// that are doing fine.
type attemptTransport struct {
	rt      http.RoundTripper
	timeout time.Duration
}

func (t attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeout(parent, t.timeout)
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, t.timedOut(parent, err)
	}
	resp.Body = &attemptBody{ReadCloser: resp.Body, t: t, parent: parent, cancel: cancel}
	return resp, nil
}

// timedOut names the per-attempt timeout as the cause when it, and not the
// caller's context, ended the attempt.
func (t attemptTransport) timedOut(parent context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return &attemptTimeoutError{timeout: t.timeout}
	}
	return err
}

// attemptBody ends the attempt's context once the body is read or closed.
type attemptBody struct {
	io.ReadCloser
	t      attemptTransport
	parent context.Context
	cancel context.CancelFunc
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.cancel()
	case err != nil:
		err = b.t.timedOut(b.parent, err)
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attemptTimeoutError is an attempt that took longer than WithTimeout. Like
// http.Client's own timeout error it matches context.DeadlineExceeded.
type attemptTimeoutError struct{ timeout time.Duration }

func (e *attemptTimeoutError) Error() string {
	return "attempt timed out after " + e.timeout.String() + " (WithTimeout)"
}
func (e *attemptTimeoutError) Timeout() bool        { return true }
func (e *attemptTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// sameOrigin reports whether a redirect target may receive the token: the
// base URL's host, and never a downgrade to plain http.
func (c *Client) sameOrigin(u *url.URL) bool {
	if !strings.EqualFold(u.Host, c.baseHost) {
		return false
	}
	return u.Scheme == "https" || (u.Scheme == "http" && c.baseScheme == "http")
}

// parseBaseURL checks a base URL and returns it with the trailing slash of
// its path removed. Its errors never quote the URL as given: a credential
// pasted into it by mistake (a key in the query, NEBULA_API_URL holding a
// key) must not end up in a log. They show at most the scheme and host.
func parseBaseURL(raw string, insecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, invalidArgument("base URL: not a URL (%s)", urlErrorKind(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, invalidArgument("base URL: need an absolute http or https URL (did you swap NEBULA_API_URL and NEBULA_API_KEY?)")
	case u.Host == "" || u.Hostname() == "":
		return nil, invalidArgument("base URL: no host")
	case u.User != nil:
		return nil, invalidArgument("base URL: user info is not allowed; use WithToken, WithTokenSource or WithLogin")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, invalidArgument("base URL %s: query and fragment are not allowed", safeOrigin(u))
	case u.Scheme == "http" && !insecureHTTP && !isLoopback(u.Hostname()):
		return nil, invalidArgument("base URL %s: plain http to a non-loopback host sends the token in clear; use https, or WithInsecureHTTP", safeOrigin(u))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// safeOrigin is the scheme and host of u, scrubbed, for an error message.
func safeOrigin(u *url.URL) string {
	return scrub(u.Scheme+"://"+u.Host, nil, 100)
}

// urlErrorKind names what url.Parse disliked without quoting the input
// (url.Error and its inner errors quote it).
func urlErrorKind(err error) string {
	var esc url.EscapeError
	var host url.InvalidHostError
	switch {
	case errors.As(err, &esc):
		return "invalid %-escape"
	case errors.As(err, &host):
		return "invalid character in host"
	case strings.Contains(err.Error(), "control character"):
		return "control character"
	}
	return "malformed"
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkToken refuses a token that cannot be a credential or would corrupt
// the Authorization header.
func checkToken(token string) error {
	switch {
	case strings.TrimSpace(token) == "":
		return invalidArgument("empty token")
	case hasControl(token) || strings.ContainsRune(token, ' '):
		return invalidArgument("token contains a space, control character or line break")
	}
	return nil
}

// checkName refuses a name that is blank or holds a control character (a
// NUL, a line break), which no list could show sensibly. op and what name
// the call and the field in the error.
func checkName(op, what, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalidArgument("%s: the %s must not be empty or blank", op, what)
	case hasControl(name):
		return invalidArgument("%s: the %s holds a control character", op, what)
	}
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// request is one API call as a service describes it; the pipeline below
// does the rest.
type request struct {
	// name is the call as errors and observers name it: "Instances.Create".
	name string
	// route is path as a template, every ID written {id}: what an
	// observer sees, so that IDs do not make every call a new route.
	route  string
	opts   []CallOption // the caller's options for this call
	method string
	path   string // under the base URL, already escaped: "/api-keys/5"
	query  string // encoded, without "?"; never logged or put in an error
	body   []byte // nil: no body
	form   bool   // the body is form-encoded rather than JSON
	noAuth bool   // POST /login carries no Authorization header
	// safety says whether the call may reach the API more than once; the
	// zero value, sendOnce, is for creates.
	safety safety
	// goneOK: a 404 after an attempt that may have been carried out is
	// success (a delete).
	goneOK bool
	// noData: the answer carries nothing the caller needs, so a success
	// envelope is enough whatever its data holds ({}, null, absent), and an
	// empty 2xx body is success too.
	noData bool
	// sink, when set, reads a 2xx answer itself instead of the envelope
	// decoder (a PDF download), and closes its body. secrets are the values
	// its errors must not show. An error it returns fails the attempt; a
	// *cutShortError makes a repeatable call retry, so a sink returns one
	// only while it has passed nothing on.
	sink func(resp *http.Response, secrets []string) error
	// accept replaces "Accept: application/json" (a PDF download).
	accept  []string
	secrets []string // values to keep out of errors besides the token (a password)
}

// op names the call in errors and logs, e.g. "POST /api-keys".
func (r *request) op() string { return r.method + " " + r.path }

// envelope is the API's answer: {"data": ..., "message": ..., "status": ...}.
type envelope[T any] struct {
	Data   *T     `json:"data"`
	Status string `json:"status"`
}

func (e *envelope[T]) fields() (status string, hasData bool) {
	return e.Status, e.Data != nil
}

// dataProblem asks data that can be incomplete (see validator) what is wrong.
func (e *envelope[T]) dataProblem() string {
	if v, ok := any(e.Data).(validator); ok {
		return v.validate()
	}
	return ""
}

// decodedEnvelope lets the pipeline check any envelope without knowing its
// data's type. Services whose answers carry more than data (a total beside
// it) implement it on their own envelope struct.
type decodedEnvelope interface {
	fields() (status string, hasData bool)
	dataProblem() string
}

// validator is data that decodes as JSON but can still be unusable, such as
// a created key without its value. validate says what is missing, or "".
type validator interface {
	validate() string
}

// send runs r through the pipeline and returns the envelope's data; nil
// only for a request with noData.
func send[T any](ctx context.Context, c *Client, r *request) (*T, error) {
	var env envelope[T]
	if err := c.do(ctx, r, &env); err != nil {
		return nil, err
	}
	return env.Data, nil
}

// sendList runs a request whose data is a JSON array. A null data is an
// empty list, as the API sends for an account without any; an absent one
// is ErrUnexpectedResponse.
func sendList[E any](ctx context.Context, c *Client, r *request) ([]E, error) {
	env := listEnvelope[E]{Data: new([]E)}
	if err := c.do(ctx, r, &env); err != nil {
		return nil, err
	}
	if env.Data == nil || *env.Data == nil {
		return []E{}, nil
	}
	return *env.Data, nil
}

// listEnvelope is the envelope of a list. Data starts as a pointer to a nil
// slice: JSON null sets the pointer to nil, an array fills the slice, and
// an absent data leaves both as they were.
type listEnvelope[E any] struct {
	Data   *[]E   `json:"data"`
	Status string `json:"status"`
}

func (e *listEnvelope[E]) fields() (string, bool) {
	absent := e.Data != nil && *e.Data == nil
	return e.Status, !absent
}

func (e *listEnvelope[E]) dataProblem() string { return "" }

// sendNullable is send for data that is an object holding a list, which the
// API may send as null when there is nothing: null gives a zero T (empty
// lists); an absent data is still ErrUnexpectedResponse.
func sendNullable[T any](ctx context.Context, c *Client, r *request) (*T, error) {
	var env nullableDataEnvelope[T]
	if err := c.do(ctx, r, &env); err != nil {
		return nil, err
	}
	return &env.Data.value, nil
}

// nullableDataEnvelope tells a null data (seen, zero value) from an absent
// one (not seen).
type nullableDataEnvelope[T any] struct {
	Data   seenValue[T] `json:"data"`
	Status string       `json:"status"`
}

func (e *nullableDataEnvelope[T]) fields() (string, bool) { return e.Status, e.Data.seen }

func (e *nullableDataEnvelope[T]) dataProblem() string {
	if v, ok := any(&e.Data.value).(validator); ok {
		return v.validate()
	}
	return ""
}

// seenValue records that its JSON key was present; encoding/json calls
// UnmarshalJSON for a JSON null too, which leaves the zero value.
type seenValue[T any] struct {
	seen  bool
	value T
}

func (v *seenValue[T]) UnmarshalJSON(b []byte) error {
	v.seen = true
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &v.value)
}

// Header values that never change, shared by every request. net/http and
// RoundTrippers must not modify a request's headers, so sharing is safe.
var (
	headerAcceptJSON = []string{"application/json"}
	headerJSON       = []string{"application/json"}
	headerForm       = []string{"application/x-www-form-urlencoded"}
)

// do is the one request pipeline: the attempt loop, then one replay after a
// 401 when a fresh credential can be had (a new login, or a TokenSource that
// now gives another token). A 401 means the API did nothing, so even a
// create may be replayed; a second 401 is returned as it is.
func (c *Client) do(ctx context.Context, r *request, out decodedEnvelope) error {
	if ctx == nil {
		return invalidArgument("%s: nil context", r.op())
	}
	if _, err := newCallConfig(r.name, r.opts); err != nil {
		return err
	}
	token, err := c.send(ctx, r, out, "", nil)
	if token == "" || r.noAuth || c.cred.source == nil || !errors.Is(err, ErrUnauthorized) {
		return err
	}
	if c.cred.login != nil {
		c.cred.login.invalidate(token)
		_, err = c.send(ctx, r, out, "", nil)
		return err
	}
	fresh, auth, serr := c.cred.authorization(ctx)
	if serr != nil || fresh == token {
		return err
	}
	_, err = c.send(ctx, r, out, fresh, auth)
	return err
}

// send runs one call, with its retries, and reports the token of its last
// attempt, "" when it sent nothing. The first attempt uses token and auth
// when given (a TokenSource's answer after a 401), else asks for them.
func (c *Client) send(ctx context.Context, r *request, out decodedEnvelope, token string, auth []string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &requestError{op: r.op(), err: err}
	}
	if !r.noAuth && auth == nil {
		var err error
		if token, auth, err = c.cred.authorization(ctx); err != nil {
			return "", &requestError{op: r.op(), err: err}
		}
	}

	cl := newCall(ctx, c, r, out, token)
	if cl.trace.GotConn != nil {
		ctx = httptrace.WithClientTrace(ctx, &cl.trace)
	}
	var body any // an untyped nil: a typed nil []byte would make GET chunked
	if r.body != nil {
		body = r.body
	}
	target := c.baseURL + r.path
	if r.query != "" {
		target += "?" + r.query
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return token, &requestError{op: r.op(), err: err}
	}
	if r.safety == sendOnce {
		// Without GetBody neither Go's HTTP/1 nor its HTTP/2 transport can
		// replay the request by itself (HTTP/2 does after some stream
		// resets); only retryPolicy decides on a second send.
		req.GetBody = nil
	}
	h := req.Header
	h["Accept"] = headerAcceptJSON
	if r.accept != nil {
		h["Accept"] = r.accept
	}
	h["User-Agent"] = c.userAgent
	if auth != nil {
		h["Authorization"] = auth
	}
	switch {
	case r.body == nil:
	case r.form:
		h["Content-Type"] = headerForm
	default:
		h["Content-Type"] = headerJSON
	}
	req.SetResponseHandler(cl.handleResponse)
	if _, err := cl.rc.Do(req); err != nil {
		return cl.token, cl.result(err)
	}
	return cl.token, nil
}

// decodeSuccess decodes a complete 2xx body into out. It reports a "failed"
// envelope, which the caller turns into an *APIError like any other answer,
// or says why the body is not a success envelope.
func decodeSuccess(body []byte, r *request, out decodedEnvelope) (failed bool, reason string) {
	if len(body) == 0 || isBlank(body) {
		if r.noData {
			return false, ""
		}
		return false, "empty body"
	}
	if r.noData {
		// Whatever data holds, only the status matters.
		out = &envelope[json.RawMessage]{}
	}
	if err := json.Unmarshal(body, out); err != nil {
		// A "failed" envelope may carry data of another shape.
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil && eb.Status != nil && *eb.Status == statusFailed {
			return true, ""
		}
		if !json.Valid(body) {
			return false, "body is not JSON"
		}
		return false, "body does not match the documented envelope: " + jsonErrorText(err)
	}
	status, hasData := out.fields()
	switch {
	case status == statusFailed:
		return true, ""
	case status != statusSuccess:
		return false, fmt.Sprintf("unknown envelope status %.40q", status)
	case !hasData && !r.noData:
		return false, `envelope without "data"`
	}
	return false, out.dataProblem()
}

const (
	statusSuccess = "success"
	statusFailed  = "failed"
)

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// jsonErrorText describes a decoding error without quoting the body.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q holds a JSON %s", te.Field, te.Value)
	case errors.Is(err, ErrUnexpectedResponse):
		// The SDK's own value decoders (times, amounts, numbers) say what
		// was wrong, with at most a short scrubbed excerpt of the value.
		return strings.TrimPrefix(err.Error(), ErrUnexpectedResponse.Error()+": ")
	}
	return "a field has the wrong form"
}
