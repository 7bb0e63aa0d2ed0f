package nebula

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fixtures: the SSH key examples of the API's docs, verbatim.
const (
	// The docs' create example; its request example sends "name" and has a
	// trailing comma (invalid JSON), its response is valid.
	docsSSHKeyCreate = `{
    "data": {
        "id": 73,
        "key_name": "My Personal SSH Key",
        "key_data": "ssh-rsa AAADB3NzaC1yc2EBBACCAQABAAABAQD5",
        "create_time": "1730847667"
    },
    "message": "SSH key created successfully",
    "status": "success"
}`
	// The docs' list example: total_ssh_keys says 1 beside two keys.
	docsSSHKeyList = `{
    "data": {
        "total_ssh_keys": 1,
        "ssh_keys": [
            {
                "id": 75,
                "key_name": "My Personal SSH Key 1",
                "key_data": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5",
                "create_time": "EST 2024-10-23 10:24:21"
            },
            {
                "id": 76,
                "key_name": "My Personal SSH Key 2",
                "key_data": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5",
                "create_time": "EST 2024-10-24 10:24:21"
            }
        ]
    },
    "message": "SSH keys retrieved successfully",
    "status": "success"
}`
	docsSSHKeyRename = `{
    "data": {
        "id": 76,
        "key_name": "Test user was here",
        "key_data": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5",
        "create_time": "1730847956"
    },
    "message": "SSH key updated successfully",
    "status": "success"
}`
	docsSSHKeyDelete = `{
    "data": {},
    "message": "SSH key deleted successfully",
    "status": "success"
}`
)

// Public keys made by ssh-keygen (throwaway; public halves only).
const (
	testEd25519Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINPLzfjQK0mLJKRQA0yirth3CTd+G4YnzYCvVYP3aN0h user@example.com"
	testRSAKey     = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCwgO80br9ceAc8fyng+5Ip1GcKGnIRxZy5GQd7aUE4FSXOVVvhASlRamrq33SyCdNTfCGprPYTC61iauhRSGQ4yL0k6HGCcU7Bki1t2cIs5EIXBtgg4A8Zbpucxzfdrj7KyUyAhRBvmWCN5HgcIf3v1zxlLu1rn/xzP8o1c/aLe8xxfDIgxuz58a6XlwUsmRk81gC7YEjPC3prqZsnTbWbWn/2Bfq48lt4Xw+zUzkGm8o5XV3icAScbfWxNKF9MR460u6I/QjuqAQH8yWutVw2i3v/kjAYaP17Bem1zSCYG8iIUzFKAO8jQvJHM5PWwf6DtMeUbiNzvzYJtUb02ksn user@example.com"
	testECDSA256   = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFdIQr0XAguLHt0xdkxYKUXgNwCXbYA7hiCybUty33J1rZcpheqSa96/bSr1K6fai7O/I73L4EzHnegAwjXyJkM= user@example.com"
	testECDSA384   = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBAjv1qWZWcHC6QJ+uee6FjknLY7j1+6+gkU/V6xn+wUUh8yVxpl1DZDdLbloAAx7BC5aCJeddzfxhxD71JKGawXh23v4Uootvenojuyj19q3tE1YHTXNMk1eYdGpeMIVNQ== user@example.com"
	testECDSA521   = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAHbXEaH9y+IziOmUsa1xtO6QZs4k0HD5ptYASP3YOX+DmrDlyRZQU9L0qW9BwtjpEyGPgcJKhP0FS29SDQvnpGzwwBG4zzc/d6rxw/hjg3wQ5KETAkKqN3djlog/BOoa9D7ZgunY8Ay+/3JbRp1tLhI+cNK4ihPWgdcsQlVPKLVOxSsDw== user@example.com"
)

