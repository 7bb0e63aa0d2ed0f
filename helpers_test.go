package nebula

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

const (
	testToken = "ak_TestToken_0123456789abcdefghijklmnopqrstuv"
	testBase  = "https://api.nebula.test/api/v1"
)

// Fixtures: the example responses of the API's own docs.
const (
	docsCreateIntID = `{
    "data": {
        "id": 5,
        "key": "ak_WT2l5Rw8Rv8Mp7Q7fLh7dFgEDl_EMAntCsqlxhEsu-0",
        "name": "test-api-key",
        "description": "This is a test API key"
    },
    "message": "API key successfully created",
    "status": "success"
}`
	docsCreateUUID = `{
    "data": {
        "id": "9a4d7961-3274-4479-a20b-10f57f9bc75a",
        "key": "ak_WT2l5Rw8Rv8Mp7Q7fLh7dFgEDl_EMAntCsqlxhEsu-0",
        "name": "test-api-key",
        "description": "This is a test API key"
    },
    "message": "API key successfully created",
    "status": "success"
}`
	docsKeyValue = "ak_WT2l5Rw8Rv8Mp7Q7fLh7dFgEDl_EMAntCsqlxhEsu-0"
	docsList     = `{
    "data": [
        {
            "id": 5,
            "name": "api-test-key",
            "description": "This is the test API key",
            "partial_key_data": "ak_..."
        },
        {
            "id": 6,
            "name": "api-test-key2",
            "description": "This is the test API key #2",
            "partial_key_data": "ak_..."
        }
    ],
    "message": "API keys successfully retrieved",
    "status": "success"
}`
	docsDelete = `{
    "data": {},
    "message": "API key successfully deleted",
    "status": "success"
}`
	docsLogin = `{
    "data": {
        "id": 18,
        "name": "Test User",
        "email": "testemail@gmail.com",
        "is_staff": false,
        "is_active": true,
        "jwtToken": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbkBnbWFpbC5jb20iLCJyb2xlcyI6WyJBRE1JTiJdLCJleHAiOjE3MzA3NTg2MzYsInNjb3BlcyI6WyJBRE1JTiJdfQ.QwXYFII5y_V_9bIRQ3R-9W-jATjHa2yfklLaTQzVwS8"
    },
    "message": "Login successful",
    "status": "success"
}`
	docsLoginJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbkBnbWFpbC5jb20iLCJyb2xlcyI6WyJBRE1JTiJdLCJleHAiOjE3MzA3NTg2MzYsInNjb3BlcyI6WyJBRE1JTiJdfQ.QwXYFII5y_V_9bIRQ3R-9W-jATjHa2yfklLaTQzVwS8"
)

// withEnv replaces the process environment for NewClient, so tests of the
// environment defaults can run in parallel.
func withEnv(env map[string]string) Option {
	return func(c *config) error {
		c.getenv = func(k string) string { return env[k] }
		return nil
	}
}

// testEnv is one test's client on its own httpmock transport.
type testEnv struct {
	t      *testing.T
	mock   *httpmock.MockTransport
	client *Client
}

func newTestEnv(t *testing.T, opts ...Option) *testEnv {
	t.Helper()
	mock := httpmock.NewMockTransport()
	all := append([]Option{
		WithToken(testToken),
		WithBaseURL(testBase),
		WithHTTPClient(&http.Client{Transport: mock}),
		WithRetryWait(time.Millisecond, 2*time.Millisecond),
		withEnv(nil),
	}, opts...)
	c, err := NewClient(all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return &testEnv{t: t, mock: mock, client: c}
}

// sent is a request as the mock transport received it.
type sent struct {
	Method  string
	URL     string // as sent, escaped
	RawPath string // escaped path
	Header  http.Header
	Body    string
}

// recorder keeps what a route received.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.reqs...)
}

func (r *recorder) count() int { return len(r.all()) }

func (r *recorder) add(req *http.Request) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.String(), req.URL.EscapedPath(), req.Header.Clone(), string(body)})
}

// reply answers every request to method and path (under testBase) with the
// given answers in turn, repeating the last, and records what it got.
func (e *testEnv) reply(method, path string, answers ...answer) *recorder {
	rec := &recorder{}
	var mu sync.Mutex
	n := 0
	e.mock.RegisterResponder(method, testBase+path, func(req *http.Request) (*http.Response, error) {
		rec.add(req)
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		return a.response(req)
	})
	return rec
}

// anyRequest records every request whatever its route, answering a.
func (e *testEnv) anyRequest(a answer) *recorder {
	rec := &recorder{}
	e.mock.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		rec.add(req)
		return a.response(req)
	})
	return rec
}

// answer is one scripted response, or a transport error.
type answer struct {
	status int
	body   string
	header map[string]string
	err    error
}

func (a answer) response(req *http.Request) (*http.Response, error) {
	if a.err != nil {
		return nil, a.err
	}
	resp := httpmock.NewStringResponse(a.status, a.body)
	for k, v := range a.header {
		resp.Header.Set(k, v)
	}
	resp.Request = req
	return resp, nil
}

func ok(body string) answer               { return answer{status: 200, body: body} }
func status(code int, body string) answer { return answer{status: code, body: body} }

func failedEnvelope(message string) string {
	return `{"data": null, "message": "` + message + `", "status": "failed"}`
}

// bg is the context tests use unless they test contexts.
var bg = context.Background()

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
