package checkproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Drift is one difference between what the API answered and what the
// contract (and the SDK) expects, with how often it was seen.
type Drift struct {
	Route    string `json:"route"`    // "GET /ssh-keys", "GET /computing/instance/{id}"
	Field    string `json:"field"`    // "data.ssh_keys[].id", "status", "(route)", "(sdk)"
	Seen     string `json:"seen"`     // what came: "absent", "non-numeric string", `"Provisioning"`
	Expected string `json:"expected"` // what the contract says
	Count    int    `json:"count"`    // answers that showed it
}

// maxDrifts bounds the report: a long run against an API that differs in
// an unbounded way (a new value in every answer) keeps constant memory.
const maxDrifts = 1000

// Exchange is one request and its answer, as the checker and the cassettes
// see them. Path is below the base path ("/ssh-keys/7"); Body is the answer
// as sent, decompressed.
type Exchange struct {
	Method   string
	Path     string
	RawQuery string
	ReqBody  []byte
	Status   int
	Header   http.Header
	Body     []byte
}

// Checker compares answers with the contract and keeps the differences.
// It is safe for concurrent use.
type Checker struct {
	logf func(format string, args ...any) // one "drift:" line per new difference
	sdk  bool                             // also decode with the SDK

	mu      sync.Mutex
	entries []*Drift
	index   map[Drift]*Drift // keyed by the entry with Count 0
	idKinds map[string]string
}

// NewChecker returns a Checker that writes a "drift: ..." line through logf
// (nil: nowhere) for each difference the first time it is seen.
func NewChecker(logf func(format string, args ...any)) *Checker {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Checker{logf: logf, sdk: true, index: map[Drift]*Drift{}, idKinds: map[string]string{}}
}

// Report returns the differences seen so far, in the order first seen.
func (c *Checker) Report() []Drift {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Drift, len(c.entries))
	for i, d := range c.entries {
		out[i] = *d
	}
	return out
}

func (c *Checker) add(route, field, seen, expected string) {
	k := Drift{Route: scrubText(route), Field: field, Seen: scrubText(seen), Expected: expected}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.index[k]; ok {
		d.Count++
		return
	}
	if len(c.entries) >= maxDrifts {
		k = Drift{Route: "(any)", Field: "(any)", Seen: "more differences than the report keeps", Expected: "at most " + strconv.Itoa(maxDrifts) + " kinds of difference"}
		if d, ok := c.index[k]; ok {
			d.Count++
			return
		}
	}
	d := k
	d.Count = 1
	c.entries = append(c.entries, &d)
	c.index[k] = &d
	c.logf("drift: %s: %s: seen %s, expected %s", d.Route, d.Field, d.Seen, d.Expected)
}

