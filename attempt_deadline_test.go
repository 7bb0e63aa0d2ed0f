package nebula

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// hold keeps a request until the client hangs up (or a minute passes).
func hold(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-time.After(time.Minute):
	case <-r.Context().Done():
	}
}

// deadlineOnArrival is a context with a deadline an hour away that passes
// when the server has the request: no clock decides whether the request
// left before it.
type deadlineOnArrival struct {
	*expireOnArrival
	deadline time.Time
}

func (c deadlineOnArrival) Deadline() (time.Time, bool) { return c.deadline, true }

// When the caller's deadline comes before the per-attempt timeout, the
// attempt runs in the caller's context: the deadline that ends it is the
// caller's, and the error says so (context.DeadlineExceeded, never "attempt
// timed out"), for a read (not retried: the caller gave up) and for a create
// (sent, so its outcome is unknown).
func TestCallersEarlierDeadlineIsTheCallersError(t *testing.T) {
	t.Parallel()
	for _, create := range []bool{false, true} {
		name := "List"
		if create {
			name = "Create"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := deadlineOnArrival{newExpireOnArrival(), time.Now().Add(time.Hour)}
			var once sync.Once
			lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
				once.Do(func() { close(ctx.done) })
				hold(w, r)
			})
			c := lb.client(t, WithTimeout(2*time.Hour))
			var resp Response
			var err error
			if create {
				_, err = c.APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "n"}, WithResponseInto(&resp))
			} else {
				_, err = c.APIKeys.List(ctx, WithResponseInto(&resp))
			}
			var timeout *attemptTimeoutError
			if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) || strings.Contains(err.Error(), "attempt timed out") {
				t.Fatalf("err %v: want the caller's deadline", err)
			}
			if errors.Is(err, ErrOutcomeUnknown) != create || lb.count() != 1 || resp.Attempts != 1 || resp.StatusCode != 0 || resp.Header != nil {
				t.Fatalf("err %v after %d requests; Response %+v", err, lb.count(), resp)
			}
		})
	}
}

// When the per-attempt timeout comes first, it ends the attempt and is
// named, though the caller's context has a (later) deadline too.
func TestAttemptTimeoutBeforeCallersDeadlineIsNamed(t *testing.T) {
	t.Parallel()
	lb := newLoopback(t, hold)
	c := lb.client(t)
	ctx, cancel := context.WithTimeout(bg, time.Hour)
	defer cancel()
	_, err := c.APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "n"}, WithCallTimeout(200*time.Millisecond))
	var timeout *attemptTimeoutError
	if !errors.As(err, &timeout) || timeout.option != "WithCallTimeout" || !errors.Is(err, context.DeadlineExceeded) ||
		!errors.Is(err, ErrOutcomeUnknown) || lb.count() != 1 {
		t.Fatalf("err %v after %d requests", err, lb.count())
	}
}

// A create answered by a 307 to its own host, in a caller's context whose
// deadline comes before the per-attempt timeout (so no attempt context of
// its own): the body goes to the new location once, and the call succeeds.
func TestCreateFollows307InCallersContext(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var moved []string
	lb := newLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/api/v1/api-keys" {
			w.Header().Set("Location", "/api/v1/moved")
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		mu.Lock()
		moved = append(moved, r.Method+" "+string(b))
		mu.Unlock()
		writeJSON(w, http.StatusOK, docsCreateIntID)
	})
	c := lb.client(t, WithTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	key, err := c.APIKeys.Create(ctx, CreateAPIKeyRequest{Name: "n"})
	if err != nil || key == nil {
		t.Fatalf("key %v, err %v", key, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(moved) != 1 || !strings.HasPrefix(moved[0], "POST {") || !strings.Contains(moved[0], `"name":"n"`) || lb.count() != 2 {
		t.Fatalf("the new location got %q; %d requests", moved, lb.count())
	}
}
