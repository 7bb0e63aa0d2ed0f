package nebula

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// maxBodyBytes caps a success body; a larger one fails the call. It is
// large enough for a list of 100 000 API keys (about 8 MB).
const maxBodyBytes = 32 << 20

// maxBodyFactor is how many times maxBodyBytes a request with bigBody may
// read: a generated image answer may be 256 MiB.
const maxBodyFactor = 8

// call is the state of one API call, from its first attempt to its outcome:
// its attempts and their retries, the replay after a 401, the memory that an
// earlier attempt may already have acted (which makes a delete's 404 a
// success, whichever attempt or replay meets it), the last answer's metadata
// and what the caller and an Observer are told.
//
// It is also the one adapter between go-retryablehttp and retryPolicy.
// go-retryablehttp hands its hooks no request (its issue #169) and Backoff
// no context, so each call has its own retryablehttp.Client whose hooks are
// this call's methods; a replay after a 401 is a second Do on it.
//
// Calls are pooled: binding the hooks allocates a closure for each, which
// with the call itself was a sixth of a call's allocations. Nothing keeps a
// call once do returns (the connection hook, which the transport calls from
// its own goroutine, lives in a connWatch of its own), and release clears
// its state, secrets included, before the pool has it.
type call struct {
	callState
	rc     retryablehttp.Client       // its hooks are this call's methods
	handle func(*http.Response) error // handleResponse, bound once
}

// callState is what a call starts afresh with.
type callState struct {
	client *Client
	// ctx is the caller's context, or the one the Observer's CallStart
	// returned: the attempts run in it.
	ctx   context.Context
	req   request // a copy, so the caller's request need not escape
	cfg   callConfig
	info  CallInfo // only with an Observer
	start time.Time
	token string // the token of the latest attempt; "" without one

	// conn tells whether the current attempt had a connection, for a
	// create on a *http.Transport; nil for other calls.
	conn *connWatch

	attempts     int       // attempts made by the whole call, a replay included
	runStart     int       // attempts made before the current Do (the replay's)
	runAttempt   int       // 1-based number of the attempt within the current Do
	attemptStart time.Time // when the current attempt was sent
	replayed     bool      // the call was replayed after a 401
	handled      bool      // the response handler ran for this attempt
	mayHaveActed bool      // an earlier attempt may have been carried out
	outcomeLost  bool      // a sendOnce call failed after it may have been carried out
	gone         bool      // a delete met 404 after an attempt that may have acted
	replay       bool      // the last attempt's 401 may be mended by a fresh credential
	lastErr      error     // the latest attempt's failure
	wait         time.Duration
	final        error            // set by the error handler
	limited      io.LimitedReader // reused by readBody, saving an allocation per read
	env          rawEnvelope      // the answer's envelope, kept here to save an allocation

	// The last attempt's answer, for Response and the Observer; reset by
	// every attempt, so a transport error leaves them empty.
	status int
	header http.Header // the answer's own; copied only for a Response
}

// connWatch learns from a *http.Transport when an attempt has a connection:
// before it, no byte of the request can have left. The transport may read
// its trace from its own goroutines, also after the attempt ended, so each
// Do of a call (the first and the replay after a 401) has its own.
type connWatch struct {
	got   atomic.Bool
	trace httptrace.ClientTrace
}

func (w *connWatch) gotConn(httptrace.GotConnInfo) { w.got.Store(true) }

// callPool keeps calls with their hooks bound; see call.
var callPool = sync.Pool{New: func() any {
	cl := new(call)
	cl.rc = retryablehttp.Client{
		RequestLogHook: cl.beforeAttempt,
		CheckRetry:     cl.checkRetry,
		Backoff:        cl.backoff,
		ErrorHandler:   cl.errorHandler,
	}
	cl.handle = cl.handleResponse
	return cl
}}

// do runs one call: it checks the call's options, tells the Observer, runs
// the attempts and the replay after a 401, and fills the Response. A call
// refused here for bad input (a bad option, a nil context) sends nothing and
// reaches no Observer, like a call its method refused before calling do.
func (c *Client) do(ctx context.Context, r *request) error {
	zeroResponses(r.opts)
	cfg, err := newCallConfig(r.name, r.opts)
	if err == nil && ctx == nil {
		err = invalidArgument("%s: nil context", r.op())
	}
	if err != nil {
		return err
	}
	cl := newCall(ctx, c, r, cfg)
	err = cl.run()
	cl.finish(err)
	cl.release()
	return err
}

