package nebula

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Small behaviours that mutation testing showed no other test pins: limits
// at their exact boundaries, message formats, scrubbing order.

func TestWithMaxRetriesBounds(t *testing.T) {
	t.Parallel()
	for n, ok := range map[int]bool{-1: false, 0: true, 100: true, 101: false} {
		_, err := NewClient(WithToken(testToken), WithMaxRetries(n), withEnv(nil))
		if (err == nil) != ok {
			t.Errorf("WithMaxRetries(%d): err %v", n, err)
		}
	}
}

func TestAtMostTenRedirectsFollowed(t *testing.T) {
	t.Parallel()
	for hops, ok := range map[int]bool{9: true, 10: false} {
		lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
			n, _ := strconv.Atoi(r.URL.Query().Get("hop"))
			if n < hops {
				http.Redirect(w, r, r.URL.Path+"?hop="+strconv.Itoa(n+1), http.StatusFound)
				return
			}
			writeJSON(w, 200, docsList)
		})
		_, err := lb.client(t).APIKeys.List(bg)
		var apiErr *APIError
		if ok && err != nil || !ok && (!errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusFound) {
			t.Errorf("%d redirects: err %v", hops, err)
		}
	}
}

func TestFailedEnvelopeWithDataOfAnotherShape(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("POST", "/api-keys", ok(`{"data": "no such thing", "message": "quota reached", "status": "failed"}`))
	_, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != statusFailed || apiErr.Message != "quota reached" || errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err %v", err)
	}
	// The same shape with a success status is no usable answer.
	e = newTestEnv(t)
	e.reply("POST", "/api-keys", ok(`{"data": "no such thing", "message": "ok", "status": "success"}`))
	if _, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"}); !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err %v", err)
	}
}

func TestRequestErrorCountsAttempts(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection refused")
	if got := (&requestError{op: "GET /x", attempts: 1, err: cause}).Error(); got != "nebula: GET /x: connection refused" {
		t.Errorf("one attempt: %q", got)
	}
	if got := (&requestError{op: "GET /x", attempts: 2, err: cause}).Error(); got != "nebula: GET /x: connection refused (after 2 attempts)" {
		t.Errorf("two attempts: %q", got)
	}
}

func TestAnswerErrorMessageByStatusAndShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		body   string
		want   string
	}{
		{300, `{"status":"failed","message":"x"}`, "redirect not followed"},
		{399, `{"status":"failed","message":"x"}`, "redirect not followed"},
		{400, `{"status":"failed","message":"x"}`, "x"},
		{299, `{"status":"failed","message":"x"}`, "x"},
		{422, `{"detail":[]}`, "[]"},
		{422, `{"detail":[{"msg":"field required"}]}`, "field required"},
		{422, `{"detail":[{"loc":["body","name"],"msg":"field required"}]}`, "body.name: field required"},
	}
	for _, c := range cases {
		if got := answerFor(c.status, c.body, nil).Message; got != c.want {
			t.Errorf("%d %s: message %q, want %q", c.status, c.body, got, c.want)
		}
	}
}

func TestASCIILower(t *testing.T) {
	t.Parallel()
	if got := asciiLower("@AZ[`az{09É"); got != "@az[`az{09É" {
		t.Fatalf("asciiLower = %q", got)
	}
}

func TestScrubBoundaries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text    string
		secrets []string
		want    string
	}{
		// C1 controls fold to a space; U+00A0 and above are text.
		{"a\u0080b\u009fc\u00a0d", nil, "a b c\u00a0d"},
		// A secret of the shortest length scrubbed.
		{"pw abc x", []string{"abc"}, "pw [REDACTED] x"},
		{"pw ab x", []string{"ab"}, "pw ab x"},
		// The longer of two overlapping secrets goes whole.
		{"key abcdef end", []string{"abcd", "abcdef"}, "key [REDACTED] end"},
		// Every character of the key alphabet, at its edges, belongs to the run.
		{"k ak_aAzZ09_-.+/=aAzZ09_-.+/= x", nil, "k ak_[REDACTED] x"},
		{"k ak_0123456789abcdef:b", nil, "k ak_[REDACTED]:b"},
		// Fewer than 16 characters after "ak_" is a word, not a key.
		{"k ak_0123456789abcde:b", nil, "k ak_0123456789abcde:b"},
		{"k ak_a:b", nil, "k ak_a:b"},
	}
	for _, c := range cases {
		if got := scrub(c.text, c.secrets, 100); got != c.want {
			t.Errorf("scrub(%q, %q) = %q, want %q", c.text, c.secrets, got, c.want)
		}
	}
	if got := scrub(strings.Repeat("y", 10), nil, 10); got != strings.Repeat("y", 10) {
		t.Errorf("a text of exactly the limit was cut: %q", got)
	}
}

