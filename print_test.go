package nebula

import (
	"errors"
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
