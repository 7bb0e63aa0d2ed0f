package nebula

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// CallOption changes one call: its timeout, its retries, an extra header,
// where to put the answer's metadata (WithResponseInto), and, for the
// instance calls that poll, how often to poll and whom to tell of progress.
// Every method of every service takes them last. Only this package's With*
// constructors make a CallOption; a zero one, or one a constructor refused,
// makes the call fail with ErrInvalidArgument before anything is sent.
type CallOption struct {
	apply func(*callConfig) error
	// response is WithResponseInto's target, which a call zeroes even when
	// it is refused before its options are applied (see refused).
	response *Response
}

// callConfig is what a call's options say, resolved once per call.
type callConfig struct {
	timeout    time.Duration // per attempt; 0: the Client's
	maxRetries int           // -1: the Client's
	header     http.Header   // extra headers, already checked; nil when none
	response   *Response     // filled when the call returns; nil when not asked
	pollMin    time.Duration // 0: the Client's WithPolling or the default
	pollMax    time.Duration
	progress   func(Instance) // nil: nobody listens
}

// newCallConfig applies opts in order. The first refused option is the
// call's error, wrapping ErrInvalidArgument.
func newCallConfig(op string, opts []CallOption) (callConfig, error) {
	// Most calls have no options, or only WithResponseInto: they are read
	// here, without the func values that would put the config on the heap.
	cfg := callConfig{maxRetries: -1}
	for _, o := range opts {
		if o.response == nil {
			return applyCallOptions(op, opts)
		}
		cfg.response = o.response
	}
	return cfg, nil
}

// applyCallOptions is newCallConfig for any options.
func applyCallOptions(op string, opts []CallOption) (callConfig, error) {
	cfg := callConfig{maxRetries: -1}
	for i, o := range opts {
		if o.apply == nil {
			return cfg, invalidArgument("%s: call option %d is a zero CallOption (use the With* constructors)", op, i)
		}
		if err := o.apply(&cfg); err != nil {
			return cfg, invalidArgument("%s: %v", op, err)
		}
		if o.response != nil {
			cfg.response = o.response
		}
	}
	return cfg, nil
}

// WithCallTimeout bounds each attempt of this call by d instead of the
// Client's WithTimeout (it may raise it as well as lower it). For a call that
// streams its answer (Billing.DownloadInvoice) it bounds the wait for the
// answer's headers and then each read's idle time, never a slow, steady
// transfer. d must be positive.
func WithCallTimeout(d time.Duration) CallOption {
	return CallOption{apply: func(c *callConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithCallTimeout(%v): the timeout must be positive", d)
		}
		c.timeout = d
		return nil
	}}
}

// maxCallRetries bounds WithCallMaxRetries: more would hammer a failing API.
const maxCallRetries = 100

// WithCallMaxRetries sets how many times this call may be retried, from 0
// (never) to 100, instead of the Client's WithMaxRetries. Retries stay
// subject to the call's safety: a create is still never repeated once it may
// have reached the API.
func WithCallMaxRetries(n int) CallOption {
	return CallOption{apply: func(c *callConfig) error {
		if n < 0 || n > maxCallRetries {
			return fmt.Errorf("WithCallMaxRetries(%d): must be from 0 to %d", n, maxCallRetries)
		}
		c.maxRetries = n
		return nil
	}}
}

// refusedCallHeaders are the headers the SDK owns (credentials, framing) and
// the hop-by-hop ones, which a call may not set: they would change what the
// request means or where it goes.
var refusedCallHeaders = map[string]bool{
	"Authorization": true, "Host": true, "Content-Length": true, "Content-Type": true, "Cookie": true,
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authorization": true,
	"Te": true, "Transfer-Encoding": true, "Upgrade": true, "Trailer": true,
	// The SDK's own: the answer must be the JSON (or PDF) it decodes, and
	// WithUserAgent names the caller.
	"Accept": true, "User-Agent": true,
	// They change the answer: a compressed body the transport no longer
	// decodes (a created key's value lost), a part of it that passes for
	// the whole (an invoice cut short), an interim answer to wait for.
	"Accept-Encoding": true, "Range": true, "If-Range": true, "Expect": true,
	// They change what the request does on servers that honour them: a
	// read carried out as a delete, and retried as a read is.
	"X-Http-Method-Override": true, "X-Http-Method": true, "X-Method-Override": true,
}

