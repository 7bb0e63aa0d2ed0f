package nebula_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
)

// instanceAPI is a tiny stand-in for the instance routes of the API, so that
// the examples run. A new instance is "Creating" until its detail is first
// asked for, and "Running" from then on. With loseNextCreate, the next
// create is carried out but answered with a 502, as a proxy does when the
// API is slow; with dropNextCreate, it is answered with a 502 and not
// carried out.
type instanceAPI struct {
	mu             sync.Mutex
	next           int
	instances      []map[string]any
	loseNextCreate bool
	dropNextCreate bool
}

func newInstanceAPI() (*httptest.Server, *instanceAPI) {
	api := &instanceAPI{next: 100}
	return httptest.NewServer(http.StripPrefix("/api/v1", api)), api
}

func (a *instanceAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	reply := func(code int, data any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		env := map[string]any{"status": "success", "message": "ok"}
		if data != nil {
			env["data"] = data
		}
		json.NewEncoder(w).Encode(env)
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/computing/instance/"), "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/computing/instances":
		reply(200, a.instances)
	case r.URL.Path == "/computing/products" || r.URL.Path == "/computing/images":
		reply(200, map[string]any{}) // an empty catalog: Create leaves the pair to the API
	case r.Method == http.MethodPost && r.URL.Path == "/computing/instance":
		var body struct {
			Name string `json:"instance_name"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if a.dropNextCreate {
			a.dropNextCreate = false
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
			return
		}
		a.next++
		a.instances = append(a.instances, map[string]any{
			"id": fmt.Sprint(a.next), "host_name": body.Name, "status": "Creating",
			"region": "CANADA", "gpu_type": "RTX-A6000", "gpu_count": 1, "price_per_hour": 0.679,
		})
		if a.loseNextCreate {
			a.loseNextCreate = false
			http.Error(w, "Bad Gateway", http.StatusBadGateway)
			return
		}
		reply(200, nil)
	default:
		for i, in := range a.instances {
			if in["id"] != id {
				continue
			}
			switch {
			case r.Method == http.MethodDelete:
				a.instances = append(a.instances[:i], a.instances[i+1:]...)
			case action == "stop":
				in["status"] = "Stopped"
			case action == "start":
				in["status"] = "Running"
			case action == "" && in["status"] == "Creating":
				in["status"] = "Running"
				fallthrough
			case action == "":
				reply(200, []any{in})
				return
			}
			reply(200, nil)
			return
		}
		reply(404, nil)
	}
}

func ExampleInstancesService_Create() {
	srv, _ := newInstanceAPI()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// The product and the image must come from the same region and data
	// center: pick both from Client.Compute (Products, Images) first; the
	// API refuses a mismatched pair with ErrBadRequest.
	in, err := client.Instances.Create(ctx, nebula.CreateInstanceRequest{
		Name:      "trainer-1",
		ProductID: "fcp66d566c43a9501001256",
		ImageID:   "fcp66d566c93a95010012",
		SSHKeyID:  "2",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.ID, in.Name, in.Status)

	// Creating the same name again is refused before anything is sent.
	_, err = client.Instances.Create(ctx, nebula.CreateInstanceRequest{
		Name: "trainer-1", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
	})
	fmt.Println(errors.Is(err, nebula.ErrConflict))
	// Output:
	// 101 trainer-1 Creating
	// true
}

func ExampleInstancesService_Wait() {
	srv, _ := newInstanceAPI()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	in, err := client.Instances.Create(ctx, nebula.CreateInstanceRequest{
		Name: "trainer-1", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
	})
	if err != nil {
		log.Fatal(err)
	}

	// Bound the wait: a GPU instance usually boots in minutes.
	waitCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	in, err = client.Instances.Wait(waitCtx, in.ID, nebula.StatusRunning)
	var bad *nebula.InstanceStatusError
	switch {
	case errors.As(err, &bad):
		log.Fatalf("instance %s ended up %s", in.ID, bad.Status) // e.g. "Error": delete it
	case err != nil:
		log.Fatal(err) // the context ended, or Get failed
	}
	fmt.Println(in.Name, in.Status, in.PricePerHour)
	// Output: trainer-1 Running 0.679
}

// Create never sends a create twice. When its answer is lost, Create looks
// for the instance itself (see the Create example below); when it cannot
// find it, the outcome is unknown, and Lookup tells whether the instance
// exists before you try again.
func ExampleInstancesService_Lookup() {
	srv, api := newInstanceAPI()
	defer srv.Close()
	api.dropNextCreate = true
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"),
		nebula.WithPolling(10*time.Millisecond, 20*time.Millisecond)) // a fake: no need to spare a rate limit
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	req := nebula.CreateInstanceRequest{
		Name: "trainer-1", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
	}

	in, err := client.Instances.Create(ctx, req)
	var notListed *nebula.InstanceNotListedError
	if errors.Is(err, nebula.ErrOutcomeUnknown) || errors.As(err, &notListed) {
		fmt.Println("outcome unknown, looking it up")
		in, err = client.Instances.Lookup(ctx, req.Name)
		if errors.Is(err, nebula.ErrNotFound) {
			// Not created: creating it again is safe.
			in, err = client.Instances.Create(ctx, req)
		}
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.ID, in.Name)
	// Output:
	// outcome unknown, looking it up
	// 101 trainer-1
}

// A create whose answer was lost (here a 502 from a proxy, after the API
// had acted) is not an error when Create finds the new instance in the
// list: Create returns it, as after a success. The create is still sent once.
func ExampleInstancesService_Create_answerLost() {
	srv, api := newInstanceAPI()
	defer srv.Close()
	api.loseNextCreate = true
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"),
		nebula.WithPolling(10*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	in, err := client.Instances.Create(context.Background(), nebula.CreateInstanceRequest{
		Name: "trainer-1", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.ID, in.Name, in.Status)
	// Output: 101 trainer-1 Creating
}

func ExampleInstancesService_All() {
	srv, _ := newInstanceAPI()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := client.Instances.Create(ctx, nebula.CreateInstanceRequest{
			Name: name, ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
		}); err != nil {
			log.Fatal(err)
		}
	}

	for in, err := range client.Instances.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(in.ID, in.Name, in.Status)
	}
	// Output:
	// 101 a Creating
	// 102 b Creating
}

func ExampleInstancesService_Delete() {
	srv, _ := newInstanceAPI()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	in, err := client.Instances.Create(ctx, nebula.CreateInstanceRequest{
		Name: "scratch", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
	})
	if err != nil {
		log.Fatal(err)
	}

	// Stop shuts it down; Delete removes it for good (it then shows in
	// ListDeleted).
	if err := client.Instances.Stop(ctx, in.ID); err != nil {
		log.Fatal(err)
	}
	if err := client.Instances.Delete(ctx, in.ID); err != nil {
		log.Fatal(err)
	}
	_, err = client.Instances.Lookup(ctx, "scratch")
	fmt.Println(errors.Is(err, nebula.ErrNotFound))
	// Output: true
}

// WithProgress reports each status an instance goes through, the first one
// included: Create reports the instance it found, Wait each change it sees.
func ExampleInstancesService_Wait_progress() {
	srv, _ := newInstanceAPI()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	progress := nebula.WithProgress(func(in nebula.Instance) {
		fmt.Println(in.Name, "is", in.Status)
	})
	in, err := client.Instances.Create(ctx, nebula.CreateInstanceRequest{
		Name: "trainer-1", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
	}, progress)
	if err != nil {
		log.Fatal(err)
	}
	// Poll this wait every 5 s to 30 s, whatever the Client's WithPolling.
	if _, err := client.Instances.Wait(ctx, in.ID, nebula.StatusRunning, progress, nebula.WithCallPolling(5*time.Second, 30*time.Second)); err != nil {
		log.Fatal(err)
	}
	// Output:
	// trainer-1 is Creating
	// trainer-1 is Running
}

// WaitAll waits for a whole cluster with one walk of the instance list per
// round, however many instances it waits for.
func ExampleInstancesService_WaitAll() {
	srv, _ := newInstanceAPI()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var ids []nebula.ID
	for _, name := range []string{"node-a", "node-b", "node-c"} {
		in, err := client.Instances.Create(ctx, nebula.CreateInstanceRequest{
			Name: name, ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: "2",
		})
		if err != nil {
			log.Fatal(err)
		}
		if err := client.Instances.Stop(ctx, in.ID); err != nil {
			log.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	stopped, err := client.Instances.WaitAll(ctx, ids, nebula.StatusStopped,
		nebula.WithProgress(func(in nebula.Instance) { fmt.Println(in.Name, "is", in.Status) }))
	var bad *nebula.InstanceStatusError
	switch {
	case errors.As(err, &bad):
		log.Fatalf("instance %s is %s", bad.ID, bad.Status)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(len(stopped), "stopped")
	// Output:
	// node-a is Stopped
	// node-b is Stopped
	// node-c is Stopped
	// 3 stopped
}
