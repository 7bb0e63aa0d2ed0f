package checkproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/nebula-sdk/nebula-go/internal/formfield"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Cassette is one recorded exchange, one JSON file per route and sequence
// number ("0003-GET-ssh-keys.json"). Every secret in it is a placeholder.
type Cassette struct {
	Seq      int              `json:"seq"`
	Method   string           `json:"method"`
	Path     string           `json:"path"`            // below /api/v1
	Query    string           `json:"query,omitempty"` // as sent
	Request  CassetteRequest  `json:"request"`
	Response CassetteResponse `json:"response"`
}

// CassetteRequest is the part of a request replay matches on.
type CassetteRequest struct {
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body,omitempty"`
	BodyBase64  string `json:"body_base64,omitempty"`
}

// CassetteResponse is the answer replay gives.
type CassetteResponse struct {
	Status     int                 `json:"status"`
	Header     map[string][]string `json:"header,omitempty"`
	Body       string              `json:"body,omitempty"`
	BodyBase64 string              `json:"body_base64,omitempty"` // a body that is not text (the invoice PDF)
}

// recordedHeaders are the answer headers a cassette keeps: the ones a
// client acts on. Cookies and the rest are left out (they may be secret).
var recordedHeaders = []string{"Content-Type", "Location", "Retry-After", "Content-Disposition"}

// Recorder writes cassettes into a directory. It is safe for concurrent
// use.
type Recorder struct {
	dir    string
	redact *redactor

	mu  sync.Mutex
	seq int
}

var cassetteName = regexp.MustCompile(`^([0-9]+)-.*\.json$`)

// NewRecorder returns a Recorder writing into dir, which it creates if
// needed. Numbering continues after the cassettes already there, so a
// second run adds to the first. It returns the error of creating or
// reading dir.
func NewRecorder(dir string) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	rec := &Recorder{dir: dir, redact: newRedactor()}
	for _, e := range entries {
		if m := cassetteName.FindStringSubmatch(e.Name()); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > rec.seq {
				rec.seq = n
			}
		}
	}
	return rec, nil
}

// Record writes x as the next cassette, its secrets (and those of every
// exchange recorded before, and the token of authorization) replaced by
// placeholders. It returns the error of encoding or writing the file; the
// exchange itself has been answered either way.
func (rec *Recorder) Record(x *Exchange, authorization, reqContentType string) error {
	if authorization != "" {
		rec.redact.learnToken(authorization)
	}
	// Learn first from both bodies: a key created in this answer may be
	// echoed in its own request's path or query.
	rec.redact.learnBody(x.ReqBody)
	rec.redact.learnBody(x.Body)
	c := Cassette{
		Method: x.Method,
		Path:   rec.redact.scrub(x.Path),
		Query:  rec.redact.scrub(x.RawQuery),
	}
	c.Request.ContentType = reqContentType
	c.Request.Body, c.Request.BodyBase64 = rec.body(x.ReqBody, reqContentType)
	c.Response.Status = x.Status
	for _, name := range recordedHeaders {
		for _, v := range x.Header.Values(name) {
			if c.Response.Header == nil {
				c.Response.Header = map[string][]string{}
			}
			c.Response.Header[name] = append(c.Response.Header[name], rec.redact.scrub(v))
		}
	}
	c.Response.Body, c.Response.BodyBase64 = rec.body(x.Body, x.Header.Get("Content-Type"))

	rec.mu.Lock()
	rec.seq++
	c.Seq = rec.seq
	rec.mu.Unlock()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%04d-%s-%s.json", c.Seq, c.Method, slug(c.Path))
	return os.WriteFile(filepath.Join(rec.dir, name), append(b, '\n'), 0o644)
}

// body is a body as cassette text: redacted text, or base64 for bytes that
// are not text (a PDF holds no secret of the run).
func (rec *Recorder) body(b []byte, contentType string) (text, b64 string) {
	if len(b) == 0 {
		return "", ""
	}
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", base64.StdEncoding.EncodeToString(b)
	}
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		return rec.redactForm(b), ""
	}
	if strings.HasPrefix(contentType, "multipart/form-data") {
		return rec.redactFormLeniently(b), ""
	}
	return rec.redact.redactBody(b), ""
}

// redactForm redacts a form body field by field, so that a password is
// hidden however it was escaped.
func (rec *Recorder) redactForm(b []byte) string {
	form, err := url.ParseQuery(string(b))
	if err != nil {
		// A typed password with a raw '%' fails ParseQuery, and was
		// recorded as it was.
		return rec.redactFormLeniently(b)
	}
	return redactFormValues(rec.redact, form)
}

// redactFormLeniently redacts a form (urlencoded or multipart) that a strict
// parser refuses: each secretFields field's value becomes its placeholder,
// then the whole text is scrubbed.
func (rec *Recorder) redactFormLeniently(b []byte) string {
	form, _ := formfield.Replace(string(b), secretFieldPlaceholder)
	return rec.redact.scrub(form)
}

// secretFieldPlaceholder is formfield's view of secretFields: a field's
// placeholder, its name in any case.
func secretFieldPlaceholder(name string) (string, bool) {
	for field, p := range secretFields {
		if strings.EqualFold(field, name) {
			return p, true
		}
	}
	return "", false
}

func redactFormValues(r *redactor, form url.Values) string {
	for name, values := range form {
		for i, v := range values {
			values[i] = r.redactString(name, v)
		}
	}
	return form.Encode()
}

