package main

// The checking proxy and the cassettes (package internal/checkproxy):
//
//	nebula-fake -proxy https://api.nebulablock.com/api/v1 [-record DIR]
//	nebula-fake -replay DIR
//
// -proxy forwards every /api/v1/X to URL/X unchanged (the caller's token
// goes to that host and port only; a redirect comes back to the caller
// unchanged), checks each answer against the contract and the SDK's
// decoders, and reports each difference as a "drift:" line on stderr and
// in GET /_fake/drift. -record DIR also writes every exchange as a
// cassette, secrets replaced by placeholders. -replay DIR serves those
// cassettes as the API. In both modes stdout gets one line,
// NEBULA_API_URL=http://HOST:PORT/api/v1, and no NEBULA_API_KEY: the
// caller's own key is the one that counts (and replay checks none).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/nebula-sdk/nebula-go/internal/checkproxy"
)

func addProxyFlags(fs *flag.FlagSet, cfg *config) {
	fs.StringVar(&cfg.proxy, "proxy", "", "forward the API to `URL` (https://api.nebulablock.com/api/v1) and check every answer; report at GET /_fake/drift")
	fs.StringVar(&cfg.record, "record", "", "with -proxy: write each exchange as a cassette in `DIR`, secrets replaced")
	fs.StringVar(&cfg.replay, "replay", "", "serve the cassettes in `DIR` as the API instead of the fake")
}

// fakeOnlyFlags mean nothing to the proxy or to replay: giving one is a
// mistake worth saying.
var fakeOnlyFlags = []string{"token", "uuids", "user", "boot-time", "state", "log-limit", "log-bytes"}

func checkProxyFlags(fs *flag.FlagSet, cfg config) error {
	switch {
	case cfg.proxy != "" && cfg.replay != "":
		return errors.New("-proxy and -replay exclude each other")
	case cfg.record != "" && cfg.proxy == "":
		return errors.New("-record needs -proxy (it records what the live API answers)")
	case cfg.proxy == "" && cfg.replay == "":
		return nil
	}
	if cfg.proxy != "" {
		if _, err := checkproxy.ParseUpstream(cfg.proxy); err != nil {
			return err
		}
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		for _, name := range fakeOnlyFlags {
			if f.Name == name && err == nil {
				err = fmt.Errorf("-%s has no effect with -proxy or -replay", name)
			}
		}
	})
	return err
}

// runProxy serves -proxy or -replay until ctx ends, and returns the exit
// code.
func runProxy(ctx context.Context, cfg config, stdout io.Writer, logs *logWriter) int {
	var handler http.Handler
	var p *checkproxy.Proxy
	if cfg.proxy != "" {
		var rec *checkproxy.Recorder
		if cfg.record != "" {
			var err error
			if rec, err = checkproxy.NewRecorder(cfg.record); err != nil {
				logs.printf("nebula-fake: -record %s: %v", cfg.record, err)
				return exitFail
			}
		}
		var err error
		p, err = checkproxy.New(checkproxy.Options{Upstream: cfg.proxy, Logf: logs.printf, Recorder: rec})
		if err != nil {
			logs.printf("nebula-fake: %v", err)
			return exitUsage
		}
		handler = p
	} else {
		rp, err := checkproxy.NewReplayer(cfg.replay)
		if err != nil {
			logs.printf("nebula-fake: -replay %s: %v", cfg.replay, err)
			return exitFail
		}
		handler = rp.Handler()
	}

	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logs.printf("nebula-fake: cannot listen on %s (another program, or another nebula-fake, may hold it; -addr 127.0.0.1:0 picks a free port): %v", cfg.addr, err)
		return exitFail
	}
	srv := &http.Server{
		Handler:           accessLog(logs, handler),
		ReadHeaderTimeout: 60 * time.Second,
		ErrorLog:          nil,
	}
	base := baseURL(cfg.addr, l.Addr())
	// The banner before serving, as in run: it must come before the
	// access-log line of a harness's first call, whether the harness
	// reads stdout or polls a fixed -addr (its connections wait in the
	// listen backlog meanwhile).
	if p != nil {
		u, _ := checkproxy.ParseUpstream(cfg.proxy)
		logs.printf("nebula-fake: checking proxy to %s at %s%s; differences at %s%s", u.Redacted(), base, checkproxy.BasePath, base, checkproxy.DriftPath)
		if cfg.record != "" {
			logs.printf("nebula-fake: recording cassettes in %s", cfg.record)
		}
	} else {
		logs.printf("nebula-fake: replaying the cassettes of %s at %s%s", cfg.replay, base, checkproxy.BasePath)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l) // ends with ErrServerClosed
	}()
	if _, err := io.WriteString(stdout, "NEBULA_API_URL="+base+checkproxy.BasePath+"\n"); err != nil {
		logs.printf("nebula-fake: warning: cannot write the environment line to stdout: %v", err)
	}

	<-ctx.Done()
	logs.printf("nebula-fake: shutting down (waiting up to %v for requests in flight)", cfg.grace)
	graceCtx, cancel := context.WithTimeout(context.Background(), cfg.grace)
	err = srv.Shutdown(graceCtx)
	cancel()
	if err != nil {
		logs.printf("nebula-fake: requests still running after -grace %v were cut short", cfg.grace)
		srv.Close()
	}
	<-done
	if p != nil {
		logs.printf("nebula-fake: %d differences from the contract (GET %s listed them)", len(p.Drift()), checkproxy.DriftPath)
	}
	logs.printf("nebula-fake: stopped")
	return exitOK
}

// accessLog logs one line per request, as the fake does, with anything in
// the path that looks like a secret replaced.
func accessLog(logs *logWriter, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		path := checkproxy.Scrub(r.URL.Path)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		logs.printf("%s %s %s %s %v", start.Format("2006-01-02T15:04:05.000Z07:00"), r.Method, path, strconv.Itoa(status), time.Since(start).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}
