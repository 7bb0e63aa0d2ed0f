// Command nebula-fake serves the fake Nebula Block API of package
// nebulatest as a program, for test harnesses that are not written in Go (a
// Python or shell suite, a compose file).
//
//	go run ./cmd/nebula-fake [flags]
//
// Its first three lines on stdout are
//
//	NEBULA_API_URL=http://HOST:PORT/api/v1
//	NEBULA_API_KEY=<seed token>
//	NEBULA_INFERENCE_URL=http://HOST:PORT/v1
//
// and nothing else is ever written there, so a harness may read those
// lines (or eval them) and stop reading. Every request then gets one line on
// stderr (time, method, path, status, duration, and why a request was not
// carried out; never a credential). The control routes under /_fake/
// (faults, request log, reset) are always served. SIGINT or SIGTERM shut it
// down: requests in flight finish for up to -grace, then every connection
// is closed (a request cut short is never answered as a success), -state is
// saved, and it exits 0.
//
// Flags:
//
//	-addr host:port     where to listen (default 127.0.0.1:8474; port 0 picks a
//	                    free one; an empty host means 127.0.0.1)
//	-token ak_...       the seed API key's value (default: random)
//	-uuids              API key IDs are UUID strings instead of integers
//	-user name:password lets name log in through POST /login (repeatable)
//	-boot-time 50ms     how long a new instance stays "Creating"
//	-state FILE         load the fake's state from FILE if it exists and is not
//	                    empty, save it there at exit (atomically, 0600: the
//	                    file holds live keys)
//	-log-limit 10000    requests kept for GET /_fake/requests (<= 0: all)
//	-log-bytes 67108864 bytes of requests kept (bodies, paths, headers; the
//	                    newest is always kept; <= 0: no byte bound)
//	-grace 5s           how long shutdown waits for requests in flight before
//	                    it closes every connection
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
	"syscall"
	"time"

	"github.com/nebula-sdk/nebula-go/internal/checkproxy"
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
	logBytes  int64
	grace     time.Duration
	proxy     string // -proxy URL: check the live API instead of faking it
	record    string // -record DIR: cassettes of what -proxy saw
	replay    string // -replay DIR: serve cassettes instead of the fake
}

// userFlag collects -user name:password flags.
type userFlag struct {
	users []user
	// err is the first refused flag. Set never returns it: the flag
	// package would print the value, password and all.
	err error
}

type user struct{ name, password string }

func (u *userFlag) String() string {
	if u == nil {
		return ""
	}
	names := make([]string, len(u.users))
	for i, usr := range u.users {
		names[i] = usr.name + ":…" // never a password, even in usage text
	}
	return strings.Join(names, ",")
}

func (u *userFlag) Set(v string) error {
	if err := u.add(v); err != nil && u.err == nil {
		u.err = fmt.Errorf("-user: %w", err)
	}
	return nil
}

// add adds the user of a -user flag. Its errors never hold the password.
func (u *userFlag) add(v string) error {
	name, password, found := strings.Cut(v, ":")
	switch {
	case !found || name == "":
		return errors.New(`want name:password`)
	case len(password) < 4:
		// The request log redacts passwords of 4 characters or more only.
		return fmt.Errorf("the password of %q must have at least 4 characters", name)
	}
	for _, usr := range u.users {
		if usr.name == name {
			return fmt.Errorf("user %q given twice", name)
		}
	}
	u.users = append(u.users, user{name, password})
	return nil
}

