package nebulatest

import (
	"bytes"
	"encoding/json"
	"github.com/nebula-sdk/nebula-go/internal/formfield"
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

// controlRequests streams the log as {"data": [...], "message", "status"},
// one entry at a time: the log may hold about DefaultRequestLogBytes, which
// is not built as one answer. There is no Content-Length.
func (s *Server) controlRequests(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	entries, first := s.log.snapshot()
	passwords := make([]string, 0, len(s.cfg.users))
	for _, u := range s.cfg.users {
		passwords = append(passwords, u.password)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := io.WriteString(w, `{"data":[`); err != nil {
		return
	}
	rc.Flush() // the answer is chunked from here on, however short
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range entries {
		if r.Context().Err() != nil || s.ctx.Err() != nil {
			return // the client left, or the server is closing
		}
		e := entries[i]
		entries[i] = logEntry{} // let the copy go once written
		buf.Reset()
		if i > 0 {
			buf.WriteByte(',')
		}
		method, path, query, headers := e.parts()
		enc.Encode(loggedRequest{
			Seq: first + i, Method: method, Path: path, Query: redactString(query, passwords), Time: e.time(),
			Headers: redactHeaders(headers, passwords), Body: redactBody(e.body, passwords),
		})
		if _, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
			return // the client left, or the server is closing
		}
	}
	io.WriteString(w, `],"message":"requests logged","status":"success"}`+"\n")
}

// redacted replaces every credential the control routes would show.
const redacted = "[REDACTED]"

var (
	// apiKeyPattern and jwtPattern find credentials anywhere, including
	// keys deleted since and JWTs of other servers.
	apiKeyPattern = regexp.MustCompile(`ak_[A-Za-z0-9_-]{8,}`)
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	// privateKeyBlock is a private key pasted where a public key belongs,
	// in any of its forms: PEM and OpenSSH ("-----BEGIN ... PRIVATE
	// KEY-----"), SSH2 ("---- BEGIN SSH2 ... PRIVATE KEY ----") and PuTTY
	// ("PuTTY-User-Key-File-3: ..."), possibly JSON-escaped (an escaped
	// quote in an SSH2 comment does not end it) and possibly cut short.
	privateKeyBlock = regexp.MustCompile(`(?s)(?:-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY ?-{4,5}|PuTTY-User-Key-File-[0-9]+:)(?:\\.|[^"\\])*?(?:-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY ?-{4,5}|Private-MAC: ?[0-9a-fA-F]+|"|$)`)
	// rawPrivateKeyBlock is the same in a body that is not JSON, where a
	// quote (an SSH2 comment's) ends nothing.
	rawPrivateKeyBlock = regexp.MustCompile(`(?s)(?:-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY ?-{4,5}|PuTTY-User-Key-File-[0-9]+:).*?(?:-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY ?-{4,5}|Private-MAC: ?[0-9a-fA-F]+|$)`)
	// secretField finds the value of a JSON field whose name says it is
	// secret.
	secretField = regexp.MustCompile(`("(?i:[a-z_]*(?:password|secret|token|api_key|apikey))"\s*:\s*)"(?:[^"\\]|\\.)*"`)
)

// authSchemes are the Authorization schemes the log shows before
// "[REDACTED]"; any other value is redacted whole (it may be a bare token).
var authSchemes = map[string]bool{"bearer": true, "basic": true, "digest": true, "token": true, "jwt": true, "apikey": true, "negotiate": true}

// sensitiveHeaders are redacted whole (Authorization keeps a known scheme).
var sensitiveHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Api-Key": true, "Api-Key": true, "X-Auth-Token": true,
}

// redactAuthorization shows an Authorization value's scheme, if it is a
// known one followed by white space, and nothing of its credential.
func redactAuthorization(v string) string {
	scheme, _, found := strings.Cut(strings.TrimLeft(v, " \t"), " ")
	if tab := strings.IndexByte(scheme, '\t'); tab >= 0 {
		scheme, found = scheme[:tab], true
	}
	if found && authSchemes[strings.ToLower(scheme)] {
		return scheme + " " + redacted
	}
	return redacted
}

func redactHeaders(headers string, passwords []string) map[string][]string {
	out := make(map[string][]string)
	eachHeader(headers, func(name, value string) {
		var v string
		switch {
		case name == "Authorization" || name == "Proxy-Authorization":
			v = redactAuthorization(value)
		case sensitiveHeaders[name]:
			v = redacted
		default:
			v = redactString(value, passwords)
		}
		out[name] = append(out[name], v)
	})
	return out
}

// passwordField is the form field redactBody hides whatever its value.
func passwordField(name string) (string, bool) { return redacted, strings.EqualFold(name, "password") }

// redactBody shows a request body with every known or recognisable secret
// replaced: API key values, JWTs, private keys, login passwords (as JSON
// or as a form).
func redactBody(body []byte, passwords []string) string {
	// Read leniently, multipart too: a typed password with a raw '%'
	// failed url.ParseQuery and showed as it was.
	str, _ := formfield.Replace(string(body), passwordField)
	// The regexps run only where they could match: a log of large bodies
	// is otherwise slow to serve.
	lower := strings.ToLower(str)
	if strings.Contains(lower, "password") || strings.Contains(lower, "secret") || strings.Contains(lower, "token") || strings.Contains(lower, "apikey") || strings.Contains(lower, "api_key") {
		str = secretField.ReplaceAllString(str, `$1"`+redacted+`"`)
	}
	if !strings.Contains(str, "PRIVATE KEY") && !strings.Contains(str, "PuTTY-User-Key-File-") {
		return redactString(str, passwords)
	}
	keys := privateKeyBlock
	if trimmed := strings.TrimSpace(str); !strings.HasPrefix(trimmed, "{") && !strings.HasPrefix(trimmed, "[") && !strings.HasPrefix(trimmed, `"`) {
		keys = rawPrivateKeyBlock
	}
	str = keys.ReplaceAllStringFunc(str, func(m string) string {
		if strings.HasSuffix(m, `"`) {
			return redacted + `"`
		}
		return redacted
	})
	return redactString(str, passwords)
}

func redactString(str string, passwords []string) string {
	if strings.Contains(str, "ak_") {
		str = apiKeyPattern.ReplaceAllString(str, redacted)
	}
	if strings.Contains(str, "eyJ") {
		str = jwtPattern.ReplaceAllString(str, redacted)
	}
	for _, p := range passwords {
		if len(p) >= 4 { // shorter ones would blank out ordinary text
			str = strings.ReplaceAll(str, p, redacted)
			str = strings.ReplaceAll(str, url.QueryEscape(p), redacted)
		}
	}
	return str
}
