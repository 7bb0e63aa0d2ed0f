package nebula_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
)

// WithResponseInto fills a Response when the call returns, whether it
// succeeded or failed: the request id to quote to support, the rate limit
// left, and how many attempts the call took.
func ExampleWithResponseInto() {
	// A stand-in for the API that answers like it, rate-limit headers
	// included.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-7f3a")
		w.Header().Set("RateLimit-Limit", "100")
		w.Header().Set("RateLimit-Remaining", "97")
		w.Header().Set("RateLimit-Reset", "30")
		fmt.Fprint(w, `{"data":{"available_balance":"1228.55600"},"message":"ok","status":"success"}`)
	}))
	defer api.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}

	var resp nebula.Response
	balance, err := client.Billing.Balance(context.Background(), nebula.WithResponseInto(&resp))
	if err != nil {
		log.Fatalf("%v (request id %s)", err, resp.RequestID)
	}
	fmt.Println("balance:", balance.Available)
	fmt.Println("status:", resp.StatusCode, "attempts:", resp.Attempts, "request id:", resp.RequestID)
	fmt.Println("rate limit:", resp.RateLimit.Remaining, "of", resp.RateLimit.Limit)
	// Output:
	// balance: 1228.55600
	// status: 200 attempts: 1 request id: req-7f3a
	// rate limit: 97 of 100
}

// WithCallTimeout bounds each attempt of one call, here lower than the
// Client's WithTimeout: a slow answer fails that call as a timeout, and
// the other calls keep the Client's timeout.
func ExampleWithCallTimeout() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/users/credits" {
			<-r.Context().Done() // never answers; ends when the client gives up
			return
		}
		fmt.Fprint(w, `{"data":[],"message":"ok","status":"success"}`)
	}))
	defer api.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(api.URL),
		nebula.WithTimeout(30*time.Second), nebula.WithMaxRetries(0))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	_, err = client.Billing.Balance(ctx, nebula.WithCallTimeout(50*time.Millisecond))
	fmt.Println("timed out:", errors.Is(err, context.DeadlineExceeded))

	keys, err := client.APIKeys.List(ctx)
	fmt.Println(len(keys), "keys,", err)
	// Output:
	// timed out: true
	// 0 keys, <nil>
}

// printObserver prints what an Observer is told; a tracer would start a
// span in CallStart and return the context holding it.
type printObserver struct{}

func (printObserver) CallStart(ctx context.Context, info nebula.CallInfo) context.Context {
	fmt.Println("start", info.Service+"."+info.Operation, info.Method, info.Route)
	return ctx
}

func (printObserver) AttemptDone(_ context.Context, _ nebula.CallInfo, a nebula.AttemptInfo) {
	fmt.Println("attempt", a.Attempt, "status", a.StatusCode, "retry", a.Retry)
}

func (printObserver) CallDone(_ context.Context, _ nebula.CallInfo, r nebula.CallResult) {
	fmt.Println("done after", r.Attempts, "attempts, error:", r.Err)
}

// WithObserver reports every call and each of its attempts: here a busy
// API's 503, retried, then the answer. The route is a template, so that
// every SSH key's delete is one route.
func ExampleWithObserver() {
	busy := true
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if busy {
			busy = false
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"data":null,"message":"busy","status":"failed"}`)
			return
		}
		fmt.Fprint(w, `{"data":{},"message":"SSH key deleted","status":"success"}`)
	}))
	defer api.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(api.URL),
		nebula.WithRetryWait(time.Millisecond, 2*time.Millisecond), nebula.WithObserver(printObserver{}))
	if err != nil {
		log.Fatal(err)
	}
	if err := client.SSHKeys.Delete(context.Background(), "75"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// start SSHKeys.Delete DELETE /ssh-keys/{id}
	// attempt 1 status 503 retry true
	// attempt 2 status 200 retry false
	// done after 2 attempts, error: <nil>
}
