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

// clients are the contenders: the SDK, the plain client, and the plain
// client with an http.Client.Timeout, as a careful hand-written client has
// (the SDK always limits its attempts).
func clients(b *testing.B, srv *httptest.Server) []struct {
	name   string
	create func(context.Context) error
	list   func(context.Context) error
} {
	sdk := benchSDK(b, srv)
	plain := newPlainClient(srv)
	timed := newPlainClient(srv)
	timed.hc.Timeout = defaultTimeout
	type contender = struct {
		name   string
		create func(context.Context) error
		list   func(context.Context) error
	}
	plainCalls := func(name string, p *plainClient) contender {
		return contender{name,
			func(ctx context.Context) error { _, err := p.create(ctx, "bench"); return err },
			func(ctx context.Context) error { _, err := p.list(ctx); return err }}
	}
	return []contender{
		{"sdk",
			func(ctx context.Context) error {
				_, err := sdk.APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "bench"})
				return err
			},
			func(ctx context.Context) error { _, err := sdk.APIKeys.List(ctx); return err }},
		plainCalls("plain", plain),
		plainCalls("plain-timeout", timed),
	}
}

func runSerial(b *testing.B, call func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := call(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreate(b *testing.B) {
	srv := newBenchServer(b)
	for _, c := range clients(b, srv) {
		b.Run("client="+c.name, func(b *testing.B) { runSerial(b, c.create) })
	}
}

func BenchmarkList(b *testing.B) {
	srv := newBenchServer(b)
	for _, c := range clients(b, srv) {
		b.Run("client="+c.name, func(b *testing.B) { runSerial(b, c.list) })
	}
}

// BenchmarkListParallel runs 32 concurrent callers (SetParallelism
// multiplies by GOMAXPROCS, hence the division).
func BenchmarkListParallel(b *testing.B) {
	srv := newBenchServer(b)
	ctx := context.Background()
	for _, c := range clients(b, srv) {
		b.Run("client="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, (32+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.list(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
