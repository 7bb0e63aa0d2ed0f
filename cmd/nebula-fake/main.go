// Command nebula-fake serves the fake Nebula Block API of package
// nebulatest as a program, for test harnesses that are not written in Go (a
// Python or shell suite, a compose file).
//
//	go run ./cmd/nebula-fake [flags]
//
// Its first two lines on stdout are
//
//	NEBULA_API_URL=http://HOST:PORT/api/v1
//	NEBULA_API_KEY=<seed token>
//
// and nothing else is ever written there, so a harness may read those two
// lines (or eval them) and stop reading. Every request then gets one line on
// stderr (time, method, path, status, duration; never a credential). The
// control routes under /_fake/ (faults, request log, reset) are always
// served. SIGINT or SIGTERM shut it down gracefully: requests in flight
// finish (for up to -grace), -state is saved, and it exits 0.
//
// Flags:
//
//	-addr host:port     where to listen (default 127.0.0.1:8474; port 0 picks a
//	                    free one; an empty host means 127.0.0.1)
//	-token ak_...       the seed API key's value (default: random)
//	-uuids              API key IDs are UUID strings instead of integers
//	-user name:password lets name log in through POST /login (repeatable)
//	-boot-time 50ms     how long a new instance stays "Creating"
//	-state FILE         load the fake's state from FILE if it exists, save it
//	                    there at exit (atomically; the file holds live keys)
//	-log-limit 10000    requests kept for GET /_fake/requests (<= 0: all)
//	-grace 5s           how long shutdown waits for requests in flight
//	-proxy URL          check the live API instead of faking it (see proxy.go)
//	-record DIR         with -proxy: write each exchange as a cassette in DIR
//	-replay DIR         serve the cassettes in DIR instead of the fake
//
// Exit codes: 0 after a signal, 1 when it cannot start or save its state, 2
// for bad flags.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nebula-sdk/nebula-go/nebulatest"
)

func main() {
	// A harness that stops reading our output must not kill us: with
	// SIGPIPE ignored, writing to a closed pipe is only an error.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// defaultGrace is how long shutdown waits for requests in flight: less than
// the 10 s a container runtime waits before killing.
const defaultGrace = 5 * time.Second

// config is what the flags say.
type config struct {
	addr      string
	token     string
	uuids     bool
	users     userFlag
	bootTime  time.Duration
	statePath string
	logLimit  int
	grace     time.Duration
	proxy     string // -proxy URL: check the live API instead of faking it
	record    string // -record DIR: cassettes of what -proxy saw
	replay    string // -replay DIR: serve cassettes instead of the fake
}

// userFlag collects -user name:password flags.
type userFlag []user

type user struct{ name, password string }

func (u *userFlag) String() string {
	names := make([]string, len(*u))
	for i, usr := range *u {
		names[i] = usr.name + ":…" // never a password, even in usage text
	}
	return strings.Join(names, ",")
}

func (u *userFlag) Set(v string) error {
	name, password, found := strings.Cut(v, ":")
	switch {
	case !found || name == "":
		return errors.New(`want name:password`)
	case len(password) < 4:
		// The request log redacts passwords of 4 characters or more only.
		return fmt.Errorf("the password of %q must have at least 4 characters", name)
	}
	for _, usr := range *u {
		if usr.name == name {
			return fmt.Errorf("user %q given twice", name)
		}
	}
	*u = append(*u, user{name, password})
	return nil
}

// tokenPattern is a seed token that GET /_fake/requests recognises, and so
// redacts, wherever a client sends it.
var tokenPattern = regexp.MustCompile(`^ak_[A-Za-z0-9_-]{8,}$`)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := config{users: userFlag{}}
	fs := flag.NewFlagSet("nebula-fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8474", "`host:port` to listen on; port 0 picks a free one, an empty host means 127.0.0.1")
	fs.StringVar(&cfg.token, "token", "", "the seed API key's value, \"ak_\" and at least 8 letters, digits, - or _ (default: random)")
	fs.BoolVar(&cfg.uuids, "uuids", false, "give API keys UUID string IDs instead of integers")
	fs.Var(&cfg.users, "user", "let `name:password` log in through POST /login (repeatable)")
	fs.DurationVar(&cfg.bootTime, "boot-time", nebulatest.DefaultBootTime, "how long a new instance stays Creating")
	fs.StringVar(&cfg.statePath, "state", "", "load the state from `FILE` if it exists and save it there at exit (it holds live keys)")
	fs.IntVar(&cfg.logLimit, "log-limit", nebulatest.DefaultRequestLogLimit, "requests kept for GET /_fake/requests (<= 0: all)")
	fs.DurationVar(&cfg.grace, "grace", defaultGrace, "how long shutdown waits for requests in flight")
	addProxyFlags(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: nebula-fake [flags]\n\nServes the fake Nebula Block API; prints NEBULA_API_URL=... and NEBULA_API_KEY=... on stdout.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q: nebula-fake takes flags only", fs.Arg(0))
	case cfg.token != "" && !tokenPattern.MatchString(cfg.token):
		return cfg, errors.New(`-token must be "ak_" and at least 8 letters, digits, - or _ (so that the request log can recognise and redact it)`)
	case cfg.bootTime < 0:
		return cfg, errors.New("-boot-time must not be negative")
	case cfg.grace < 0:
		return cfg, errors.New("-grace must not be negative")
	}
	if err := checkProxyFlags(fs, cfg); err != nil {
		return cfg, err
	}
	host, port, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		return cfg, fmt.Errorf("-addr %q: want host:port: %v", cfg.addr, err)
	}
	if host == "" {
		cfg.addr = net.JoinHostPort("127.0.0.1", port)
	}
	return cfg, nil
}

