package nebula

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestIDUnmarshalJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want ID
	}{
		{`5`, "5"},
		{`0`, "0"},
		{`123456789012345678901234567890`, "123456789012345678901234567890"},
		{`"9a4d7961-3274-4479-a20b-10f57f9bc75a"`, "9a4d7961-3274-4479-a20b-10f57f9bc75a"},
		{`"5"`, "5"},
		{`"a\/b\u00e9"`, "a/bé"},
	}
	for _, c := range cases {
		var id ID
		if err := json.Unmarshal([]byte(c.in), &id); err != nil {
			t.Errorf("Unmarshal(%s): %v", c.in, err)
			continue
		}
		if id != c.want {
			t.Errorf("Unmarshal(%s) = %q, want %q", c.in, id, c.want)
		}
	}
	for _, bad := range []string{`null`, `5.5`, `1e3`, `-`, `007`, `true`, `{}`, `[]`, `"unterminated`} {
		var id ID
		if err := json.Unmarshal([]byte(bad), &id); err == nil {
			t.Errorf("Unmarshal(%s) = %q, want an error", bad, id)
		}
	}
}

func TestIDInStructFromBothDocForms(t *testing.T) {
	t.Parallel()
	var keys []APIKey
	if err := json.Unmarshal([]byte(`[{"id":5},{"id":"9a4d7961-3274-4479-a20b-10f57f9bc75a"}]`), &keys); err != nil {
		t.Fatal(err)
	}
	if keys[0].ID != "5" || keys[1].ID != "9a4d7961-3274-4479-a20b-10f57f9bc75a" {
		t.Fatalf("ids = %q, %q", keys[0].ID, keys[1].ID)
	}
}

func TestSecretReveal(t *testing.T) {
	t.Parallel()
	s := NewSecret(docsKeyValue)
	if s.Reveal() != docsKeyValue {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	if s.IsZero() || !(Secret{}).IsZero() || NewSecret("").Reveal() != "" {
		t.Fatal("IsZero / empty secret wrong")
	}
}

func TestSecretRedactedForm(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		docsKeyValue:             "ak_...su-0",
		"ak_short":               "ak_[REDACTED]",
		"":                       "",
		"eyJhbGciOiJIUzI1NiJ9.x": "...J9.x",
		"secret":                 "[REDACTED]",
	}
	for in, want := range cases {
		if got := NewSecret(in).String(); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// secretLeaks lists the ways a value holding a secret gets printed; each must
// show no more than the redacted form.
func secretLeaks(t *testing.T, value any, secret string) {
	t.Helper()
	var prints []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3v", "%-50s"} {
		prints = append(prints, fmt.Sprintf(verb, value))
	}
	prints = append(prints, fmt.Sprint(value), fmt.Sprintln(value))
	j, err := json.Marshal(value)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	prints = append(prints, string(j))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("msg", "value", value, slog.Any("any", value))
		prints = append(prints, buf.String())
	}
	for _, p := range prints {
		// The secret's middle is what must never show: the redacted form
		// may keep "ak_" and the last four characters.
		middle := secret[3 : len(secret)-4]
		if strings.Contains(p, middle) || strings.Contains(strings.ToLower(p), hex.EncodeToString([]byte(middle))) {
			t.Errorf("secret leaked: %s", p)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := NewSecret(docsKeyValue)
	secretLeaks(t, s, docsKeyValue)
	secretLeaks(t, &s, docsKeyValue)
	key := CreatedAPIKey{ID: "5", Name: "n", Key: s}
	secretLeaks(t, key, docsKeyValue)
	secretLeaks(t, &key, docsKeyValue)
	sess := Session{UserID: "18", Token: NewSecret(docsLoginJWT), ExpiresAt: time.Unix(1730758636, 0)}
	secretLeaks(t, sess, docsLoginJWT)
	secretLeaks(t, []Secret{s}, docsKeyValue)
	secretLeaks(t, map[string]Secret{"k": s}, docsKeyValue)
	// A Secret in someone else's unexported field: fmt prints that field
	// without calling any method, so only the pointer inside may show.
	type holder struct{ key Secret }
	secretLeaks(t, struct{ H holder }{holder{s}}, docsKeyValue)

	text, err := s.MarshalText()
	if err != nil || string(text) != "ak_...su-0" {
		t.Errorf("MarshalText = %q, %v", text, err)
	}
	j, _ := json.Marshal(map[Secret]int{s: 1})
	if strings.Contains(string(j), docsKeyValue) {
		t.Errorf("map key leaked: %s", j)
	}
}

func TestSecretUnmarshalJSON(t *testing.T) {
	t.Parallel()
	var k CreatedAPIKey
	if err := json.Unmarshal([]byte(`{"id":5,"key":"`+docsKeyValue+`"}`), &k); err != nil {
		t.Fatal(err)
	}
	if k.Key.Reveal() != docsKeyValue || k.ID != "5" {
		t.Fatalf("decoded %q %q", k.ID, k.Key.Reveal())
	}
	if err := json.Unmarshal([]byte(`{"key":5}`), &k); err == nil {
		t.Fatal("a number decoded as a Secret")
	}
}

func TestClientPrintsNoCredential(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithToken(testToken), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c)} {
		if strings.Contains(p, testToken) {
			t.Errorf("client print leaked the token: %s", p)
		}
	}
	l, err := NewClient(WithLogin("user@example.com", "hunter2-password"), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p := fmt.Sprintf("%+v %#v", *l, l); strings.Contains(p, "hunter2-password") {
		t.Errorf("client print leaked the password: %s", p)
	}
}
