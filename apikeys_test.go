package nebula

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestCreateSendsDocumentedRequest(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithUserAgent("my-app/1.2"))
	rec := e.reply("POST", "/api-keys", ok(docsCreateIntID))

	key, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "test-api-key", Description: "This is a test API key"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.URL != testBase+"/api-keys" {
		t.Errorf("URL %s", r.URL)
	}
	want := map[string]string{
		"Authorization": "Bearer " + testToken,
		"Accept":        "application/json",
		"Content-Type":  "application/json",
		"User-Agent":    "my-app/1.2 nebula-go/" + Version,
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if r.Header.Get("Idempotency-Key") != "" {
		t.Error("Idempotency-Key sent: Go's transport would then replay the POST")
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body) != 2 ||
		body["name"] != "test-api-key" || body["description"] != "This is a test API key" {
		t.Errorf("body %s (%v)", r.Body, err)
	}
	if key.ID != "5" || key.Name != "test-api-key" || key.Description != "This is a test API key" || key.Key.Reveal() != docsKeyValue {
		t.Errorf("key %+v / %q", key, key.Key.Reveal())
	}
}

func TestCreateOmitsEmptyDescription(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("POST", "/api-keys", ok(docsCreateUUID))
	key, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.all()[0].Body; got != `{"name":"n"}` {
		t.Errorf("body %s", got)
	}
	if key.ID != "9a4d7961-3274-4479-a20b-10f57f9bc75a" {
		t.Errorf("UUID id %q", key.ID)
	}
}

func TestListDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/api_keys", ok(docsList))
	keys, err := e.client.APIKeys.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	want := []APIKey{
		{ID: "5", Name: "api-test-key", Description: "This is the test API key", PartialKey: "ak_..."},
		{ID: "6", Name: "api-test-key2", Description: "This is the test API key #2", PartialKey: "ak_..."},
	}
	if len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Errorf("keys %+v", keys)
	}
	r := rec.all()[0]
	if r.Body != "" || r.Header.Get("Content-Type") != "" || r.Header.Get("Authorization") != "Bearer "+testToken {
		t.Errorf("GET sent body %q, content type %q", r.Body, r.Header.Get("Content-Type"))
	}
}

func TestListEmpty(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("GET", "/api_keys", ok(`{"data":[],"message":"ok","status":"success"}`))
	keys, err := e.client.APIKeys.List(bg)
	if err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("keys %#v, err %v", keys, err)
	}
}

func TestDeleteSuccessBodies(t *testing.T) {
	t.Parallel()
	for name, a := range map[string]answer{
		"docs":       ok(docsDelete),
		"empty 200":  ok(""),
		"204":        status(204, ""),
		"other data": ok(`{"data":{"id":5},"message":"deleted","status":"success"}`),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.reply("DELETE", "/api-keys/5", a)
			if err := e.client.APIKeys.Delete(bg, "5"); err != nil {
				t.Fatal(err)
			}
			if rec.count() != 1 {
				t.Fatalf("%d requests", rec.count())
			}
		})
	}
}

func TestDeleteEscapesID(t *testing.T) {
	t.Parallel()
	cases := map[ID]string{
		"5":                                    "/api/v1/api-keys/5",
		"9a4d7961-3274-4479-a20b-10f57f9bc75a": "/api/v1/api-keys/9a4d7961-3274-4479-a20b-10f57f9bc75a",
		"../login":                             "/api/v1/api-keys/..%2Flogin",
		"5?x=1#f":                              "/api/v1/api-keys/5%3Fx=1%23f",
		"a b/c":                                "/api/v1/api-keys/a%20b%2Fc",
	}
	for id, want := range cases {
		e := newTestEnv(t)
		rec := e.anyRequest(ok(docsDelete))
		if err := e.client.APIKeys.Delete(bg, id); err != nil {
			t.Errorf("Delete(%q): %v", id, err)
			continue
		}
		if got := rec.all()[0].RawPath; got != want {
			t.Errorf("Delete(%q) path %s, want %s", id, got, want)
		}
	}
}

