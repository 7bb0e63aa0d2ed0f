package nebula

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
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
	// serverAddress and serverPort are the base URL's host name and port,
	// for observers.
	serverAddress string
	serverPort    int
	http          *http.Client
	// stdTransport: requests go through a *http.Transport, which is known
	// to find a connection (httptrace GotConn) before it writes a byte.
	stdTransport bool
	// redirectHook: the WithHTTPClient client has a CheckRedirect, which
	// sees a redirect's answer (req.Response) and may keep it.
	redirectHook bool

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
// An empty token, or one with a space, a line break or another control
// character (C0, DEL or C1, which a terminal showing a log may obey), is
// ErrInvalidArgument; so is a TokenSource's.
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
// the User-Agent header. A prefix with a control character (C0, DEL or C1)
// is ErrInvalidArgument.
func WithUserAgent(prefix string) Option {
	return func(c *config) error {
		if hasControlOrC1(prefix) {
			return invalidArgument("WithUserAgent: control character in prefix")
		}
		c.userAgent = strings.TrimSpace(prefix)
		return nil
	}
}

// WithMaxRetries sets how many times a failed attempt may be retried (see
// docs/errors-and-retries.md for which failures are retried); 0 disables retries. The
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

// WithPolling sets how Instances.Wait, WaitFunc and WaitAll poll, from min
// backing off to max (default 2s to 15s), and how Instances.Create looks for
// the instance it just created (default 0.5s to 4s, five looks). A call's
// WithCallPolling overrides it for that call. Tests against nebulatest
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
		baseURL:       strings.TrimSuffix(base.String(), "/"),
		baseScheme:    base.Scheme,
		baseHost:      base.Host,
		serverAddress: base.Hostname(),
		serverPort:    urlPort(base),
		maxRetries:    cfg.maxRetries,
		waitMin:       cfg.waitMin,
		waitMax:       cfg.waitMax,
		logger:        cfg.logger,
		observer:      cfg.observer,
		maxBody:       maxBodyBytes,
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
	c.redirectHook = redirects != nil
	return &http.Client{
		Transport: attemptTransport{rt: rt, timeout: timeout},
		Jar:       jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// Reads follow redirects. net/http turns a POST redirected
			// by 301, 302 or 303 into a GET, whose answer would pass for
			// the create's, and a second hop would blur what reached the
			// API. A 307 or 308 keeps the method and body and says that
			// the first hop did nothing: a create so answered by its own
			// host goes there once (see redirectBody).
			if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
				if m != http.MethodPost || len(via) != 1 || req.Method != m || req.Response == nil ||
					(req.Response.StatusCode != http.StatusTemporaryRedirect && req.Response.StatusCode != http.StatusPermanentRedirect) ||
					!c.sameOrigin(req.URL) {
					return http.ErrUseLastResponse
				}
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
// keeps 2, go-cleanhttp GOMAXPROCS+1), and with smaller HTTP/2 receive
// buffers (see h2StreamWindow).
func newDefaultTransport() *http.Transport { return newTransport(nil) }

// HTTP/2 receive windows of the default transport. net/http's are 4 MiB
// per stream and 1 GiB per connection, and a response the caller reads
// more slowly than it arrives (an invoice copied to a file or a network
// stream) fills its stream's window in memory: a 50 MB download held about
// 4.6 MB of heap. 256 KiB keeps that near 0.6 MB and still allows about
// 2.5 MB/s per stream at 100 ms of round trip (the window divided by the
// round trip), far above what the API's JSON answers need; the connection's
// window bounds what all streams on one connection can hold together.
const (
	h2StreamWindow     = 256 << 10
	h2ConnectionWindow = 2 << 20
)

// newTransport builds the default transport's settings; tlsConfig, when not
// nil, replaces the TLS client configuration (tests trust a loopback
// server's certificate with it, keeping every other setting).
func newTransport(tlsConfig *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 64
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig
	}
	t.HTTP2 = &http.HTTP2Config{
		MaxReceiveBufferPerStream:     h2StreamWindow,
		MaxReceiveBufferPerConnection: h2ConnectionWindow,
	}
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

// attemptSettingsKey keys a call's attemptSettings in its requests'
// context; a call without them (the usual case) carries none.
type attemptSettingsKey struct{}

// attemptSettings are a call's exceptions to attemptTransport's defaults.
type attemptSettings struct {
	timeout time.Duration // WithCallTimeout; 0: the Client's
	// stream: bound the wait for the headers and then each read's idle
	// time, not the whole attempt (a download streamed to the caller).
	stream bool
}

func (t attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	timeout, option := t.timeout, "WithTimeout"
	var stream bool
	if s, ok := parent.Value(attemptSettingsKey{}).(attemptSettings); ok {
		if s.timeout > 0 {
			timeout, option = s.timeout, "WithCallTimeout"
		}
		stream = s.stream
	}
	if stream {
		return roundTripIdle(t.rt, req, parent, timeout, option)
	}
	// The attempt's own deadline context costs about a microsecond and
	// seven allocations; when the caller's deadline comes first (a server
	// passing on its request's), it would never fire: the caller's ends
	// the attempt, as it would end the attempt's context.
	ctx, cancel := parent, context.CancelFunc(noCancel)
	if d, ok := parent.Deadline(); !ok || time.Until(d) > timeout {
		ctx, cancel = context.WithTimeout(parent, timeout)
	}
	inner := req.WithContext(ctx)
	body, create := parent.Value(redirectBodyKey{}).(redirectBody)
	if create {
		// The wrapped transport replays a request that has GetBody after
		// some failures (HTTP/2 stream resets, a reused connection that
		// dies): a create never gets it, on its redirected hop either,
		// to which net/http copies the first hop's GetBody.
		inner.GetBody = nil
	}
	resp, err := t.rt.RoundTrip(inner)
	if err != nil {
		cancel()
		return nil, timedOut(parent, err, timeout, option)
	}
	if create && req.GetBody == nil && (resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect) {
		// Only now, with the answer that says the request was not acted
		// on, may net/http have the body again: to follow the redirect
		// (CheckRedirect decides whether), never to replay the request
		// on a connection that failed while sending it.
		req.GetBody = body.reader
	}
	resp.Body = &attemptBody{ReadCloser: resp.Body, parent: parent, cancel: cancel, timeout: timeout, option: option}
	return resp, nil
}

func noCancel() {}

// timedOut names the per-attempt timeout as the cause when it, and not the
// caller's context, ended the attempt.
func timedOut(parent context.Context, err error, timeout time.Duration, option string) error {
	if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return &attemptTimeoutError{timeout: timeout, option: option}
	}
	return err
}

