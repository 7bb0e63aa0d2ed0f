package nebula

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// tricky secrets: every character some escaping form of secretForms
// rewrites (URL, Go and plain JSON, \u escapes, HTML), non-ASCII, invalid
// UTF-8, and secrets at and below minSecretLen.
var trickySecrets = []string{
	"Qv3nTrB8yLw2Kd6ZpXo", "pw", "abc", "a b", "p+q", "x/y=z", "a&b<c>d", `q"u'o`, `b\s`,
	"é1", "p\u2028q", "\xff\xfe", "~._-", "a:b@c", "ak_" + strings.Repeat("k", 20), "eyJhbGciOiJIUzI1NiJ9",
	"100", "12", " ", "\t\x01",
}

// mayHoldSecret is only a shortcut: a value it passes over must be one that
// redactSecrets leaves as it is, else a secret reaches Response.Header.
func checkMayHoldSecret(t *testing.T, v string, secrets []string) {
	t.Helper()
	if mayHoldSecret(v, secrets) {
		return
	}
	if got := redactSecrets(v, knownSecrets(secrets)); got != v {
		t.Fatalf("mayHoldSecret(%q, %q) = false, but redactSecrets makes it %q", v, secrets, got)
	}
}

func TestMayHoldSecretNeverMissesARedaction(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 2))
	pieces := []string{"a", "k", "_", "e", "y", "J", "%", "+", "\\", "&", " ", "/", "=", "-", "0", "é", "\xff", "ak", "ey", "eyJ", "ak_"}
	for i := 0; i < 20000; i++ {
		secrets := []string{trickySecrets[rng.IntN(len(trickySecrets))]}
		if rng.IntN(2) == 0 {
			secrets = append(secrets, trickySecrets[rng.IntN(len(trickySecrets))])
		}
		var b strings.Builder
		for n := rng.IntN(6); n >= 0; n-- {
			switch rng.IntN(3) {
			case 0: // a form of a secret, whole or cut
				forms := secretForms(secrets)
				if len(forms) == 0 {
					continue
				}
				f := forms[rng.IntN(len(forms))]
				if rng.IntN(3) == 0 && len(f) > 1 {
					cut := rng.IntN(len(f))
					f = f[:cut] + f[cut+1:]
				}
				b.WriteString(f)
			case 1: // a run after a key's or a JWT's prefix
				b.WriteString([]string{"ak_", "eyJ"}[rng.IntN(2)])
				b.WriteString(strings.Repeat("x", rng.IntN(20)))
			default:
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		checkMayHoldSecret(t, b.String(), secrets)
	}
}

func FuzzMayHoldSecret(f *testing.F) {
	for _, s := range trickySecrets {
		f.Add("Bearer "+s, s)
	}
	f.Add("t=a%2Fb", "a/b")
	f.Add("peak_hours", "xyz")
	f.Fuzz(func(t *testing.T, v, secret string) {
		checkMayHoldSecret(t, v, []string{secret})
	})
}
