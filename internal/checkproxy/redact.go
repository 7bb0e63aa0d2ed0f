package checkproxy

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// The placeholders a cassette holds where a secret was. Each has the shape
// of what it replaces, so that an SDK reading a replayed answer gets a
// value it accepts (an API key, a JWT), and each is its own redaction
// (redacting a cassette twice changes nothing).
const (
	keyPlaceholder        = "ak_recorded-by-nebula-fake"
	jwtPlaceholder        = "eyJhbGciOiJub25lIn0.eyJyZWNvcmRlZCI6dHJ1ZX0.cmVjb3JkZWQ" // {"alg":"none"}.{"recorded":true}
	passwordPlaceholder   = "recorded-password"
	privateKeyPlaceholder = "[PRIVATE KEY REMOVED BY nebula-fake]"
	tokenPlaceholder      = "[TOKEN]"
	secretPlaceholder     = "[SECRET]"
	emailLocalPlaceholder = "redacted"
)

// secretFields are the JSON fields and form fields whose values are secret
// wherever they appear, and what replaces them.
var secretFields = map[string]string{
	"key":           keyPlaceholder,
	"api_key":       keyPlaceholder,
	"jwtToken":      jwtPlaceholder,
	"access_token":  tokenPlaceholder,
	"refresh_token": tokenPlaceholder,
	"token":         tokenPlaceholder,
	"password":      passwordPlaceholder,
	"vm_password":   passwordPlaceholder,
	"secret":        secretPlaceholder,
}

var (
	apiKeyRe = regexp.MustCompile(`ak_[A-Za-z0-9_-]{8,}`)
	jwtRe    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	// Private keys in every form the request log knows: PEM (PKCS#1, #8,
	// OpenSSH), SSH2 and PuTTY, whole or cut short.
	privateKeyRes = []*regexp.Regexp{
		regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)-----END [A-Z0-9 ]*PRIVATE KEY-----`),
		regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^"&]*`),
		regexp.MustCompile(`---- BEGIN SSH2 [A-Z ]*PRIVATE KEY ----(?s:.*?)---- END SSH2 [A-Z ]*PRIVATE KEY ----`),
		regexp.MustCompile(`---- BEGIN SSH2 [A-Z ]*PRIVATE KEY ----[^"&]*`),
		regexp.MustCompile(`PuTTY-User-Key-File-[0-9]+:[^"&]*`),
	}
	// An email's local part; the domain stays (it says which service).
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+'-]+(@|%40)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})`)
)

// scrubText replaces everything in s that looks like a secret: API keys,
// JWTs, private keys and the local part of emails.
func scrubText(s string) string {
	for _, re := range privateKeyRes {
		s = re.ReplaceAllLiteralString(s, privateKeyPlaceholder)
	}
	s = jwtRe.ReplaceAllString(s, jwtPlaceholder)
	s = apiKeyRe.ReplaceAllString(s, keyPlaceholder)
	s = emailRe.ReplaceAllString(s, emailLocalPlaceholder+"$1$2")
	return s
}

// looksPrivate reports whether a value holds a private key.
func looksPrivate(s string) bool {
	return strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "PuTTY-User-Key-File-")
}

// minSecret is the shortest value replaced wherever it appears: replacing
// every "1" in a cassette would hide nothing and break everything.
const minSecret = 4

// maxSecrets bounds what a long recording remembers.
const maxSecrets = 10000

// redactor remembers the secrets a run has shown (the caller's token, key
// values, passwords, JWTs) so that each is hidden wherever it shows up
// later, not only in the field it first came in.
type redactor struct {
	mu      sync.Mutex
	secrets map[string]string // value → placeholder
}

func newRedactor() *redactor { return &redactor{secrets: map[string]string{}} }

// learn remembers value as a secret.
func (r *redactor) learn(value, placeholder string) {
	if len(value) < minSecret || value == placeholder {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.secrets) < maxSecrets {
		r.secrets[value] = placeholder
	}
}