// sshString is an SSH wire string: a uint32 length and the bytes.
func sshString(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// keyLine builds a public-key line whose blob holds label and fields.
func keyLine(lineType, blobType string, fields ...[]byte) string {
	blob := sshString([]byte(blobType))
	for _, f := range fields {
		blob = append(blob, sshString(f)...)
	}
	return lineType + " " + base64.StdEncoding.EncodeToString(blob) + " comment"
}

func filled(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }

// blobOf is the base64 part of a key line.
func blobOf(line string) string { return strings.Fields(line)[1] }

func TestSSHKeysCreateSendsDocumentedRequest(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("POST", "/ssh-keys", ok(docsSSHKeyCreate))
	key, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "My Personal SSH Key", PublicKey: testEd25519Key + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(reqs[0].Body), &body); err != nil || len(body) != 2 ||
		body["key_name"] != "My Personal SSH Key" || body["key_data"] != testEd25519Key {
		t.Errorf("body %s (%v)", reqs[0].Body, err)
	}
	if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	want := SSHKey{ID: "73", Name: "My Personal SSH Key", PublicKey: "ssh-rsa AAADB3NzaC1yc2EBBACCAQABAAABAQD5", CreatedAt: time.Unix(1730847667, 0).UTC()}
	if *key != want {
		t.Errorf("key %+v, want %+v", *key, want)
	}
}

func TestSSHKeysCreateAcceptsEveryKeyType(t *testing.T) {
	t.Parallel()
	skEd := keyLine("sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519@openssh.com", filled(32, 7), []byte("ssh:"))
	skEC := keyLine("sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", []byte("nistp256"), filled(65, 4), []byte("ssh:"))
	cases := map[string]struct{ in, sent string }{
		"ed25519":             {testEd25519Key, testEd25519Key},
		"rsa":                 {testRSAKey, testRSAKey},
		"ecdsa 256":           {testECDSA256, testECDSA256},
		"ecdsa 384":           {testECDSA384, testECDSA384},
		"ecdsa 521":           {testECDSA521, testECDSA521},
		"sk ed25519":          {skEd, skEd},
		"sk ecdsa":            {skEC, skEC},
		"trailing LF":         {testEd25519Key + "\n", testEd25519Key},
		"trailing CRLF":       {testEd25519Key + "\r\n", testEd25519Key},
		"no comment":          {"ssh-ed25519 " + blobOf(testEd25519Key), "ssh-ed25519 " + blobOf(testEd25519Key)},
		"comment with spaces": {"ssh-ed25519 " + blobOf(testEd25519Key) + " my laptop key", "ssh-ed25519 " + blobOf(testEd25519Key) + " my laptop key"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.reply("POST", "/ssh-keys", ok(docsSSHKeyCreate))
			if _, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "k", PublicKey: c.in}); err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(rec.all()[0].Body), &body); err != nil || body["key_data"] != c.sent {
				t.Errorf("key_data %q (%v), want %q", body["key_data"], err, c.sent)
			}
		})
	}
}