// tokenPattern is a seed token that GET /_fake/requests recognises, and so
// redacts, wherever a client sends it.
var tokenPattern = regexp.MustCompile(`^ak_[A-Za-z0-9_-]{8,}$`)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("nebula-fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8474", "`host:port` to listen on; port 0 picks a free one, an empty host means 127.0.0.1")
	fs.StringVar(&cfg.token, "token", "", "the seed API key's value, \"ak_\" and at least 8 letters, digits, - or _ (default: random)")
	fs.BoolVar(&cfg.uuids, "uuids", false, "give API keys UUID string IDs instead of integers")
	fs.Var(&cfg.users, "user", "let `name:password` log in through POST /login (repeatable)")
	fs.DurationVar(&cfg.bootTime, "boot-time", nebulatest.DefaultBootTime, "how long a new instance stays Creating")
	fs.StringVar(&cfg.statePath, "state", "", "load the state from `FILE` if it exists and save it there at exit (it holds live keys)")
	fs.IntVar(&cfg.logLimit, "log-limit", nebulatest.DefaultRequestLogLimit, "requests kept for GET /_fake/requests (<= 0: all)")
	fs.Int64Var(&cfg.logBytes, "log-bytes", nebulatest.DefaultRequestLogBytes, "bytes of requests kept for GET /_fake/requests, bodies and headers included; the newest is always kept (<= 0: no byte bound)")
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
	case cfg.users.err != nil:
		return cfg, cfg.users.err
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
		nebulatest.WithRequestLogBytes(cfg.logBytes),
		nebulatest.WithAccessLog(accessLogger(logs, cfg.users.users)),
		nebulatest.WithGrace(cfg.grace),
	}
	if cfg.token != "" {
		opts = append(opts, nebulatest.WithSeedToken(cfg.token))
	}
	if cfg.uuids {
		opts = append(opts, nebulatest.WithUUIDs())
	}
	for _, u := range cfg.users.users {
		opts = append(opts, nebulatest.WithUser(u.name, u.password))
	}
	loaded := false
	if cfg.statePath != "" {
		state, err := readState(cfg.statePath)
		if err != nil {
			logs.printf("nebula-fake: -state %s: %v", cfg.statePath, err)
			return exitFail
		}
		switch {
		case state == nil:
		case len(bytes.TrimSpace(state)) == 0:
			// An empty file (mktemp's) is no state yet.
			logs.printf("nebula-fake: -state %s is empty: starting fresh", cfg.statePath)
		default:
			opts = append(opts, nebulatest.WithState(bytes.NewReader(state)))
			loaded = true
		}
	}

	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logs.printf("nebula-fake: cannot listen on %s (another program, or another nebula-fake, may hold it; -addr 127.0.0.1:0 picks a free port): %v", cfg.addr, err)
		return exitFail
	}
	// The fake serves from here on, but takes no connection until the
	// banner is queued: a harness that polls a fixed -addr, rather than
	// reading stdout, must not get its first request's line before it.
	gate := newGatedListener(l)
	srv, err := nebulatest.NewServerE(append(opts, nebulatest.WithListener(gate))...)
	if err != nil {
		gate.Close()
		// The file is left as it is: a harness may want to look at it.
		logs.printf("nebula-fake: -state %s: %v (the file is left unchanged)", cfg.statePath, err)
		return exitFail
	}

	if loaded && !tokenPattern.MatchString(srv.Token()) {
		// As -token: a token the request log cannot recognise, it shows.
		srv.Close()
		logs.printf("nebula-fake: -state %s: the seed token saved there is not \"ak_\" and at least 8 letters, digits, - or _, which the request log needs to recognise and redact it (the file is left unchanged)", cfg.statePath)
		return exitFail
	}
	base := baseURL(cfg.addr, l.Addr())
	// The banner is queued before stdout is written: a harness starts
	// calling as soon as it reads stdout, and the banner must come before
	// the access-log line of that first call.
	logs.printf("nebula-fake: serving the fake Nebula API at %s%s, control routes at %s/_fake/", base, nebulatest.BasePath, base)
	if !checkproxy.IsLoopback(strings.Trim(hostOf(cfg.addr), "[]")) {
		logs.printf("nebula-fake: warning: %s is reachable beyond this machine, and the control routes need no token", cfg.addr)
	}
	if loaded {
		logs.printf("nebula-fake: state loaded from %s", cfg.statePath)
		if cfg.token != "" && cfg.token != srv.Token() {
			logs.printf("nebula-fake: warning: -token ignored: the seed token saved in %s is used", cfg.statePath)
		}
	}
	gate.open()
	// One write, straight to stdout: a reader sees the lines at once, and
	// nothing more is ever written there.
	lines := "NEBULA_API_URL=" + base + nebulatest.BasePath + "\nNEBULA_API_KEY=" + srv.Token() + "\nNEBULA_INFERENCE_URL=" + base + "/v1\n"
	if _, err := io.WriteString(stdout, lines); err != nil {
		logs.printf("nebula-fake: warning: cannot write the environment lines to stdout: %v", err)
	}

	<-ctx.Done()
	logs.printf("nebula-fake: shutting down (waiting up to %v for requests in flight)", cfg.grace)
	graceCtx, cancel := context.WithTimeout(context.Background(), cfg.grace)
	err = srv.Shutdown(graceCtx) // returns soon after graceCtx ends, whatever the clients do
	cancel()
	if err != nil {
		logs.printf("nebula-fake: requests still running after -grace %v were cut short: not carried out (503) or their connections closed", cfg.grace)
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

// gatedListener holds back Accept until open is called: connections wait
// in the listen backlog meanwhile.
type gatedListener struct {
	net.Listener
	opened, closed      chan struct{}
	openOnce, closeOnce sync.Once
}

func newGatedListener(l net.Listener) *gatedListener {
	return &gatedListener{Listener: l, opened: make(chan struct{}), closed: make(chan struct{})}
}

func (g *gatedListener) open() { g.openOnce.Do(func() { close(g.opened) }) }

func (g *gatedListener) Accept() (net.Conn, error) {
	select {
	case <-g.opened:
	case <-g.closed:
		return nil, net.ErrClosed
	}
	return g.Listener.Accept()
}

// Close also ends an Accept still waiting for open.
func (g *gatedListener) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return g.Listener.Close()
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

// scrubPath hides anything in a path that looks like a credential or is a
// user's password: a client may put one there by mistake. The regexps run
// only on the rare path that could hold one.
func scrubPath(path string, users []user) string {
	if strings.Contains(path, "ak_") {
		path = apiKeyPattern.ReplaceAllString(path, "[REDACTED]")
	}
	if strings.Contains(path, "eyJ") {
		path = jwtPattern.ReplaceAllString(path, "[REDACTED]")
	}
	for _, u := range users {
		if strings.Contains(path, u.password) {
			path = strings.ReplaceAll(path, u.password, "[REDACTED]")
		}
		if esc := url.PathEscape(u.password); strings.Contains(path, esc) {
			path = strings.ReplaceAll(path, esc, "[REDACTED]")
		}
	}
	return path
}

const logTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// accessLogger logs one line per request: time, method, path (scrubbed),
// status ("hung-up" when there was no answer), duration, and why it was
// not carried out, if so. It appends to the log's buffer: no fmt, and no
// regexp for ordinary paths, since it runs once per request.
func accessLogger(logs *logWriter, users []user) func(nebulatest.Access) {
	return func(a nebulatest.Access) {
		path := scrubPath(a.Path, users)
		now := time.Now()
		logs.appendLine(func(b []byte) []byte {
			b = now.AppendFormat(b, logTimeLayout)
			b = append(b, ' ')
			b = append(b, a.Method...)
			b = append(b, ' ')
			b = append(b, path...)
			b = append(b, ' ')
			if a.Status == 0 {
				b = append(b, "hung-up"...)
			} else {
				b = strconv.AppendInt(b, int64(a.Status), 10)
			}
			b = append(b, ' ')
			b = appendDuration(b, a.Duration)
			if a.Note != "" {
				b = append(b, " ("...)
				b = append(b, a.Note...)
				b = append(b, ')')
			}
			return append(b, '\n')
		})
	}
}

// appendDuration appends d in milliseconds with three decimals ("1.234ms"),
// without the allocation of Duration.String.
func appendDuration(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return append(b, "ms"...)
}

// flushInterval is the most a log line waits while requests keep coming.
const flushInterval = 10 * time.Millisecond

// maxPendingLog bounds what the log holds while stderr is not read.
const maxPendingLog = 1 << 20

// logWriter writes lines to stderr from its own goroutine, in batches,
// dropping them (and saying how many) while stderr is not being read: a
// harness that never reads stderr must not stall the fake once the pipe is
// full.
type logWriter struct {
	mu      sync.Mutex
	closed  bool
	pending []byte
	dropped int
	wake    chan struct{} // holds a token while pending has lines
	done    chan struct{}
}

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{wake: make(chan struct{}, 1), done: make(chan struct{}), pending: make([]byte, 0, 64<<10)}
	go func() {
		defer close(l.done)
		var batch []byte
		for range l.wake {
			l.mu.Lock()
			batch, l.pending = l.pending, batch[:0]
			dropped := l.dropped
			l.dropped = 0
			closed := l.closed
			l.mu.Unlock()
			if dropped > 0 {
				io.WriteString(w, "nebula-fake: "+strconv.Itoa(dropped)+" log lines dropped: stderr was not read\n")
			}
			w.Write(batch) // an error has nowhere to go
			if closed {
				return
			}
			// Under load, one write per flushInterval rather than one per
			// request: a write and a wake-up per line cost a tenth of a
			// request. After a pause, the next line is written at once.
			time.Sleep(flushInterval)
		}
	}()
	return l
}

// appendLine adds the line add appends to the buffer it is given.
func (l *logWriter) appendLine(add func([]byte) []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A handler that hijacked its connection (a hang-up fault) may still
	// log after shutdown has closed the log: drop its line.
	if l.closed || len(l.pending) > maxPendingLog {
		l.dropped++
		return
	}
	l.pending = add(l.pending)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *logWriter) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.appendLine(func(b []byte) []byte { return append(append(b, line...), '\n') })
}

// close writes what is queued, giving up after a second if stderr is
// blocked.
func (l *logWriter) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-l.done:
	case <-t.C:
	}
}
