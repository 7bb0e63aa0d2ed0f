package checkproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

type step struct{ method, path, contentType, body string }

type answer struct {
	status int
	body   string
}

func play(t *testing.T, base, token string, steps []step) []answer {
	t.Helper()
	c := &http.Client{Transport: transport(t)}
	out := make([]answer, len(steps))
	for i, s := range steps {
		out[i].status, out[i].body = send(t, c, s.method, base+BasePath+s.path, token, s.contentType, s.body)
	}
	return out
}

// Record, then replay: the same requests get the same answers, in the same
// order (a list before and after a create differs), secrets replaced by
// their placeholders and nothing else changed.
func TestRecordThenReplayGivesTheSameAnswers(t *testing.T) {
	t.Parallel()
	const user, password = "ada.lovelace@example.org", "Hunter-2-Secret!"
	up := nebulatest.NewServer(nebulatest.WithBootTime(0), nebulatest.WithUser(user, password))
	t.Cleanup(up.Close)
	rec, dir := recorder(t)
	_, proxyURL, _ := front(t, up.URL, rec)
	form := url.Values{"username": {user}, "password": {password}}.Encode()
	steps := []step{
		{"GET", "/ssh-keys", "", ""},
		{"POST", "/ssh-keys", "application/json", `{"key_name":"laptop","key_data":"` + pubKey + `"}`},
		{"GET", "/ssh-keys", "", ""},
		{"GET", "/ssh-keys?limit=1&offset=0", "", ""},
		{"POST", "/api-keys", "application/json", `{"name":"ci","description":"for the pipeline"}`},
		{"GET", "/api_keys", "", ""},
		{"POST", "/login", "application/x-www-form-urlencoded", form},
		{"GET", "/users/credits", "", ""},
		{"GET", "/computing/products", "", ""},
		{"GET", "/users/invoice-download/3688", "", ""},
		{"DELETE", "/ssh-keys/1", "", ""},
		{"GET", "/ssh-keys", "", ""},
		{"GET", "/no-such-route", "", ""},
	}
	live := play(t, proxyURL, up.Token(), steps)

	var created struct {
		Data struct{ Key string } `json:"data"`
	}
	var login struct {
		Data struct{ JWTToken string } `json:"data"`
	}
	if json.Unmarshal([]byte(live[4].body), &created) != nil || created.Data.Key == "" {
		t.Fatalf("create key: %q", live[4].body)
	}
	if json.Unmarshal([]byte(live[6].body), &login) != nil || login.Data.JWTToken == "" {
		t.Fatalf("login: %q", live[6].body)
	}
	if live[0].body == live[2].body {
		t.Fatal("the list before and after a create should differ")
	}
	hide := strings.NewReplacer(created.Data.Key, keyPlaceholder, login.Data.JWTToken, jwtPlaceholder, "ada.lovelace@", "redacted@")

	rp, err := NewReplayer(dir)
	if err != nil {
		t.Fatal(err)
	}
	replay := httptest.NewServer(rp.Handler())
	t.Cleanup(replay.Close)
	// Another token: the cassettes hold none, and replay asks for none.
	got := play(t, replay.URL, "zq9-Mx7vP2wLr4Kt", steps)
	for i := range steps {
		want := answer{live[i].status, hide.Replace(live[i].body)}
		if got[i] != want {
			t.Errorf("%s %s: replay %d %q, want %d %q", steps[i].method, steps[i].path, got[i].status, got[i].body, want.status, want.body)
		}
	}
	// Used up: the last recording of a request answers it again.
	if again := play(t, replay.URL, "", steps[:1]); again[0].body != live[11].body {
		t.Errorf("GET /ssh-keys after the recordings ran out: %q, want the last one %q", again[0].body, live[11].body)
	}
}

