package nebula

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestResponseOnSuccess(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("GET", "/api_keys", status(503, failedEnvelope("busy")), answer{status: 200, body: docsList, header: map[string]string{
		"X-Request-Id":        "rid-9",
		"Set-Cookie":          "session=zq9-Mx7vP2wLr4Kt",
		"RateLimit-Limit":     "100",
		"RateLimit-Remaining": "97",
		"RateLimit-Reset":     "30",
		"X-Ratelimit-Limit":   "5", // the standard fields win
	}})
	var resp Response
	before := time.Now()
	if _, err := e.client.APIKeys.List(bg, WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Attempts != 2 || resp.RequestID != "rid-9" {
		t.Fatalf("Response %+v", resp)
	}
	// The retry waited at least WithRetryWait's minimum.
	if resp.Duration < time.Millisecond {
		t.Errorf("Duration %v leaves out the wait", resp.Duration)
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Request-Id") != "rid-9" {
		t.Errorf("Header %v", resp.Header)
	}
	rl := resp.RateLimit
	if rl == nil || rl.Limit != 100 || rl.Remaining != 97 || rl.Reset.Before(before.Add(30*time.Second)) || rl.Reset.After(time.Now().Add(30*time.Second)) {
		t.Fatalf("RateLimit %+v", rl)
	}
}

func TestResponseOnFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithMaxRetries(2))
	e.reply("GET", "/api_keys", answer{status: 503, body: failedEnvelope("busy"), header: map[string]string{"X-Request-Id": "rid-" + testToken}})
	var resp Response
	_, err := e.client.APIKeys.List(bg, WithResponseInto(&resp))
	if !errors.Is(err, ErrServerError) {
		t.Fatalf("err %v", err)
	}
	if resp.StatusCode != 503 || resp.Attempts != 3 || resp.RateLimit != nil {
		t.Fatalf("Response %+v", resp)
	}
	if strings.Contains(resp.RequestID, testToken) || resp.RequestID == "" {
		t.Fatalf("RequestID %q", resp.RequestID)
	}

	// No answer at all: status 0, no header.
	e = newTestEnv(t, WithMaxRetries(1))
	e.reply("GET", "/api_keys", answer{err: errors.New("connection reset by peer")})
	_, err = e.client.APIKeys.List(bg, WithResponseInto(&resp))
	if err == nil || resp.StatusCode != 0 || resp.Header != nil || resp.Attempts != 2 {
		t.Fatalf("err %v, Response %+v", err, resp)
	}
}

// A Delete that found its object already gone reports the 404 it met.
func TestResponseOfDeleteFoundGone(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(hangUp, reply(404, failedEnvelope("API key not found"))))
	var resp Response
	if err := lb.client(t).APIKeys.Delete(bg, "5", WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 404 || resp.Attempts != 2 {
		t.Fatalf("Response %+v", resp)
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		name string
		h    http.Header
		want *RateLimit
	}{
		{"none", h("X-Request-Id", "r"), nil},
		{"nil header", nil, nil},
		{"standard", h("RateLimit-Limit", "100", "RateLimit-Remaining", "0", "RateLimit-Reset", "7"), &RateLimit{100, 0, now.Add(7 * time.Second)}},
		{"standard with parameters", h("RateLimit-Limit", "100, 100;w=60", "RateLimit-Remaining", " 5 "), &RateLimit{Limit: 100, Remaining: 5}},
		{"legacy delta", h("X-RateLimit-Limit", "60", "X-RateLimit-Remaining", "59", "X-RateLimit-Reset", "999999999"), &RateLimit{60, 59, now.Add(999999999 * time.Second)}},
		{"legacy unix", h("X-RateLimit-Limit", "60", "X-RateLimit-Reset", "1767323045"), &RateLimit{Limit: 60, Reset: time.Unix(1767323045, 0)}},
		{"standard reset is always delta", h("RateLimit-Reset", "1767323045"), &RateLimit{Reset: now.Add(1767323045 * time.Second)}},
		{"standard wins", h("RateLimit-Remaining", "3", "X-RateLimit-Remaining", "9", "X-RateLimit-Limit", "10"), &RateLimit{Remaining: 3}},
		{"malformed", h("RateLimit-Limit", "lots", "RateLimit-Remaining", "-1", "RateLimit-Reset", "1e3"), &RateLimit{}},
		{"too large", h("RateLimit-Limit", "99999999999999999999", "RateLimit-Reset", "9999999999999"), &RateLimit{}},
	}
	for _, c := range cases {
		got := parseRateLimit(c.h, now)
		switch {
		case got == nil && c.want == nil:
		case got == nil || c.want == nil:
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		case got.Limit != c.want.Limit || got.Remaining != c.want.Remaining || !got.Reset.Equal(c.want.Reset):
			t.Errorf("%s: got %+v, want %+v", c.name, *got, *c.want)
		}
	}
}

