package nebula

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAPIErrorIsMapsStatusToSentinel(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict,
		ErrRateLimited, ErrServerError, ErrUnexpectedResponse, ErrInvalidArgument, ErrOutcomeUnknown}
	cases := []struct {
		status int
		want   error
	}{
		{400, ErrBadRequest}, {422, ErrBadRequest}, {401, ErrUnauthorized}, {403, ErrForbidden},
		{404, ErrNotFound}, {409, ErrConflict}, {429, ErrRateLimited}, {500, ErrServerError},
		{502, ErrServerError}, {503, ErrServerError}, {504, ErrServerError}, {599, ErrServerError},
		{200, nil}, {302, nil}, {418, nil},
	}
	for _, c := range cases {
		err := error(&APIError{HTTPStatus: c.status})
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == c.want) {
				t.Errorf("status %d: errors.Is(%v) = %v", c.status, s, got)
			}
		}
	}
	if !errors.Is(&APIError{HTTPStatus: 200, unexpected: true}, ErrUnexpectedResponse) {
		t.Error("unexpected 2xx is not ErrUnexpectedResponse")
	}
	if !errors.Is(&APIError{HTTPStatus: 400, refused: true}, ErrUnauthorized) {
		t.Error("refused login is not ErrUnauthorized")
	}
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	e := &APIError{HTTPStatus: 409, Status: "failed", Message: "API key name already exists", op: "POST /api-keys"}
	if got, want := e.Error(), "nebula: POST /api-keys: 409 Conflict: API key name already exists"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &APIError{HTTPStatus: 503, Message: "busy", op: "GET /api_keys", RetryAfter: 2 * time.Second, Attempts: 4, RequestID: "req-1"}
	if got, want := e.Error(), "nebula: GET /api_keys: 503 Service Unavailable: busy (retry after 2s) (after 4 attempts) (request id req-1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestOutcomeUnknownWrapsCause(t *testing.T) {
	t.Parallel()
	cause := &APIError{HTTPStatus: 502, op: "POST /api-keys"}
	err := error(&outcomeUnknownError{cause: cause})
	var apiErr *APIError
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrServerError) || !errors.As(err, &apiErr) || apiErr != cause {
		t.Fatalf("outcome-unknown error does not expose both: %v", err)
	}
	if !strings.Contains(err.Error(), "502 Bad Gateway") || !strings.Contains(err.Error(), "outcome unknown") {
		t.Errorf("Error() = %q", err)
	}
}

func answerFor(status int, body string, header map[string]string) *APIError {
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	for k, v := range header {
		resp.Header.Set(k, v)
	}
	return answerError("GET /api_keys", resp, []byte(body), []string{testToken})
}

func TestAnswerErrorBodies(t *testing.T) {
	t.Parallel()
	nginx := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
	cases := []struct {
		name, body, status, message string
	}{
		{"envelope", `{"data":null,"message":"Invalid API key","status":"failed"}`, "failed", "Invalid API key"},
		{"envelope without message", `{"status":"failed"}`, "failed", ""},
		{"fastapi string detail", `{"detail":"Not authenticated"}`, "", "Not authenticated"},
		{"fastapi validation detail", `{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"}]}`, "", "body.name: field required"},
		{"nginx html", nginx, "", "502 Bad Gateway"},
		{"html without title", "<html><body><p>upstream\n  timed out</p></body></html>", "", "upstream timed out"},
		{"plain text", "upstream connect error or disconnect/reset before headers\n", "", "upstream connect error or disconnect/reset before headers"},
		{"empty", "", "", ""},
		{"json but no envelope", `{"error":"nope"}`, "", `{"error":"nope"}`},
		// Found by FuzzAnswerError: strings.ToLower grew invalid UTF-8, and
		// the title's indexes then overran the body.
		{"title with invalid UTF-8", "<TITLE>\x98\x98</TITLE>", "", ""},
		{"title after invalid UTF-8", "\xff\xfe<title>Bad Gateway</title>", "", "Bad Gateway"},
	}
	for _, c := range cases {
		e := answerFor(502, c.body, nil)
		if e.Status != c.status || e.Message != c.message {
			t.Errorf("%s: Status %q Message %q, want %q %q", c.name, e.Status, e.Message, c.status, c.message)
		}
	}
}