var slugRe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func slug(path string) string {
	s := strings.Trim(slugRe.ReplaceAllString(strings.ReplaceAll(strings.Trim(path, "/"), "/", "_"), "-"), "-_")
	if s == "" {
		s = "root"
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// Replayer serves recorded cassettes as the API. It is safe for concurrent
// use.
type Replayer struct {
	dir string

	mu     sync.Mutex
	byKey  map[string][]*Cassette
	served map[string]int
}

// NewReplayer loads every cassette (*.json) in dir. It fails when dir
// cannot be read, holds a file that is not a cassette, or holds none.
func NewReplayer(dir string) (*Replayer, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var all []*Cassette
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var c Cassette
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: not a cassette: %v", e.Name(), err)
		}
		if c.Method == "" || c.Response.Status < 100 || c.Response.Status > 999 {
			return nil, fmt.Errorf("%s: not a cassette: no method or status", e.Name())
		}
		all = append(all, &c)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no cassettes (*.json) in %s", dir)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	rp := &Replayer{dir: dir, byKey: map[string][]*Cassette{}, served: map[string]int{}}
	for _, c := range all {
		body, err := c.Request.body()
		if err != nil {
			return nil, fmt.Errorf("cassette %d: %v", c.Seq, err)
		}
		k := matchKey(c.Method, c.Path, c.Query, body, c.Request.ContentType)
		rp.byKey[k] = append(rp.byKey[k], c)
	}
	return rp, nil
}

func (r CassetteRequest) body() ([]byte, error) {
	if r.BodyBase64 != "" {
		return base64.StdEncoding.DecodeString(r.BodyBase64)
	}
	return []byte(r.Body), nil
}

// matchKey is what replay matches on: method, path, query (parameter order
// ignored) and body (JSON key order and white space ignored).
func matchKey(method, path, rawQuery string, body []byte, contentType string) string {
	q, err := url.ParseQuery(rawQuery)
	query := rawQuery
	if err == nil {
		query = q.Encode()
	}
	return method + " " + path + "?" + query + "\n" + canonicalBody(body, contentType)
}

func canonicalBody(body []byte, contentType string) string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil && !dec.More() {
		if b, err := json.Marshal(v); err == nil { // map keys come out sorted
			return string(b)
		}
	}
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(trimmed)); err == nil {
			return form.Encode()
		}
	}
	return string(trimmed)
}

// serve answers a request below the base path with its cassette: the
// n-th matching request gets the n-th matching recording, and once they
// are used up, the last one again. An unmatched request gets a failed
// envelope that says so.
func (rp *Replayer) serve(w http.ResponseWriter, r *http.Request, path string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeFailed(w, http.StatusBadRequest, "nebula-fake -replay: cannot read the request body")
		return
	}
	// The request is redacted as the recording was, so that a password or
	// key in it matches its placeholder.
	red := newRedactor()
	if a := r.Header.Get("Authorization"); a != "" {
		red.learnToken(a)
	}
	ct := r.Header.Get("Content-Type")
	var redBody []byte
	if len(bytes.TrimSpace(body)) > 0 {
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			if form, err := url.ParseQuery(string(body)); err == nil {
				redBody = []byte(redactFormValues(red, form))
			} else {
				redBody = []byte(red.scrub(string(body)))
			}
		} else {
			redBody = []byte(red.redactBody(body))
		}
	}
	k := matchKey(r.Method, red.scrub(path), red.scrub(r.URL.RawQuery), redBody, ct)
	rp.mu.Lock()
	list := rp.byKey[k]
	var c *Cassette
	if len(list) > 0 {
		n := rp.served[k]
		c = list[min(n, len(list)-1)]
		rp.served[k] = n + 1
	}
	rp.mu.Unlock()
	if c == nil {
		what := r.Method + " " + red.scrub(path)
		if r.URL.RawQuery != "" {
			what += "?" + red.scrub(r.URL.RawQuery)
		}
		if len(redBody) > 0 {
			what += " with this body"
		}
		writeFailed(w, http.StatusNotFound, "nebula-fake -replay: no cassette in "+rp.dir+" records "+what)
		return
	}
	for name, values := range c.Response.Header {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	out := []byte(c.Response.Body)
	if c.Response.BodyBase64 != "" {
		if out, err = base64.StdEncoding.DecodeString(c.Response.BodyBase64); err != nil {
			writeFailed(w, http.StatusInternalServerError, "nebula-fake -replay: cassette "+strconv.Itoa(c.Seq)+": bad body_base64")
			return
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(c.Response.Status)
	w.Write(out)
}

// writeFailed writes the API's failed envelope.
func writeFailed(w http.ResponseWriter, status int, message string) {
	b, _ := json.Marshal(struct {
		Data    any    `json:"data"`
		Message string `json:"message"`
		Status  string `json:"status"`
	}{nil, message, "failed"})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Handler serves the cassettes below BasePath; anything else gets a failed
// envelope.
func (rp *Replayer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), BasePath)
		if !ok || (rest != "" && rest[0] != '/') {
			writeFailed(w, http.StatusNotFound, "nebula-fake -replay serves only "+BasePath+"/...")
			return
		}
		path, err := url.PathUnescape(rest)
		if err != nil {
			writeFailed(w, http.StatusBadRequest, "nebula-fake -replay: bad path escape")
			return
		}
		rp.serve(w, r, path)
	})
}
