package nebula

import (
	"context"
	"time"
)

// Observer watches calls: a tracer, a metrics recorder, an audit log (see
// the module github.com/nebula-sdk/nebula-go/otel). It sees every attempt,
// the retries and the replay after a 401 included, and never a header value,
// a body or a token. Its methods run on the calling goroutine; a panic in one
// is the caller's.
type Observer interface {
	// CallStart runs once per call, before anything is sent; the context it
	// returns carries the call's attempts (a tracer puts its span there).
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
}

// AttemptInfo describes one attempt of a call.
type AttemptInfo struct {
	Attempt    int           // from 1; the replay after a 401 counts on
	StatusCode int           // 0 when no answer arrived
	RequestID  string        // X-Request-Id, scrubbed; "" when not sent
	Err        error         // why the attempt failed; nil on success
	Duration   time.Duration // from sending to the answer (or failure)
	// Retry is true when another attempt follows after Wait.
	Retry bool
	Wait  time.Duration
}

// CallResult is what a call ended with.
type CallResult struct {
	Err            error         // what the caller gets; nil on success
	Attempts       int           // attempts made, the replay after a 401 included
	StatusCode     int           // of the last answer; 0 when none arrived
	RequestID      string        // of the last answer
	Duration       time.Duration // the whole call, waits included
	OutcomeUnknown bool          // errors.Is(Err, ErrOutcomeUnknown)
}

// WithObserver makes every call of the Client report to o. A nil o is
// refused.
func WithObserver(o Observer) Option {
	return func(c *config) error {
		if o == nil {
			return invalidArgument("WithObserver: nil Observer")
		}
		c.observer = o
		return nil
	}
}
