package checkproxy_test

import (
	"fmt"
	"net/http"

	"github.com/nebula-sdk/nebula-go/internal/checkproxy"
)

// A Checker reads one answer of the API as the proxy does: a status the
// contract does not know is drift, and a count sent as a string is not.
func ExampleChecker() {
	ch := checkproxy.NewChecker(func(format string, args ...any) { fmt.Printf(format+"\n", args...) })
	ch.Check(&checkproxy.Exchange{
		Method: "GET", Path: "/computing/instances", Status: 200, Header: http.Header{},
		Body: []byte(`{"data":[{"id":7,"host_name":"vm","status":"Provisioning","cpu_cores":"28"}],"message":"ok","status":"success","total_instance":1}`),
	})
	for _, d := range ch.Report() {
		fmt.Println(d.Route, d.Field, d.Seen, d.Count)
	}
	// Output:
	// drift: GET /computing/instances: data[].status: seen "Provisioning", expected one of Creating, Starting, Running, Stopping, Stopped, Rebooting, Deleting, Deleted, Error
	// GET /computing/instances data[].status "Provisioning" 1
}
