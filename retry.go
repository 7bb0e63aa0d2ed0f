package nebula

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds the whole retry decision: retryPolicy, a pure function of
// what one attempt got. call.go only adapts go-retryablehttp's hooks to it.

// safety says whether a call may reach the API more than once. The zero
// value is the cautious one, so a call that forgets to say is never repeated.
type safety uint8

const (
	// sendOnce: a create (an API key, an SSH key, an instance, an image).
	// Sent again only when the earlier attempt provably never left, or was
	// refused with 429.
	sendOnce safety = iota
	// repeatable: reads, deletes, renames, login, and the converging
	// start/stop/reboot GETs. Repeating them changes nothing.
	repeatable
)

const (
	// maxRetryAfter is the longest Retry-After the SDK sleeps for; a longer
	// one is returned to the caller at once, as an *APIError with RetryAfter.
	maxRetryAfter = 60 * time.Second
)

// attemptOutcome is what one attempt got, reduced to what the policy needs.
type attemptOutcome struct {
	status         int  // the HTTP status; 0 when no answer arrived
	failedEnvelope bool // the answer was the API's own "failed" envelope
	unusable       bool // a 2xx whose body could not be used: the API acted
	// retryAfter is the answer's Retry-After: 0 when absent, and more than
	// maxRetryAfter when too long (or too large to parse).
	retryAfter time.Duration

	transportErr error // set when no complete answer arrived
	unsent       bool  // the request provably never left (transportErr only)
	permanent    bool  // a failure no retry can mend (TLS verification)
	callerGaveUp bool  // the call's context ended

	// What the call knows beyond this attempt.
	goneOK      bool // the call is a delete: its object gone is what was asked
	actedBefore bool // an earlier attempt (of this Do or before a replay) may have acted
	canReplay   bool // a fresh credential can be had, and the call was not replayed yet
}

// retryLimits are the client's retry settings and the time the call has left.
type retryLimits struct {
	maxRetries       int
	waitMin, waitMax time.Duration
	// timeLeft is how long until the context's deadline; negative when it
	// has none.
	timeLeft time.Duration
}

// retryDecision is the policy's answer for one attempt.
type retryDecision struct {
	retry bool
	wait  time.Duration
	// mayHaveActed: the API may have carried the request out although the
	// caller got no answer (a delete whose retry finds 404 succeeded).
	mayHaveActed bool
	// outcomeUnknown: a sendOnce call that may have been carried out; it
	// ends with ErrOutcomeUnknown.
	outcomeUnknown bool
	// gone: a delete's 404 after an attempt that may have deleted the
	// object is success: it is gone either way.
	gone bool
	// replay: a 401 that a fresh credential may mend. A 401 means the API
	// did nothing, so even a create may be replayed, once, if the
	// credential the call gets next differs from the one refused.
	replay bool
}

// retryPolicy decides, after attempt number attempt (from 1), whether to
// send the call again and after how long. draw picks a wait uniformly from
// [lo, hi]; tests pass a fixed one.
func retryPolicy(s safety, o attemptOutcome, attempt int, lim retryLimits, draw func(lo, hi time.Duration) time.Duration) retryDecision {
	var d retryDecision
	switch {
	case o.transportErr != nil:
		d.mayHaveActed = !o.unsent
	case o.unusable:
		d.mayHaveActed = true
	default:
		// A gateway's error, or a 500 that is not the API's own "failed"
		// answer, may come after the API acted on the request; a 303 See
		// Other says the server acted and the result is elsewhere, and a
		// redirect that is not followed says nothing either way (a 302
		// after a POST is the usual Post/Redirect/Get of a server that
		// acted), except a 307 or 308, which says the hop did nothing.
		redirect := o.status >= 300 && o.status < 400 &&
			o.status != http.StatusTemporaryRedirect && o.status != http.StatusPermanentRedirect
		d.mayHaveActed = o.status == http.StatusBadGateway || o.status == http.StatusGatewayTimeout ||
			(o.status == http.StatusInternalServerError && !o.failedEnvelope) || redirect
	}
	if s == sendOnce && d.mayHaveActed {
		d.outcomeUnknown = true
		return d
	}
	switch {
	case o.transportErr != nil || o.unusable:
	case o.status == http.StatusNotFound && o.goneOK && o.actedBefore:
		d.gone = true
		return d
	case o.status == http.StatusUnauthorized && o.canReplay:
		d.replay = true
		return d
	}

	var worthRetrying bool
	switch {
	case o.callerGaveUp || o.permanent || o.unusable:
	case o.transportErr != nil:
		worthRetrying = o.unsent || s == repeatable
	case o.status == http.StatusTooManyRequests:
		worthRetrying = true
	case s == repeatable:
		switch o.status {
		case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			worthRetrying = true
		}
	}
	if !worthRetrying || attempt > lim.maxRetries || o.retryAfter > maxRetryAfter {
		return d
	}

	// Retry n (from 0) waits [min, min(max, min·2^(n+1))]: jittered from
	// the first retry on, so that clients failed together spread out.
	wait := draw(lim.waitMin, backoffCeiling(lim.waitMin, lim.waitMax, attempt))
	wait = max(wait, o.retryAfter)
	if lim.timeLeft >= 0 && lim.timeLeft < wait {
		return d // the caller would be cut off mid-wait: say why now
	}
	d.retry, d.wait = true, wait
	return d
}

// backoffCeiling is min(maxWait, minWait·2^shift) without overflowing.
func backoffCeiling(minWait, maxWait time.Duration, shift int) time.Duration {
	if shift < 62 && minWait <= maxWait>>shift {
		return min(maxWait, minWait<<shift)
	}
	return maxWait
}

// uniformWait draws a wait uniformly from [lo, hi].
func uniformWait(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}

// neverLeft reports whether a transport error can only have happened before
// any byte of the request left: the name did not resolve, the connection
// could not be made, a proxy refused the tunnel, or the server's
// certificate was refused (the handshake ends before any request byte). Nothing else proves it: in particular not the absence of an
// httptrace event, which a custom RoundTripper may never emit.
func neverLeft(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect") {
		return true
	}
	return tlsVerificationFailed(err)
}

// tlsVerificationFailed reports a certificate the client refused: the same
// certificate will be refused again, so it is never retried.
func tlsVerificationFailed(err error) bool {
	var (
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
	)
	return errors.As(err, &verifyErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalidErr)
}

// parseRetryAfter reads Retry-After as delay-seconds or as an HTTP-date in
// any of the three forms HTTP allows. A date in the past means no wait. A
// number too large to parse is "too long" (more than maxRetryAfter), not
// absent.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if allDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > maxRetryAfterSeconds {
			secs = maxRetryAfterSeconds
		}
		return time.Duration(secs) * time.Second, true
	}
	when, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}

// maxRetryAfterSeconds caps what a Retry-After can claim so that the
// conversion to a Duration cannot overflow; anything near it is refused as
// too long anyway.
const maxRetryAfterSeconds = 1 << 31
