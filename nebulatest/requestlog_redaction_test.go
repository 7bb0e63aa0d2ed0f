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