func TestWithCallMaxRetries(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 5} {
		e := newTestEnv(t) // the Client's default is 3
		rec := e.reply("GET", "/api_keys", status(503, failedEnvelope("busy")))
		var resp Response
		if _, err := e.client.APIKeys.List(bg, WithCallMaxRetries(n), WithResponseInto(&resp)); !errors.Is(err, ErrServerError) {
			t.Fatalf("err %v", err)
		}
		if rec.count() != n+1 || resp.Attempts != n+1 {
			t.Fatalf("WithCallMaxRetries(%d): %d requests, Response %+v", n, rec.count(), resp)
		}
	}
}

// WithCallTimeout replaces the Client's per-attempt timeout, raising it as
// well as lowering it.
func TestWithCallTimeout(t *testing.T) {
	t.Parallel()
	slow := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hang") != "" || r.URL.Path == "/api/v1/ssh-keys" {
			<-r.Context().Done() // the client hung up
		}
		writeJSON(w, 200, docsList)
	}
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/api_keys" {
			time.Sleep(60 * time.Millisecond) // longer than the Client's timeout
		}
		slow(w, r)
	})
	c := lb.client(t, WithTimeout(20*time.Millisecond), WithMaxRetries(0))
	if _, err := c.APIKeys.List(bg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("without the option: err %v", err)
	}
	if _, err := c.APIKeys.List(bg, WithCallTimeout(5*time.Second)); err != nil {
		t.Fatalf("raised: %v", err)
	}

	c = lb.client(t, WithTimeout(time.Minute), WithMaxRetries(0))
	_, err := c.SSHKeys.List(bg, ListOptions{}, WithCallTimeout(20*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "WithCallTimeout") {
		t.Fatalf("lowered: err %v", err)
	}
}

// Iterators take the options of every page: the header goes with each, and
// the Response describes the last page.
func TestIteratorOptions(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	page := func(n, offset int) string {
		var b strings.Builder
		b.WriteString(`{"status":"success","data":{"total_invoices":3,"invoices":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":` + string(rune('1'+offset+i)) + `,"price":"1.00","invoiced_time":"2024-10-29 18:19:32"}`)
		}
		b.WriteString(`]}}`)
		return b.String()
	}
	rec := e.reply("GET", "/users/invoices", ok(page(2, 0)), answer{status: 200, body: page(1, 2), header: map[string]string{"X-Request-Id": "last"}})
	var resp Response
	n := 0
	for _, err := range e.client.Billing.AllInvoices(bg, WithCallHeader("X-Trace", "t1"), WithResponseInto(&resp)) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	reqs := rec.all()
	if n != 3 || len(reqs) != 2 {
		t.Fatalf("%d invoices in %d pages", n, len(reqs))
	}
	for _, r := range reqs {
		if r.Header.Get("X-Trace") != "t1" {
			t.Fatalf("a page without the header: %v", r.Header)
		}
	}
	if resp.RequestID != "last" || resp.Attempts != 1 || resp.StatusCode != 200 {
		t.Fatalf("Response %+v after %d pages", resp, len(reqs))
	}
}