// Replay matches method, path, query and body, with query parameter order
// and JSON key order ignored; anything else gets a failed envelope that
// names the cassettes.
func TestReplayMatching(t *testing.T) {
	t.Parallel()
	up := nebulatest.NewServer()
	t.Cleanup(up.Close)
	rec, dir := recorder(t)
	_, proxyURL, _ := front(t, up.URL, rec)
	live := play(t, proxyURL, up.Token(), []step{
		{"GET", "/ssh-keys?limit=2&offset=0", "", ""},
		{"POST", "/ssh-keys", "application/json", `{"key_name":"laptop","key_data":"` + pubKey + `"}`},
	})
	rp, err := NewReplayer(dir)
	if err != nil {
		t.Fatal(err)
	}
	replay := httptest.NewServer(rp.Handler())
	t.Cleanup(replay.Close)
	c := &http.Client{Transport: transport(t)}
	tests := []struct {
		name, method, path, body string
		want                     string // "" means unmatched
	}{
		{"query reordered", "GET", "/ssh-keys?offset=0&limit=2", "", live[0].body},
		{"JSON keys reordered and spaced", "POST", "/ssh-keys", "{ \"key_data\": \"" + pubKey + "\",\n \"key_name\": \"laptop\" }", live[1].body},
		{"another query", "GET", "/ssh-keys?limit=3&offset=0", "", ""},
		{"no query", "GET", "/ssh-keys", "", ""},
		{"another body", "POST", "/ssh-keys", `{"key_name":"desk","key_data":"` + pubKey + `"}`, ""},
		{"another method", "DELETE", "/ssh-keys", "", ""},
		{"another path", "GET", "/ssh-keys/1", "", ""},
	}
	for _, tt := range tests {
		code, body := send(t, c, tt.method, replay.URL+BasePath+tt.path, "", "application/json", tt.body)
		if tt.want != "" {
			if body != tt.want {
				t.Errorf("%s: %d %q, want %q", tt.name, code, body, tt.want)
			}
			continue
		}
		var env struct{ Status, Message string }
		if json.Unmarshal([]byte(body), &env) != nil || code != http.StatusNotFound || env.Status != "failed" ||
			!strings.Contains(env.Message, "cassette") || !strings.Contains(env.Message, dir) {
			t.Errorf("%s: %d %q, want a 404 failed envelope naming the cassettes", tt.name, code, body)
		}
	}
}

