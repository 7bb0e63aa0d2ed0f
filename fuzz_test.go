package nebula

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Fuzz targets; CI runs each briefly:
//
//	go test -run '^$' -fuzz '^FuzzDecodeSuccess$' -fuzztime 20s .

// docsBodies seed the corpora with the API's own examples and the shapes of
// error bodies seen in front of it.
var docsBodies = []string{
	docsCreateIntID, docsCreateUUID, docsList, docsDelete, docsLogin,
	failedEnvelope("API key name already exists"),
	`{"detail":"Not authenticated"}`,
	`{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"}]}`,
	"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
	"", "{}", "null", `{"data":null,"status":"success"}`,
}

// FuzzDecodeSuccess feeds any body to the 2xx decoder of every call: it must
// not panic, and must either give usable data or say why not.
func FuzzDecodeSuccess(f *testing.F) {
	for _, b := range docsBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var created *createdAPIKeyData
		create := &request{method: http.MethodPost, decode: func(env *rawEnvelope, _ any) string {
			created = new(createdAPIKeyData)
			return decodeObject(env, created)
		}}
		failed, reason := decodeSuccess(body, create, new(rawEnvelope))
		if !failed && reason == "" {
			if created == nil {
				t.Fatalf("create success without data: %q", body)
			}
			if created.ID == nil || *created.ID == "" || created.Key == "" {
				t.Fatalf("created key without id or key accepted: %q", body)
			}
		}
		if failed {
			var eb errorBody
			if json.Unmarshal(body, &eb) != nil || eb.Status == nil || *eb.Status != statusFailed {
				t.Fatalf("failed envelope without failed status: %q", body)
			}
		}

		// A call without data succeeds on an empty body or a success status.
		failed, reason = decodeSuccess(body, &request{method: http.MethodDelete, noData: true}, new(rawEnvelope))
		var probe struct{ Status string }
		// Blank means JSON's white space only: "\v" is no empty body.
		blank := len(bytes.Trim(body, " \t\r\n")) == 0
		ok := blank || (json.Unmarshal(body, &probe) == nil && probe.Status == statusSuccess)
		if (!failed && reason == "") != ok {
			t.Fatalf("delete success=%v for %q", !ok, body)
		}

		var keys []APIKey
		list := &request{method: http.MethodGet, decode: func(env *rawEnvelope, _ any) string { return decodeNullable(env, &keys) }}
		if failed, reason := decodeSuccess(body, list, new(rawEnvelope)); !failed && reason == "" && blank {
			t.Fatalf("list success on an empty body")
		}
	})
}

// keyRun is an API key value as the scrubber takes one: ak_ and at least
// minKeyRun key characters ("peak_hours" is a word, not a key).
var keyRun = regexp.MustCompile(`ak_[A-Za-z0-9_\-]{` + strconv.Itoa(minKeyRun) + `,}`)

// FuzzAnswerError feeds any error body and token to the error builder: no
// input may make the token, the password or an ak_ key value appear in the
// error, and the message stays short.
func FuzzAnswerError(f *testing.F) {
	for _, b := range docsBodies {
		f.Add([]byte(b), testToken, "hunter2!")
	}
	f.Add([]byte(`{"status":"failed","message":"bad token ak_abc[REDACTED]"}`), "ak_abc[REDACTED]", "pw")
	f.Add([]byte("tok\x00en "+testToken), testToken, "p@ss w0rd")
	f.Fuzz(func(t *testing.T, body []byte, token, password string) {
		if checkToken(token) != nil || len(token) < 12 || len(password) < 8 {
			// The pipeline refuses such tokens; and a token or password of
			// a few characters may well spell part of "400 Bad Request".
			return
		}
		secrets := []string{token, password}
		resp := &http.Response{StatusCode: 400, Header: http.Header{"X-Request-Id": {string(body)}}}
		e := answerError("POST /api-keys", resp, body, secrets)
		msg := e.Error()
		// Look in what came from the body and headers: a fuzzed secret such
		// as "0000)" could otherwise be spelled by the fixed words around it.
		for _, part := range []string{e.Message, e.RequestID} {
			if strings.Contains(part, token) || strings.Contains(part, password) {
				t.Fatalf("secret in %q", msg)
			}
		}
		if keyRun.MatchString(msg) {
			t.Fatalf("key value in %q", msg)
		}
		if n := len([]rune(e.Message)); n > maxMessageLen+3 {
			t.Fatalf("message of %d runes", n)
		}
	})
}

// FuzzID: an ID decodes from a JSON string or integer only (null is an
// error, not an empty ID), and keeps the integer's digits or the string's
// text exactly.
func FuzzID(f *testing.F) {
	for _, s := range []string{`5`, `-7`, `"9a4d7961-3274-4479-a20b-10f57f9bc75a"`, `"a\"b"`, `null`, `5.0`, `1e3`, `"\ud800"`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var id ID
		err := json.Unmarshal(data, &id)
		var s string
		var n json.Number
		switch {
		case string(bytes.TrimSpace(data)) == "null":
			if err == nil {
				t.Fatal("null accepted as an ID")
			}
		case json.Unmarshal(data, &s) == nil:
			if err != nil || string(id) != s {
				t.Fatalf("string %q: id %q err %v", data, id, err)
			}
		case isJSONInteger(bytes.TrimSpace(data)) && json.Unmarshal(data, &n) == nil:
			if err != nil || string(id) != string(bytes.TrimSpace(data)) {
				t.Fatalf("integer %q: id %q err %v", data, id, err)
			}
		case err == nil:
			t.Fatalf("accepted %q as %q", data, id)
		}
		var syntaxErr *json.SyntaxError
		if err != nil && !errors.As(err, &syntaxErr) && strings.Contains(err.Error(), string(data)) && len(data) > 20 {
			t.Fatalf("error quotes the whole input: %v", err)
		}
	})
}
