package nebula

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// account is a loopback instance API holding instances in creation order,
// as the API (and nebulatest) list them. It counts requests by route and
// lets a test step in before a create is answered.
type account struct {
	mu        sync.Mutex
	instances []acctInstance
	next      int
	requests  map[string]int // "GET /computing/instances" -> count
	bodies    []string       // the create bodies received, in order
	// beforeCreate, when set, runs (without the lock) before a create is
	// carried out; returning false answers the create without creating.
	beforeCreate func(name string) bool
	// advance, when set, runs (with the lock) before each list answer.
	advance func(a *account)
}

type acctInstance struct {
	id, name string
	status   InstanceStatus
}

func newAccount(n int) *account {
	a := &account{requests: make(map[string]int)}
	for i := 0; i < n; i++ {
		a.add(fmt.Sprintf("seed-%d", i), StatusRunning)
	}
	return a
}

// add appends an instance and returns its ID. Call it with a.mu held, or
// before the server starts.
func (a *account) add(name string, st InstanceStatus) string {
	a.next++
	id := "i-" + strconv.Itoa(a.next)
	a.instances = append(a.instances, acctInstance{id: id, name: name, status: st})
	return id
}

func (a *account) count(route string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[route]
}

func (a *account) total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, v := range a.requests {
		n += v
	}
	return n
}

func (a *account) named(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, in := range a.instances {
		if in.name == name {
			n++
		}
	}
	return n
}

func (in acctInstance) json() string {
	return instanceJSON(in.id, in.name, string(in.status))
}

func (a *account) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v1")
	route := r.Method + " " + path
	if strings.HasPrefix(path, "/computing/instance/") {
		route = r.Method + " /computing/instance/{id}"
	}
	a.mu.Lock()
	a.requests[route]++
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch route {
	case "GET /computing/products":
		io.WriteString(w, docsProducts)
	case "GET /computing/images":
		io.WriteString(w, docsImages)
	case "GET /computing/instances":
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit == 0 {
			limit = 100
		}
		a.mu.Lock()
		if a.advance != nil {
			a.advance(a)
		}
		var items []string
		for i := offset; i < len(a.instances) && i < offset+limit; i++ {
			items = append(items, a.instances[i].json())
		}
		body := listOf(len(a.instances), items...)
		a.mu.Unlock()
		io.WriteString(w, body)
	case "GET /computing/instance/{id}":
		id := strings.TrimPrefix(path, "/computing/instance/")
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, in := range a.instances {
			if in.id == id {
				io.WriteString(w, `{"data": [`+in.json()+`], "status": "success"}`)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, failedEnvelope("Instance not found"))
	case "POST /computing/instance":
		b, _ := io.ReadAll(r.Body)
		var req struct {
			Name string `json:"instance_name"`
		}
		json.Unmarshal(b, &req)
		a.mu.Lock()
		a.bodies = append(a.bodies, string(b))
		hook := a.beforeCreate
		a.mu.Unlock()
		if hook == nil || hook(req.Name) {
			a.mu.Lock()
			a.add(req.Name, StatusCreating)
			a.mu.Unlock()
		}
		io.WriteString(w, docsInstanceCreated)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, failedEnvelope("no route"))
	}
}

// accountClient starts a loopback server for a and returns a Client of it
// with millisecond polls.
func accountClient(t testing.TB, h http.Handler) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api/v1"), WithRetryWait(time.Millisecond, 5*time.Millisecond), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	fastPolls(c.Instances)
	return c, srv
}