func newCall(ctx context.Context, c *Client, r *request, cfg callConfig) *call {
	cl := callPool.Get().(*call)
	cl.callState = callState{client: c, ctx: ctx, req: *r, cfg: cfg, start: time.Now()}
	cl.rc.HTTPClient = c.http
	cl.rc.RetryMax = cl.maxRetries() // retryPolicy stops first; this only agrees with it
	cl.rc.PrepareRetry = nil
	if !r.noAuth && c.cred.source != nil {
		cl.rc.PrepareRetry = cl.prepareRetry
	}
	if r.safety == sendOnce && c.stdTransport {
		cl.conn = new(connWatch)
	}
	return cl
}

// release clears the call, so that the pool keeps neither its secrets nor
// what they point to, and hands it to the pool.
func (cl *call) release() {
	cl.clear()
	callPool.Put(cl)
}

func (cl *call) clear() {
	cl.callState = callState{}
	cl.rc.HTTPClient, cl.rc.PrepareRetry = nil, nil
}

func (cl *call) maxRetries() int {
	if cl.cfg.maxRetries >= 0 {
		return cl.cfg.maxRetries
	}
	return cl.client.maxRetries
}

// run sends the call, and replays it once after a 401 when a fresh
// credential can be had (a new login, or a TokenSource that now gives
// another token). A 401 means the API did nothing, so even a create may be
// replayed; a second 401 is returned as it is.
func (cl *call) run() error {
	if o := cl.client.observer; o != nil {
		service, operation, _ := strings.Cut(cl.req.name, ".")
		cl.info = CallInfo{Method: cl.req.method, Route: cl.req.route, Service: service, Operation: operation,
			ServerAddress: cl.client.serverAddress, ServerPort: cl.client.serverPort}
		if ctx := o.CallStart(cl.ctx, cl.info); ctx != nil {
			cl.ctx = ctx // nil keeps the caller's, rather than a panic
		}
	}
	err := cl.send("", nil)
	if err == nil || !cl.replay {
		return err
	}
	cred := cl.client.cred
	if cred.login != nil {
		cred.login.invalidate(cl.token)
		return cl.resend("", nil)
	}
	fresh, auth, serr := cred.authorization(cl.ctx)
	if serr != nil || fresh == cl.token {
		return err
	}
	return cl.resend(fresh, auth)
}

// resend starts the replay after a 401: a second Do, whose attempts count on
// from the first one's, and whose retries are counted afresh.
func (cl *call) resend(token string, auth []string) error {
	cl.replayed = true
	cl.runStart = cl.attempts
	cl.lastErr, cl.final, cl.replay = nil, nil, false
	return cl.send(token, auth)
}

// send runs the attempts of one Do. The first attempt uses token and auth
// when given (a TokenSource's answer after a 401), else asks for them.
func (cl *call) send(token string, auth []string) error {
	r := &cl.req
	if err := cl.ctx.Err(); err != nil {
		return &requestError{op: r.op(), err: err}
	}
	if !r.noAuth && auth == nil {
		var err error
		if token, auth, err = cl.client.cred.authorization(cl.ctx); err != nil {
			return &requestError{op: r.op(), err: err}
		}
	}
	cl.token = token

	ctx := cl.ctx
	if w := cl.conn; w != nil {
		if cl.replayed {
			// The first Do's requests may still read their trace from
			// the transport's goroutines (HTTP/2 reports WroteRequest
			// with nothing ordering it before the answer): the replay
			// gets a connWatch of its own rather than rewriting theirs.
			w = new(connWatch)
			cl.conn = w
		}
		// WithClientTrace composes the caller's own trace, if any, into
		// w.trace, which starts from the SDK's hook alone.
		w.trace = httptrace.ClientTrace{GotConn: w.gotConn}
		ctx = httptrace.WithClientTrace(ctx, &w.trace)
	}
	if cl.cfg.timeout > 0 || r.stream {
		ctx = context.WithValue(ctx, attemptSettingsKey{}, attemptSettings{timeout: cl.cfg.timeout, stream: r.stream})
	}
	if r.safety == sendOnce && r.body != nil {
		// For following a 307 or 308 only: see attemptTransport.
		ctx = context.WithValue(ctx, redirectBodyKey{}, redirectBody(r.body))
	}
	var body any // an untyped nil: a typed nil []byte would make GET chunked
	if r.body != nil {
		body = r.body
	}
	target := cl.client.baseURL + r.path
	if r.query != "" {
		target += "?" + r.query
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return &requestError{op: r.op(), err: err}
	}
	if r.safety == sendOnce {
		// Without GetBody neither Go's HTTP/1 nor its HTTP/2 transport can
		// replay the request by itself (HTTP/2 does after some stream
		// resets); only retryPolicy decides on a second send.
		req.GetBody = nil
	}
	h := req.Header
	for k, v := range cl.cfg.header {
		h[k] = v // checked by WithCallHeader: never one the SDK sets below
	}
	h["Accept"] = headerAcceptJSON
	if r.accept != nil {
		h["Accept"] = r.accept
	}
	h["User-Agent"] = cl.client.userAgent
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
	req.SetResponseHandler(cl.handle)
	if _, err := cl.rc.Do(req); err != nil {
		return cl.result(err)
	}
	return nil
}