func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	var nilCtx context.Context
	e := newTestEnv(t)
	rec := e.anyRequest(ok(docsCreateIntID))
	calls := map[string]func() error{
		"empty name": func() error { _, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{}); return err },
		"blank name": func() error {
			_, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: " \t\n"})
			return err
		},
		"nil ctx create": func() error {
			_, err := e.client.APIKeys.Create(nilCtx, CreateAPIKeyRequest{Name: "n"})
			return err
		},
		"nil ctx list":   func() error { _, err := e.client.APIKeys.List(nilCtx); return err },
		"nil ctx delete": func() error { return e.client.APIKeys.Delete(nilCtx, "5") },
		"empty id":       func() error { return e.client.APIKeys.Delete(bg, "") },
		"blank id":       func() error { return e.client.APIKeys.Delete(bg, "  ") },
		"dot id":         func() error { return e.client.APIKeys.Delete(bg, ".") },
		"dotdot id":      func() error { return e.client.APIKeys.Delete(bg, "..") },
		"rotate empty old": func() error {
			_, err := e.client.APIKeys.Rotate(bg, "", CreateAPIKeyRequest{Name: "n"})
			return err
		},
		"rotate blank name": func() error {
			_, err := e.client.APIKeys.Rotate(bg, "5", CreateAPIKeyRequest{Name: ""})
			return err
		},
		"login blank user": func() error { _, err := e.client.Auth.Login(bg, " ", "pw"); return err },
		"login empty pass": func() error { _, err := e.client.Auth.Login(bg, "u", ""); return err },
		"login nil ctx":    func() error { _, err := e.client.Auth.Login(nilCtx, "u", "pw"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := rec.count(); n != 0 {
		t.Fatalf("%d requests sent for bad input", n)
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.anyRequest(ok(docsList))
	cctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := e.client.APIKeys.List(cctx)
	if !errors.Is(err, context.Canceled) || rec.count() != 0 {
		t.Fatalf("err %v, %d requests", err, rec.count())
	}
}

func TestFailedEnvelopes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status   int
		sentinel error
	}{
		{200, nil}, {201, nil}, {400, ErrBadRequest}, {401, ErrUnauthorized}, {403, ErrForbidden},
		{404, ErrNotFound}, {409, ErrConflict}, {422, ErrBadRequest}, {429, ErrRateLimited},
		{500, ErrServerError}, {503, ErrServerError},
	}
	for _, c := range cases {
		e := newTestEnv(t, WithMaxRetries(0))
		e.reply("GET", "/api_keys", answer{status: c.status, body: failedEnvelope("it failed"), header: map[string]string{"X-Request-Id": "rid-7"}})
		keys, err := e.client.APIKeys.List(bg)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || keys != nil {
			t.Errorf("%d: keys %v err %v", c.status, keys, err)
			continue
		}
		if apiErr.HTTPStatus != c.status || apiErr.Status != "failed" || apiErr.Message != "it failed" ||
			apiErr.RequestID != "rid-7" || apiErr.Attempts != 1 {
			t.Errorf("%d: %+v", c.status, apiErr)
		}
		if c.sentinel != nil && !errors.Is(err, c.sentinel) {
			t.Errorf("%d: not %v", c.status, c.sentinel)
		}
		if errors.Is(err, ErrUnexpectedResponse) {
			t.Errorf("%d: a failed envelope is not unexpected", c.status)
		}
	}
}

func TestCreateConflictReadsWell(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("POST", "/api-keys", status(409, failedEnvelope("API key name already exists")))
	_, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "dup"})
	if !errors.Is(err, ErrConflict) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err %v", err)
	}
	if want := "nebula: APIKeys.Create: POST /api-keys: 409 Conflict: API key name already exists"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

func TestNonEnvelopeErrorBodies(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithMaxRetries(0))
	e.reply("GET", "/api_keys", status(401, `{"detail":"Not authenticated"}`))
	_, err := e.client.APIKeys.List(bg)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, ErrUnauthorized) || apiErr.Message != "Not authenticated" || apiErr.Status != "" {
		t.Fatalf("err %v", err)
	}
}

func TestUnexpectedSuccessBodies(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"not json":           "<html>hello</html>",
		"truncated json":     `{"data":[{"id":5,"name":"a"`,
		"empty body":         "",
		"unknown status":     `{"data":[],"message":"","status":"maybe"}`,
		"missing status":     `{"data":[]}`,
		"missing data":       `{"message":"ok","status":"success"}`,
		"data of wrong type": `{"data":{"id":5},"message":"ok","status":"success"}`,
		"id of wrong type":   `{"data":[{"id":true}],"message":"ok","status":"success"}`,
		"json array":         `[1,2]`,
	}
	for name, body := range cases {
		e := newTestEnv(t)
		rec := e.reply("GET", "/api_keys", ok(body))
		keys, err := e.client.APIKeys.List(bg)
		var apiErr *APIError
		if !errors.Is(err, ErrUnexpectedResponse) || !errors.As(err, &apiErr) || keys != nil {
			t.Errorf("%s: keys %v err %v", name, keys, err)
			continue
		}
		if apiErr.Status != "" || apiErr.HTTPStatus != 200 || rec.count() != 1 {
			t.Errorf("%s: %+v after %d requests", name, apiErr, rec.count())
		}
	}
}

