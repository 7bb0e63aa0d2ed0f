// Package checkproxy is nebula-fake's checking proxy and its cassettes:
// -proxy forwards the API's routes to the live API unchanged and checks
// every answer against the contract and the SDK's decoders (Checker),
// -record writes each exchange as a cassette with its secrets replaced
// (Recorder), and -replay serves the cassettes as the API (Replayer).
package checkproxy

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BasePath is where the proxy serves the API: /api/v1/X goes to
// UPSTREAM/X.
const BasePath = "/api/v1"

// DriftPath is the control route that lists the differences seen.
const DriftPath = "/_fake/drift"

// maxBody bounds a request body the proxy reads (the API's bodies are
// small; an image-to-image request is the largest).
const maxBody = 64 << 20

// maxAnswer bounds an answer the proxy reads whole to check it; a larger
// one (a huge invoice PDF) is refused rather than held in memory.
const maxAnswer = 256 << 20

// Options configure a Proxy.
type Options struct {
	// Upstream is the API's base URL, path prefix included
	// ("https://api.nebulablock.com/api/v1"). Plain http is accepted for
	// loopback hosts only: the caller's token goes there.
	Upstream string
	// Transport sends requests upstream; nil means a transport of the
	// Proxy's own. Whatever it is, the Proxy never follows a redirect.
	Transport http.RoundTripper
	// Logf receives one "drift: ..." line per new difference.
	Logf func(format string, args ...any)
	// Recorder, if set, gets every exchange as a cassette.
	Recorder *Recorder
}

// Proxy forwards /api/v1/X to Upstream/X and checks each answer.
type Proxy struct {
	upstream  *url.URL
	transport http.RoundTripper
	checker   *Checker
	recorder  *Recorder
	logf      func(format string, args ...any)
}

// New returns a Proxy. It fails when Upstream is not an absolute http(s)
// URL with a host and without user info, query or fragment, or is plain
// http to a host that is not loopback.
func New(o Options) (*Proxy, error) {
	u, err := ParseUpstream(o.Upstream)
	if err != nil {
		return nil, err
	}
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	t := o.Transport
	if t == nil {
		t = &http.Transport{
			// No proxy from the environment: the token goes to Upstream's
			// host and port, and nowhere else.
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			// The caller's Accept-Encoding goes up as it came, and the
			// answer comes back as it was sent.
			DisableCompression: true,
		}
	}
	return &Proxy{upstream: u, transport: t, checker: NewChecker(logf), recorder: o.Recorder, logf: logf}, nil
}

// ParseUpstream checks an upstream base URL as New does. Its errors never
// show the URL's user info (a password may be there).
func ParseUpstream(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return nil, errors.New("-proxy: not a URL")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return nil, errors.New("-proxy: want an absolute http(s) URL such as https://api.nebulablock.com/api/v1")
	case u.User != nil, u.RawQuery != "", u.Fragment != "":
		return nil, fmt.Errorf("-proxy %s: want no user info, query or fragment", u.Redacted())
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return nil, fmt.Errorf("-proxy %s: plain http only to a loopback host (the token goes there)", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}

// IsLoopback reports a host that is this machine only: "localhost" (in any
// case) or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Drift returns the differences seen so far, in the order first seen.
func (p *Proxy) Drift() []Drift { return p.checker.Report() }

// hopHeaders are the hop-by-hop headers (RFC 9110 7.6.1), never forwarded.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// ServeHTTP serves GET /_fake/drift and forwards the API's routes.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == DriftPath {
		ServeDrift(w, r, p.Drift())
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), BasePath)
	if !ok || (rest != "" && rest[0] != '/') {
		writeFailed(w, http.StatusNotFound, "nebula-fake -proxy forwards only "+BasePath+"/... (and serves "+DriftPath+")")
		return
	}
	p.forward(w, r, rest)
}

