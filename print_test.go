package nebula

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// PLATFORM.md, "Consistency across services (amended)": redaction of "ak_"
// values matches whole key-length tokens, not the letters inside words.
func TestWordsWithAkStayAsWritten(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	msg := "peak_hours pricing; ask break_glass; ak_id; key " + docsKeyValue + " revoked"
	e.reply("GET", "/api_keys", status(400, failedEnvelope(msg)))
	_, err := e.client.APIKeys.List(bg)
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	want := "peak_hours pricing; ask break_glass; ak_id; key ak_[REDACTED] revoked"
	if apiErr.Message != want {
		t.Fatalf("Message = %q, want %q", apiErr.Message, want)
	}
	// A body that is no envelope goes through the excerpt.
	e2 := newTestEnv(t)
	e2.reply("GET", "/api_keys", status(502, "<html><body>peak_hours: break_glass "+docsKeyValue+"</body></html>"))
	_, err = e2.client.APIKeys.List(bg)
	if !errors.As(err, &apiErr) || apiErr.Message != "peak_hours: break_glass ak_[REDACTED]" {
		t.Fatalf("err = %v, want the words kept and the key redacted", err)
	}
}

// PLATFORM.md: every name an SDK call sends is checked the same way.
func TestAPIKeysCreateChecksName(t *testing.T) {
	t.Parallel()
	for name, n := range map[string]string{
		"empty":      "",
		"blank":      " \t",
		"NUL":        "key\x00x",
		"line break": "key\nX-Evil: 1",
		"CR":         "key\rx",
		"DEL":        "key\x7f",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.anyRequest(ok(docsCreateIntID))
			_, err := e.client.APIKeys.Create(bg, CreateAPIKeyRequest{Name: n})
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), "APIKeys.Create") {
				t.Errorf("err = %q, want it to name APIKeys.Create", err)
			}
			if rec.count() != 0 {
				t.Fatalf("%d requests sent", rec.count())
			}
		})
	}
}

// PLATFORM.md: a Secret marshals redacted and so cannot round-trip; reading
// its redacted form back fails with an error that says so.
func TestSecretRedactedFormDoesNotUnmarshal(t *testing.T) {
	t.Parallel()
	values := []string{docsKeyValue, "ak_short", "short", docsLoginJWT, breakerToken, "zq9-Mx7vP2wLr4Kt", "pässwörd-with-ünïcödé-ß"}
	for _, v := range values {
		s := NewSecret(v)
		j, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Secret
		err = json.Unmarshal(j, &back)
		if err == nil || !strings.Contains(err.Error(), "redacted") {
			t.Errorf("json.Unmarshal(%s) = %v, %q; want an error saying it is redacted", j, err, back.Reveal())
		}
		if !back.IsZero() {
			t.Errorf("json.Unmarshal(%s) left %q", j, back.Reveal())
		}
		text, _ := s.MarshalText()
		err = back.UnmarshalText(text)
		if err == nil || !strings.Contains(err.Error(), "redacted") || !back.IsZero() {
			t.Errorf("UnmarshalText(%q) = %v, %q; want an error saying it is redacted", text, err, back.Reveal())
		}
	}
	// What is not a redacted form still reads, and "" is the zero Secret.
	for _, v := range []string{docsKeyValue, "ak_...", "...", "[REDACTED", "x...abcd", "ak_...abcde", ""} {
		var back Secret
		if err := json.Unmarshal([]byte(strconv.Quote(v)), &back); err != nil || back.Reveal() != v {
			t.Errorf("json.Unmarshal(%q) = %v, %q", v, err, back.Reveal())
		}
		if err := back.UnmarshalText([]byte(v)); err != nil || back.Reveal() != v {
			t.Errorf("UnmarshalText(%q) = %v, %q", v, err, back.Reveal())
		}
	}
}

// The types that hold a Secret do not come back from their own JSON with a
// redacted value in place of the credential.
func TestTypesHoldingSecretsDoNotRoundTrip(t *testing.T) {
	t.Parallel()
	values := map[string]struct{ in, out any }{
		"CreatedAPIKey": {CreatedAPIKey{ID: "5", Name: "n", Key: NewSecret(docsKeyValue)}, new(CreatedAPIKey)},
		"Session":       {Session{UserID: "18", Token: NewSecret(docsLoginJWT)}, new(Session)},
		"Instance":      {Instance{ID: "i-1", Password: NewSecret("zq9-Mx7vP2wLr4Kt")}, new(Instance)},
	}
	for name, v := range values {
		j, err := json.Marshal(v.in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := json.Unmarshal(j, v.out); err == nil || !strings.Contains(err.Error(), "redacted Secret") {
			t.Errorf("%s: json.Unmarshal of its own JSON = %v, want the redacted-Secret error", name, err)
		}
	}
}
