package nebulatest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestAccessLog(t *testing.T) {
	t.Parallel()
	logged := make(chan Access, 10)
	s := NewServer(WithControlRoutes(), WithAccessLog(func(a Access) { logged <- a }))
	defer s.Close()
	// A POST, which the transport does not send again on a hang-up.
	s.Inject(Fault{Method: "POST", Path: "/ssh-keys", HangUp: HangUpBefore})

	raw(t, s, "GET", "/api_keys?limit=1", s.Token(), "", "")
	raw(t, s, "GET", "/api_keys", "ak_wrongwrongwrong", "", "")
	raw(t, s, "POST", "/nowhere", s.Token(), "", "")
	if _, _, err := send(s, "POST", "/ssh-keys", s.Token(), "application/json", "{}"); err == nil {
		t.Fatal("the hang-up fault answered")
	}
	control(t, s, "POST", "/_fake/reset", "")

	want := []Access{
		{Method: "GET", Path: "/api/v1/api_keys", Status: 200},
		{Method: "GET", Path: "/api/v1/api_keys", Status: 401},
		{Method: "POST", Path: "/api/v1/nowhere", Status: 404},
		{Method: "POST", Path: "/api/v1/ssh-keys", Status: 0},
		{Method: "POST", Path: "/_fake/reset", Status: 200},
	}
	// A hang-up is logged once the connection is closed, which the client
	// may see first: compare without order.
	missing := map[Access]int{}
	for _, a := range want {
		missing[a]++
	}
	for range want {
		a := <-logged
		if a.Duration <= 0 {
			t.Errorf("%+v: no duration", a)
		}
		a.Duration = 0
		if missing[a] == 0 {
			t.Errorf("unexpected entry %+v", a)
		}
		missing[a]--
	}
	select {
	case a := <-logged:
		t.Errorf("one entry too many: %+v", a)
	default:
	}
}

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	s := NewServer(WithAccessLog(func(Access) {}), withHooks(nil, func() { close(started) }))
	s.Inject(Fault{Method: "POST", Path: "/api-keys", Latency: 300 * time.Millisecond})

	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, _, err := send(s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"in-flight"}`)
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{code: resp.StatusCode}
	}()
	<-started // the request is being handled: its body is read, the latency comes next
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r := <-done
	if r.err != nil || r.code != http.StatusOK {
		t.Fatalf("the request in flight got %d, %v; want 200", r.code, r.err)
	}
	if s.Created() != 1 {
		t.Fatalf("created %d keys, want 1", s.Created())
	}
}

func TestShutdownGivesUpWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	s := NewServer(withHooks(nil, func() { close(started) }))
	s.Inject(Fault{Path: "/api-keys", Latency: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, _, err := send(s, "POST", "/api-keys", s.Token(), "application/json", `{"name":"stuck"}`)
		done <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the deadline", err)
	}
	<-done
}
