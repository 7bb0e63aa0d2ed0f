package nebula

import (
	"errors"
	"net/url"
	"strconv"
)

// This file keeps the call's secrets out of transport errors, which the SDK
// does not write itself: a custom RoundTripper may quote the Authorization
// header in its error, and net/http quotes a Location header it cannot
// parse ("failed to parse Location header ..."), which a server may have
// filled with the token.
//
// What a caller can see of a transport error, and what is scrubbed:
//   - the returned error's text, under every fmt verb, and every log record;
//   - every error reached from it with errors.Unwrap: the *url.Error net/http
//     made for the attempt is rewritten in place (it is that attempt's own
//     value), its Err replaced by a *scrubbedError when its text held a
//     secret. A *scrubbedError has no Unwrap, so a walk down the chain ends
//     at its scrubbed text;
//   - errors.Is and errors.As still see the original chain through the
//     *scrubbedError's Is and As methods, so *net.OpError, *net.DNSError,
//     x509 errors, context.DeadlineExceeded and the rest are found as
//     before. errors.As hands back the original value of the type asked
//     for, which the SDK does not rewrite (a RoundTripper may share it
//     between calls): its own text is whatever its maker wrote.

// maxErrorTextLen bounds the scrubbed text of a transport error.
const maxErrorTextLen = 1000

// scrubbedError stands in for an error whose text held a secret: it prints
// the scrubbed text and lets errors.Is and errors.As see the original.
type scrubbedError struct {
	text string
	err  error // the original, never printed
}

func (e *scrubbedError) Error() string { return e.text }

// GoString keeps %#v from printing the original through reflection.
func (e *scrubbedError) GoString() string {
	return "&nebula.scrubbedError{" + strconv.Quote(e.text) + "}"
}

// Is and As look into the original chain; there is no Unwrap, so that
// errors.Unwrap never yields the unscrubbed text.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e *scrubbedError) As(target any) bool   { return errors.As(e.err, target) }

// Timeout and Temporary answer as the original does: *url.Error and
// *net.OpError ask their Err directly, without errors.As.
func (e *scrubbedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

func (e *scrubbedError) Temporary() bool {
	var t interface{ Temporary() bool }
	return errors.As(e.err, &t) && t.Temporary()
}

// scrubError returns err unchanged when its text shows none of secrets, no
// "ak_" key value and no JWT; otherwise a *scrubbedError standing in for it.
func scrubError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	switch err.(type) {
	case *scrubbedError, *APIError:
		// Already scrubbed; scrubbing an *APIError's cut message again
		// could mistake its "..." for part of a key and hide the type.
		return err
	}
	text := err.Error()
	if redactSecrets(text, knownSecrets(secrets)) == text {
		return err
	}
	return &scrubbedError{text: scrub(text, secrets, maxErrorTextLen), err: err}
}

// scrubAttemptError rewrites one attempt's transport error in place before
// it is logged, kept or returned: the *url.Error net/http made for the
// attempt gets the URL without its query (paging and filters stay out of
// logs, which show only paths) and a scrubbed Err; a *cutShortError, which
// the SDK made, gets a scrubbed cause. Rewriting in place keeps the error's
// identity, which the pipeline compares.
func scrubAttemptError(err error, path string, secrets []string) {
	if urlErr, ok := err.(*url.Error); ok {
		urlErr.URL = path
		urlErr.Err = scrubError(urlErr.Err, secrets)
	}
	var cut *cutShortError
	if errors.As(err, &cut) {
		cut.err = scrubError(cut.err, secrets)
	}
}

// causeText is err's text without the method and quoted URL a *url.Error
// puts in front: the SDK's errors name the call themselves.
func causeText(err error) string {
	if u, ok := err.(*url.Error); ok && u.Err != nil {
		return u.Err.Error()
	}
	return err.Error()
}