func TestSSHKeysCreateRefusesBadPublicKeys(t *testing.T) {
	t.Parallel()
	edBlob := blobOf(testEd25519Key)
	rawRSA, _ := base64.StdEncoding.DecodeString(blobOf(testRSAKey))
	cut := base64.StdEncoding.EncodeToString(rawRSA[:len(rawRSA)-30]) // decodes, but n is cut short
	cases := map[string]string{
		"empty":                  "",
		"blank":                  " \t ",
		"only a newline":         "\n",
		"two lines":              testEd25519Key + "\n" + testRSAKey,
		"two trailing newlines":  testEd25519Key + "\n\n",
		"leading space":          " " + testEd25519Key,
		"tab after type":         "ssh-ed25519\t" + edBlob,
		"two spaces after type":  "ssh-ed25519  " + edBlob,
		"no blob":                "ssh-ed25519",
		"unknown type":           "ssh-dss " + edBlob,
		"certificate":            "ssh-ed25519-cert-v01@openssh.com " + edBlob,
		"type mismatch":          "ssh-rsa " + edBlob + " c",
		"ecdsa curve mismatch":   "ecdsa-sha2-nistp384 " + blobOf(testECDSA256),
		"not base64":             "ssh-ed25519 AAAA!!!!notbase64 c",
		"missing padding":        strings.TrimRight(testECDSA384[:strings.LastIndex(testECDSA384, " ")], "="),
		"blob cut short":         "ssh-rsa " + cut,
		"docs' example key":      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5",
		"docs' create key":       "ssh-rsa AAADB3NzaC1yc2EBBACCAQABAAABAQD5",
		"ed25519 key too short":  keyLine("ssh-ed25519", "ssh-ed25519", filled(31, 1)),
		"extra field":            keyLine("ssh-ed25519", "ssh-ed25519", filled(32, 1), filled(3, 1)),
		"trailing garbage bytes": "ssh-ed25519 " + base64.StdEncoding.EncodeToString(append(sshString([]byte("ssh-ed25519")), append(sshString(filled(32, 1)), 0, 1)...)),
		"RFC 4716":               "---- BEGIN SSH2 PUBLIC KEY ----\n" + edBlob + "\n---- END SSH2 PUBLIC KEY ----",
		"NUL in comment":         testEd25519Key + "\x00",
		"sk ecdsa wrong curve":   keyLine("sk-ecdsa-sha2-nistp256@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", []byte("nistp384"), filled(65, 4), []byte("ssh:")),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.anyRequest(ok(docsSSHKeyCreate))
			key, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "k", PublicKey: in})
			if key != nil || !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("key %v, err %v", key, err)
			}
			if rec.count() != 0 {
				t.Fatalf("%d requests sent", rec.count())
			}
			if strings.Contains(err.Error(), edBlob[:20]) || strings.Contains(err.Error(), blobOf(testRSAKey)[20:40]) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

// fakeBase64Block is a realistic armoured body: base64 of deterministic
// bytes, wrapped at 70 columns like ssh-keygen does.
func fakeBase64Block(prefix string, n int, seed byte) string {
	raw := []byte(prefix)
	x := uint32(seed) + 1
	for len(raw) < n {
		x = x*1664525 + 1013904223
		raw = append(raw, byte(x>>24))
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(enc) > 70 {
		b.WriteString(enc[:70])
		b.WriteByte('\n')
		enc = enc[70:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.String()
}

func fakePrivateKeys() map[string]string {
	openssh := "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		fakeBase64Block("openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none", 400, 1) +
		"-----END OPENSSH PRIVATE KEY-----\n"
	return map[string]string{
		"openssh": openssh,
		"pem rsa": "-----BEGIN RSA PRIVATE KEY-----\n" + fakeBase64Block("0\x82\x04\xa4\x02\x01\x00", 1190, 2) + "-----END RSA PRIVATE KEY-----\n",
		"pkcs8":   "-----BEGIN PRIVATE KEY-----\n" + fakeBase64Block("0\x81\x87\x02\x01\x00", 138, 3) + "-----END PRIVATE KEY-----",
		"encrypted pem": "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F2A9C1B7D4E5F60718293A4B5C6D7E8\n\n" +
			fakeBase64Block("\x91\x12\x5a", 120, 4) + "-----END EC PRIVATE KEY-----\n",
		"putty": "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20240101\nPublic-Lines: 2\n" +
			fakeBase64Block("\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 ", 51, 5) +
			"Private-Lines: 1\n" + fakeBase64Block("\x00\x00\x00 ", 36, 6) + "Private-MAC: 8f3c2a1b9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a\n",
		"body without header":          fakeBase64Block("openssh-key-v1\x00", 300, 7) + "-----END OPENSSH PRIVATE KEY-----\n",
		"public line then private key": testEd25519Key + "\n" + openssh,
		"one line with the header":     "-----BEGIN OPENSSH PRIVATE KEY----- " + strings.ReplaceAll(fakeBase64Block("openssh-key-v1", 200, 8), "\n", ""),
	}
}

// leaks reports an 8-character run of pasted that shows in out.
func leaks(pasted, out string) (string, bool) {
	for i := 0; i+8 <= len(pasted); i++ {
		if run := pasted[i : i+8]; strings.Contains(out, run) {
			return run, true
		}
	}
	return "", false
}

func TestSSHKeysCreateRefusesPrivateKeysWithoutQuotingThem(t *testing.T) {
	t.Parallel()
	for name, pasted := range fakePrivateKeys() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			e := newTestEnv(t, WithLogger(logger))
			rec := e.anyRequest(ok(docsSSHKeyCreate))
			key, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "laptop", PublicKey: pasted})
			if key != nil || !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("key %v, err %v", key, err)
			}
			if rec.count() != 0 {
				t.Fatalf("%d requests sent", rec.count())
			}
			if !strings.Contains(err.Error(), "private key") {
				t.Errorf("error does not say why: %v", err)
			}
			logger.Error("create failed", "err", err)
			for form, out := range map[string]string{
				"Error": err.Error(),
				"%+v":   fmt.Sprintf("%+v", err),
				"%#v":   fmt.Sprintf("%#v", err),
				"%q":    fmt.Sprintf("%q", err),
				"slog":  logs.String(),
			} {
				if run, bad := leaks(pasted, out); bad {
					t.Errorf("%s shows %q of the pasted key: %s", form, run, out)
				}
			}
		})
	}
}