// No secret of a run is left in any cassette: the token (one no pattern
// recognises), a created key's value, a login password and the JWT it
// gets, an instance's password, private keys pasted by mistake, and the
// local part of an email, wherever they went (path, query, bodies).
func TestCassettesHoldNoSecret(t *testing.T) {
	t.Parallel()
	const (
		token    = "zq9-Mx7vP2wLr4Kt"
		user     = "grace.hopper@navy.example.org"
		password = "Cobol&Compilers<1959>"
		pem      = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDjKqp5Fc65tEnRulDqKCi7Gm4B+QvaJFotHYdpfRiiZQAAAJj7pB1x+6Qd\n-----END OPENSSH PRIVATE KEY-----\n"
		putty    = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: k\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6\nPrivate-Lines: 1\nAAAAIFq7wXhRnPGdeePuTTYsecretmaterial\nPrivate-MAC: 5f0c3e1d2b\n"
	)
	up := nebulatest.NewServer(nebulatest.WithBootTime(0), nebulatest.WithSeedToken(token), nebulatest.WithUser(user, password))
	t.Cleanup(up.Close)
	rec, dir := recorder(t)
	_, proxyURL, _ := front(t, up.URL, rec)
	base := proxyURL + BasePath
	c := sdk(t, base, token)
	session(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key, err := c.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	keyValue := key.Key.Reveal()
	if _, err := sdk(t, base, keyValue).SSHKeys.List(ctx, nebula.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	sess, err := c.Auth.Login(ctx, user, password)
	if err != nil {
		t.Fatal(err)
	}
	jwt := sess.Token.Reveal()
	if _, err := sdk(t, base, jwt).Billing.Balance(ctx); err != nil {
		t.Fatal(err)
	}
	// An instance's detail holds its password.
	ssh, err := c.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "k", PublicKey: pubKey})
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Instances.ListDeleted(ctx, nebula.ListOptions{})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("ListDeleted: %v %v", page, err)
	}
	_ = ssh
	var vmPassword string
	products, _ := c.Compute.Products(ctx)
	images, _ := c.Compute.Images(ctx)
	for _, p := range products {
		for _, im := range images {
			if vmPassword == "" && p.Available && im.Region == p.Region && im.DataCenterID == p.DataCenterID {
				in, err := c.Instances.Create(ctx, nebula.CreateInstanceRequest{Name: "vm-secret", ProductID: p.ID, ImageID: im.ID, SSHKeyID: ssh.ID})
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.Instances.Get(ctx, in.ID)
				if err != nil {
					t.Fatal(err)
				}
				vmPassword = got.Password.Reveal()
			}
		}
	}
	if len(vmPassword) < 8 {
		t.Fatalf("instance password %q: the fake should give one", vmPassword)
	}

	// Raw requests: what the SDK would refuse to send, or sends elsewhere.
	hc := &http.Client{Transport: transport(t)}
	send(t, hc, "POST", base+"/ssh-keys", token, "application/json", `{"key_name":"oops","key_data":`+jsonString(pem)+`}`)
	send(t, hc, "POST", base+"/ssh-keys", token, "application/json", `{"key_name":`+jsonString(putty)+`,"key_data":"x"}`)
	send(t, hc, "POST", base+"/login", "", "application/json", `{"username":`+jsonString(user)+`,"password":`+jsonString(password)+`}`)
	send(t, hc, "GET", base+"/ssh-keys?api_key="+url.QueryEscape(token)+"&who="+url.QueryEscape(user), token, "", "")
	send(t, hc, "GET", base+"/api-keys/"+url.PathEscape(keyValue), jwt, "", "")
	send(t, hc, "DELETE", base+"/ssh-keys/"+url.PathEscape(password), token, "", "")

	files := readDir(t, dir)
	if len(files) < 40 {
		t.Fatalf("%d cassettes, want one per exchange of the run", len(files))
	}
	secrets := map[string]string{
		"the token": token, "the created key": keyValue, "the password": password, "the JWT": jwt,
		"the instance password": vmPassword, "the email's local part": "grace.hopper",
		"the private key": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "the PuTTY key": "PuTTYsecretmaterial",
	}
	for name, content := range files {
		for what, secret := range secrets {
			for _, form := range secretForms(secret) {
				if strings.Contains(content, form) {
					t.Errorf("%s holds %s (as %q)", name, what, form)
				}
			}
		}
	}
	// The placeholders are there instead: the redaction did its work on
	// these exchanges rather than the exchanges not being recorded.
	all := ""
	for _, content := range files {
		all += content
	}
	for _, p := range []string{keyPlaceholder, jwtPlaceholder, jsonString(passwordPlaceholder), privateKeyPlaceholder, tokenPlaceholder, "redacted@navy.example.org"} {
		if !strings.Contains(all, strings.Trim(p, `"`)) {
			t.Errorf("no cassette holds the placeholder %q", p)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A login sent as a multipart form, or as a form with a raw '%' in a typed
// password, is recorded without the password: both were recorded as sent.
func TestCassettesHideLoginPasswordsOfEveryForm(t *testing.T) {
	t.Parallel()
	up := nebulatest.NewServer(nebulatest.WithUser("grace@example.org", "right"))
	t.Cleanup(up.Close)
	rec, dir := recorder(t)
	_, proxyURL, _ := front(t, up.URL, rec)
	c := &http.Client{Transport: transport(t)}
	for _, login := range []struct{ contentType, body string }{
		{"application/x-www-form-urlencoded", "username=grace%40example.org&password=MyS3cret%Typo"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\ngrace@example.org\r\n--X\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nCorrectHorse9!\r\n--X--\r\n"},
	} {
		resp, err := c.Post(proxyURL+BasePath+"/login", login.contentType, strings.NewReader(login.body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2 {
		t.Fatalf("%d cassettes", len(files))
	}
	for _, f := range files {
		data, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		if strings.Contains(string(data), "Typo") || strings.Contains(string(data), "Horse") || !strings.Contains(string(data), passwordPlaceholder) {
			t.Errorf("%s:\n%s", f.Name(), data)
		}
	}
}