func TestCreateConcurrentSameNameInFlight(t *testing.T) {
	t.Parallel()
	a := newAccount(3)
	posting, release := make(chan struct{}), make(chan struct{})
	a.beforeCreate = func(string) bool {
		close(posting)
		<-release
		return true
	}
	c, _ := accountClient(t, a)
	first := make(chan error, 1)
	go func() {
		_, err := c.Instances.Create(bg, validCreate())
		first <- err
	}()
	<-posting
	sent := a.total()

	// The first Create is in flight: every other Create of the name fails
	// at once and sends nothing; another name is not held up.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Instances.Create(bg, validCreate())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "in flight") {
			t.Errorf("second Create: %v, want ErrConflict (in flight)", err)
		}
	}
	if got := a.total(); got != sent {
		t.Errorf("the refused creates sent %d requests", got-sent)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Create: %v", err)
	}
	if n := a.named("testname"); n != 1 {
		t.Errorf("%d instances named testname, want 1", n)
	}
	// Once it is done, the name is free in the Client again, and the
	// check against the list refuses it.
	if _, err := c.Instances.Create(bg, validCreate()); !errors.Is(err, ErrConflict) || strings.Contains(err.Error(), "in flight") {
		t.Errorf("Create after the first: %v, want ErrConflict from the list", err)
	}
}

func TestCreateConcurrentSameNameRace(t *testing.T) {
	t.Parallel()
	a := newAccount(5)
	c, _ := accountClient(t, a)
	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := c.Instances.Create(bg, validCreate())
			results <- err
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrConflict):
			t.Errorf("Create: %v", err)
		}
	}
	if ok != 1 || a.named("testname") != 1 || a.count("POST /computing/instance") != 1 {
		t.Errorf("%d creates succeeded, %d instances, %d POSTs; want 1 each", ok, a.named("testname"), a.count("POST /computing/instance"))
	}
}

func TestCreateTakesOnlyANewID(t *testing.T) {
	t.Parallel()
	// Another program's instance of the name shows up (say it was being
	// deleted before and is back, or the list drifted): Create does not take
	// an ID it saw active before sending, even with the right name.
	a := newAccount(2)
	a.instances[1].name = "other"
	a.beforeCreate = func(name string) bool {
		a.mu.Lock()
		a.instances[1].name = name // now someone else's is named like ours
		a.mu.Unlock()
		return false // and ours never shows
	}
	c, _ := accountClient(t, a)
	in, err := c.Instances.Create(bg, validCreate())
	var nl *InstanceNotListedError
	if in != nil || !errors.As(err, &nl) || !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrConflict) {
		t.Fatalf("instance %+v, error %v; want *InstanceNotListedError matching ErrOutcomeUnknown", in, err)
	}
	if !strings.Contains(err.Error(), "before") {
		t.Errorf("error %q does not say only an earlier instance has the name", err)
	}
}

func TestCreateFindsTheNewIDAmongOthers(t *testing.T) {
	t.Parallel()
	a := newAccount(250)
	c, _ := accountClient(t, a)
	in, err := c.Instances.Create(bg, validCreate())
	if err != nil || in.Name != "testname" || in.ID != "i-251" {
		t.Fatalf("instance %+v, error %v", in, err)
	}
}

// TestCreateRequests pins Create's cost: one walk of the list before the
// POST, the two catalog reads, the POST, and one look at the end of the list.
func TestCreateRequests(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ instances, lists int }{{10, 1 + 1}, {1000, 10 + 1}, {1049, 11 + 1}} {
		t.Run(strconv.Itoa(tc.instances), func(t *testing.T) {
			t.Parallel()
			a := newAccount(tc.instances)
			c, _ := accountClient(t, a)
			if _, err := c.Instances.Create(bg, validCreate()); err != nil {
				t.Fatal(err)
			}
			if got := a.count("GET /computing/instances"); got != tc.lists {
				t.Errorf("%d list pages, want %d", got, tc.lists)
			}
			if got := a.total(); got != tc.lists+3 {
				t.Errorf("%d requests, want %d", got, tc.lists+3)
			}
		})
	}
}