// Check compares one exchange with the contract.
func (c *Checker) Check(x *Exchange) {
	r, id := findRoute(x.Method, x.Path)
	if r == nil {
		if x.Status >= 200 && x.Status < 300 {
			c.add(x.Method+" "+x.Path, "(route)", "HTTP "+strconv.Itoa(x.Status), "a route of the contract")
		}
		return
	}
	if r.shape == notChecked || (x.Status >= 300 && x.Status < 400) {
		return
	}
	rn := r.name()
	if routeMissing(x) {
		seen := "HTTP " + strconv.Itoa(x.Status)
		if x.Status == http.StatusNotFound {
			seen += ` {"detail":"Not Found"}`
		}
		c.add(rn, "(route)", seen, "the route exists")
		return
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(x.Body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		c.add(rn, "(body)", "not JSON (Content-Type "+strconv.Quote(x.Header.Get("Content-Type"))+")", "a JSON envelope")
		return
	}
	env, ok := v.(map[string]any)
	if !ok {
		c.add(rn, "(body)", "JSON "+kindOf(v), "a JSON envelope (an object)")
		return
	}
	if x.Status >= 400 {
		c.checkFailed(rn, env)
		return
	}
	c.checkSuccess(rn, r, env, x)
	if c.sdk {
		if err := sdkDecode(r, id, x); err != nil {
			// The SDK's error may quote a piece of the answer: the
			// secrets of this exchange are hidden in it as in a cassette.
			red := newRedactor()
			red.learnBody(x.ReqBody)
			red.learnBody(x.Body)
			c.add(rn, "(sdk)", red.scrub(err.Error()), "an answer the SDK decodes")
		}
	}
}

// routeMissing tells an answer that says the route does not exist (405,
// or FastAPI's own 404) from one about the thing asked for.
func routeMissing(x *Exchange) bool {
	switch x.Status {
	case http.StatusMethodNotAllowed:
		return true
	case http.StatusNotFound:
		var v struct {
			Detail *string `json:"detail"`
		}
		return json.Unmarshal(x.Body, &v) == nil && v.Detail != nil && *v.Detail == "Not Found"
	}
	return false
}

// checkFailed checks a failed answer: the API's failed envelope, or
// FastAPI's {"detail": ...}, which the SDK reads too.
func (c *Checker) checkFailed(rn string, env map[string]any) {
	if _, ok := env["detail"]; ok {
		return
	}
	switch s, ok := env["status"]; {
	case !ok:
		c.add(rn, "status", "absent in a failed answer", `"failed"`)
	case s != "failed":
		c.add(rn, "status", describe(s)+" in a failed answer", `"failed"`)
	}
	if _, ok := env["message"]; !ok {
		c.add(rn, "message", "absent in a failed answer", "a message")
	}
}

func (c *Checker) checkSuccess(rn string, r *route, env map[string]any, x *Exchange) {
	switch s, ok := env["status"]; {
	case !ok:
		c.add(rn, "status", "absent", `"success"`)
	case s != "success":
		c.add(rn, "status", describe(s)+" with HTTP "+strconv.Itoa(x.Status), `"success"`)
	}
	if _, ok := env["message"]; !ok {
		c.add(rn, "message", "absent", "a message")
	}
	allowed := map[string]bool{"status": true, "message": true, "data": true}
	for name, f := range r.extraFields() {
		allowed[name] = true
		c.checkField(rn, "", name, env, f)
	}
	for _, name := range sortedKeys(env) {
		if !allowed[name] {
			c.add(rn, name, "present", "not in the contract")
		}
	}
	data, hasData := env["data"]
	switch r.shape {
	case withData:
		if !hasData || data == nil {
			seen := "absent"
			if hasData {
				seen = "null"
			}
			c.add(rn, "data", seen, r.data.kind.String())
			return
		}
		c.validate(rn, "data", data, r.data)
	case noData, emptyData:
		if m, ok := data.(map[string]any); hasData && data != nil && (!ok || len(m) > 0) {
			c.add(rn, "data", describe(data), "no data (absent, null or {})")
		}
	}
	if r.one {
		if a, ok := data.([]any); ok && len(a) != 1 {
			c.add(rn, "data", strconv.Itoa(len(a))+" items", "an array of one")
		}
	}
	if r.total != nil {
		c.checkTotal(rn, r.total, env, x.RawQuery)
	}
}

func (r *route) extraFields() map[string]field {
	if r.extra == nil {
		return nil
	}
	return r.extra.fields
}

// checkTotal compares a list's items with its total and with the limit
// asked for: how totals and pages behave is one of the open questions.
func (c *Checker) checkTotal(rn string, t *totalRule, env map[string]any, rawQuery string) {
	items, ok := lookup(env, t.items).([]any)
	if !ok {
		return
	}
	if total, ok := intValue(lookup(env, t.total)); ok && total < int64(len(items)) {
		c.add(rn, t.total, "less than the items on the page", "at least the items on the page")
	}
	q, _ := url.ParseQuery(rawQuery)
	if limit, err := strconv.Atoi(q.Get("limit")); err == nil && limit > 0 && len(items) > limit {
		c.add(rn, t.items, "more items than the limit asked for", "at most limit items")
	}
}

func lookup(v any, path string) any {
	for _, name := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[name]
	}
	return v
}

func (c *Checker) checkField(rn, path, name string, obj map[string]any, f field) {
	p := name
	if path != "" {
		p = path + "." + name
	}
	v, present := obj[name]
	switch {
	case !present && f.required:
		c.add(rn, p, "absent", "required by the contract")
	case v == nil && f.required:
		c.add(rn, p, "null", f.s.kind.String())
	case present && v != nil:
		c.validate(rn, p, v, f.s)
	}
}