// trickle serves a PDF in small pieces, pause apart, flushing each.
func trickle(pdf []byte, piece int, pause time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
		w.WriteHeader(200)
		for i := 0; i < len(pdf); i += piece {
			if _, err := w.Write(pdf[i:min(i+piece, len(pdf))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			if i+piece < len(pdf) {
				select {
				case <-time.After(pause):
				case <-r.Context().Done(): // the client gave up: so that Close need not wait
					return
				}
			}
		}
	}
}

// A slow, steady download is never cut by the timeout: 55 pieces 200 ms
// apart (about 11 s) under a 10 s timeout arrive whole, so the timeout is
// one of inactivity, not of the whole transfer. The timeout was 1 s, then
// 5 s, and a loaded machine (-cpu 1, two CPU hogs, a second go test -race)
// stalled the transfer for over each; the transfer must outlast the
// timeout, so a larger timeout makes the test longer (the cases run in
// parallel).
func TestDownloadInvoiceSlowSteadyTransferIsNotCut(t *testing.T) {
	t.Parallel()
	const timeout = 10 * time.Second
	pdf := []byte(testPDF + strings.Repeat("%% padding line of the invoice\n", 200))
	lb := newLoopback(t, trickle(pdf, len(pdf)/55+1, 200*time.Millisecond))
	for name, download := range map[string]func(io.Writer) (int64, error){
		"WithTimeout": func(w io.Writer) (int64, error) {
			return lb.client(t, WithTimeout(timeout)).Billing.DownloadInvoice(bg, "3688", w)
		},
		"WithCallTimeout": func(w io.Writer) (int64, error) {
			return lb.client(t).Billing.DownloadInvoice(bg, "3688", w, WithCallTimeout(timeout))
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			n, err := download(&buf)
			if err != nil || n != int64(len(pdf)) || !bytes.Equal(buf.Bytes(), pdf) {
				t.Fatalf("n %d of %d, err %v", n, len(pdf), err)
			}
		})
	}
}

// A download that stalls longer than the timeout fails as a timeout, with
// what was written so far. The first part's timeout is 5 s, not 50 ms: the
// headers and the first 20 bytes must arrive within it, and on a loaded
// machine they did not always (a transfer stalled for over 1 s).
func TestDownloadInvoiceStallTimesOut(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.WriteHeader(200)
		io.WriteString(w, testPDF[:20])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the client hung up
	})
	var buf bytes.Buffer
	n, err := lb.client(t, WithTimeout(time.Minute)).Billing.DownloadInvoice(bg, "3688", &buf, WithCallTimeout(5*time.Second))
	if !errors.Is(err, context.DeadlineExceeded) || n != 20 || !strings.Contains(err.Error(), "WithCallTimeout") {
		t.Fatalf("n %d, err %v", n, err)
	}

	// Waiting for the headers is bounded too.
	lb = newLoopback(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	_, err = lb.client(t, WithMaxRetries(0)).Billing.DownloadInvoice(bg, "3688", &buf, WithCallTimeout(50*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("headers: err %v", err)
	}
}

// GenerateImage reads answers larger than the cap of other calls (256 MiB
// against 32 MiB): a big image, billed, must not fail the call.
func TestGenerateImageAnswerMayExceedTheUsualCap(t *testing.T) {
	t.Parallel()
	png := append(append([]byte{}, testPNG...), bytes.Repeat([]byte{0}, 3000)...)
	body := docsImageWith(base64.StdEncoding.EncodeToString(png))
	e := newTestEnv(t)
	e.client.maxBody = int64(len(body)) / 2 // scaled down: the ratio is what counts
	e.reply("POST", "/images/generation", ok(body))
	e.reply("GET", "/api_keys", ok(body))
	imgs, err := e.client.Inference.GenerateImage(bg, GenerateImageRequest{Model: "m", Prompt: "p"})
	if err != nil || len(imgs) != 1 || !bytes.Equal(imgs[0].PNG, png) {
		t.Fatalf("err %v", err)
	}
	if _, err := e.client.APIKeys.List(bg); !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("List over the cap: err %v", err)
	}
	e.client.maxBody = int64(len(body)) / (maxBodyFactor + 1)
	if _, err := e.client.Inference.GenerateImage(bg, GenerateImageRequest{Model: "m", Prompt: "p"}); !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("image over its own cap: err %v", err)
	}
	if maxBodyBytes*maxBodyFactor != 256<<20 {
		t.Fatalf("the image cap is %d", maxBodyBytes*maxBodyFactor)
	}
}