// ServeDrift writes the drift report as JSON.
func ServeDrift(w http.ResponseWriter, r *http.Request, report []Drift) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeFailed(w, http.StatusMethodNotAllowed, "GET "+DriftPath+" only")
		return
	}
	if report == nil {
		report = []Drift{}
	}
	b, _ := json.MarshalIndent(report, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// forward sends the request to Upstream + rest and returns its answer
// unchanged. The request's own host (an absolute-form URL, a Host header)
// is never used: the request, and its token, go to Upstream only.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, rest string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeFailed(w, http.StatusBadRequest, "nebula-fake -proxy: cannot read the request body")
		return
	}
	target := *p.upstream
	escaped := p.upstream.EscapedPath() + rest
	if target.Path, err = url.PathUnescape(escaped); err != nil {
		writeFailed(w, http.StatusBadRequest, "nebula-fake -proxy: bad path escape")
		return
	}
	target.RawPath = escaped
	// Copied as it came: url.Values would re-encode it (order, escapes),
	// and a signature or the API's own parsing may care.
	target.RawQuery = r.URL.RawQuery
	target.ForceQuery = r.URL.ForceQuery

	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream.String(), bytes.NewReader(body))
	if err != nil {
		writeFailed(w, http.StatusBadRequest, "nebula-fake -proxy: "+err.Error())
		return
	}
	out.URL = &target
	out.Host = target.Host
	out.Header = r.Header.Clone()
	removeHopHeaders(out.Header)
	narrowAcceptEncoding(out.Header)
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}

	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
			status = http.StatusServiceUnavailable
		}
		writeFailed(w, status, "nebula-fake -proxy: the upstream API did not answer: "+scrubText(err.Error()))
		return
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil || len(answer) > maxAnswer {
		// Nothing has been written yet: the caller learns the answer was
		// lost, never a cut-short body dressed as a success.
		writeFailed(w, http.StatusBadGateway, "nebula-fake -proxy: the upstream answer could not be read whole")
		return
	}

	path, _ := url.PathUnescape(rest)
	plain, readable := decoded(resp.Header, answer)
	x := &Exchange{
		Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, ReqBody: body,
		Status: resp.StatusCode, Header: resp.Header, Body: plain,
	}
	if readable {
		p.checker.Check(x)
	} else {
		// Asked for gzip at most, the upstream sent what the proxy cannot
		// read: it can neither check the answer nor redact its secrets,
		// so the cassette gets no body.
		p.logf("nebula-fake: %s %s: the answer came in Content-Encoding %q, which the proxy cannot read: not checked, and its body not recorded", r.Method, scrubText(path), resp.Header.Get("Content-Encoding"))
	}
	if p.recorder != nil {
		if err := p.recorder.Record(x, r.Header.Get("Authorization"), r.Header.Get("Content-Type")); err != nil {
			p.logf("nebula-fake: -record: %v", err)
		}
	}

	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	removeHopHeaders(h)
	if resp.ContentLength >= 0 || len(answer) > 0 {
		h.Set("Content-Length", fmt.Sprint(len(answer)))
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

// decoded is an answer's body for the checker and the cassettes: gunzipped
// when it was sent compressed. readable is false for a body the proxy
// cannot read (another Content-Encoding, a broken gzip stream): then plain
// is nil.
func decoded(h http.Header, body []byte) (plain []byte, readable bool) {
	switch enc := strings.TrimSpace(h.Get("Content-Encoding")); {
	case enc == "" || strings.EqualFold(enc, "identity"):
		return body, true
	case !strings.EqualFold(enc, "gzip"):
		return nil, false
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxAnswer))
	if err != nil {
		return nil, false
	}
	return b, true
}

// narrowAcceptEncoding lets the upstream compress its answer only in the
// one encoding the proxy can read (gzip, which the caller must accept),
// since the proxy must check it and redact its secrets before recording
// it. Offered deflate or br, an upstream answered in a form the proxy
// passed on unchecked and recorded with its secrets.
func narrowAcceptEncoding(h http.Header) {
	offered := strings.ToLower(strings.Join(h.Values("Accept-Encoding"), ","))
	h.Del("Accept-Encoding")
	gzip, anyCoding := false, false
	for _, part := range strings.Split(offered, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch coding = strings.TrimSpace(coding); {
		case coding == "gzip" || coding == "x-gzip":
			if refusedByQ(params) {
				// Refused by name: "*" does not bring it back.
				h.Set("Accept-Encoding", "identity")
				return
			}
			gzip = true
		case coding == "*" && !refusedByQ(params):
			anyCoding = true
		}
	}
	if gzip || anyCoding {
		h.Set("Accept-Encoding", "gzip")
		return
	}
	h.Set("Accept-Encoding", "identity")
}

// refusedByQ reports a q=0 parameter: the coding is not acceptable.
func refusedByQ(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
