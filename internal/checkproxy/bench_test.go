package checkproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

// BenchmarkOverhead measures one GET /ssh-keys (three keys) straight to a
// fake and through the proxy in front of the same fake: the difference is
// the proxy's cost per request (a second loopback hop, the contract check
// and the SDK decode; with -record, the redaction and a file write).
//
//	go test -run '^$' -bench Overhead -benchmem ./internal/checkproxy
func BenchmarkOverhead(b *testing.B) {
	up := nebulatest.NewServer()
	defer up.Close()
	c, err := up.NewClient()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := c.SSHKeys.Create(context.Background(), sshKeyRequest(name)); err != nil {
			b.Fatal(err)
		}
	}
	run := func(b *testing.B, base string) {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			req, _ := http.NewRequest("GET", base+"/ssh-keys", nil)
			req.Header.Set("Authorization", "Bearer "+up.Token())
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, up.URL) })
	b.Run("proxy", func(b *testing.B) {
		p, err := New(Options{Upstream: up.URL})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(p)
		defer srv.Close()
		run(b, srv.URL+BasePath)
		if d := p.Drift(); len(d) != 0 {
			b.Fatalf("drift: %+v", d)
		}
	})
	b.Run("proxy-unchecked", func(b *testing.B) {
		p, err := New(Options{Upstream: up.URL})
		if err != nil {
			b.Fatal(err)
		}
		p.checker.sdk = false
		srv := httptest.NewServer(p)
		defer srv.Close()
		run(b, srv.URL+BasePath)
	})
	b.Run("proxy-record", func(b *testing.B) {
		rec, err := NewRecorder(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		p, err := New(Options{Upstream: up.URL, Recorder: rec})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(p)
		defer srv.Close()
		run(b, srv.URL+BasePath)
	})
}

func sshKeyRequest(name string) nebula.CreateSSHKeyRequest {
	return nebula.CreateSSHKeyRequest{Name: name, PublicKey: pubKey}
}
