package nebulatest

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Access describes one request the Server answered, for WithAccessLog.
type Access struct {
	Method string
	// Path is the escaped path as sent, without the query. It is whatever
	// the client put there: scrub it before printing it anywhere public.
	Path     string
	Status   int // 0 when the Server hung up without answering
	Duration time.Duration
	// Note says why a request was not carried out, or its answer not
	// delivered ("not carried out: the server is shutting down", "not
	// carried out: the client left", "answer not delivered: ..."); "" for
	// the others.
	Note string
}

// WithAccessLog makes the Server call f once per request it received
// (control routes included), after answering it. f runs on the request's
// goroutine, so it must be safe for concurrent use and quick: the client
// waits for it before its connection is reused.
func WithAccessLog(f func(Access)) Option { return func(s *Server) { s.cfg.accessLog = f } }

// Shutdown stops the Server gracefully: it stops accepting connections,
// lets the requests in flight finish (injected latencies included), and
// then closes the Server as Close does. When ctx ends first, what is still
// running is cut short at once: injected latencies and stalled bodies get
// a 503 (they were not carried out) and every connection is closed, a
// client that stopped reading included; Shutdown then returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Config.Shutdown(ctx)
	if err != nil {
		s.stop()
		s.srv.CloseClientConnections()
	}
	s.Close()
	return err
}

// logAccess wraps a request so that its answer reaches cfg.accessLog.
func (s *Server) logAccess(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		p := recover()
		a := Access{Method: r.Method, Path: r.URL.EscapedPath(), Status: rec.status(), Duration: time.Since(start), Note: rec.note}
		if p != nil {
			a.Status = 0 // aborted: the client got no answer
		}
		if a.Note == "" && rec.writeErr != nil {
			a.Note = "answer not delivered: " + rec.writeErr.Error()
		}
		s.cfg.accessLog(a)
		if p != nil {
			panic(p)
		}
	}()
	s.mux.ServeHTTP(rec, r)
}

// setNote tells the access log why a request was not carried out.
func setNote(w http.ResponseWriter, note string) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.note = note
	}
}

// statusRecorder notes the status an answer was given. It passes hijacking
// and flushing through, which the hang-up faults and the chat stream use.
type statusRecorder struct {
	http.ResponseWriter
	code     int
	hijacked bool
	note     string
	writeErr error
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.writeErr == nil {
		w.writeErr = err
	}
	return n, err
}

func (w *statusRecorder) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("nebulatest: the connection cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the connection (readBody sets
// read deadlines through it).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is what the client got: 0 for a hang-up, 200 for a handler that
// wrote nothing (net/http sends that).
func (w *statusRecorder) status() int {
	switch {
	case w.hijacked:
		return 0
	case w.code == 0:
		return http.StatusOK
	}
	return w.code
}