func (cl *call) beforeAttempt(_ retryablehttp.Logger, req *http.Request, retry int) {
	if cl.req.safety == sendOnce {
		req.GetBody = nil // an earlier attempt's 307 may have set it
	}
	cl.runAttempt = retry + 1
	cl.attempts = cl.runStart + cl.runAttempt
	cl.handled = false
	cl.status, cl.header = 0, nil
	if cl.conn != nil {
		cl.conn.got.Store(false)
	}
	cl.attemptStart = time.Now()
}

// prepareRetry asks the TokenSource again before a retry: a token that
// changes (a rotation, a refreshed login) is picked up by the next attempt.
func (cl *call) prepareRetry(req *http.Request) error {
	token, auth, err := cl.client.cred.authorization(cl.ctx)
	if err != nil {
		return err
	}
	cl.token = token
	// The header map is shared with the earlier attempt's request, which
	// the transport may still hold: give this attempt its own.
	req.Header = req.Header.Clone()
	req.Header["Authorization"] = auth
	return nil
}

// checkRetry is called after every attempt, and a second time after the
// response handler ran. It describes what the attempt got and lets
// retryPolicy decide; the wait decided on is handed to backoff. An attempt
// is reported (attemptDone) once its fate is known: here when the response
// handler will not run, else on the second call.
func (cl *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if cl.handled {
		retry := false
		if err != nil && isCutShort(err) {
			cl.hideQuery(err)
			retry = cl.onTransportError(ctx, err)
		}
		cl.attemptDone(err, retry)
		return retry, nil
	}
	if resp != nil {
		cl.status, cl.header = resp.StatusCode, resp.Header
	}
	if err != nil {
		cl.hideQuery(err)
	}
	cl.logAttempt(resp, err)
	if err != nil {
		retry := cl.onTransportError(ctx, err)
		cl.attemptDone(err, retry)
		return retry, nil
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil // the response handler reads it
	}

	// Any other answer is read here: whether a 500 is a "failed" envelope
	// decides the retry, and reading drains the connection. An error answer
	// cut short still says what it is: the read error is of no further use.
	buf, _ := readBody(resp, maxScanLen, &cl.limited)
	apiErr := answerError(cl.req.op(), resp, buf.Bytes(), cl.secrets())
	putBuffer(buf)
	cl.lastErr = apiErr

	o := attemptOutcome{status: resp.StatusCode, failedEnvelope: apiErr.Status == statusFailed, retryAfter: apiErr.RetryAfter}
	retry := cl.decide(ctx, o, apiErr)
	if retry {
		cl.attemptDone(apiErr, true) // the response handler does not run
	}
	return retry, nil
}

// isCutShort reports a *cutShortError in err's chain. It is a function of
// its own so that the target errors.As needs is allocated only when there
// is an error.
func isCutShort(err error) bool {
	var cut *cutShortError
	return errors.As(err, &cut)
}

// hideQuery keeps the query (paging, filters) out of the url.Error that
// net/http wraps around a transport error, which quotes the whole URL: it
// goes into logs and errors, which show only paths. It also scrubs the
// call's secrets out of the error (see scrubAttemptError), before anything
// logs or keeps it.
func (cl *call) hideQuery(err error) {
	scrubAttemptError(err, cl.client.baseURL+cl.req.path, cl.transportSecrets())
}