// run is the program: it serves until ctx ends, then shuts down, and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "nebula-fake: %v\n", err)
		return exitUsage
	}
	logs := newLogWriter(stderr)
	defer logs.close()
	if cfg.proxy != "" || cfg.replay != "" {
		return runProxy(ctx, cfg, stdout, logs)
	}

	opts := []nebulatest.Option{
		nebulatest.WithControlRoutes(),
		nebulatest.WithBootTime(cfg.bootTime),
		nebulatest.WithRequestLogLimit(cfg.logLimit),
		nebulatest.WithAccessLog(accessLogger(logs, cfg.users)),
	}
	if cfg.token != "" {
		opts = append(opts, nebulatest.WithSeedToken(cfg.token))
	}
	if cfg.uuids {
		opts = append(opts, nebulatest.WithUUIDs())
	}
	for _, u := range cfg.users {
		opts = append(opts, nebulatest.WithUser(u.name, u.password))
	}
	loaded := false
	if cfg.statePath != "" {
		state, err := readState(cfg.statePath)
		if err != nil {
			logs.printf("nebula-fake: -state %s: %v", cfg.statePath, err)
			return exitFail
		}
		if state != nil {
			opts = append(opts, nebulatest.WithState(bytes.NewReader(state)))
			loaded = true
		}
	}

	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logs.printf("nebula-fake: cannot listen on %s (another program, or another nebula-fake, may hold it; -addr 127.0.0.1:0 picks a free port): %v", cfg.addr, err)
		return exitFail
	}
	srv, err := nebulatest.NewServerE(append(opts, nebulatest.WithListener(l))...)
	if err != nil {
		l.Close()
		// The file is left as it is: a harness may want to look at it.
		logs.printf("nebula-fake: -state %s: %v (the file is left unchanged)", cfg.statePath, err)
		return exitFail
	}

	base := baseURL(cfg.addr, l.Addr())
	// One write, straight to stdout: a reader sees both lines at once, and
	// nothing more is ever written there.
	if _, err := io.WriteString(stdout, "NEBULA_API_URL="+base+nebulatest.BasePath+"\nNEBULA_API_KEY="+srv.Token()+"\n"); err != nil {
		logs.printf("nebula-fake: warning: cannot write the environment lines to stdout: %v", err)
	}
	logs.printf("nebula-fake: serving the fake Nebula API at %s%s, control routes at %s/_fake/", base, nebulatest.BasePath, base)
	if ip := net.ParseIP(strings.Trim(hostOf(cfg.addr), "[]")); ip == nil || !ip.IsLoopback() {
		logs.printf("nebula-fake: warning: %s is reachable beyond this machine, and the control routes need no token", cfg.addr)
	}
	if loaded {
		logs.printf("nebula-fake: state loaded from %s", cfg.statePath)
		if cfg.token != "" && cfg.token != srv.Token() {
			logs.printf("nebula-fake: warning: -token ignored: the seed token saved in %s is used", cfg.statePath)
		}
	}

	<-ctx.Done()
	logs.printf("nebula-fake: shutting down (waiting up to %v for requests in flight)", cfg.grace)
	graceCtx, cancel := context.WithTimeout(context.Background(), cfg.grace)
	err = srv.Shutdown(graceCtx)
	cancel()
	if err != nil {
		logs.printf("nebula-fake: requests still running after -grace %v were cut short", cfg.grace)
	}
	if cfg.statePath != "" {
		if err := saveState(srv, cfg.statePath); err != nil {
			logs.printf("nebula-fake: cannot save the state: %v", err)
			return exitFail
		}
		logs.printf("nebula-fake: state saved to %s", cfg.statePath)
	}
	logs.printf("nebula-fake: stopped")
	return exitOK
}