// learnToken remembers the bearer token of an Authorization header.
func (r *redactor) learnToken(authorization string) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok {
		token = scheme
	}
	token = strings.TrimSpace(token)
	switch {
	case strings.HasPrefix(token, "ak_"):
		r.learn(token, keyPlaceholder)
	case jwtRe.MatchString(token):
		r.learn(token, jwtPlaceholder)
	default:
		r.learn(token, tokenPlaceholder)
	}
}

// learnBody finds the secrets in a JSON or form body by field name.
func (r *redactor) learnBody(body []byte) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return
	}
	var v any
	if json.Unmarshal(trimmed, &v) == nil {
		r.learnJSON("", v)
		return
	}
	if form, err := url.ParseQuery(string(trimmed)); err == nil {
		for name, values := range form {
			for _, value := range values {
				r.learnJSON(name, value)
			}
		}
	}
}

func (r *redactor) learnJSON(name string, v any) {
	switch v := v.(type) {
	case string:
		if p, ok := secretFields[name]; ok {
			r.learn(v, p)
		} else if looksPrivate(v) {
			r.learn(v, privateKeyPlaceholder)
		}
	case map[string]any:
		for k, e := range v {
			r.learnJSON(k, e)
		}
	case []any:
		for _, e := range v {
			r.learnJSON(name, e)
		}
	}
}

// scrub replaces every secret learned so far, in each form a text may
// carry it (as is, JSON-escaped, URL-escaped), then every pattern.
func (r *redactor) scrub(s string) string {
	r.mu.Lock()
	values := make([]string, 0, len(r.secrets))
	for v := range r.secrets {
		values = append(values, v)
	}
	r.mu.Unlock()
	// Longest first: a secret that contains another is replaced whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	pairs := make([]string, 0, 8*len(values))
	seen := map[string]bool{}
	for _, v := range values {
		r.mu.Lock()
		p := r.secrets[v]
		r.mu.Unlock()
		for _, form := range secretForms(v) {
			if !seen[form] {
				seen[form] = true
				pairs = append(pairs, form, p)
			}
		}
	}
	if len(pairs) > 0 {
		s = strings.NewReplacer(pairs...).Replace(s)
	}
	return scrubText(s)
}

// secretForms are the ways a value may be written in a body, a path or a
// query.
func secretForms(v string) []string {
	forms := []string{v}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		forms = append(forms, strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), `"`)[1:])
	}
	if j, err := json.Marshal(v); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	forms = append(forms, url.QueryEscape(v), url.PathEscape(v))
	return forms
}

// redactBody hides the secrets of a body: what learnBody found, the
// patterns, and (for JSON whose text hides a secret in an escaped form the
// replacement missed) a rewrite of the decoded value.
func (r *redactor) redactBody(body []byte) string {
	r.learnBody(body)
	s := r.scrub(string(body))
	var v any
	if json.Unmarshal([]byte(s), &v) == nil && r.holdsSecret("", v) {
		if b, err := json.Marshal(r.redactValue("", v)); err == nil {
			return string(b)
		}
	}
	return s
}

// holdsSecret reports whether a decoded JSON value still holds a secret.
func (r *redactor) holdsSecret(name string, v any) bool {
	switch v := v.(type) {
	case string:
		return r.redactString(name, v) != v
	case map[string]any:
		for k, e := range v {
			if r.holdsSecret(k, e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if r.holdsSecret(name, e) {
				return true
			}
		}
	}
	return false
}

func (r *redactor) redactValue(name string, v any) any {
	switch v := v.(type) {
	case string:
		return r.redactString(name, v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = r.redactValue(k, e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.redactValue(name, e)
		}
		return out
	}
	return v
}

func (r *redactor) redactString(name, v string) string {
	if p, ok := secretFields[name]; ok && v != "" {
		return p
	}
	if looksPrivate(v) {
		return privateKeyPlaceholder
	}
	return r.scrub(v)
}

// Scrub replaces what looks like a secret in s (API keys, JWTs, private
// keys, the local part of emails) by the cassettes' placeholders: for log
// lines.
func Scrub(s string) string { return scrubText(s) }