func TestCreateReadsCatalogBesideTheList(t *testing.T) {
	t.Parallel()
	a := newAccount(1)
	var mu sync.Mutex
	catalog := 0
	both := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/products"), strings.HasSuffix(r.URL.Path, "/images"):
			mu.Lock()
			catalog++
			if catalog == 2 {
				close(both)
			}
			mu.Unlock()
		case strings.HasSuffix(r.URL.Path, "/instances") && a.count("GET /computing/instances") == 0:
			// The first page waits until both catalog reads have arrived:
			// read one after the other, they never would.
			select {
			case <-both:
			case <-time.After(10 * time.Second):
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, failedEnvelope("the catalog was not read beside the list"))
				return
			}
		}
		a.ServeHTTP(w, r)
	})
	c, _ := accountClient(t, h)
	if _, err := c.Instances.Create(bg, validCreate()); err != nil {
		t.Fatal(err)
	}
}

func TestCreateFindsANewInstanceOutsideTheTail(t *testing.T) {
	t.Parallel()
	// An API that lists new instances first: the look at the end misses it,
	// and a walk of the whole list finds it.
	a := newAccount(300)
	a.beforeCreate = func(name string) bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.add(name, StatusCreating)
		last := a.instances[len(a.instances)-1]
		copy(a.instances[1:], a.instances[:len(a.instances)-1])
		a.instances[0] = last
		return false
	}
	c, _ := accountClient(t, a)
	in, err := c.Instances.Create(bg, validCreate())
	if err != nil || in.ID != "i-301" {
		t.Fatalf("instance %+v, error %v", in, err)
	}
	// 3 pages before, the tail (offset 250: 1 page), then 4 pages.
	if got := a.count("GET /computing/instances"); got != 3+1+4 {
		t.Errorf("%d list pages, want 8", got)
	}
}

func TestCreateRedirects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		target   string // "same", "same-again", "other"
		posts    int    // POSTs that reached the second location
		wantErr  error  // nil: success
		notError error
	}{
		{"307 same host", http.StatusTemporaryRedirect, "same", 1, nil, nil},
		{"308 same host", http.StatusPermanentRedirect, "same", 1, nil, nil},
		{"307 then 307", http.StatusTemporaryRedirect, "same-again", 1, errRedirectRefused, ErrOutcomeUnknown},
		{"307 other host", http.StatusTemporaryRedirect, "other", 0, errRedirectRefused, ErrOutcomeUnknown},
		{"303 see other", http.StatusSeeOther, "same", 0, ErrOutcomeUnknown, nil},
		{"302 found", http.StatusFound, "same", 0, errRedirectRefused, nil}, // also ErrOutcomeUnknown: TestFoundAnsweringACreateIsOutcomeUnknown
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAccount(1)
			var mu sync.Mutex
			var moved []string // method and body of each request to /moved
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				moved = append(moved, "other "+r.Method)
				mu.Unlock()
				w.WriteHeader(http.StatusTeapot)
			}))
			defer other.Close()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/v1/computing/instance":
					if r.Method != http.MethodPost {
						break
					}
					a.mu.Lock()
					a.requests["POST first"]++
					a.mu.Unlock()
					loc := "/api/v1/moved"
					if tc.target == "other" {
						loc = other.URL + "/api/v1/moved"
					}
					w.Header().Set("Location", loc)
					w.WriteHeader(tc.status)
					return
				case "/api/v1/moved":
					b, _ := io.ReadAll(r.Body)
					mu.Lock()
					moved = append(moved, r.Method+" "+string(b))
					mu.Unlock()
					if tc.target == "same-again" {
						w.Header().Set("Location", "/api/v1/moved")
						w.WriteHeader(tc.status)
						return
					}
					r.URL.Path = "/api/v1/computing/instance"
					r.Body = io.NopCloser(strings.NewReader(string(b)))
				}
				a.ServeHTTP(w, r)
			})
			c, _ := accountClient(t, h)
			in, err := c.Instances.Create(bg, validCreate())
			if tc.wantErr == nil {
				if err != nil || in == nil || in.Name != "testname" {
					t.Fatalf("instance %+v, error %v", in, err)
				}
			} else if tc.wantErr == errRedirectRefused {
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.HTTPStatus != tc.status || errors.Is(err, tc.notError) || !strings.Contains(err.Error(), "redirect not followed") {
					t.Fatalf("error %v, want the %d as an *APIError, not %v", err, tc.status, tc.notError)
				}
			} else if !errors.Is(err, tc.wantErr) || (tc.notError != nil && errors.Is(err, tc.notError)) {
				t.Fatalf("error %v, want %v and not %v", err, tc.wantErr, tc.notError)
			}
			mu.Lock()
			defer mu.Unlock()
			posts := 0
			for _, m := range moved {
				if strings.HasPrefix(m, "POST {") && strings.Contains(m, `"instance_name":"testname"`) {
					posts++
				} else if m != "" {
					t.Errorf("the redirect target got %q", m)
				}
			}
			if posts != tc.posts || a.count("POST first") != 1 {
				t.Errorf("%d POSTs with the body at the target, %d at the first; want %d and 1", posts, a.count("POST first"), tc.posts)
			}
		})
	}
}

