package nebulatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Benchmarks run only with -bench; go test never runs them.
//
//	go test -run '^$' -bench . -benchtime 20000x ./nebulatest/

// minimalFake is the least a fake of the API key routes can do: a map under
// a mutex, the baseline nebulatest is measured against.
func minimalFake() *httptest.Server {
	var mu sync.Mutex
	keys := map[int]string{}
	next := 1
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == "POST":
			var req struct{ Name string }
			json.Unmarshal(body, &req)
			id := next
			next++
			keys[id] = req.Name
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"id": id, "name": req.Name, "key": "ak_x"}, "message": "ok", "status": "success"})
		case r.Method == "GET":
			out := make([]map[string]any, 0, len(keys))
			for id, name := range keys {
				out = append(out, map[string]any{"id": id, "name": name})
			}
			json.NewEncoder(w).Encode(map[string]any{"data": out, "message": "ok", "status": "success"})
		case r.Method == "DELETE":
			id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/api/v1/api-keys/"))
			delete(keys, id)
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{}, "message": "ok", "status": "success"})
		}
	}))
}

// clients is how many goroutines send at once.
const clients = 64

// cycle creates a key, lists the keys and deletes the key.
func cycle(b *testing.B, client *http.Client, base, token string, n int) {
	do := func(method, path, body string) []byte {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return nil
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
		}
		return out
	}
	var created struct {
		Data struct{ ID json.Number }
	}
	json.Unmarshal(do("POST", "/api-keys", fmt.Sprintf(`{"name":"k%d"}`, n)), &created)
	do("GET", "/api_keys", "")
	do("DELETE", "/api-keys/"+created.Data.ID.String(), "")
}

// runCycles spreads b.N cycles over the clients.
func runCycles(b *testing.B, client *http.Client, base, token string) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				cycle(b, client, base, token, int(n))
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCycleMinimalFake(b *testing.B) {
	srv := minimalFake()
	defer srv.Close()
	client := &http.Client{Transport: loopbackTransport()}
	defer client.CloseIdleConnections()
	runCycles(b, client, srv.URL+BasePath, "ak_x")
}

func BenchmarkCycleNebulatest(b *testing.B) {
	s := NewServer()
	defer s.Close()
	runCycles(b, s.HTTPClient(), s.URL, s.Token())
}

// BenchmarkMemoryPerKey creates 100 000 API keys through the API (with the
// default bounded request log) and reports the heap they take per key.
func BenchmarkMemoryPerKey(b *testing.B) {
	const keys = 100000
	for range b.N {
		s := NewServer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n := next.Add(1)
					if n > keys {
						return
					}
					req, _ := http.NewRequest("POST", s.URL+"/api-keys", strings.NewReader(fmt.Sprintf(`{"name":"key-%d","description":"load"}`, n)))
					req.Header.Set("Authorization", "Bearer "+s.Token())
					req.Header.Set("Content-Type", "application/json")
					resp, err := s.HTTPClient().Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		s.HTTPClient().CloseIdleConnections()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := len(s.Keys()); got != keys+1 {
			b.Fatalf("%d keys", got)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/keys, "B/key")
		s.Close()
	}
}

// BenchmarkLogMemory sends 10 000 requests with 1 MB bodies (10 GB in all)
// through the handler, with the default log bounds, and reports the heap
// the Server keeps afterwards ("MiB-kept", which must stay under
// DefaultRequestLogBytes and a little) and the largest heap seen on the
// way ("MiB-peak", garbage included, so about twice the kept heap under
// the default GOGC).
//
//	go test -run '^$' -bench LogMemory -benchtime 1x ./nebulatest/
func BenchmarkLogMemory(b *testing.B) {
	const requests = 10000
	body := bytes.Repeat([]byte("x"), 1<<20)
	for range b.N {
		s := NewServer()
		handler := s.srv.Config.Handler
		var before, after, during runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var peak uint64
		for i := range requests {
			req := httptest.NewRequest("POST", BasePath+"/ssh-keys", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.Token())
			req.Header.Set("Content-Type", "application/json")
			handler.ServeHTTP(httptest.NewRecorder(), req)
			if i%500 == 0 {
				runtime.ReadMemStats(&during)
				peak = max(peak, during.HeapInuse)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		if n := len(s.Requests()); n == requests || n == 0 {
			b.Fatalf("%d requests kept: the byte bound did not apply", n)
		}
		if limit := float64(DefaultRequestLogBytes + 8<<20); kept > limit {
			b.Fatalf("%.0f MiB kept, over the bound of %.0f MiB", kept/(1<<20), limit/(1<<20))
		}
		b.ReportMetric(kept/(1<<20), "MiB-kept")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak")
		b.ReportMetric(float64(len(s.Requests())), "requests-kept")
		s.Close()
	}
}

// benchWriter is the least of an http.ResponseWriter: a fresh header map per
// request, cloned at WriteHeader, as net/http does.
type benchWriter struct {
	header http.Header
	sent   http.Header
	code   int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code, w.sent = code, w.header.Clone()
	}
}

func (w *benchWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.n += len(b)
	return len(b), nil
}

// BenchmarkHandler runs the fake's own code for an API key create and list
// (no network, no net/http), from parallel goroutines, with an access log
// that does nothing: its allocs/op and ns/op are what the fake adds to
// net/http's work per request.
//
//	go test -run '^$' -bench Handler -benchmem ./nebulatest/
func BenchmarkHandler(b *testing.B) {
	for _, route := range []string{"create", "list"} {
		b.Run(route, func(b *testing.B) {
			s := NewServer(WithAccessLog(func(Access) {}))
			defer s.Close()
			handler := s.srv.Config.Handler
			auth := "Bearer " + s.Token()
			serve := func(method, path, body string) int {
				var r *http.Request
				if body == "" {
					r, _ = http.NewRequest(method, "http://fake"+path, nil)
				} else {
					r, _ = http.NewRequest(method, "http://fake"+path, strings.NewReader(body))
					r.Header["Content-Type"] = []string{"application/json"}
				}
				r.Header["Authorization"] = []string{auth}
				w := &benchWriter{header: make(http.Header)}
				handler.ServeHTTP(w, r)
				return w.code
			}
			for i := range 20 { // keys to list
				serve("POST", BasePath+"/api-keys", `{"name":"seed`+strconv.Itoa(i)+`","description":"bench"}`)
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var code int
					if route == "create" {
						code = serve("POST", BasePath+"/api-keys", `{"name":"k`+strconv.FormatInt(next.Add(1), 10)+`","description":"bench"}`)
					} else {
						code = serve("GET", BasePath+"/api_keys", "")
					}
					if code != http.StatusOK {
						b.Errorf("%s: %d", route, code)
						return
					}
				}
			})
		})
	}
}
