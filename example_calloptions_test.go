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