// onTransportError describes an attempt that got no complete answer: a
// connection that failed or was cut, a timeout, a body cut short.
func (cl *call) onTransportError(ctx context.Context, err error) bool {
	cl.lastErr = err
	o := attemptOutcome{
		transportErr: err,
		permanent:    tlsVerificationFailed(err),
		callerGaveUp: ctx.Err() != nil,
		unsent:       neverLeft(err),
	}
	if cl.conn != nil {
		// A *http.Transport has a connection before it writes a byte, so
		// until then nothing left; once it had one, something may have,
		// whatever the error says.
		o.unsent = !cl.conn.got.Load()
	}
	return cl.decide(ctx, o, err)
}

// decide applies retryPolicy to one attempt and remembers what it says about
// the call as a whole.
func (cl *call) decide(ctx context.Context, o attemptOutcome, reason error) bool {
	lim := retryLimits{maxRetries: cl.maxRetries(), waitMin: cl.client.waitMin, waitMax: cl.client.waitMax, timeLeft: -1}
	if deadline, ok := ctx.Deadline(); ok {
		lim.timeLeft = max(time.Until(deadline), 0)
	}
	o.goneOK = cl.req.goneOK
	o.actedBefore = cl.mayHaveActed
	o.canReplay = !cl.replayed && cl.token != "" && !cl.req.noAuth && cl.client.cred.source != nil
	d := retryPolicy(cl.req.safety, o, cl.runAttempt, lim, uniformWait)
	cl.mayHaveActed = cl.mayHaveActed || d.mayHaveActed
	cl.outcomeLost = cl.outcomeLost || d.outcomeUnknown
	cl.gone, cl.replay = d.gone, d.replay
	cl.wait = d.wait
	if d.retry && cl.logging(slog.LevelWarn) {
		cl.client.logger.LogAttrs(ctx, slog.LevelWarn, "nebula: retrying",
			slog.String("method", cl.req.method),
			slog.String("path", cl.req.path),
			slog.Int("attempt", cl.attempts),
			slog.Duration("wait", d.wait),
			slog.String("reason", reasonText(reason)))
	}
	return d.retry
}

// backoff hands go-retryablehttp the wait retryPolicy decided on.
func (cl *call) backoff(time.Duration, time.Duration, int, *http.Response) time.Duration {
	return cl.wait
}

// handleResponse runs for an attempt that will not be retried on its status:
// it decodes a 2xx into the call's result, and turns anything else into
// the call's error.
func (cl *call) handleResponse(resp *http.Response) error {
	cl.handled = true
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		if cl.gone {
			// An earlier attempt may have deleted it: it is gone either
			// way, which is what the caller asked for.
			return nil
		}
		return cl.lastErr
	}
	if cl.req.sink != nil {
		return cl.req.sink(resp, cl.secrets())
	}

	limit := cl.client.maxBody
	if cl.req.bigBody {
		limit *= maxBodyFactor
	}
	buf, err := readBody(resp, limit, &cl.limited)
	defer putBuffer(buf)
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return cl.unexpected(resp, fmt.Sprintf("body larger than %d bytes", limit))
		}
		return &cutShortError{err}
	}
	failed, reason := decodeSuccess(buf.Bytes(), &cl.req, &cl.env)
	switch {
	case failed:
		e := answerError(cl.req.op(), resp, buf.Bytes(), cl.secrets())
		cl.lastErr = e
		return e
	case reason != "":
		return cl.unexpected(resp, reason)
	}
	return nil
}

// unexpected is the error for a 2xx that could not be used. The API has
// acted, but the caller cannot see the result.
func (cl *call) unexpected(resp *http.Response, reason string) error {
	e := unexpectedError(cl.req.op(), resp, reason, cl.secrets())
	cl.lastErr = e
	cl.decide(cl.ctx, attemptOutcome{status: resp.StatusCode, unusable: true}, e)
	return e
}

// errorHandler builds the call's error once go-retryablehttp gives up; err
// is the last attempt's failure.
func (cl *call) errorHandler(_ *http.Response, err error, _ int) (*http.Response, error) {
	var previous error
	switch {
	case err == nil:
		err = cl.lastErr
	case err != cl.lastErr:
		// The TokenSource failed before a retry: keep what the attempt
		// before it got.
		previous = cl.lastErr
	}
	cl.final = cl.wrap(err, previous)
	return nil, cl.final
}

