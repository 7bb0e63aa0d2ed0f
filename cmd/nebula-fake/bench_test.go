package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nebula-sdk/nebula-go/nebulatest"
)

// Benchmarks run only with -bench; go test never runs them. Without -race:
//
//	go test -run '^$' -bench VersusMinimal -benchtime 20000x ./cmd/nebula-fake/
//
// Each sub-benchmark serves the same route from the built nebula-fake (its
// stderr read by the benchmark, as a harness would) and from a minimal
// net/http server, each in a process of its own, alternately (each in turn
// first) in 16 rounds that share b.N requests per server. It reports
//
//   - x-minimal-cpu: the minimal server's CPU time per request divided by
//     nebula-fake's (from /proc, Linux only): the rate nebula-fake reaches,
//     as a multiple of the minimal server's, where the CPU is what limits
//     both. It does not depend on what else the machine runs.
//   - x-minimal-wall: the same ratio of wall-clock time, which does.
//
// 1 is as fast; the target is at least 0.9.

// minimalServerEnv makes the test binary serve as the minimal server, with
// the token the variable holds.
const minimalServerEnv = "NEBULA_FAKE_BENCH_MINIMAL"

// serveMinimal runs the minimal server: the least a server of the two
// routes can do and still be the same routes. It checks the bearer token
// against the live keys (a created key is a credential at once, as on the
// fake and the real API), reads and decodes the body, refuses a name
// taken, draws a key value, keeps the key (a slice and two maps, by name
// and by value, under a mutex) and answers the envelope with
// encoding/json. Its token is a listed key from the start, as nebula-fake's
// seed key is, so that both list the same keys.
// It prints its API URL on stdout and serves until stdin closes.
func serveMinimal(token string) int {
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
	// The token is a listed key, as nebula-fake's seed key is: both list
	// the same keys, and number created keys from 2.
	keys := []key{{ID: 1, Name: "default", Description: "the account's initial key", Partial: "ak_...", value: token}}
	byName := map[string]bool{"default": true}
	byValue := map[string]bool{token: true}
	next := 2
	write := func(w http.ResponseWriter, status int, v any) {
		body, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
	authorized := func(r *http.Request) bool {
		value, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		defer mu.Unlock()
		return found && byValue[value]
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
		byValue[k.value] = true
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
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(l)
	fmt.Printf("NEBULA_API_URL=http://%s/api/v1\n", l.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
	return 0
}

// server is a server process under load.
type server struct {
	name   string
	cmd    *exec.Cmd
	apiURL string
	token  string
	client *http.Client
	names  atomic.Int64 // numbers the keys created
}

// startServer starts cmd and reads its NEBULA_API_URL line. Its stderr is
// read and thrown away, as a harness would; closing its stdin or killing
// it stops it.
func startServer(b *testing.B, name string, cmd *exec.Cmd, token string) *server {
	b.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = io.Discard // copied by a goroutine of os/exec: read, like a harness's
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	transport := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}
	b.Cleanup(func() {
		transport.CloseIdleConnections()
		stdin.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "NEBULA_API_URL=") {
		b.Fatalf("%s: first line %q: %v", name, line, err)
	}
	go io.Copy(io.Discard, stdout)
	return &server{name: name, cmd: cmd, apiURL: strings.TrimSpace(strings.TrimPrefix(line, "NEBULA_API_URL=")), token: token, client: &http.Client{Transport: transport}}
}

// cpuTime is the CPU time the process has used so far (Linux only; 0
// elsewhere), in clock ticks of 10 ms.
func (sv *server) cpuTime() time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sv.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields 14 and 15 (utime, stime), after the command name in parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// drive sends n requests from clients goroutines and returns how long
// they took and how much CPU the server used.
func (sv *server) drive(b *testing.B, route string, clients, n int) (wall, cpu time.Duration) {
	var sent atomic.Int64
	var wg sync.WaitGroup
	cpu0 := sv.cpuTime()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= int64(n) {
				var req *http.Request
				if route == "create" {
					body := fmt.Sprintf(`{"name":"k%d","description":"bench"}`, sv.names.Add(1))
					req, _ = http.NewRequest("POST", sv.apiURL+"/api-keys", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req, _ = http.NewRequest("GET", sv.apiURL+"/api_keys", nil)
				}
				req.Header.Set("Authorization", "Bearer "+sv.token)
				resp, err := sv.client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("%s %s: %d", sv.name, route, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), sv.cpuTime() - cpu0
}

// listed is how many keys the server lists.
func (sv *server) listed(b *testing.B) int {
	req, _ := http.NewRequest("GET", sv.apiURL+"/api_keys", nil)
	req.Header.Set("Authorization", "Bearer "+sv.token)
	resp, err := sv.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Data []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		b.Fatalf("%s: %v", sv.name, err)
	}
	return len(list.Data)
}

// rounds is how many turns each server takes to serve b.N requests.
const rounds = 16

func BenchmarkVersusMinimal(b *testing.B) {
	const token = "ak_bench-token-0123456789"
	for _, route := range []string{"create", "list"} {
		for _, clients := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", route, clients), func(b *testing.B) {
				fake := startServer(b, "nebula-fake", exec.Command(fakeBinary, append([]string{"-addr", "127.0.0.1:0", "-token", token}, strings.Fields(os.Getenv("XARGS"))...)...), token)
				minimal := exec.Command(os.Args[0], "-test.run=^$")
				minimal.Env = append(os.Environ(), minimalServerEnv+"="+token)
				min := startServer(b, "minimal", minimal, token)
				for _, sv := range []*server{fake, min} {
					sv.drive(b, "create", clients, 20) // keys to list, and warm connections
				}
				if f, m := fake.listed(b), min.listed(b); f != m {
					b.Fatalf("nebula-fake lists %d keys, the minimal server %d: they must serve the same", f, m)
				}
				b.ResetTimer()
				var wallFake, wallMin, cpuFake, cpuMin time.Duration
				for round := range rounds {
					n := b.N / rounds
					if round < b.N%rounds {
						n++
					}
					order := []*server{min, fake}
					if round%2 == 1 {
						order = []*server{fake, min}
					}
					for _, sv := range order {
						wall, cpu := sv.drive(b, route, clients, n)
						if sv == fake {
							wallFake, cpuFake = wallFake+wall, cpuFake+cpu
						} else {
							wallMin, cpuMin = wallMin+wall, cpuMin+cpu
						}
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(wallMin)/float64(wallFake), "x-minimal-wall")
				if cpuFake > 0 && cpuMin > 0 {
					b.ReportMetric(float64(cpuMin)/float64(cpuFake), "x-minimal-cpu")
					b.ReportMetric(float64(cpuFake.Nanoseconds())/float64(b.N), "cpu-ns/req-fake")
					b.ReportMetric(float64(cpuMin.Nanoseconds())/float64(b.N), "cpu-ns/req-minimal")
				}
			})
		}
	}
}

// BenchmarkAccessLog is the access log's cost per request, stderr aside:
//
//	go test -run '^$' -bench AccessLog -benchmem ./cmd/nebula-fake/
func BenchmarkAccessLog(b *testing.B) {
	logs := newLogWriter(io.Discard)
	defer logs.close()
	log := accessLogger(logs, []user{{"alice", "pass-zq9-Mx7vP2wLr4Kt"}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			log(nebulatest.Access{Method: "POST", Path: "/api/v1/api-keys", Status: 200, Duration: 1234567})
		}
	})
}
