package nebula

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// The benchmarks compare the SDK with a plain net/http + encoding/json
// client making the same calls to the same loopback server, in the same run:
//
//	go test -run '^$' -bench . -benchmem -count 6 . | tee bench.txt
//
// The server answers with the docs' example bodies and does no work, so the
// figures are the clients' own cost plus loopback HTTP.

func newBenchServer(b *testing.B) *httptest.Server {
	b.Helper()
	create, list := []byte(docsCreateIntID), []byte(docsList)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.Write(create)
			return
		}
		w.Write(list)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func benchSDK(b *testing.B, srv *httptest.Server) *Client {
	b.Helper()
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// plainClient is what a careful hand-written client looks like: one
// transport tuned like the SDK's, a JSON body, the same headers, the
// envelope decoded from the stream.
type plainClient struct {
	hc   *http.Client
	base string
}

func newPlainClient(srv *httptest.Server) *plainClient {
	return &plainClient{hc: &http.Client{Transport: newDefaultTransport()}, base: srv.URL + "/api/v1"}
}

type plainEnvelope[T any] struct {
	Data    *T     `json:"data"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

type plainKey struct {
	ID          json.Number `json:"id"`
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	PartialKey  string      `json:"partial_key_data"`
}

func plainDo[T any](ctx context.Context, p *plainClient, method, path string, body []byte) (*T, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "plain/1.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var env plainEnvelope[T]
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || env.Status != "success" || env.Data == nil {
		return nil, errors.New(env.Message)
	}
	return env.Data, nil
}

func (p *plainClient) create(ctx context.Context, name string) (*plainKey, error) {
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		return nil, err
	}
	return plainDo[plainKey](ctx, p, http.MethodPost, "/api-keys", body)
}

func (p *plainClient) list(ctx context.Context) ([]plainKey, error) {
	keys, err := plainDo[[]plainKey](ctx, p, http.MethodGet, "/api_keys", nil)
	if err != nil {
		return nil, err
	}
	return *keys, nil
}

func BenchmarkCreate(b *testing.B) {
	srv := newBenchServer(b)
	ctx := context.Background()
	b.Run("client=sdk", func(b *testing.B) {
		c := benchSDK(b, srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client=plain", func(b *testing.B) {
		p := newPlainClient(srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := p.create(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkList(b *testing.B) {
	srv := newBenchServer(b)
	ctx := context.Background()
	b.Run("client=sdk", func(b *testing.B) {
		c := benchSDK(b, srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.APIKeys.List(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client=plain", func(b *testing.B) {
		p := newPlainClient(srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := p.list(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListParallel runs 32 concurrent callers (SetParallelism scales
// by GOMAXPROCS, so it is set to 32/GOMAXPROCS rounded up).
func BenchmarkListParallel(b *testing.B) {
	srv := newBenchServer(b)
	ctx := context.Background()
	par := func(b *testing.B) { b.SetParallelism(max(1, (32+gomaxprocs()-1)/gomaxprocs())) }
	b.Run("client=sdk", func(b *testing.B) {
		c := benchSDK(b, srv)
		b.ReportAllocs()
		par(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.APIKeys.List(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("client=plain", func(b *testing.B) {
		p := newPlainClient(srv)
		b.ReportAllocs()
		par(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.list(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
