package nebula

import (
	"encoding/binary"
	"testing"
)

// Boundaries of the SSH public-key checks that mutation testing showed no
// other test pins.

func TestCheckKeyBlobBoundaries(t *testing.T) {
	t.Parallel()
	key32 := string(make([]byte, 32))
	good := append(sshString([]byte("ssh-ed25519")), sshString([]byte(key32))...)
	cases := map[string]struct {
		raw []byte
		ok  bool
	}{
		"well formed":             {good, true},
		"three stray bytes after": {append(append([]byte{}, good...), 0, 0, 0), false},
		"four stray bytes after":  {append(append([]byte{}, good...), 0, 0, 0, 0), false},
		"length one past the end": {append(sshString([]byte("ssh-ed25519")), append(binary.BigEndian.AppendUint32(nil, 33), key32...)...), false},
		"key of 31 bytes":         {append(sshString([]byte("ssh-ed25519")), sshString([]byte(key32[:31]))...), false},
		"key of 33 bytes":         {append(sshString([]byte("ssh-ed25519")), sshString([]byte(key32+"x"))...), false},
		"empty":                   {nil, false},
		"another type inside":     {append(sshString([]byte("ssh-rsa")), sshString([]byte(key32))...), false},
	}
	for name, c := range cases {
		if err := checkKeyBlob(c.raw, "ssh-ed25519", 1); (err == nil) != c.ok {
			t.Errorf("%s: err %v", name, err)
		}
	}
	ecdsa := append(append(sshString([]byte("ecdsa-sha2-nistp256")), sshString([]byte("nistp256"))...), sshString([]byte("point"))...)
	if err := checkKeyBlob(ecdsa, "ecdsa-sha2-nistp256", 2); err != nil {
		t.Errorf("ecdsa: %v", err)
	}
	wrongCurve := append(append(sshString([]byte("ecdsa-sha2-nistp256")), sshString([]byte("nistp384"))...), sshString([]byte("point"))...)
	if err := checkKeyBlob(wrongCurve, "ecdsa-sha2-nistp256", 2); err == nil {
		t.Error("an ecdsa key naming another curve was accepted")
	}
}

func TestRedactKeyBlobsBoundaries(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"x AAAAbcde y":       "x [REDACTED-KEY] y", // the shortest run taken for key material
		"x AAAAbcd y":        "x AAAAbcd y",
		"x zAZ09+/=AAAA y":   "x [REDACTED-KEY] y", // every base64 character, at its edges, belongs to the run
		"x AAAAaz09AZ+/= y":  "x [REDACTED-KEY] y",
		"x :AAAA@ y":         "x :AAAA@ y",
		"no key here":        "no key here",
		"AAAAAAAA and AAAAB": "[REDACTED-KEY] and AAAAB",
	}
	for in, want := range cases {
		if got := redactKeyBlobs(in); got != want {
			t.Errorf("redactKeyBlobs(%q) = %q, want %q", in, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		want := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
		if isBase64Byte(byte(c)) != want {
			t.Errorf("isBase64Byte(%q) = %v", c, !want)
		}
	}
}
