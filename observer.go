package nebula

import (
	"context"
	"time"
)

// Observer watches calls: a tracer, a metrics recorder, an audit log (see
// the module github.com/nebula-sdk/nebula-go/otel). It sees every attempt,
// the retries and the replay after a 401 included, and never a header value,
// a body or a token. Its methods run on the calling goroutine, but for the
// catalog reads Instances.Create makes in goroutines of its own. A panic in
// one is the caller's: it reaches the goroutine that called the method, even
// from those reads, where it can be recovered, and the Client stays usable
// (a login it interrupted is tried again by the next call).
//
// Which calls it sees: every call that passed the SDK's checks of its input.
// A call refused for bad input (ErrInvalidArgument: a blank name, a bad ID,
// a bad CallOption, a nil context) sends nothing and is not reported at all,
// whether its method or the pipeline refused it. A call that passed them is
// reported with CallStart and CallDone even when nothing was sent (a
// TokenSource that failed, a context already done): then CallDone has 0
// Attempts and no AttemptDone came before it.
//
// A call made of several requests (APIKeys.Rotate, Instances.Create with
// its catalog check and lookup, Instances.Wait) is reported as each of its
// requests, each with its own CallStart and CallDone, named after the
// request's own operation ("APIKeys.Create" and "APIKeys.Delete" for a
// Rotate).
type Observer interface {
	// CallStart runs once per call, before anything is sent; the context it
	// returns carries the call's attempts (a tracer puts its span there). A
	// nil context keeps the caller's.
	CallStart(ctx context.Context, info CallInfo) context.Context
	// AttemptDone runs after each attempt, retried or not.
	AttemptDone(ctx context.Context, info CallInfo, attempt AttemptInfo)
	// CallDone runs once per call with what the caller gets.
	CallDone(ctx context.Context, info CallInfo, result CallResult)
}

// CallInfo names a call for an Observer.
type CallInfo struct {
	Method string // the HTTP method: "POST"
	// Route is the path template under the base URL, every ID written as
	// {id}: "/computing/instance/{id}".
	Route     string
	Service   string // the Client field: "Instances"
	Operation string // the method: "Create"
	// ServerAddress and ServerPort are the base URL's host (without
	// brackets for IPv6) and port, the scheme's default when the URL names
	// none: a tracer's server.address and server.port.
	ServerAddress string
	ServerPort    int
}

// AttemptInfo describes one attempt of a call.
type AttemptInfo struct {
	Attempt    int    // from 1; the replay after a 401 counts on
	StatusCode int    // 0 when no answer arrived
	RequestID  string // X-Request-Id, scrubbed; "" when not sent
	// Err is why the attempt failed: an *APIError for an answer, else the
	// transport's error. nil when it succeeded, and for a Delete's 404 that
	// counts as success. Like every error of the SDK it holds no token.
	Err error
	// Duration runs from sending the request to the end of the answer's
	// body (or to the failure).
	Duration time.Duration
	// Retry is true when the SDK decided to send another attempt after
	// Wait. It is a decision: the context may end during the wait, or the
	// TokenSource fail before the attempt, and then no attempt follows;
	// CallDone says how the call ended and counts only attempts sent. A
	// replay after a 401 is decided after the attempt is reported: it
	// shows as the next AttemptDone, with Retry false on the 401.
	Retry bool
	Wait  time.Duration
}

// CallResult is what a call ended with. Its fields match the Response that
// WithResponseInto fills.
type CallResult struct {
	Err            error         // what the caller gets; nil on success
	Attempts       int           // attempts made, the replay after a 401 included
	StatusCode     int           // of the last answer; 0 when none arrived
	RequestID      string        // of the last answer
	Duration       time.Duration // the whole call, waits included
	OutcomeUnknown bool          // errors.Is(Err, ErrOutcomeUnknown)
}

// WithObserver makes every call of the Client report to o (see Observer for
// which calls and when). A nil o makes NewClient fail with
// ErrInvalidArgument. Of several WithObserver options the last counts.
func WithObserver(o Observer) Option {
	return func(c *config) error {
		if o == nil {
			return invalidArgument("WithObserver: nil Observer")
		}
		c.observer = o
		return nil
	}
}