// result is the call's error from what go-retryablehttp's Do returned. Do
// bypasses the error handler when the context ends during a wait, and then
// returns the bare context error.
func (cl *call) result(err error) error {
	if cl.final != nil {
		return cl.final
	}
	return cl.wrap(err, cl.lastErr)
}

// wrap names the call in err, counts its attempts and marks a lost outcome.
// previous is an earlier attempt's failure worth keeping beside err.
func (cl *call) wrap(err error, previous error) error {
	attempts := cl.attempts
	// What no attempt's hook saw (a sink's or a TokenSource's error) is
	// scrubbed here; what was already scrubbed is returned as it is.
	secrets := cl.transportSecrets()
	err, previous = scrubError(err, secrets), scrubError(previous, secrets)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.Attempts = attempts
	} else {
		if errors.As(previous, &apiErr) {
			apiErr.Attempts = attempts
		}
		err = &requestError{op: cl.req.op(), attempts: attempts, err: err, previous: previous}
	}
	if cl.outcomeLost {
		return &outcomeUnknownError{cause: err}
	}
	return err
}

// attemptDone tells the Observer how an attempt ended: err is why it failed
// (nil when it succeeded), retry whether another attempt follows.
func (cl *call) attemptDone(err error, retry bool) {
	o := cl.client.observer
	if o == nil {
		return
	}
	a := AttemptInfo{
		Attempt:    cl.attempts,
		StatusCode: cl.status,
		RequestID:  cl.requestID(),
		Err:        err,
		Duration:   time.Since(cl.attemptStart),
		Retry:      retry,
	}
	if retry {
		a.Wait = cl.wait
	}
	o.AttemptDone(cl.ctx, cl.info, a)
}

// finish fills the caller's Response and tells the Observer the outcome.
func (cl *call) finish(err error) {
	o, r := cl.client.observer, cl.cfg.response
	if o == nil && r == nil {
		return
	}
	now := time.Now()
	d := now.Sub(cl.start)
	var buf [2]string // the secrets, without a heap slice for the usual one or two
	secrets := cl.appendSecrets(buf[:0])
	id := cl.requestIDScrubbed(secrets)
	if r != nil {
		// The rate limit is read from the scrubbed headers, whether
		// copied or scrubbed in place: a value that held a secret is
		// no number to show.
		h := responseHeader(cl.header, secrets, cl.ownsHeader())
		*r = Response{
			StatusCode: cl.status,
			Header:     h,
			RequestID:  id,
			Attempts:   cl.attempts,
			Duration:   d,
			RateLimit:  parseRateLimit(h, now),
		}
	}
	if o != nil {
		o.CallDone(cl.ctx, cl.info, CallResult{
			Err:            err,
			Attempts:       cl.attempts,
			StatusCode:     cl.status,
			RequestID:      id,
			Duration:       d,
			OutcomeUnknown: errors.Is(err, ErrOutcomeUnknown),
		})
	}
}

// ownsHeader reports that nothing but this call holds the last answer's
// header map, which responseHeader may then edit and hand over: net/http's
// Transport builds a fresh map for every answer and keeps none (any other
// RoundTripper may share its maps: a cache, a canned answer), but the
// caller's CheckRedirect is handed a redirect's answer (req.Response), and
// that answer is the call's last when the hook returns
// http.ErrUseLastResponse or an error.
func (cl *call) ownsHeader() bool {
	c := cl.client
	return c.stdTransport && !(c.redirectHook && cl.status >= 300 && cl.status < 400)
}

// requestID is the last answer's X-Request-Id, scrubbed.
func (cl *call) requestID() string { return cl.requestIDScrubbed(cl.secrets()) }

// requestIDScrubbed is requestID with the call's secrets at hand.
func (cl *call) requestIDScrubbed(secrets []string) string {
	vs := cl.header["X-Request-Id"] // Get, without canonicalising a canonical key
	if len(vs) == 0 || vs[0] == "" {
		return ""
	}
	id := vs[0]
	if plainRequestID(id, secrets) {
		return id // what scrub would return, without building every secret's forms
	}
	return sanitizeHeader(id, secrets)
}

