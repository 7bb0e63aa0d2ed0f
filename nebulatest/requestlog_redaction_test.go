package nebulatest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// A private key pasted into key_data by mistake is refused by the fake
// (checkPublicKey never quotes it), but GET /_fake/requests then serves it
// verbatim. redactBody promises "every known or recognisable secret
// replaced", and PLATFORM.md says such a key "never appears" in an error:
// the control route, meant for non-Go harnesses and their logs, is a
// second copy of it.
func TestRequestLogRedactsPastedPrivateKey(t *testing.T) {
	t.Parallel()
	const keyBody = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
	privateKey := "-----BEGIN OPENSSH PRIVATE KEY-----\\n" + keyBody + "\\n-----END OPENSSH PRIVATE KEY-----\\n"
	s := NewServer(WithControlRoutes())
	defer s.Close()
	hc := s.HTTPClient()

	req, err := http.NewRequest("POST", s.URL+"/ssh-keys", strings.NewReader(`{"key_name":"laptop","key_data":"`+privateKey+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("the fake accepted a private key: %d", resp.StatusCode)
	}

	base := strings.TrimSuffix(s.URL, BasePath)
	resp, err = hc.Get(base + "/_fake/requests")
	if err != nil {
		t.Fatal(err)
	}
	log, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), keyBody) {
		t.Errorf("GET /_fake/requests shows the pasted private key: %.300s", log)
	}
}

// A login password the fake does not know (a typo) is hidden in the request
// log however the form was sent: a raw '%' failed url.ParseQuery, and a
// multipart form was not read, so both showed the password.
func TestRequestLogRedactsPasswordsOfEveryForm(t *testing.T) {
	t.Parallel()
	s := NewServer(WithControlRoutes(), WithUser("alice@example.com", "the-right-one"))
	defer s.Close()
	hc := s.HTTPClient()
	for _, body := range []struct{ contentType, body string }{
		{"application/x-www-form-urlencoded", "username=alice%40example.com&password=MyS3cret%Typo"},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice@example.com\r\n--X\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nCorrectHorse9!\r\n--X--\r\n"},
	} {
		req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader(body.body))
		req.Header.Set("Content-Type", body.contentType)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := hc.Get(strings.TrimSuffix(s.URL, BasePath) + "/_fake/requests")
	if err != nil {
		t.Fatal(err)
	}
	log, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(log), "Typo") || strings.Contains(string(log), "Horse") || !strings.Contains(string(log), "alice") {
		t.Errorf("GET /_fake/requests: %.600s", log)
	}
}