// validate checks v, found at path, against s.
func (c *Checker) validate(rn, path string, v any, s *schema) {
	expected := s.kind.String()
	switch s.kind {
	case kString:
		if _, ok := v.(string); !ok {
			c.add(rn, path, kindOf(v), expected)
		}
	case kInt, kNumber, kDecimal:
		if seen := numberProblem(v, s.kind); seen != "" {
			c.add(rn, path, seen, expected)
		}
	case kBool:
		if _, ok := v.(bool); !ok {
			c.add(rn, path, kindOf(v), expected)
		}
	case kID:
		c.checkID(rn, path, v)
	case kTime:
		switch v.(type) {
		case string, json.Number:
		default:
			c.add(rn, path, kindOf(v), expected)
		}
	case kStatus:
		st, ok := v.(string)
		if !ok {
			c.add(rn, path, kindOf(v), expected)
			return
		}
		for _, known := range statuses {
			if strings.EqualFold(st, string(known)) {
				return
			}
		}
		c.add(rn, path, strconv.Quote(truncate(st, 40)), expected)
	case kObject:
		m, ok := v.(map[string]any)
		if !ok {
			c.add(rn, path, kindOf(v), "object")
			return
		}
		for _, name := range sortedKeys(s.fields) {
			c.checkField(rn, path, name, m, s.fields[name])
		}
		for _, name := range sortedKeys(m) {
			if _, known := s.fields[name]; !known {
				c.add(rn, path+"."+name, "present", "not in the contract")
			}
		}
	case kArray:
		a, ok := v.([]any)
		if !ok {
			c.add(rn, path, kindOf(v), "array")
			return
		}
		for _, e := range a {
			if e == nil {
				c.add(rn, path+"[]", "null", s.elem.kind.String())
				continue
			}
			c.validate(rn, path+"[]", e, s.elem)
		}
	case kMap:
		m, ok := v.(map[string]any)
		if !ok {
			c.add(rn, path, kindOf(v), "object")
			return
		}
		for _, name := range sortedKeys(m) {
			if m[name] != nil {
				c.validate(rn, path+".*", m[name], s.elem)
			}
		}
	}
}

// checkID checks an ID's kind, and that one field does not mix integers
// and strings across answers (the docs show both; the SDK takes both, but a
// team should know which one the API sends).
func (c *Checker) checkID(rn, path string, v any) {
	var k string
	switch v := v.(type) {
	case json.Number:
		if _, ok := intValue(v); !ok {
			c.add(rn, path, "number with a fraction", kID.String())
			return
		}
		k = "integer"
	case string:
		if strings.TrimSpace(v) == "" {
			c.add(rn, path, "empty string", kID.String())
			return
		}
		k = "string"
	default:
		c.add(rn, path, kindOf(v), kID.String())
		return
	}
	key := rn + " " + path
	c.mu.Lock()
	prev, seen := c.idKinds[key]
	if !seen {
		c.idKinds[key] = k
	}
	c.mu.Unlock()
	if seen && prev != k {
		c.add(rn, path, "both integer and string IDs", "one kind of ID")
	}
}

// numberProblem says what is wrong with v as a number of kind k, or "" when
// nothing is: a number sent as a numeric string is no drift (the docs do
// it), a non-numeric string is.
func numberProblem(v any, k kind) string {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = string(v)
	case string:
		text = strings.TrimSpace(v)
		if k == kDecimal {
			text = strings.TrimPrefix(text, "$")
		}
		if text == "" {
			if k == kInt {
				return "" // the SDK reads "" as 0, as the docs' empty fields do
			}
			return "empty string"
		}
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return "non-numeric string"
		}
	default:
		return kindOf(v)
	}
	if k == kInt {
		if _, ok := intValue(json.Number(text)); !ok {
			return "number with a fraction"
		}
	}
	return ""
}

// intValue reads an integer from a JSON number or a numeric string,
// allowing a zero fraction (28.0).
func intValue(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return 0, false
		}
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// kindOf names a decoded JSON value's kind.
func kindOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return "numeric string"
		}
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// describe shows a small value as JSON (short strings quoted) and any other
// by its kind.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(truncate(s, 40))
	}
	return kindOf(v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