func hostOf(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return host
}

// baseURL is the address clients should use: where an unspecified address
// (0.0.0.0, ::) was asked for, the loopback address of its family.
func baseURL(asked string, got net.Addr) string {
	_, port, _ := net.SplitHostPort(got.String())
	host := hostOf(asked)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// readState returns the saved state at path, or nil if there is none yet.
// Either way it checks that path's directory takes a new file, so that
// saving at exit does not fail after a whole test run.
func readState(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".check-*")
	if err != nil {
		return nil, fmt.Errorf("cannot write beside it, so it could not be saved: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	return b, nil
}

// saveState writes the state to a temporary file beside path and renames
// it into place, so that path always holds a whole state. The file is
// private (0600): it holds live API keys.
func saveState(srv *nebulatest.Server, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := srv.SaveState(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

var (
	apiKeyPattern = regexp.MustCompile(`ak_[A-Za-z0-9_-]{8,}`)
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// accessLogger logs one line per request. Paths are scrubbed of anything
// that looks like a credential or is a user's password: a client may put
// one there by mistake.
func accessLogger(logs *logWriter, users []user) func(nebulatest.Access) {
	return func(a nebulatest.Access) {
		path := apiKeyPattern.ReplaceAllString(a.Path, "[REDACTED]")
		path = jwtPattern.ReplaceAllString(path, "[REDACTED]")
		for _, u := range users {
			path = strings.ReplaceAll(path, u.password, "[REDACTED]")
			path = strings.ReplaceAll(path, url.PathEscape(u.password), "[REDACTED]")
		}
		status := strconv.Itoa(a.Status)
		if a.Status == 0 {
			status = "hung-up"
		}
		logs.printf("%s %s %s %s %v", time.Now().Format("2006-01-02T15:04:05.000Z07:00"), a.Method, path, status, a.Duration.Round(time.Microsecond))
	}
}

// logWriter writes lines to stderr from its own goroutine, dropping them
// (and saying how many) while stderr is not being read: a harness that
// never reads stderr must not stall the fake once the pipe is full.
type logWriter struct {
	mu      sync.Mutex // guards closed against printf racing close
	closed  bool
	lines   chan string
	done    chan struct{}
	dropped atomic.Int64
}

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for line := range l.lines {
			if n := l.dropped.Swap(0); n > 0 {
				fmt.Fprintf(w, "nebula-fake: %d log lines dropped: stderr was not read\n", n)
			}
			io.WriteString(w, line) // an error has nowhere to go
		}
	}()
	return l
}

func (l *logWriter) printf(format string, args ...any) {
	// A handler that hijacked its connection (a hang-up fault) may still
	// log after shutdown has closed the queue: drop its line.
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.lines <- fmt.Sprintf(format, args...) + "\n":
	default:
		l.dropped.Add(1)
	}
}

// close writes what is queued, giving up after a second if stderr is
// blocked.
func (l *logWriter) close() {
	l.mu.Lock()
	l.closed = true
	close(l.lines)
	l.mu.Unlock()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-l.done:
	case <-t.C:
	}
}
