package nebula

import (
	"net/http"
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
// A malformed value leaves its field zero.
type RateLimit struct {
	Limit     int       // requests allowed in the window
	Remaining int       // requests left in the window
	Reset     time.Time // when the window resets; zero when not sent
}
