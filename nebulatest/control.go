package nebulatest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// controlPrefix is where the control routes live, outside /api/v1.
const controlPrefix = "/_fake"

func (s *Server) controlRoutes() {
	s.mux.HandleFunc("POST "+controlPrefix+"/faults", s.controlInject)
	s.mux.HandleFunc("GET "+controlPrefix+"/faults", s.controlFaults)
	s.mux.HandleFunc("DELETE "+controlPrefix+"/faults", s.controlClearFaults)
	s.mux.HandleFunc("GET "+controlPrefix+"/requests", s.controlRequests)
	s.mux.HandleFunc("POST "+controlPrefix+"/reset", s.controlReset)
	s.mux.HandleFunc(controlPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, fail(http.StatusNotFound, "no such control route; see WithControlRoutes"))
	})
}

func (s *Server) controlInject(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeReply(w, fail(http.StatusBadRequest, "cannot read the body: "+err.Error()))
		return
	}
	var faults []Fault
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(trimmed, &faults)
	} else {
		var f Fault
		err = json.Unmarshal(trimmed, &f)
		faults = []Fault{f}
	}
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "invalid fault") {
			msg = "invalid fault: the body must be a JSON fault or an array of them: " + msg
		}
		writeReply(w, fail(http.StatusBadRequest, msg))
		return
	}
	for _, f := range faults {
		s.Inject(f)
	}
	writeReply(w, ok(faults, "fault injected"))
}

func (s *Server) controlFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	s.mu.Unlock()
	writeReply(w, ok(out, "faults pending"))
}

func (s *Server) controlClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
	writeReply(w, ok(map[string]any{}, "faults cleared"))
}

func (s *Server) controlReset(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBody))
	s.Reset()
	writeReply(w, ok(map[string]any{}, "reset"))
}

// loggedRequest is a request log entry as GET /_fake/requests shows it.
type loggedRequest struct {
	Seq     int                 `json:"seq"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query,omitempty"`
	Time    time.Time           `json:"time"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

func (s *Server) controlRequests(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	reqs := s.log.all()
	first := s.log.seq - len(reqs) + 1
	passwords := make([]string, 0, len(s.cfg.users))
	for _, u := range s.cfg.users {
		passwords = append(passwords, u.password)
	}
	s.mu.Unlock()
	out := make([]loggedRequest, 0, len(reqs))
	for i, r := range reqs {
		out = append(out, loggedRequest{
			Seq: first + i, Method: r.Method, Path: r.Path, Query: redactString(r.Query, passwords), Time: r.Time,
			Headers: redactHeader(r.Header, passwords), Body: redactBody(r.Body, passwords),
		})
	}
	writeReply(w, ok(out, "requests logged"))
}

// redacted replaces every credential the control routes would show.
const redacted = "[REDACTED]"

var (
	// apiKeyPattern and jwtPattern find credentials anywhere, including
	// keys deleted since and JWTs of other servers.
	apiKeyPattern = regexp.MustCompile(`ak_[A-Za-z0-9_-]{8,}`)
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	// secretField finds the value of a JSON field whose name says it is
	// secret.
	// privateKeyBlock is a private key pasted where a public key belongs, PEM
	// armour and all (possibly JSON-escaped, possibly cut short).
	privateKeyBlock = regexp.MustCompile(`(?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|$|")|PuTTY-User-Key-File[^"]*`)
	secretField     = regexp.MustCompile(`("(?i:[a-z_]*(?:password|secret|token|api_key|apikey))"\s*:\s*)"(?:[^"\\]|\\.)*"`)
)

// sensitiveHeaders are redacted whole.
var sensitiveHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true}

func redactHeader(h http.Header, passwords []string) map[string][]string {
	out := make(map[string][]string, len(h))
	for name, values := range h {
		vs := make([]string, len(values))
		for i, v := range values {
			switch {
			case name == "Authorization" || name == "Proxy-Authorization":
				scheme, _, _ := strings.Cut(v, " ")
				vs[i] = scheme + " " + redacted
			case sensitiveHeaders[name]:
				vs[i] = redacted
			default:
				vs[i] = redactString(v, passwords)
			}
		}
		out[name] = vs
	}
	return out
}

// redactBody shows a request body with every known or recognisable secret
// replaced: API key values, JWTs, login passwords (as JSON or as a form).
func redactBody(body []byte, passwords []string) string {
	str := string(body)
	if form, err := url.ParseQuery(str); err == nil && !strings.HasPrefix(strings.TrimSpace(str), "{") && form.Has("password") {
		form.Set("password", redacted)
		str = form.Encode()
	}
	str = secretField.ReplaceAllString(str, `$1"`+redacted+`"`)
	str = privateKeyBlock.ReplaceAllStringFunc(str, func(m string) string {
		if strings.HasSuffix(m, `"`) {
			return redacted + `"`
		}
		return redacted
	})
	return redactString(str, passwords)
}

func redactString(str string, passwords []string) string {
	str = apiKeyPattern.ReplaceAllString(str, redacted)
	str = jwtPattern.ReplaceAllString(str, redacted)
	for _, p := range passwords {
		if len(p) >= 4 { // shorter ones would blank out ordinary text
			str = strings.ReplaceAll(str, p, redacted)
			str = strings.ReplaceAll(str, url.QueryEscape(p), redacted)
		}
	}
	return str
}