// errRedirectRefused stands for "the redirect comes back as an *APIError".
var errRedirectRefused = errors.New("redirect refused")

// hostile is a list server that misbehaves in a scripted way.
func hostileClient(t *testing.T, page func(limit, offset, call int) string) (*Client, func() int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/computing/instances"):
			limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
			offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			io.WriteString(w, page(limit, offset, n))
		case strings.HasSuffix(r.URL.Path, "/products"):
			io.WriteString(w, docsProducts)
		case strings.HasSuffix(r.URL.Path, "/images"):
			io.WriteString(w, docsImages)
		default:
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, failedEnvelope("not here"))
		}
	})
	c, _ := accountClient(t, h)
	return c, func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
}

// items are n instance objects with IDs from first on.
func items(first, n int, name func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		nm := "seed"
		if name != nil {
			nm = name(first + i)
		}
		out[i] = instanceJSON("i-"+strconv.Itoa(first+i), nm, "Running")
	}
	return out
}

func TestHostilePages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		page  func(limit, offset, call int) string
		calls int // list requests before the walk gives up
	}{
		{"ignores offset, no total", func(limit, _, _ int) string {
			return listOf(-1, items(0, limit, nil)...)
		}, 2},
		{"ignores offset, with a total", func(limit, _, _ int) string {
			return listOf(1000, items(0, limit, nil)...)
		}, 2},
		{"repeats an earlier page", func(limit, offset, _ int) string {
			if offset >= 2*limit {
				offset = 0 // page 3 is page 1 again
			}
			return listOf(-1, items(offset, limit, nil)...)
		}, 3},
		{"repeats in another order", func(limit, offset, _ int) string {
			its := items(0, limit, nil)
			if offset > 0 {
				slicesReverse(its)
			}
			return listOf(-1, its...)
		}, 2},
		{"total smaller than the items", func(limit, offset, _ int) string {
			return listOf(5, items(offset, 10, nil)...)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, calls := hostileClient(t, tc.page)
			n := 0
			var last error
			for _, err := range c.Instances.All(bg) {
				n++
				last = err
				if n > 100000 {
					t.Fatal("All does not end")
				}
			}
			if !errors.Is(last, ErrUnexpectedResponse) || !strings.Contains(last.Error(), "Instances.All") {
				t.Errorf("All ended with %v, want ErrUnexpectedResponse naming Instances.All", last)
			}
			if calls() != tc.calls {
				t.Errorf("All: %d list requests, want %d", calls(), tc.calls)
			}
			if _, err := c.Instances.Lookup(bg, "seed"); !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), "Instances.Lookup") {
				t.Errorf("Lookup: %v", err)
			}
			before := calls()
			if _, err := c.Instances.Create(bg, validCreate()); !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), "Instances.Create") {
				t.Errorf("Create: %v", err)
			}
			if calls()-before != tc.calls {
				t.Errorf("Create: %d list requests, want %d", calls()-before, tc.calls)
			}
		})
	}
}