func TestNullDataIsEmptyAbsentDataIsUnexpected(t *testing.T) {
	t.Parallel()
	calls := map[string]struct {
		path string
		call func(*Client) (int, error)
	}{
		"CreditHistory": {"/users/credits/history", func(c *Client) (int, error) {
			p, err := c.Billing.CreditHistory(bg, ListOptions{})
			if err != nil {
				return -1, err
			}
			return len(p.Items), nil
		}},
		"Invoices": {"/users/invoices", func(c *Client) (int, error) {
			p, err := c.Billing.Invoices(bg, ListOptions{})
			if err != nil {
				return -1, err
			}
			return len(p.Items), nil
		}},
		"Models": {"/serverless/models", func(c *Client) (int, error) {
			m, err := c.Inference.Models(bg)
			return len(m), err
		}},
	}
	for name, c := range calls {
		e := newTestEnv(t)
		e.reply("GET", c.path, ok(`{"data": null, "message": "nothing yet", "status": "success"}`))
		if n, err := c.call(e.client); err != nil || n != 0 {
			t.Errorf("%s, null data: %d items, err %v", name, n, err)
		}
		e = newTestEnv(t)
		e.reply("GET", c.path, ok(`{"message": "ok", "status": "success"}`))
		if _, err := c.call(e.client); !errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("%s, absent data: err %v", name, err)
		}
	}
}

func TestValueErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("GET", "/users/credits", ok(`{"data": {"available_balance": "lots"}, "status": "success"}`))
	_, err := e.client.Billing.Balance(bg)
	if !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), `"lots"`) || strings.Contains(err.Error(), "wrong form") {
		t.Fatalf("err %v", err)
	}
}

func TestRunningTimeBounds(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		want time.Duration
		ok   bool
	}{
		`"0.0000 hours"`:         {0, true},
		`"1.5 hours"`:            {90 * time.Minute, true},
		`"-1 hours"`:             {0, false},
		`"1000000 hours"`:        {1000000 * time.Hour, true},
		`"99999999999999 hours"`: {0, false},
	}
	for in, c := range cases {
		var rt runningTime
		err := rt.UnmarshalJSON([]byte(in))
		if (err == nil) != c.ok || (c.ok && time.Duration(rt) != c.want) {
			t.Errorf("%s: %v, err %v", in, time.Duration(rt), err)
		}
	}
}

func TestDecimalNeedsADigit(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`"-"`, `"+"`, `"."`, `"-."`, `"$"`} {
		var d Decimal
		if err := d.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("Decimal(%s) = %q, want an error", in, d)
		}
	}
	for in, want := range map[string]Decimal{`"-1"`: "-1", `".5"`: ".5", `"5."`: "5.", `"+0.0"`: "+0.0"} {
		var d Decimal
		if err := d.UnmarshalJSON([]byte(in)); err != nil || d != want && d != Decimal(strings.TrimPrefix(string(want), "+")) {
			t.Errorf("Decimal(%s) = %q, %v", in, d, err)
		}
	}
}

func TestWithPollingEqualBounds(t *testing.T) {
	t.Parallel()
	c := newTestEnv(t, WithPolling(5*time.Millisecond, 5*time.Millisecond)).client
	if lo, hi := c.Instances.waitBounds(); lo != hi || hi != 5*time.Millisecond {
		t.Fatalf("Wait %v..%v", lo, hi)
	}
	if first, most, _ := c.Instances.pollSchedule(); first != most || most != 5*time.Millisecond {
		t.Fatalf("Create %v..%v", first, most)
	}
}

// itemCount is how many items a list call returned, -1 for no page.
func itemCount[T any](p *Page[T], err error) (int, error) {
	if p == nil {
		return -1, err
	}
	return len(p.Items), err
}

// Every paged list treats its answer alike: a data object without the
// list it documents (`{}`) is not an empty page but ErrUnexpectedResponse,
// and the list sent as null is an empty page. Credit history and invoices
// took `{}` for an empty page while the SSH key list refused it.
func TestPagedListWithoutItsListIsUnexpected(t *testing.T) {
	t.Parallel()
	lists := map[string]struct {
		path, field string
		call        func(*Client) (int, error)
	}{
		"Billing.CreditHistory": {"/users/credits/history", "credit_history", func(c *Client) (int, error) {
			return itemCount(c.Billing.CreditHistory(bg, ListOptions{}))
		}},
		"Billing.Invoices": {"/users/invoices", "invoices", func(c *Client) (int, error) {
			return itemCount(c.Billing.Invoices(bg, ListOptions{}))
		}},
		"SSHKeys.List": {"/ssh-keys", "ssh_keys", func(c *Client) (int, error) {
			return itemCount(c.SSHKeys.List(bg, ListOptions{}))
		}},
		"Instances.List": {"/computing/instances", "", func(c *Client) (int, error) {
			return itemCount(c.Instances.List(bg, ListOptions{}))
		}},
	}
	for name, l := range lists {
		e := newTestEnv(t)
		e.reply("GET", l.path, ok(`{"data": {}, "message": "ok", "status": "success"}`))
		if n, err := l.call(e.client); !errors.Is(err, ErrUnexpectedResponse) || n != -1 {
			t.Errorf("%s, data {}: %d items, err %v", name, n, err)
		}
		if l.field == "" {
			continue // its data is the list itself
		}
		e = newTestEnv(t)
		e.reply("GET", l.path, ok(`{"data": {"`+l.field+`": null}, "message": "ok", "status": "success"}`))
		if n, err := l.call(e.client); err != nil || n != 0 {
			t.Errorf("%s, %s null: %d items, err %v", name, l.field, n, err)
		}
	}
}