func TestWithCallHeaderRefusesTheSDKsHeaders(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.anyRequest(ok(docsList))
	for _, k := range []string{"Authorization", "authorization", "Host", "Content-Length", "Content-Type", "Cookie",
		"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade", "Trailer",
		"Accept", "User-Agent", "X Bad", "", "X-Ok\x00"} {
		if _, err := e.client.APIKeys.List(bg, WithCallHeader(k, "v")); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: err %v", k, err)
		}
	}
	// "\x85" and "\x9b" are lone bytes, C1 controls (NEL, CSI) as HTTP's
	// Latin-1 reads them.
	for _, v := range []string{"a\tb", "a\x7fb", "a\u0085b", "a\r\nX-Injected: 1", "a\x85b", "a\x9b31m"} {
		if _, err := e.client.APIKeys.List(bg, WithCallHeader("X-Trace", v)); !errors.Is(err, ErrInvalidArgument) || strings.Contains(err.Error(), v) {
			t.Errorf("%q: err %v", v, err)
		}
	}
	if rec.count() != 0 {
		t.Fatalf("%d requests sent", rec.count())
	}
	// Not controls: other characters, U+FFFD and a lone byte above C1.
	for _, v := range []string{"café", "\ufffd", "a\xe9b"} {
		if _, err := e.client.APIKeys.List(bg, WithCallHeader("X-Trace", v)); err != nil {
			t.Errorf("%q: err %v", v, err)
		}
	}
}

// A name refused as invalid is not quoted: with the arguments swapped, it
// is the value, maybe a key or a bearer token (an "ak_" key showed 37 of
// its characters).
func TestWithCallHeaderNeverQuotesARefusedName(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.anyRequest(ok(docsList))
	for _, name := range []string{"ak_WT2l5Rw8Rv8Mp7Q7fLh7dFgEDl_EMAntCsqlxhEsu=", "Bearer zqxv-Plover-7781-mint"} {
		_, err := e.client.APIKeys.List(bg, WithCallHeader(name, "X-Upstream-Key"))
		if !errors.Is(err, ErrInvalidArgument) || strings.Contains(err.Error(), "Rv8Mp7") || strings.Contains(err.Error(), "Plover") {
			t.Errorf("WithCallHeader(%q, …): %v", name, err)
		}
	}
	if rec.count() != 0 {
		t.Fatalf("%d requests sent", rec.count())
	}
}

// Headers that change what the answer is or what the request does are the
// SDK's too: Accept-Encoding made the transport hand over a gzipped body
// (a created key's value lost as ErrUnexpectedResponse), Range a part of
// an invoice reported as the whole, a method override a read the server
// carries out as a delete, which the SDK then retries.
func TestWithCallHeaderRefusesHeadersThatChangeTheAnswer(t *testing.T) {
	t.Parallel()
	pdf := []byte(testPDF + strings.Repeat("%% padding line of the invoice\n", 20))
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		http.ServeContent(w, r, "invoice.pdf", time.Time{}, bytes.NewReader(pdf))
	})
	c := lb.client(t)
	for _, h := range [][2]string{
		{"Range", "bytes=0-9"}, {"If-Range", "x"}, {"Accept-Encoding", "gzip"}, {"accept-encoding", "br"},
		{"X-HTTP-Method-Override", "DELETE"}, {"X-Http-Method", "DELETE"}, {"X-Method-Override", "DELETE"}, {"Expect", "100-continue"},
	} {
		var buf bytes.Buffer
		n, err := c.Billing.DownloadInvoice(bg, "3688", &buf, WithCallHeader(h[0], h[1]))
		if !errors.Is(err, ErrInvalidArgument) || n != 0 {
			t.Errorf("%s: %d bytes, err %v", h[0], n, err)
		}
	}
	if lb.count() != 0 {
		t.Fatalf("%d requests sent", lb.count())
	}
}

// A WithResponseInto option may be made once and reused: a call refused
// before sending, by its method or for another option, left the earlier
// call's status and attempts in the Response, passing for its own.
func TestReusedResponseOptionNeverShowsAnEarlierCall(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.anyRequest(ok(docsList))
	var resp Response
	opt := WithResponseInto(&resp)
	refusals := map[string]func() error{
		"bad option first": func() error { _, err := e.client.APIKeys.List(bg, WithCallMaxRetries(-1), opt); return err },
		"APIKeys.Delete":   func() error { return e.client.APIKeys.Delete(bg, "", opt) },
		"APIKeys.Create":   func() error { _, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{}, opt); return err },
		"SSHKeys.List":     func() error { _, err := e.client.SSHKeys.List(bg, ListOptions{Limit: -1}, opt); return err },
		"SSHKeys.Rename":   func() error { _, err := e.client.SSHKeys.Rename(bg, "5", " ", opt); return err },
		"Billing.DownloadInvoice": func() error {
			_, err := e.client.Billing.DownloadInvoice(bg, "7", nil, opt)
			return err
		},
		"Compute.ImagesFor": func() error { _, err := e.client.Compute.ImagesFor(bg, Product{}, opt); return err },
		"Inference.GenerateImage": func() error {
			_, err := e.client.Inference.GenerateImage(bg, GenerateImageRequest{}, opt)
			return err
		},
		"Auth.Login": func() error { _, err := e.client.Auth.Login(bg, "", "", opt); return err },
	}
	for name, refuse := range refusals {
		if _, err := e.client.APIKeys.List(bg, opt); err != nil || resp.Attempts != 1 {
			t.Fatalf("%s: the call before: err %v, Response %+v", name, err, resp)
		}
		if err := refuse(); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%s: err %v", name, err)
		}
		if resp.Attempts != 0 || resp.StatusCode != 0 || resp.Header != nil {
			t.Errorf("%s: refused, yet Response %+v", name, resp)
		}
	}
}