func TestSSHKeysCreateRetrySafety(t *testing.T) {
	t.Parallel()
	t.Run("502 is sent once, outcome unknown", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		rec := e.reply("POST", "/ssh-keys", status(502, "<html><title>Bad Gateway</title></html>"), ok(docsSSHKeyCreate))
		key, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "k", PublicKey: testEd25519Key})
		if key != nil || !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrServerError) || rec.count() != 1 {
			t.Fatalf("key %v, err %v, %d requests", key, err, rec.count())
		}
	})
	t.Run("hang-up is sent once, outcome unknown", func(t *testing.T) {
		t.Parallel()
		lb := newLoopback(t, hangUp)
		key, err := lb.client(t).SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "k", PublicKey: testEd25519Key})
		if key != nil || !errors.Is(err, ErrOutcomeUnknown) || lb.count() != 1 {
			t.Fatalf("key %v, err %v, %d requests", key, err, lb.count())
		}
		if !strings.Contains(err.Error(), "POST /ssh-keys") {
			t.Errorf("error does not name the call: %v", err)
		}
	})
	t.Run("429 is retried", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		rec := e.reply("POST", "/ssh-keys", status(429, failedEnvelope("slow down")), ok(docsSSHKeyCreate))
		key, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "k", PublicKey: testEd25519Key})
		if err != nil || key.ID != "73" || rec.count() != 2 {
			t.Fatalf("key %v, err %v, %d requests", key, err, rec.count())
		}
	})
}

func TestSSHKeysErrorsNeverShowKeyMaterial(t *testing.T) {
	t.Parallel()
	blob := blobOf(testECDSA256)
	echo := func(code int) answer {
		return status(code, `{"data":null,"message":"key `+testECDSA256+` already exists","status":"failed"}`)
	}
	e := newTestEnv(t)
	e.reply("POST", "/ssh-keys", echo(409))
	e.reply("GET", "/ssh-keys", echo(400))
	e.reply("PUT", "/ssh-keys/5", echo(422))
	e.reply("DELETE", "/ssh-keys/5", echo(403))
	calls := map[string]func() error{
		"create": func() error {
			_, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "k", PublicKey: testECDSA256})
			return err
		},
		"list":   func() error { _, err := e.client.SSHKeys.List(bg, ListOptions{}); return err },
		"rename": func() error { _, err := e.client.SSHKeys.Rename(bg, "5", "n"); return err },
		"delete": func() error { return e.client.SSHKeys.Delete(bg, "5") },
	}
	for name, call := range calls {
		err := call()
		var apiErr *APIError
		if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "already exists") {
			t.Errorf("%s: err %v", name, err)
			continue
		}
		for _, out := range []string{err.Error(), fmt.Sprintf("%+v", err), apiErr.Message} {
			if run, bad := leaks(blob, out); bad {
				t.Errorf("%s: error shows %q of the key: %s", name, run, out)
			}
		}
	}
}