func slicesReverse(s []string) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func TestShiftingListCountsByID(t *testing.T) {
	t.Parallel()
	// Page 2 starts with the last instance of page 1: an instance created at
	// the head moved everything down by one. It is one instance.
	name := func(i int) string {
		if i == 99 {
			return "web"
		}
		return "seed-" + strconv.Itoa(i)
	}
	c, _ := hostileClient(t, func(limit, offset, _ int) string {
		if offset == 0 {
			return listOf(150, items(0, 100, name)...)
		}
		return listOf(151, items(99, 51, name)...)
	})
	in, err := c.Instances.Lookup(bg, "web")
	if err != nil || in.ID != "i-99" {
		t.Fatalf("Lookup: %+v, %v", in, err)
	}
	seen := map[ID]int{}
	for in, err := range c.Instances.All(bg) {
		if err != nil {
			t.Fatal(err)
		}
		seen[in.ID]++
	}
	if len(seen) != 150 || seen["i-99"] != 1 {
		t.Errorf("All yielded %d instances, i-99 %d times", len(seen), seen["i-99"])
	}
	if _, err := c.Instances.Create(bg, CreateInstanceRequest{Name: "web", ProductID: "p", ImageID: "i", SSHKeyID: "1"}); !errors.Is(err, ErrConflict) {
		t.Errorf("Create of the name: %v, want ErrConflict", err)
	}
}

func TestWaitAllOneWalkPerRound(t *testing.T) {
	t.Parallel()
	a := newAccount(0)
	var ids []ID
	for i := range 50 {
		ids = append(ids, ID(a.add("node-"+strconv.Itoa(i), StatusCreating)))
	}
	for i := range 120 {
		a.add("other-"+strconv.Itoa(i), StatusRunning)
	}
	rounds := 0
	a.advance = func(a *account) {
		rounds++
		if rounds == 5 { // two pages a round: the third round sees them all running
			for i := range 50 {
				a.instances[i].status = StatusRunning
			}
		}
	}
	c, _ := accountClient(t, a)
	var progress []string
	got, err := c.Instances.WaitAll(bg, append(ids, ids[0]), StatusRunning, WithProgress(func(in Instance) {
		progress = append(progress, string(in.ID)+" "+string(in.Status))
	}))
	if err != nil || len(got) != 50 {
		t.Fatalf("%d instances, error %v", len(got), err)
	}
	// Three rounds of two pages each (170 instances), and not one Get.
	if lists, gets := a.count("GET /computing/instances"), a.count("GET /computing/instance/{id}"); lists != 6 || gets != 0 {
		t.Errorf("%d list pages and %d Gets, want 6 and 0", lists, gets)
	}
	if len(progress) != 100 {
		t.Errorf("%d progress reports, want 100 (Creating and Running of each)", len(progress))
	}
}

func TestWaitAllErrors(t *testing.T) {
	t.Parallel()
	a := newAccount(3)
	a.instances[1].status = StatusError
	c, _ := accountClient(t, a)
	for _, ids := range [][]ID{{"i-1", ""}, {"i-1", ".."}} {
		if _, err := c.Instances.WaitAll(bg, ids, StatusRunning); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("WaitAll(%q): %v", ids, err)
		}
	}
	if _, err := c.Instances.WaitAll(bg, []ID{"i-1"}, "Runing"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a misspelt status: %v", err)
	}
	if a.total() != 0 {
		t.Errorf("bad input sent %d requests", a.total())
	}
	_, err := c.Instances.WaitAll(bg, []ID{"i-1", "i-2", "i-3"}, StatusRunning)
	var se *InstanceStatusError
	if !errors.As(err, &se) || se.ID != "i-2" || se.Status != StatusError {
		t.Errorf("error %v, want an *InstanceStatusError for i-2", err)
	}
	// An instance the list does not show costs a Get: here it is unknown.
	_, err = c.Instances.WaitAll(bg, []ID{"i-1", "i-9"}, StatusRunning)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "i-9") || a.count("GET /computing/instance/{id}") != 1 {
		t.Errorf("error %v after %d Gets", err, a.count("GET /computing/instance/{id}"))
	}
	// Waiting for deletion: instances the list no longer shows are gone.
	got, err := c.Instances.WaitAll(bg, []ID{"i-7", "i-8"}, StatusDeleted)
	if err != nil || got != nil {
		t.Errorf("WaitAll(Deleted): %v, %v; want nil, nil", got, err)
	}
	ctx, cancel := context.WithCancel(bg)
	a.mu.Lock()
	a.advance = func(*account) { cancel() }
	a.mu.Unlock()
	_, err = c.Instances.WaitAll(ctx, []ID{"i-1"}, StatusStopped)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "i-1") {
		t.Errorf("context ended: %v", err)
	}
}

