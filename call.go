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
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// maxBodyBytes caps a success body; a larger one fails the call. It is
// large enough for a list of 100 000 API keys (about 8 MB).
const maxBodyBytes = 32 << 20

// call is the state of one API call across its attempts, and the adapter
// between go-retryablehttp's hooks and retryPolicy. go-retryablehttp hands
// its hooks no request (its issue #169) and Backoff no context, so each call
// gets its own retryablehttp.Client whose hooks are this call's methods. The
// Client is a few words and embedding it costs no extra allocation.
type call struct {
	rc     retryablehttp.Client
	client *Client
	ctx    context.Context
	req    request // a copy, so the caller's request need not escape
	out    decodedEnvelope
	token  string // the token of the latest attempt; "" without one

	// gotConn is set once a *http.Transport has a connection for the
	// current attempt: before it, no byte of the request can have left.
	// The transport reports it from its own goroutine.
	gotConn atomic.Bool
	trace   httptrace.ClientTrace

	attempt      int       // 1-based number of the current attempt
	attemptStart time.Time // for the log record; zero when not logging
	handled      bool      // the response handler ran for this attempt
	mayHaveActed bool      // an earlier attempt may have been carried out
	outcomeLost  bool      // a sendOnce call failed after it may have been carried out
	lastErr      error     // the latest attempt's failure
	wait         time.Duration
	final        error            // set by the error handler
	limited      io.LimitedReader // reused by readBody, saving an allocation per read
}

func newCall(ctx context.Context, c *Client, r *request, out decodedEnvelope, token string) *call {
	cl := &call{client: c, ctx: ctx, req: *r, out: out, token: token}
	cl.rc = retryablehttp.Client{
		HTTPClient:     c.http,
		RetryMax:       c.maxRetries, // retryPolicy stops first; this only agrees with it
		RequestLogHook: cl.beforeAttempt,
		CheckRetry:     cl.checkRetry,
		Backoff:        cl.backoff,
		ErrorHandler:   cl.errorHandler,
	}
	if !r.noAuth && c.cred.source != nil {
		cl.rc.PrepareRetry = cl.prepareRetry
	}
	if r.safety == sendOnce && c.stdTransport {
		cl.trace.GotConn = cl.onGotConn
	}
	return cl
}

func (cl *call) onGotConn(httptrace.GotConnInfo) { cl.gotConn.Store(true) }

func (cl *call) beforeAttempt(_ retryablehttp.Logger, _ *http.Request, retry int) {
	cl.attempt = retry + 1
	cl.handled = false
	cl.gotConn.Store(false)
	if cl.logging(slog.LevelDebug) {
		cl.attemptStart = time.Now()
	}
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
// retryPolicy decide; the wait decided on is handed to backoff.
func (cl *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if cl.handled {
		if cut := (*cutShortError)(nil); errors.As(err, &cut) {
			cl.hideQuery(err)
			return cl.onTransportError(ctx, err), nil
		}
		return false, nil
	}
	if err != nil {
		cl.hideQuery(err)
	}
	cl.logAttempt(resp, err)
	if err != nil {
		return cl.onTransportError(ctx, err), nil
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
	return cl.decide(ctx, o, apiErr), nil
}

// hideQuery keeps the query (paging, filters) out of the url.Error that
// net/http wraps around a transport error, which quotes the whole URL: it
// goes into logs and errors, which show only paths. It also scrubs the
// call's secrets out of the error (see scrubAttemptError), before anything
// logs or keeps it.
func (cl *call) hideQuery(err error) {
	scrubAttemptError(err, cl.client.baseURL+cl.req.path, cl.secrets())
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
	if cl.trace.GotConn != nil {
		// A *http.Transport has a connection before it writes a byte, so
		// until then nothing left; once it had one, something may have,
		// whatever the error says.
		o.unsent = !cl.gotConn.Load()
	}
	return cl.decide(ctx, o, err)
}

// decide applies retryPolicy to one attempt and remembers what it says about
// the call as a whole.
func (cl *call) decide(ctx context.Context, o attemptOutcome, reason error) bool {
	lim := retryLimits{maxRetries: cl.client.maxRetries, waitMin: cl.client.waitMin, waitMax: cl.client.waitMax, timeLeft: -1}
	if deadline, ok := ctx.Deadline(); ok {
		lim.timeLeft = max(time.Until(deadline), 0)
	}
	d := retryPolicy(cl.req.safety, o, cl.attempt, lim, uniformWait)
	cl.mayHaveActed = cl.mayHaveActed || d.mayHaveActed
	cl.outcomeLost = cl.outcomeLost || d.outcomeUnknown
	cl.wait = d.wait
	if d.retry && cl.logging(slog.LevelWarn) {
		cl.client.logger.LogAttrs(ctx, slog.LevelWarn, "nebula: retrying",
			slog.String("method", cl.req.method),
			slog.String("path", cl.req.path),
			slog.Int("attempt", cl.attempt),
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
// it decodes a 2xx into the call's envelope, and turns anything else into
// the call's error.
func (cl *call) handleResponse(resp *http.Response) error {
	cl.handled = true
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		if cl.req.goneOK && resp.StatusCode == http.StatusNotFound && cl.mayHaveActed {
			// An earlier attempt may have deleted it: it is gone either
			// way, which is what the caller asked for.
			return nil
		}
		return cl.lastErr
	}
	if cl.req.sink != nil {
		return cl.req.sink(resp, cl.secrets())
	}

	buf, err := readBody(resp, cl.client.maxBody, &cl.limited)
	defer putBuffer(buf)
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return cl.unexpected(resp, fmt.Sprintf("body larger than %d bytes", cl.client.maxBody))
		}
		return &cutShortError{err}
	}
	failed, reason := decodeSuccess(buf.Bytes(), &cl.req, cl.out)
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
func (cl *call) errorHandler(_ *http.Response, err error, attempts int) (*http.Response, error) {
	var previous error
	switch {
	case err == nil:
		err = cl.lastErr
	case err != cl.lastErr:
		// The TokenSource failed before a retry: keep what the attempt
		// before it got.
		previous = cl.lastErr
	}
	cl.final = cl.wrap(err, attempts, previous)
	return nil, cl.final
}

// result is the call's error from what go-retryablehttp's Do returned. Do
// bypasses the error handler when the context ends during a wait, and then
// returns the bare context error.
func (cl *call) result(err error) error {
	if cl.final != nil {
		return cl.final
	}
	return cl.wrap(err, cl.attempt, cl.lastErr)
}

// wrap names the call in err, counts its attempts and marks a lost outcome.
// previous is an earlier attempt's failure worth keeping beside err.
func (cl *call) wrap(err error, attempts int, previous error) error {
	// What no attempt's hook saw (a sink's or a TokenSource's error) is
	// scrubbed here; what was already scrubbed is returned as it is.
	err, previous = scrubError(err, cl.secrets()), scrubError(previous, cl.secrets())
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

// secrets are the values no error of this call may show.
func (cl *call) secrets() []string {
	if cl.token == "" {
		return cl.req.secrets
	}
	return append([]string{cl.token}, cl.req.secrets...)
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
		slog.Int("attempt", cl.attempt),
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