func TestRedactKeyBlobs(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                         "",
		"no key here":              "no key here",
		"AAAA short":               "AAAA short",
		"key " + testEd25519Key:    "key ssh-ed25519 [REDACTED-KEY] user@example.com",
		"x" + blobOf(testRSAKey):   "[REDACTED-KEY]",
		blobOf(testECDSA256) + ".": "[REDACTED-KEY].",
		"a AAAA b " + blobOf(testECDSA521) + " c " + blobOf(testEd25519Key): "a AAAA b [REDACTED-KEY] c [REDACTED-KEY]",
	}
	for in, want := range cases {
		if got := redactKeyBlobs(in); got != want {
			t.Errorf("redactKeyBlobs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSSHKeysCreateBadAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no id":          `{"data":{"key_name":"k","key_data":"x","create_time":"1730847667"},"status":"success"}`,
		"null data":      `{"data":null,"status":"success"}`,
		"bad time":       `{"data":{"id":1,"key_name":"k","create_time":"yesterday"},"status":"success"}`,
		"id is a float":  `{"data":{"id":1.5,"key_name":"k"},"status":"success"}`,
		"unknown status": `{"data":{"id":1},"status":"ok"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.reply("POST", "/ssh-keys", ok(body))
			key, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "k", PublicKey: testEd25519Key})
			if key != nil || !errors.Is(err, ErrUnexpectedResponse) || rec.count() != 1 {
				t.Fatalf("key %v, err %v, %d requests", key, err, rec.count())
			}
		})
	}
}

func TestSSHKeysListDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/ssh-keys", ok(docsSSHKeyList))
	page, err := e.client.SSHKeys.List(bg, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	est := time.FixedZone("EST", -5*3600)
	want := []SSHKey{
		{ID: "75", Name: "My Personal SSH Key 1", PublicKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5", CreatedAt: time.Date(2024, 10, 23, 10, 24, 21, 0, est).UTC()},
		{ID: "76", Name: "My Personal SSH Key 2", PublicKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5", CreatedAt: time.Date(2024, 10, 24, 10, 24, 21, 0, est).UTC()},
	}
	if len(page.Items) != 2 || page.Items[0] != want[0] || page.Items[1] != want[1] {
		t.Errorf("items %+v", page.Items)
	}
	// The docs' total (1) is below the keys shown (2): no next page.
	if page.Total != 1 || page.Next != nil {
		t.Errorf("total %d, next %+v", page.Total, page.Next)
	}
	if r := rec.all()[0]; r.URL != testBase+"/ssh-keys" || r.Body != "" {
		t.Errorf("sent %s with body %q", r.URL, r.Body)
	}
}

// sshKeysPage is a list answer with n keys from id first on, and total.
func sshKeysPage(first, n int, total string) string {
	return sshKeysPageAt(first, n, total, "1730847667")
}

// sshKeysPageAt is sshKeysPage with createTime, as JSON string contents, on
// every key.
func sshKeysPageAt(first, n int, total, createTime string) string {
	var b strings.Builder
	b.WriteString(`{"data":{"total_ssh_keys":` + total + `,"ssh_keys":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"key_name":"key-%d","key_data":%q,"create_time":%q}`, first+i, first+i, testEd25519Key, createTime)
	}
	b.WriteString(`]},"message":"ok","status":"success"}`)
	return b.String()
}

func TestSSHKeysListPaging(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		opts      ListOptions
		answer    string
		query     string
		total     int
		next      *ListOptions
		itemCount int
	}{
		{"middle page", ListOptions{Limit: 100, Offset: 100}, sshKeysPage(100, 100, "250"), "limit=100&offset=100", 250, &ListOptions{Limit: 100, Offset: 200}, 100},
		{"last page", ListOptions{Limit: 100, Offset: 200}, sshKeysPage(200, 50, "250"), "limit=100&offset=200", 250, nil, 50},
		{"total as a string", ListOptions{Limit: 2}, sshKeysPage(0, 2, `"5"`), "limit=2", 5, &ListOptions{Limit: 2, Offset: 2}, 2},
		{"only an offset", ListOptions{Offset: 3}, sshKeysPage(3, 2, "5"), "offset=3", 5, nil, 2},
		{"no total, full page", ListOptions{Limit: 2}, `{"data":{"ssh_keys":[{"id":1},{"id":2}]},"status":"success"}`, "limit=2", 2, &ListOptions{Limit: 2, Offset: 2}, 2},
		{"empty", ListOptions{}, `{"data":{"total_ssh_keys":0,"ssh_keys":[]},"status":"success"}`, "", 0, nil, 0},
		{"null keys", ListOptions{}, `{"data":{"total_ssh_keys":0,"ssh_keys":null},"status":"success"}`, "", 0, nil, 0},
		{"null data", ListOptions{}, `{"data":null,"status":"success"}`, "", 0, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.anyRequest(ok(c.answer))
			page, err := e.client.SSHKeys.List(bg, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			u := mustParse(t, rec.all()[0].URL)
			if u.Path != "/api/v1/ssh-keys" || u.RawQuery != c.query {
				t.Errorf("sent %s", u)
			}
			if page.Items == nil || len(page.Items) != c.itemCount || page.Total != c.total {
				t.Errorf("%d items (nil %v), total %d", len(page.Items), page.Items == nil, page.Total)
			}
			if (page.Next == nil) != (c.next == nil) || (c.next != nil && *page.Next != *c.next) {
				t.Errorf("next %+v, want %+v", page.Next, c.next)
			}
		})
	}
}

func TestSSHKeysListBadAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no ssh_keys":     `{"data":{"total_ssh_keys":1},"status":"success"}`,
		"no data":         `{"status":"success"}`,
		"key without id":  `{"data":{"total_ssh_keys":1,"ssh_keys":[{"key_name":"k"}]},"status":"success"}`,
		"time unknown":    `{"data":{"total_ssh_keys":1,"ssh_keys":[{"id":1,"create_time":"last Tuesday"}]},"status":"success"}`,
		"total an object": `{"data":{"total_ssh_keys":{},"ssh_keys":[]},"status":"success"}`,
		"total a word":    `{"data":{"total_ssh_keys":"many","ssh_keys":[]},"status":"success"}`,
		"data a list":     `{"data":[{"id":1}],"status":"success"}`,
		"not JSON":        `<html>ok</html>`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/ssh-keys", ok(body))
			page, err := e.client.SSHKeys.List(bg, ListOptions{})
			if page != nil || !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("page %v, err %v", page, err)
			}
		})
	}
}

func TestSSHKeysListRetried(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, sequence(hangUp, reply(503, failedEnvelope("busy")), reply(200, docsSSHKeyList)))
	page, err := lb.client(t).SSHKeys.List(bg, ListOptions{Limit: 10})
	if err != nil || len(page.Items) != 2 || lb.count() != 3 {
		t.Fatalf("page %v, err %v, %d requests", page, err, lb.count())
	}
}

// pagedSSHKeys answers GET /ssh-keys from n keys, honouring limit and
// offset, and counts the pages asked for.
func pagedSSHKeys(e *testEnv, n int) *recorder {
	rec := &recorder{}
	e.mock.RegisterResponder("GET", testBase+"/ssh-keys", func(req *http.Request) (*http.Response, error) {
		rec.add(req)
		q := req.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		count := max(0, min(limit, n-offset))
		return ok(sshKeysPage(offset, count, strconv.Itoa(n))).response(req)
	})
	return rec
}

func TestSSHKeysAllWalksEveryPage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := pagedSSHKeys(e, 250)
	var ids []string
	for key, err := range e.client.SSHKeys.All(bg) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(key.ID))
	}
	if len(ids) != 250 || ids[0] != "0" || ids[249] != "249" {
		t.Fatalf("%d keys: first %v", len(ids), ids[:min(3, len(ids))])
	}
	var queries []string
	for _, r := range rec.all() {
		queries = append(queries, mustParse(t, r.URL).RawQuery)
	}
	want := []string{"limit=100", "limit=100&offset=100", "limit=100&offset=200"}
	if strings.Join(queries, " ") != strings.Join(want, " ") {
		t.Errorf("queries %v, want %v", queries, want)
	}
}

func TestSSHKeysAllStopsWhenTheLoopEnds(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := pagedSSHKeys(e, 250)
	n := 0
	for _, err := range e.client.SSHKeys.All(bg) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 150 {
			break
		}
	}
	if rec.count() != 2 {
		t.Fatalf("%d pages fetched for 150 keys", rec.count())
	}
}

func TestSSHKeysAllYieldsAnErrorOnce(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithMaxRetries(0))
	rec := e.reply("GET", "/ssh-keys", ok(sshKeysPage(0, 100, "300")), status(401, failedEnvelope("expired")))
	var keys, errs int
	for _, err := range e.client.SSHKeys.All(bg) {
		if err != nil {
			errs++
			if !errors.Is(err, ErrUnauthorized) {
				t.Errorf("err %v", err)
			}
			continue
		}
		keys++
	}
	if keys != 100 || errs != 1 || rec.count() != 2 {
		t.Fatalf("%d keys, %d errors, %d requests", keys, errs, rec.count())
	}
}

func TestSSHKeysRename(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("PUT", "/ssh-keys/76", status(502, "bad gateway"), ok(docsSSHKeyRename))
	key, err := e.client.SSHKeys.Rename(bg, "76", "Test user was here")
	if err != nil {
		t.Fatal(err)
	}
	want := SSHKey{ID: "76", Name: "Test user was here", PublicKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5", CreatedAt: time.Unix(1730847956, 0).UTC()}
	if *key != want {
		t.Errorf("key %+v", *key)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests: a rename is retried", len(reqs))
	}
	for _, r := range reqs {
		if r.Body != `{"key_name":"Test user was here"}` || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body %s, content type %q", r.Body, r.Header.Get("Content-Type"))
		}
	}
}

func TestSSHKeysRenameErrors(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		a    answer
		want error
	}{
		"404":         {status(404, failedEnvelope("SSH key not found")), ErrNotFound},
		"empty data":  {ok(`{"data":{},"status":"success"}`), ErrUnexpectedResponse},
		"no data":     {ok(`{"message":"updated","status":"success"}`), ErrUnexpectedResponse},
		"failed 200":  {ok(failedEnvelope("name taken")), nil}, // an *APIError of no class
		"conflict":    {status(409, failedEnvelope("name taken")), ErrConflict},
		"server 500s": {status(500, "oops"), ErrServerError},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("PUT", "/ssh-keys/5", c.a)
			key, err := e.client.SSHKeys.Rename(bg, "5", "n")
			var apiErr *APIError
			if key != nil || !errors.As(err, &apiErr) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("key %v, err %v, want %v", key, err, c.want)
			}
		})
	}
}

func TestSSHKeysDelete(t *testing.T) {
	t.Parallel()
	t.Run("docs example", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		rec := e.reply("DELETE", "/ssh-keys/5", ok(docsSSHKeyDelete))
		if err := e.client.SSHKeys.Delete(bg, "5"); err != nil || rec.count() != 1 {
			t.Fatalf("err %v, %d requests", err, rec.count())
		}
	})
	t.Run("empty body", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		e.reply("DELETE", "/ssh-keys/5", status(204, ""))
		if err := e.client.SSHKeys.Delete(bg, "5"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("404 after a lost answer is success", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		rec := e.reply("DELETE", "/ssh-keys/5", status(502, "bad gateway"), status(404, failedEnvelope("not found")))
		if err := e.client.SSHKeys.Delete(bg, "5"); err != nil || rec.count() != 2 {
			t.Fatalf("err %v, %d requests", err, rec.count())
		}
	})
	t.Run("plain 404", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		e.reply("DELETE", "/ssh-keys/5", status(404, failedEnvelope("not found")))
		if err := e.client.SSHKeys.Delete(bg, "5"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("UUID escaped", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		rec := e.anyRequest(ok(docsSSHKeyDelete))
		if err := e.client.SSHKeys.Delete(bg, "a/b"); err != nil {
			t.Fatal(err)
		}
		if p := rec.all()[0].RawPath; p != "/api/v1/ssh-keys/a%2Fb" {
			t.Errorf("path %s", p)
		}
	})
}

func TestSSHKeysBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	var nilCtx context.Context
	e := newTestEnv(t)
	rec := e.anyRequest(ok(docsSSHKeyCreate))
	good := CreateSSHKeyRequest{Name: "k", PublicKey: testEd25519Key}
	calls := map[string]func() error{
		"create empty name": func() error {
			_, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{PublicKey: testEd25519Key})
			return err
		},
		"create blank name": func() error {
			_, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: " \n", PublicKey: testEd25519Key})
			return err
		},
		"create nil ctx":  func() error { _, err := e.client.SSHKeys.Create(nilCtx, good); return err },
		"list nil ctx":    func() error { _, err := e.client.SSHKeys.List(nilCtx, ListOptions{}); return err },
		"list neg limit":  func() error { _, err := e.client.SSHKeys.List(bg, ListOptions{Limit: -1}); return err },
		"list neg offset": func() error { _, err := e.client.SSHKeys.List(bg, ListOptions{Offset: -5}); return err },
		"rename blank":    func() error { _, err := e.client.SSHKeys.Rename(bg, "5", "  "); return err },
		"rename with NUL": func() error { _, err := e.client.SSHKeys.Rename(bg, "5", "a\x00b"); return err },
		"create with line break": func() error {
			_, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "laptop\nEvil: 1", PublicKey: testEd25519Key})
			return err
		},
		"rename empty id":  func() error { _, err := e.client.SSHKeys.Rename(bg, "", "n"); return err },
		"rename dotdot id": func() error { _, err := e.client.SSHKeys.Rename(bg, "..", "n"); return err },
		"rename nil ctx":   func() error { _, err := e.client.SSHKeys.Rename(nilCtx, "5", "n"); return err },
		"delete empty id":  func() error { return e.client.SSHKeys.Delete(bg, "") },
		"delete dot id":    func() error { return e.client.SSHKeys.Delete(bg, ".") },
		"delete key id":    func() error { return e.client.SSHKeys.Delete(bg, testToken) },
		"delete nil ctx":   func() error { return e.client.SSHKeys.Delete(nilCtx, "5") },
		"all nil ctx": func() error {
			for _, err := range e.client.SSHKeys.All(nilCtx) {
				return err
			}
			return nil
		},
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

// A public key in PEM or SSH2 armour (openssl rsa -pubout, ssh-keygen -e)
// is refused as the form the API does not take, not as a private key.
func TestSSHKeysCreateRefusesArmouredPublicKeys(t *testing.T) {
	t.Parallel()
	for name, pasted := range map[string]string{
		"pem":     "-----BEGIN PUBLIC KEY-----\n" + fakeBase64Block("0\x82\x01\"0\r\x06\t", 294, 9) + "-----END PUBLIC KEY-----\n",
		"pem rsa": "-----BEGIN RSA PUBLIC KEY-----\n" + fakeBase64Block("0\x82\x01\n\x02\x82", 270, 10) + "-----END RSA PUBLIC KEY-----\n",
		"ssh2":    "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"256-bit ED25519, converted by me\"\n" + fakeBase64Block("\x00\x00\x00\x0bssh-ed25519", 51, 11) + "---- END SSH2 PUBLIC KEY ----\n",
	} {
		e := newTestEnv(t)
		rec := e.anyRequest(ok(docsSSHKeyCreate))
		_, err := e.client.SSHKeys.Create(bg, CreateSSHKeyRequest{Name: "laptop", PublicKey: pasted})
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "armour") || strings.Contains(err.Error(), "private") {
			t.Errorf("%s: %v", name, err)
		}
		if rec.count() != 0 {
			t.Fatalf("%s: %d requests sent", name, rec.count())
		}
	}
}