func TestAnswerErrorHeaders(t *testing.T) {
	t.Parallel()
	e := answerFor(429, "", map[string]string{"Retry-After": "7", "X-Request-Id": "abc-123"})
	if e.RetryAfter != 7*time.Second || e.RequestID != "abc-123" {
		t.Fatalf("RetryAfter %v RequestID %q", e.RetryAfter, e.RequestID)
	}
	e = answerFor(302, "", map[string]string{"Location": "https://elsewhere.example/x?token=abc"})
	if e.Message != "redirect not followed (to https://elsewhere.example)" {
		t.Fatalf("redirect message %q", e.Message)
	}
}

func TestAnswerErrorScrubsCredentials(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	bodies := []string{
		`{"status":"failed","message":"key ` + docsKeyValue + ` is revoked"}`,
		`{"detail":"bad token ` + testToken + `"}`,
		"<html><title>token " + testToken + "</title></html>",
		long + " " + testToken,
		testToken[:len(testToken)-1] + "Z" + " and " + docsLoginJWT,
		`{"status":"failed","message":"` + long + docsKeyValue + `"}`,
	}
	for _, b := range bodies {
		e := answerFor(400, b, nil)
		for _, secret := range []string{docsKeyValue, testToken, docsLoginJWT, docsKeyValue[3:20], testToken[3:20], docsLoginJWT[10:40]} {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("error %q carries %q", e.Error(), secret)
			}
		}
		if len([]rune(e.Message)) > maxMessageLen+3 {
			t.Errorf("message of %d runes", len([]rune(e.Message)))
		}
	}
}

func TestScrubFoldsControlCharacters(t *testing.T) {
	t.Parallel()
	if got := scrub("a\r\n\tb\x00c  \x1b[31md", nil, 100); got != "a b c [31md" {
		t.Fatalf("scrub = %q", got)
	}
	if got := scrub(strings.Repeat("é", 10), nil, 4); got != "éééé..." {
		t.Fatalf("scrub cut = %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{" 120 ", 120 * time.Second, true},
		{"Wed, 25 Nov 2026 12:00:05 GMT", 5 * time.Second, true},     // IMF-fixdate
		{"Wednesday, 25-Nov-26 12:00:09 GMT", 9 * time.Second, true}, // RFC 850
		{"Wed Nov 25 12:01:00 2026", time.Minute, true},              // asctime
		{"Wed, 25 Nov 2026 11:00:00 GMT", 0, true},                   // in the past
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", maxRetryAfterSeconds * time.Second, true}, // too long, not absent
	}
	for _, c := range cases {
		got, ok := parseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if d, ok := parseRetryAfter("9999999999999", now); !ok || d < time.Hour {
		t.Errorf("huge Retry-After = %v, %v", d, ok)
	}
}

// A call that ended while waiting to retry names itself once: the earlier
// attempt's answer is quoted without the "nebula: Service.Method: METHOD
// /path" it shares with the call's own error.
func TestPreviousAttemptNamesTheCallOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	// The call ends during the wait before its retry.
	e := newTestEnv(t, WithRetryWait(time.Minute, time.Minute), WithObserver(cancelOnRetry(cancel)))
	e.reply("GET", "/api_keys", status(503, failedEnvelope("busy")))
	_, err := e.client.APIKeys.List(ctx)
	want := "nebula: APIKeys.List: GET /api_keys: context canceled (previous attempt: 503 Service Unavailable: busy)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrServerError) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v\nwant %s", err, want)
	}
}

// cancelOnRetry is an Observer that calls cancel when an attempt is to be
// retried.
type cancelOnRetry context.CancelFunc

func (cancelOnRetry) CallStart(ctx context.Context, _ CallInfo) context.Context { return ctx }
func (cancelOnRetry) CallDone(context.Context, CallInfo, CallResult)            {}
func (c cancelOnRetry) AttemptDone(_ context.Context, _ CallInfo, a AttemptInfo) {
	if a.Retry {
		c()
	}
}