func TestCreateUnusableSuccess(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"no key":   `{"data":{"id":5,"name":"n"},"message":"ok","status":"success"}`,
		"no id":    `{"data":{"key":"` + docsKeyValue + `","name":"n"},"message":"ok","status":"success"}`,
		"empty id": `{"data":{"id":"","key":"` + docsKeyValue + `"},"message":"ok","status":"success"}`,
		"not json": "Internal error " + docsKeyValue,
		// The reason quotes the unknown status, which must be scrubbed too.
		"key as status": `{"data":{"id":5,"key":"` + docsKeyValue + `"},"status":"` + docsKeyValue + `"}`,
	}
	for name, body := range cases {
		e := newTestEnv(t)
		rec := e.reply("POST", "/api-keys", ok(body))
		key, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "n"})
		if key != nil || !errors.Is(err, ErrUnexpectedResponse) || !errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("%s: key %v err %v", name, key, err)
		}
		if err != nil && strings.Contains(err.Error(), docsKeyValue[3:15]) {
			t.Errorf("%s: error carries the key: %v", name, err)
		}
		if rec.count() != 1 {
			t.Errorf("%s: %d requests", name, rec.count())
		}
	}
}

func TestRotateCreatesThenDeletes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var order []string
	e.mock.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		order = append(order, req.Method+" "+req.URL.Path)
		if req.Method == "POST" {
			return ok(docsCreateUUID).response(req)
		}
		return ok(docsDelete).response(req)
	})
	key, err := e.client.APIKeys.Rotate(bg, "5", CreateAPIKeyRequest{Name: "new"})
	if err != nil || key.Key.Reveal() != docsKeyValue {
		t.Fatalf("key %v err %v", key, err)
	}
	if strings.Join(order, ", ") != "POST /api/v1/api-keys, DELETE /api/v1/api-keys/5" {
		t.Fatalf("order %v", order)
	}
}

func TestRotateKeepsNewKeyWhenDeleteFails(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("POST", "/api-keys", ok(docsCreateIntID))
	e.reply("DELETE", "/api-keys/4", status(403, failedEnvelope("not yours")))
	key, err := e.client.APIKeys.Rotate(bg, "4", CreateAPIKeyRequest{Name: "new"})
	var rotErr *RotateError
	if key == nil || key.Key.Reveal() != docsKeyValue {
		t.Fatalf("new key lost: %v", key)
	}
	if !errors.As(err, &rotErr) || rotErr.OldID != "4" || !errors.Is(err, ErrForbidden) {
		t.Fatalf("err %v", err)
	}
}

func TestRotateDoesNotDeleteWhenCreateFails(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("POST", "/api-keys", status(400, failedEnvelope("bad name")))
	del := e.reply("DELETE", "/api-keys/4", ok(docsDelete))
	key, err := e.client.APIKeys.Rotate(bg, "4", CreateAPIKeyRequest{Name: "new"})
	if key != nil || !errors.Is(err, ErrBadRequest) || del.count() != 0 {
		t.Fatalf("key %v err %v deletes %d", key, err, del.count())
	}
}

// Names are checked for control characters the way header values are: a
// C1 control (NEL, CSI) or a Unicode line break in a name split the line
// it was listed on, and CSI starts a terminal escape.
func TestNamesRefuseC1AndUnicodeLineBreaks(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.anyRequest(ok(docsCreateIntID))
	for _, name := range []string{"a\u0085b", "a\u009b31mb", "a\u2028b", "a\u2029b", "a\x85b"} {
		if _, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: name}); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "APIKeys.Create") {
			t.Errorf("%q: err %v", name, err)
		}
		if _, err := e.client.SSHKeys.Rename(bg, "5", name); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: Rename: err %v", name, err)
		}
	}
	if rec.count() != 0 {
		t.Fatalf("%d requests sent", rec.count())
	}
	if _, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "café ключ 键"}); err != nil {
		t.Fatalf("a name in other scripts: %v", err)
	}
}