// redirectBodyKey carries a create's body, as a redirectBody, in its
// request's context.
type redirectBodyKey struct{}

// redirectBody is the body of a create, for following a 307 or 308.
type redirectBody []byte

func (b redirectBody) reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b)), nil
}

// attemptBody ends the attempt's context once the body is read or closed.
type attemptBody struct {
	io.ReadCloser
	parent  context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	option  string
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.cancel()
	case err != nil:
		err = timedOut(b.parent, err, b.timeout, b.option)
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// errIdle is the cause an idle timer cancels a streamed attempt with.
var errIdle = errors.New("idle")

// roundTripIdle sends a request whose answer is streamed to the caller: the
// timeout bounds the wait for the answer's headers, then each read of the
// body, never the whole transfer, so a slow, steady download is never cut.
func roundTripIdle(rt http.RoundTripper, req *http.Request, parent context.Context, timeout time.Duration, option string) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(parent)
	// waiting is true while the attempt waits for the headers or a read:
	// a timer that fires just after the wait ended (Stop came too late)
	// must not cut a transfer that is moving.
	waiting := new(atomic.Bool)
	waiting.Store(true)
	timer := time.AfterFunc(timeout, func() {
		if waiting.Load() {
			cancel(errIdle)
		}
	})
	resp, err := rt.RoundTrip(req.WithContext(ctx))
	waiting.Store(false)
	timer.Stop()
	if err != nil {
		err = idleTimedOut(ctx, parent, err, timeout, option)
		cancel(nil)
		return nil, err
	}
	resp.Body = &idleBody{ReadCloser: resp.Body, ctx: ctx, parent: parent, cancel: cancel, timer: timer, waiting: waiting, timeout: timeout, option: option}
	return resp, nil
}