func TestWaitProgressAndCallPolling(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	// The Client polls hourly; this call every millisecond.
	e.client.Instances.waitMin, e.client.Instances.waitMax = time.Hour, time.Hour
	statusSequence(e, nil, "Creating", "Creating", "Starting", "Starting", "Running")
	var seen []InstanceStatus
	in, err := e.client.Instances.Wait(bg, "5", StatusRunning,
		WithCallPolling(time.Millisecond, time.Millisecond),
		WithProgress(func(in Instance) { seen = append(seen, in.Status) }))
	if err != nil || in.Status != StatusRunning {
		t.Fatalf("instance %+v, error %v", in, err)
	}
	if fmt.Sprint(seen) != "[Creating Starting Running]" {
		t.Errorf("progress %v, want each change once", seen)
	}
	if _, err := e.client.Instances.Wait(bg, "5", StatusRunning, WithProgress(nil)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("WithProgress(nil): %v", err)
	}
}

func TestWaitFunc(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	statusSequence(e, nil, "Creating", "Running")
	boom := errors.New("boom")
	in, err := e.client.Instances.WaitFunc(bg, "5", func(in *Instance) (bool, error) {
		if in.Status.Is(StatusRunning) {
			return false, boom
		}
		return false, nil
	})
	if !errors.Is(err, boom) || in == nil || in.Status != StatusRunning {
		t.Errorf("instance %+v, error %v", in, err)
	}
	if _, err := e.client.Instances.WaitFunc(bg, "5", nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil condition: %v", err)
	}
}

func TestCreateReportsProgress(t *testing.T) {
	t.Parallel()
	a := newAccount(2)
	c, _ := accountClient(t, a)
	var seen []string
	in, err := c.Instances.Create(bg, validCreate(), WithProgress(func(in Instance) { seen = append(seen, string(in.ID)+" "+string(in.Status)) }))
	if err != nil || fmt.Sprint(seen) != "[i-3 Creating]" || in.ID != "i-3" {
		t.Errorf("instance %+v, error %v, progress %v", in, err, seen)
	}
}

func TestAllDeleted(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("GET", "/computing/deleted-instances", ok(docsInstanceDeletedList))
	var got []Instance
	for in, err := range e.client.Instances.AllDeleted(bg) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, in)
	}
	if len(got) != 1 || got[0].ID != "102cade84ea-e703-4400-b77d-8ed545d198ee" {
		t.Errorf("got %+v", got)
	}
}

func TestInstanceNotListedMatchesOutcomeUnknown(t *testing.T) {
	t.Parallel()
	err := error(&InstanceNotListedError{Name: "x", Err: ErrNotFound})
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Errorf("%v", err)
	}
}

func TestSeeOtherAnsweringACreateIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var requests []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Location", "/api/v1/elsewhere")
		w.WriteHeader(http.StatusSeeOther)
	})
	c, _ := accountClient(t, h)
	_, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "k"})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("APIKeys.Create answered 303: %v, want ErrOutcomeUnknown", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 1 || requests[0] != "POST /api/v1/api-keys" {
		t.Errorf("requests %q, want the one POST", requests)
	}
}