// WithCallHeader adds a header to every attempt of this call (a trace id, a
// tenant tag). Refused, with ErrInvalidArgument: Authorization, Host,
// Content-Length, Content-Type, Cookie, the hop-by-hop headers (Connection,
// Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer),
// Proxy-Authorization, the SDK's own Accept and User-Agent (use
// WithUserAgent), the headers that change the answer (Accept-Encoding,
// Range, If-Range, Expect) or the method (X-HTTP-Method-Override,
// X-HTTP-Method, X-Method-Override), an invalid name, and control
// characters (TAB, DEL and C1 included) in the name or value; the refusal
// never quotes the name (swapped arguments would put the value there). The
// SDK never logs the value, puts it in an error or shows it to an Observer,
// and scrubs it from a transport error that quotes the request's headers;
// an answer that echoes it (a trace id repeated as X-Request-Id) shows it
// as the server sent it. It is no place for a credential.
func WithCallHeader(key, value string) CallOption {
	return CallOption{apply: func(c *callConfig) error {
		name := textproto.CanonicalMIMEHeaderKey(key)
		switch {
		case !validHeaderName(key):
			// Not quoted: with the arguments swapped, the name is a
			// value, maybe a credential.
			return fmt.Errorf("WithCallHeader: the header name (%d bytes, not shown) is not valid: a name is letters, digits and !#$%%&'*+-.^_`|~ (are the name and the value swapped?)", len(key))
		case refusedCallHeaders[name]:
			return fmt.Errorf("WithCallHeader: the SDK sets %s itself", name)
		case hasControlOrC1(value):
			return fmt.Errorf("WithCallHeader(%s): the value has a control character", name)
		}
		if c.header == nil {
			c.header = make(http.Header)
		}
		c.header[name] = append(c.header[name], value)
		return nil
	}}
}

// validHeaderName reports an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// hasControlOrC1 reports a C0 control (TAB included), DEL or a C1 control:
// as a character, or as a lone byte 0x80-0x9F outside UTF-8, which is how
// HTTP's Latin-1 reads it (0x9B is a terminal's CSI).
func hasControlOrC1(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError && s[i] >= 0x80 && s[i] <= 0x9f {
			return true // a byte that is no UTF-8 (U+FFFD itself starts with 0xEF)
		}
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return true
		}
	}
	return false
}

// WithResponseInto fills *r with the metadata of the call's last answer
// (status, headers, request id, rate limits) and of the call as a whole
// (attempts, duration) when the call returns, whether it succeeded or not.
// A call refused before sending leaves *r zero (0 attempts, status 0): *r is
// zeroed when the option is made and again by every call given it, refused
// or not, so an earlier call's metadata never passes for this one's, also
// when the option is reused. For APIKeys.Rotate, *r describes its last
// request; for Instances.Create, its POST (the request that is billed,
// whose request id support asks for), not the checks and lookups around
// it; for an iterator (All), the last page's. Instances.Lookup, Wait,
// WaitFunc and WaitAll, which make as many requests as they need, leave
// *r zero. r must not be nil.
func WithResponseInto(r *Response) CallOption {
	if r != nil {
		*r = Response{}
	}
	if r == nil {
		return CallOption{apply: func(*callConfig) error { return fmt.Errorf("WithResponseInto: nil *Response") }}
	}
	// No closure: newCallConfig reads response itself (see there).
	return CallOption{response: r, apply: setResponse}
}

// setResponse marks WithResponseInto's options, whose target newCallConfig
// takes from CallOption.response.
func setResponse(*callConfig) error { return nil }

// zeroResponses zeroes every Response that opts would fill: a call starts
// with them zero, so that one refused before sending, or refused for
// another of its options, never leaves an earlier call's metadata there
// (a WithResponseInto option may be reused).
func zeroResponses(opts []CallOption) {
	for _, o := range opts {
		if o.response != nil {
			*o.response = Response{}
		}
	}
}

// refused is err, the refusal of a call before it reached the pipeline,
// after zeroing the Responses of its options.
func refused(opts []CallOption, err error) error {
	zeroResponses(opts)
	return err
}

// WithCallPolling sets, for this call only, how often Instances.Create looks
// for the new instance and how often the waits (Wait, WaitFunc, WaitAll)
// poll: from min, backing off to max. The Client-wide WithPolling stays the
// default. Both must be positive, and max at least min.
func WithCallPolling(min, max time.Duration) CallOption {
	return CallOption{apply: func(c *callConfig) error {
		if min <= 0 || max < min {
			return fmt.Errorf("WithCallPolling(%v, %v): need 0 < min <= max", min, max)
		}
		c.pollMin, c.pollMax = min, max
		return nil
	}}
}

// WithProgress calls f with the instance each time Instances.Create or a
// wait (Wait, WaitFunc, WaitAll) sees its status change; the first status
// seen counts as a change. f runs on the calling goroutine. f must not be
// nil.
func WithProgress(f func(Instance)) CallOption {
	return CallOption{apply: func(c *callConfig) error {
		if f == nil {
			return fmt.Errorf("WithProgress: nil function")
		}
		c.progress = f
		return nil
	}}
}