// plainRequestID reports a request id that scrubbing leaves as it is, as
// nearly every one is (a UUID, a hex string): short, of letters, digits and
// "-_.:" only, without "ak_" or "eyJ", and holding no secret. Every escaped
// form of a secret that differs from the secret holds a character outside
// that set ('%', '\', '&', '+'), so only the secret itself could hide there.
func plainRequestID(id string, secrets []string) bool {
	if len(id) > 128 || strings.Contains(id, "ak_") || strings.Contains(id, "eyJ") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(id, s) {
			return false
		}
	}
	return true
}

// secrets are the values no error of this call may show.
func (cl *call) secrets() []string {
	if cl.token == "" {
		return cl.req.secrets
	}
	return cl.appendSecrets(nil)
}

// appendSecrets appends the call's secrets to buf.
func (cl *call) appendSecrets(buf []string) []string {
	if cl.token != "" {
		buf = append(buf, cl.token)
	}
	return append(buf, cl.req.secrets...)
}

// transportSecrets are the values no error made on this side of the wire
// may show: the call's secrets and the values of its WithCallHeader
// headers, which a RoundTripper's error may quote with the request's
// headers. An answer's text is not scrubbed of the header values: a server
// that echoes a trace id the caller sent shows what the caller chose.
func (cl *call) transportSecrets() []string {
	secrets := cl.secrets()
	for _, vs := range cl.cfg.header {
		secrets = append(secrets[:len(secrets):len(secrets)], vs...)
	}
	return secrets
}

func (cl *call) logging(level slog.Level) bool {
	l := cl.client.logger
	return l != nil && l.Enabled(cl.ctx, level)
}

// logAttempt writes the debug record of one attempt: never headers, bodies
// or the query.
func (cl *call) logAttempt(resp *http.Response, err error) {
	if !cl.logging(slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", cl.req.method),
		slog.String("path", cl.req.path),
		slog.Int("attempt", cl.attempts),
		slog.Duration("duration", time.Since(cl.attemptStart)),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			attrs = append(attrs, slog.String("request_id", sanitizeHeader(id, cl.secrets())))
		}
	} else {
		attrs = append(attrs, slog.String("error", reasonText(err)))
	}
	cl.client.logger.LogAttrs(cl.ctx, slog.LevelDebug, "nebula: attempt", attrs...)
}

// reasonText describes why an attempt failed, for logs: the status line for
// an answer, the error otherwise (transport errors name the URL without its
// query, never the headers).
func reasonText(err error) string {
	var apiErr *APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &apiErr):
		return strconv.Itoa(apiErr.HTTPStatus) + " " + http.StatusText(apiErr.HTTPStatus)
	default:
		return err.Error()
	}
}

// cutShortError is a response body that ended before its length, or failed
// while being read: the answer never arrived whole.
type cutShortError struct{ err error }

func (e *cutShortError) Error() string { return "response body cut short: " + e.err.Error() }
func (e *cutShortError) Unwrap() error { return e.err }

var errBodyTooLarge = errors.New("response body too large")

// named puts the call's name (name: "SSHKeys.Delete") into an
// ErrInvalidArgument error made by a check that does not know the call (an
// ID, list options), so that every error of the SDK names its call.
func named(name string, err error) error {
	if err == nil || !errors.Is(err, ErrInvalidArgument) {
		return err
	}
	msg := strings.TrimPrefix(err.Error(), ErrInvalidArgument.Error()+": ")
	if strings.HasPrefix(msg, name+":") {
		return err
	}
	return invalidArgument("%s: %s", name, msg)
}

// bufferPool recycles the buffers bodies are read into; a body's bytes are
// needed only until they are decoded.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads at most limit bytes of resp's body, through lr, into a
// pooled buffer and closes the body. A body with more than limit bytes gives
// errBodyTooLarge; it is not drained, so its connection is closed rather
// than reused. Give the buffer back with putBuffer once its bytes are
// decoded.
func readBody(resp *http.Response, limit int64, lr *io.LimitedReader) (*bytes.Buffer, error) {
	defer resp.Body.Close()
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n > 0 && n <= limit {
		buf.Grow(int(n))
	}
	*lr = io.LimitedReader{R: resp.Body, N: limit + 1}
	_, err := buf.ReadFrom(lr)
	lr.R = nil
	if err == nil && int64(buf.Len()) > limit {
		buf.Truncate(int(limit))
		err = errBodyTooLarge
	}
	return buf, err
}

// putBuffer returns a buffer from readBody to the pool. Buffers that grew
// large are left to the garbage collector so the pool stays small.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		bufferPool.Put(buf)
	}
}