// Through net/http's Transport the answer's own header map becomes
// Response.Header (nothing else holds it); it still loses its cookies and
// the token it echoes.
func TestResponseHeaderThroughTransportScrubbed(t *testing.T) {
	t.Parallel()
	const token = "Qv3nTrB8yLw2Kd6ZpXo"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=zq9-Mx7vP2wLr4Kt")
		w.Header().Set("X-Echo", "Bearer "+token)
		w.Header().Set("X-Request-Id", "rid-7")
		io.WriteString(w, docsList)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(WithToken(token), WithBaseURL(srv.URL), WithHTTPClient(&http.Client{Transport: srv.Client().Transport}), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	var resp Response
	if _, err := c.APIKeys.List(bg, WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Echo") != "Bearer [REDACTED]" || resp.Header.Get("X-Request-Id") != "rid-7" {
		t.Fatalf("Header %v", resp.Header)
	}
}

// A RoundTripper other than net/http's may answer with a map it keeps (a
// cache, a canned answer): Response.Header is a copy, so neither the
// scrubbing nor the caller's edits reach that map.
func TestResponseHeaderOfOtherRoundTripperIsACopy(t *testing.T) {
	t.Parallel()
	const token = "Qv3nTrB8yLw2Kd6ZpXo"
	kept := http.Header{
		"Set-Cookie":   {"session=zq9-Mx7vP2wLr4Kt"},
		"X-Echo":       {"Bearer " + token},
		"Content-Type": {"application/json"},
	}
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: kept, Body: io.NopCloser(strings.NewReader(docsList)), Request: r}, nil
	})
	c, err := NewClient(WithToken(token), WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: rt}), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	var resp Response
	if _, err := c.APIKeys.List(bg, WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Echo") != "Bearer [REDACTED]" {
		t.Fatalf("Header %v", resp.Header)
	}
	resp.Header.Set("Content-Type", "text/plain")
	if kept.Get("Set-Cookie") == "" || kept.Get("X-Echo") != "Bearer "+token || kept.Get("Content-Type") != "application/json" {
		t.Fatalf("the RoundTripper's map changed: %v", kept)
	}
}

// mayHoldSecret lets responseHeader skip the values no scrubbing changes;
// a value it wrongly passes over would reach the caller unscrubbed.
func TestMayHoldSecret(t *testing.T) {
	t.Parallel()
	secrets := []string{"Qv3nTrB8yLw2Kd6ZpXo", "pw"}
	for v, want := range map[string]bool{
		"application/json":              false,
		"Sat, 05 Dec 2026 10:15:00 GMT": false,
		"req-1":                         false,
		"":                              false,
		"t=a%2Fb":                       true, // URL-escaped
		"a+b":                           true,
		`a\u002f`:                       true, // JSON-escaped
		"a&amp;b":                       true, // HTML-escaped
		"ak_":                           true,
		"key ak_x":                      true,
		"peak":                          false,
		"eyJ":                           true,
		"x-eyJhb":                       true,
		"key":                           false,
		"Bearer Qv3nTrB8yLw2Kd6ZpXo":    true,
		"Qv3nTrB8yLw2Kd6ZpX":            false, // cut short: not the secret
		"pw":                            false, // shorter than any secret a scrub looks for
	} {
		if got := mayHoldSecret(v, secrets); got != want {
			t.Errorf("mayHoldSecret(%q) = %v, want %v", v, got, want)
		}
	}
}
