package nebula

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Response is the metadata of a call, filled by WithResponseInto when the
// call returns, success or failure: what go-github and godo return beside
// every result, without making every signature carry it.
type Response struct {
	// StatusCode is the HTTP status of the last attempt's answer; 0 when
	// none arrived (refused before sending, or a transport error). A Delete
	// that found its object already gone reports 404.
	StatusCode int
	// Header is a copy of the last answer's headers, without Set-Cookie.
	Header http.Header
	// RequestID is the answer's X-Request-Id, scrubbed of secrets.
	RequestID string
	// Attempts is how many attempts were made, a replay after a 401
	// included; 0 when the call was refused before sending.
	Attempts int
	// Duration is the whole call, retry waits included.
	Duration time.Duration
	// RateLimit is nil when the answer carried no rate-limit headers.
	RateLimit *RateLimit
}

// RateLimit is the API's rate-limit window as its last answer described it,
// from RateLimit-Limit/-Remaining/-Reset or else the X-RateLimit-* headers.
// A malformed value, or one that held a secret (read after scrubbing),
// leaves its field zero.
type RateLimit struct {
	Limit     int       // requests allowed in the window
	Remaining int       // requests left in the window
	Reset     time.Time // when the window resets; zero when not sent
}

// responseHeader gives a Response the last answer's headers, without the
// cookies it set (a session cookie is a credential), and with secrets (the
// call's own, "ak_" key values, JWTs) scrubbed from every value as from
// every other text: callers print and marshal a Response, and a proxy may
// echo the Authorization header, or X-Request-Id a token.
//
// owned says that nothing but this call holds h (see call.ownsHeader), so
// h is edited in place and handed over; otherwise it is cloned first, and
// neither the caller nor h's holder sees the other's changes.
func responseHeader(h http.Header, secrets []string, owned bool) http.Header {
	if h == nil {
		return nil
	}
	c := h
	if !owned {
		c = h.Clone()
	}
	var known []string // the secrets to look for, once a text may hold one
	scrubbed := func(text string) string {
		if !mayHoldSecret(text, secrets) {
			return text
		}
		if known == nil {
			known = knownSecrets(secrets)
		}
		return redactSecrets(text, known)
	}
	var renamed http.Header // names that held a secret, under their scrubbed names
	for k, vs := range c {
		// Another RoundTripper's map may have names in any case.
		if strings.EqualFold(k, "Set-Cookie") || strings.EqualFold(k, "Set-Cookie2") {
			delete(c, k)
			continue
		}
		for i, v := range vs {
			vs[i] = scrubbed(v)
		}
		if name := scrubbed(k); name != k {
			delete(c, k)
			if renamed == nil {
				renamed = make(http.Header)
			}
			renamed[name] = append(renamed[name], vs...)
		}
	}
	for k, vs := range renamed {
		c[k] = append(c[k], vs...)
	}
	return c
}

// mayHoldSecret reports a header value that redactSecrets might change: one
// that holds a secret as it is, "ak_", "eyJ", or a character that only an
// escaped form of a secret brings ('%' and '+' of URL escaping, '\' of
// JSON's, '&' of HTML's). Most values (dates, types, ids) hold none, and
// skip the search for every known secret.
func mayHoldSecret(v string, secrets []string) bool {
	// One pass over the value: it is called for every header of every
	// answer a Response is asked for.
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case isEscapeStart(c),
			c == apiKeyPrefix[0] && strings.HasPrefix(v[i:], apiKeyPrefix),
			c == 'e' && strings.HasPrefix(v[i:], "eyJ"):
			return true
		}
	}
	for _, s := range secrets {
		if len(s) >= minSecretLen && strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// parseRateLimit reads the rate-limit headers of an answer received at now:
// RateLimit-Limit, -Remaining and -Reset (delta-seconds), else the
// X-RateLimit-* ones, whose Reset is delta-seconds below 10^9 and unix
// seconds above. A malformed value leaves its field zero. It returns nil
// when neither family is present.
func parseRateLimit(h http.Header, now time.Time) *RateLimit {
	if h == nil {
		return nil
	}
	limit, remaining, reset := h["Ratelimit-Limit"], h["Ratelimit-Remaining"], h["Ratelimit-Reset"]
	legacy := false
	if limit == nil && remaining == nil && reset == nil {
		limit, remaining, reset = h["X-Ratelimit-Limit"], h["X-Ratelimit-Remaining"], h["X-Ratelimit-Reset"]
		legacy = true
		if limit == nil && remaining == nil && reset == nil {
			return nil
		}
	}
	rl := &RateLimit{}
	rl.Limit, _ = rateLimitNumber(limit)
	rl.Remaining, _ = rateLimitNumber(remaining)
	if n, ok := rateLimitNumber(reset); ok {
		if legacy && n >= 1e9 {
			rl.Reset = time.Unix(int64(n), 0)
		} else {
			rl.Reset = now.Add(time.Duration(n) * time.Second)
		}
	}
	return rl
}

// maxRateLimitNumber bounds a rate-limit value, so that a Reset in seconds
// cannot overflow a Duration or a Time; a larger one is malformed.
const maxRateLimitNumber = 1 << 33

// rateLimitNumber reads the first value of a rate-limit header: a
// non-negative integer, optionally followed by parameters (";w=60") or more
// list members (", 100;w=60"), as drafts of the RateLimit fields allow.
func rateLimitNumber(v []string) (int, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := v[0]
	if i := strings.IndexAny(s, ",;"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 12 || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxRateLimitNumber {
		return 0, false
	}
	return n, true
}
