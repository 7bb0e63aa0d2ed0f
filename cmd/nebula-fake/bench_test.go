package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks run only with -bench; go test never runs them. Without -race:
//
//	go test -run '^$' -bench VersusMinimal -benchtime 2000x ./cmd/nebula-fake/
//
// Each sub-benchmark serves the same route from nebula-fake (in-process,
// access log on, written to a discarding stderr) and from a minimal
// net/http server, alternately (each in turn first) in 16 rounds that
// share b.N requests per server, so that both see the same machine load,
// and
// reports nebula-fake's rate as a multiple of the minimal server's
// ("x-minimal"): 1 is as fast, the target is at least 0.9.

// minimalServer is the least a server of the two routes can do: check the
// bearer token, read and decode the body, keep the keys in a map under a
// mutex, draw a key value, and answer the envelope.
func minimalServer(b *testing.B, token string) string {
	b.Helper()
	type key struct {
		ID          int    `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Partial     string `json:"partial_key_data"`
		value       string
	}
	type created struct {
		ID          int    `json:"id"`
		Key         string `json:"key"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	type envelope struct {
		Data    any    `json:"data"`
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	var mu sync.Mutex
	var keys []key
	byName := map[string]bool{}
	next := 1
	write := func(w http.ResponseWriter, status int, v any) {
		body, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
	authorized := func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer "+token
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/api-keys", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || !authorized(r) {
			write(w, 401, envelope{Message: "no", Status: "failed"})
			return
		}
		var req struct{ Name, Description string }
		if json.Unmarshal(body, &req) != nil || req.Name == "" {
			write(w, 422, envelope{Message: "bad", Status: "failed"})
			return
		}
		raw := make([]byte, 32)
		rand.Read(raw)
		k := key{Name: req.Name, Description: req.Description, Partial: "ak_...", value: "ak_" + base64.RawURLEncoding.EncodeToString(raw)}
		mu.Lock()
		if byName[k.Name] {
			mu.Unlock()
			write(w, 409, envelope{Message: "taken", Status: "failed"})
			return
		}
		k.ID = next
		next++
		keys = append(keys, k)
		byName[k.Name] = true
		mu.Unlock()
		write(w, 200, envelope{Data: created{ID: k.ID, Key: k.value, Name: k.Name, Description: k.Description}, Message: "API key successfully created", Status: "success"})
	})
	mux.HandleFunc("GET /api/v1/api_keys", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r) {
			write(w, 401, envelope{Message: "no", Status: "failed"})
			return
		}
		mu.Lock()
		out := append([]key(nil), keys...)
		mu.Unlock()
		write(w, 200, envelope{Data: out, Message: "API keys successfully retrieved", Status: "success"})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/api/v1"
}

type target struct {
	name   string
	apiURL string
	token  string
	client *http.Client
	names  atomic.Int64 // numbers the keys created
}

func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}}
}

// drive sends n requests from clients goroutines and returns how long
// they took.
func (tg *target) drive(b *testing.B, route string, clients, n int) time.Duration {
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= int64(n) {
				var req *http.Request
				if route == "create" {
					body := fmt.Sprintf(`{"name":"k%d","description":"bench"}`, tg.names.Add(1))
					req, _ = http.NewRequest("POST", tg.apiURL+"/api-keys", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req, _ = http.NewRequest("GET", tg.apiURL+"/api_keys", nil)
				}
				req.Header.Set("Authorization", "Bearer "+tg.token)
				resp, err := tg.client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("%s %s: %d", tg.name, route, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// rounds is how many turns each server takes to serve b.N requests.
const rounds = 16

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func BenchmarkVersusMinimal(b *testing.B) {
	const token = "ak_bench-token-0123456789"
	for _, route := range []string{"create", "list"} {
		for _, clients := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", route, clients), func(b *testing.B) {
				apiURL, _, stop, exit, _ := runInProcess(b, "-addr", "127.0.0.1:0", "-token", token)
				defer func() {
					stop()
					<-exit
				}()
				fake := &target{name: "nebula-fake", apiURL: apiURL, token: token, client: newClient()}
				minimal := &target{name: "minimal", apiURL: minimalServer(b, token), token: token, client: newClient()}
				for _, tg := range []*target{fake, minimal} {
					defer tg.client.CloseIdleConnections()
					tg.drive(b, "create", clients, 20) // ten keys to list, and warm connections
				}
				b.ResetTimer()
				var tFake, tMinimal time.Duration
				for round := range rounds {
					n := b.N/rounds + btoi(round < b.N%rounds)
					if round%2 == 0 {
						tMinimal += minimal.drive(b, route, clients, n)
						tFake += fake.drive(b, route, clients, n)
					} else {
						tFake += fake.drive(b, route, clients, n)
						tMinimal += minimal.drive(b, route, clients, n)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(tMinimal)/float64(tFake), "x-minimal")
				b.ReportMetric(float64(tFake.Nanoseconds())/float64(b.N), "ns/req-fake")
				b.ReportMetric(float64(tMinimal.Nanoseconds())/float64(b.N), "ns/req-minimal")
			})
		}
	}
}