// idleTimedOut names the timeout as the cause when the idle timer, and not
// the caller's context, ended the attempt.
func idleTimedOut(ctx, parent context.Context, err error, timeout time.Duration, option string) error {
	if context.Cause(ctx) == errIdle && parent.Err() == nil {
		return &attemptTimeoutError{timeout: timeout, option: option, idle: true}
	}
	return err
}

// idleBody arms the idle timer for each read: a read that waits longer than
// the timeout for data ends the attempt.
type idleBody struct {
	io.ReadCloser
	ctx, parent context.Context
	cancel      context.CancelCauseFunc
	timer       *time.Timer
	waiting     *atomic.Bool
	timeout     time.Duration
	option      string
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.waiting.Store(true)
	b.timer.Reset(b.timeout)
	n, err := b.ReadCloser.Read(p)
	b.waiting.Store(false)
	b.timer.Stop()
	switch {
	case err == io.EOF:
		b.cancel(nil)
	case err != nil:
		err = idleTimedOut(b.ctx, b.parent, err, b.timeout, b.option)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// attemptTimeoutError is an attempt that took longer than WithTimeout or
// WithCallTimeout (option names which), or a streamed answer idle for that
// long. Like http.Client's own timeout error it matches
// context.DeadlineExceeded.
type attemptTimeoutError struct {
	timeout time.Duration
	option  string
	idle    bool // a streamed answer stalled
}

func (e *attemptTimeoutError) Error() string {
	if e.idle {
		return "attempt stalled: no data for " + e.timeout.String() + " (" + e.option + ")"
	}
	return "attempt timed out after " + e.timeout.String() + " (" + e.option + ")"
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
	case hasControlOrC1(token) || strings.ContainsRune(token, ' '):
		return invalidArgument("token contains a space, control character or line break")
	}
	return nil
}

// checkName refuses a name that is blank or holds a control character (a
// NUL, a line break, C1 as WithCallHeader counts it, U+2028 and U+2029),
// which no list could show sensibly. op and what name the call and the
// field in the error.
func checkName(op, what, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalidArgument("%s: the %s must not be empty or blank", op, what)
	case hasControlOrC1(name) || strings.ContainsAny(name, "\u2028\u2029"):
		return invalidArgument("%s: the %s holds a control character", op, what)
	case !utf8.ValidString(name):
		// JSON would send U+FFFD for the bad bytes: the API would keep
		// another name than the one the checks and lookups compare, and
		// a Create would not find its instance (nor refuse the name the
		// next time), so that the documented recovery created it twice.
		return invalidArgument("%s: the %s is not valid UTF-8 (Latin-1 text, a cut character?)", op, what)
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
	// decode reads a success envelope's data into out, the call's result,
	// and says why it is unusable, or "". nil, like noData, reads only the
	// status. send, sendList, sendNullable and sendPage set it. out is
	// apart from decode so that decode can be a plain function, not a
	// closure allocated per call.
	decode func(env *rawEnvelope, out any) string
	out    any
	// accept replaces "Accept: application/json" (a PDF download).
	accept []string
	// stream: the answer is streamed to the caller (a PDF download), so
	// the per-attempt timeout bounds the wait for the answer's headers and
	// then each read's idle time, not the whole transfer.
	stream bool
	// bigBody: the answer may be maxBodyFactor times the usual cap (a
	// generated image, which is billed: a big one must not fail the call).
	bigBody bool
	secrets []string // values to keep out of errors besides the token (a password)
}

// op names the call in errors, e.g. "APIKeys.Create: POST /api-keys".
func (r *request) op() string {
	if r.name == "" {
		return r.method + " " + r.path
	}
	return r.name + ": " + r.method + " " + r.path
}

// send runs r through the pipeline and returns the envelope's data, which
// must be an object. For a request with noData it returns a zero T.
func send[T any](ctx context.Context, c *Client, r *request) (*T, error) {
	out := new(T)
	r.decode, r.out = decodeObject, out
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	return out, nil
}

// sendList runs a request whose data is a JSON array. A null data is an
// empty list, as the API sends for an account without any; an absent one
// is ErrUnexpectedResponse.
func sendList[E any](ctx context.Context, c *Client, r *request) ([]E, error) {
	var items []E
	r.decode, r.out = decodeNullable, &items
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	return nonNil(items), nil
}

// sendNullable is send for data that is an object holding a list, which the
// API may send as null when there is nothing: null gives a zero T (empty
// lists); an absent data is still ErrUnexpectedResponse.
func sendNullable[T any](ctx context.Context, c *Client, r *request) (*T, error) {
	out := new(T)
	r.decode, r.out = decodeNullable, out
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	return out, nil
}

// listData is the data of one paged list as the API sends it. Each list
// names its items and its total_* count its own way; page says where they
// are, and what is wrong with them. env is the whole answer, for a count
// that sits beside data.
type listData[W any] interface {
	page(env *rawEnvelope) (items []W, total *flexInt, problem string)
}

// listMember reads the items member of a paged list's data (ssh_keys,
// credit_history, invoices), which the caller presets to new([]W) before
// decoding: JSON null clears the pointer (no items), an array fills the
// slice, and an absent member leaves a pointer to a nil slice, an answer
// without its list (a zero page would pass for an empty account). It
// returns the items, or why there are none to trust.
func listMember[W any](items *[]W, list, member string) ([]W, string) {
	switch {
	case items == nil:
		return nil, ""
	case *items == nil:
		return nil, list + ` without "` + member + `"`
	}
	return *items, ""
}

// sendPage runs a paged list call: data (a pointer to the list's wire type,
// preset if it must tell an absent field from an empty one) is decoded from
// the answer, and each item made public. A null data is an empty page; an
// absent one is ErrUnexpectedResponse.
func sendPage[W, T any, D listData[W]](ctx context.Context, c *Client, r *request, lo ListOptions, data D, public func(*W) T) (*Page[T], error) {
	res := &pageAnswer[W, D]{data: data}
	r.decode, r.out = decodePage[W, D], res
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	out := make([]T, len(res.items))
	for i := range res.items {
		out[i] = public(&res.items[i])
	}
	return newPage(out, flexTotal(res.total), lo), nil
}

// pageAnswer is what decodePage reads out of a paged list's answer.
type pageAnswer[W any, D listData[W]] struct {
	data  D
	items []W
	total *flexInt
}

// decodePage is sendPage's request.decode, out a *pageAnswer: a plain
// function, so that a list call allocates one pageAnswer rather than a
// closure and the variables it captures.
func decodePage[W any, D listData[W]](env *rawEnvelope, out any) string {
	res := out.(*pageAnswer[W, D])
	switch {
	case env.Data == nil:
		return errNoData
	case env.dataNull():
		return ""
	}
	if reason := decodeData(env.Data, res.data); reason != "" {
		return reason
	}
	var problem string
	res.items, res.total, problem = res.data.page(env)
	return problem
}

// Header values that never change, shared by every request. net/http and
// RoundTrippers must not modify a request's headers, so sharing is safe.
var (
	headerAcceptJSON = []string{"application/json"}
	headerJSON       = []string{"application/json"}
	headerForm       = []string{"application/x-www-form-urlencoded"}
)

// urlPort is u's port, or its scheme's default.
func urlPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}
