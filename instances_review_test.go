package nebula

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"time"
)

// h2RedirectServer is an HTTP/2 loopback for a create that is redirected.
// It answers every request without a body (the reads Create makes first)
// with an empty list, the first request with a body with a 307 to
// /api/v1/moved, and resets the stream of every later one with
// PROTOCOL_ERROR once it has arrived whole: a reset after which Go's
// HTTP/2 transport replays a request that has GetBody.
type h2RedirectServer struct {
	*h2Loopback
	posts atomic.Int64  // requests with a body that arrived whole
	third chan struct{} // closed when a third one arrives
}

func newH2RedirectServer(t *testing.T) *h2RedirectServer {
	t.Helper()
	s := &h2RedirectServer{third: make(chan struct{})}
	const endHeaders = 0x4
	s.h2Loopback = newH2Loopback(t, func(f h2Frame, write func(typ, flags byte, stream uint32, payload []byte)) {
		switch {
		case f.typ == h2FrameHeaders && f.flags&h2FlagEndStream != 0:
			// A read: an empty list (and an empty catalog, which Create
			// leaves to the API to judge).
			write(h2FrameHeaders, endHeaders, f.stream, []byte{0x88}) // :status 200
			write(h2FrameData, h2FlagEndStream, f.stream, []byte(`{"data": [], "total_instance": 0, "status": "success"}`))
		case f.typ == h2FrameData && f.flags&h2FlagEndStream != 0:
			switch s.posts.Add(1) {
			case 1:
				hdr := append(hpackLiteral(8, "307"), hpackLiteral(46, "/api/v1/moved")...)
				write(h2FrameHeaders, endHeaders|h2FlagEndStream, f.stream, hdr)
			case 3:
				close(s.third)
				fallthrough
			default:
				// The redirected create arrived whole: the API may
				// have acted on it.
				write(h2FrameRST, 0, f.stream, binary.BigEndian.AppendUint32(nil, h2ProtocolError))
			}
		}
	})
	return s
}

// hpackLiteral is a header field without indexing, its name given by the
// static table's index, its value not Huffman-coded.
func hpackLiteral(nameIndex int, value string) []byte {
	var b []byte
	if nameIndex < 15 {
		b = append(b, byte(nameIndex))
	} else {
		b = append(b, 0x0f, byte(nameIndex-15))
	}
	return append(append(b, byte(len(value))), value...)
}

// A create redirected by a 307 reaches the API on its second hop; a
// stream reset there must not make the HTTP/2 transport send it again.
// The request of that hop used to carry GetBody, which the transport
// replays with.
func TestCreateRedirectedNotReplayedByHTTP2AfterStreamReset(t *testing.T) {
	t.Parallel()
	s := newH2RedirectServer(t)
	c, err := NewClient(WithToken(testToken), WithBaseURL("https://"+s.addr+"/api/v1"),
		WithHTTPClient(s.client), WithRetryWait(time.Millisecond, 2*time.Millisecond), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	fastPolls(c.Instances)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	go func() {
		select {
		case <-s.third: // a replay: stop the transport's backoff at once
			cancel()
		case <-ctx.Done():
		}
	}()
	in, err := c.Instances.Create(ctx, validCreate())
	if in != nil || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("instance %v, err %v", in, err)
	}
	if n := s.posts.Load(); n != 2 {
		t.Fatalf("the create reached the server %d times, want 2 (the 307, then the redirected one)", n)
	}
}

// An ID the list does not show costs a Get, and the detail may write the
// ID otherwise (here the API matches IDs ignoring case and answers with
// its own spelling). WaitAll kept waiting for the ID as asked, which no
// answer ever carried, until the context ended.
func TestWaitAllKeysTheDetailByTheIDAskedFor(t *testing.T) {
	t.Parallel()
	a := newAccount(2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.Replace(r.URL.Path, "/computing/instance/I-", "/computing/instance/i-", 1)
		a.ServeHTTP(w, r)
	})
	c, _ := accountClient(t, h)
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	got, err := c.Instances.WaitAll(ctx, []ID{"I-2", "i-1"}, StatusRunning)
	if err != nil || len(got) != 2 {
		t.Fatalf("%d instances, error %v", len(got), err)
	}
	if n := a.count("GET /computing/instance/{id}"); n != 1 {
		t.Errorf("%d Gets, want 1", n)
	}
}

// WaitAll of no instance has nothing to wait for: it sends nothing.
func TestWaitAllOfNothingSendsNothing(t *testing.T) {
	t.Parallel()
	a := newAccount(2)
	c, _ := accountClient(t, a)
	got, err := c.Instances.WaitAll(bg, nil, StatusRunning)
	if err != nil || len(got) != 0 {
		t.Fatalf("%v, %v", got, err)
	}
	if n := a.total(); n != 0 {
		t.Errorf("%d requests", n)
	}
}

// cancelAfterList cancels once an Instances.List call has succeeded.
type cancelAfterList struct{ cancel context.CancelFunc }

func (o cancelAfterList) CallStart(ctx context.Context, _ CallInfo) context.Context { return ctx }
func (o cancelAfterList) AttemptDone(context.Context, CallInfo, AttemptInfo)        {}
func (o cancelAfterList) CallDone(_ context.Context, info CallInfo, res CallResult) {
	if info.Service == "Instances" && info.Operation == "List" && res.Err == nil {
		o.cancel()
	}
}

// The caller gives up while Create reads the catalog, after its walk of
// the list succeeded: the error names the call and says nothing was
// created, as every other error of Create's checks does. It used to be
// the bare context.Canceled.
func TestCreateCancelledDuringTheCatalogCheckNamesTheCall(t *testing.T) {
	t.Parallel()
	a := newAccount(1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/computing/products") {
			<-r.Context().Done() // the catalog never answers
			return
		}
		a.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL+"/api/v1"), withEnv(nil), WithObserver(cancelAfterList{cancel}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Instances.Create(ctx, validCreate())
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) || !strings.HasPrefix(err.Error(), "nebula: Instances.Create") {
		t.Fatalf("error %v", err)
	}
	if n := a.count("POST /computing/instance"); n != 0 {
		t.Fatalf("%d creates sent", n)
	}
}

// An API that does not list in creation order puts this call's instance
// first, and another program's instance of the same name, made at the
// same time, last: the look at the end of the list sees only the other
// one. That it is not the whole story shows in the total (two more
// instances than before, one new in the tail): Create walks the whole
// list, sees both, and does not hand back someone else's instance as its
// own. It used to return the other program's.
func TestCreateDoesNotTakeAnotherProgramsInstanceFromTheTail(t *testing.T) {
	t.Parallel()
	a := newAccount(300)
	a.beforeCreate = func(name string) bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		ours := a.add(name, StatusCreating)
		a.instances = append([]acctInstance{a.instances[len(a.instances)-1]}, a.instances[:len(a.instances)-1]...)
		a.add(name, StatusCreating) // the other program's, listed last
		if a.instances[0].id != ours {
			panic("ours is not first")
		}
		return false
	}
	c, _ := accountClient(t, a)
	in, err := c.Instances.Create(bg, validCreate())
	var nl *InstanceNotListedError
	if in != nil || !errors.As(err, &nl) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("instance %+v, error %v; want *InstanceNotListedError (two new instances have the name)", in, err)
	}
}

// In creation order, instances other programs create meanwhile are in
// the tail too: the total matches what the tail shows, and Create does
// not walk the whole list.
func TestCreateTrustsTheTailWhenItHoldsEveryNewInstance(t *testing.T) {
	t.Parallel()
	a := newAccount(300)
	a.beforeCreate = func(name string) bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.add("other-1", StatusCreating)
		a.add(name, StatusCreating)
		a.add("other-2", StatusCreating)
		return false
	}
	c, _ := accountClient(t, a)
	in, err := c.Instances.Create(bg, validCreate())
	if err != nil || in.ID != "i-302" {
		t.Fatalf("instance %+v, error %v", in, err)
	}
	// 3 pages before, then the tail (offset 250: 1 page).
	if got := a.count("GET /computing/instances"); got != 3+1 {
		t.Errorf("%d list pages, want 4", got)
	}
}

// A WithProgress callback that panics ends Create, and the name is no
// longer in flight: the next Create of it is judged by the list (the
// instance exists: ErrConflict from the name check), not refused as
// concurrent. The same for a Create whose context ended.
func TestCreateReleasesTheNameOnEveryExit(t *testing.T) {
	t.Parallel()
	a := newAccount(1)
	c, _ := accountClient(t, a)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		c.Instances.Create(bg, validCreate(), WithProgress(func(Instance) { panic("boom") }))
	}()
	_, err := c.Instances.Create(bg, validCreate())
	if !errors.Is(err, ErrConflict) || strings.Contains(err.Error(), "in flight") {
		t.Fatalf("after a panic: %v", err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	req := validCreate()
	req.Name = "second"
	if _, err := c.Instances.Create(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := c.Instances.Create(bg, req); err != nil {
		t.Fatalf("after a cancelled Create: %v", err)
	}
	if n := a.named("second"); n != 1 {
		t.Fatalf("%d instances named second", n)
	}
}

// Every error of the Instances calls starts with "nebula: " and names its
// call as Service.Method, as the contract asks of every error: refusals
// before sending and dead ends of the waits included.
func TestInstancesErrorsNameTheCall(t *testing.T) {
	t.Parallel()
	a := newAccount(2)
	a.instances[1].status = StatusError
	c, _ := accountClient(t, a)
	bad := validCreate()
	bad.Name = " "
	noProduct := validCreate()
	noProduct.ProductID = ""
	cases := []struct {
		name string
		call func() error
	}{
		{"Instances.Create", func() error { _, err := c.Instances.Create(bg, bad); return err }},
		{"Instances.Create", func() error { _, err := c.Instances.Create(bg, noProduct); return err }},
		{"Instances.Lookup", func() error { _, err := c.Instances.Lookup(bg, "a\nb"); return err }},
		{"Instances.Get", func() error { _, err := c.Instances.Get(bg, ".."); return err }},
		{"Instances.Start", func() error { return c.Instances.Start(bg, "") }},
		{"Instances.Delete", func() error { return c.Instances.Delete(bg, "a/b") }},
		{"Instances.List", func() error { _, err := c.Instances.List(bg, ListOptions{Limit: -1}); return err }},
		{"Instances.Wait", func() error { _, err := c.Instances.Wait(bg, "", StatusRunning); return err }},
		{"Instances.Wait", func() error { _, err := c.Instances.Wait(bg, "i-2", StatusRunning); return err }},
		{"Instances.WaitFunc", func() error {
			_, err := c.Instances.WaitFunc(bg, "..", func(*Instance) (bool, error) { return true, nil })
			return err
		}},
		{"Instances.WaitAll", func() error { _, err := c.Instances.WaitAll(bg, []ID{"i-1", "a/b"}, StatusRunning); return err }},
		{"Instances.WaitAll", func() error { _, err := c.Instances.WaitAll(bg, []ID{"i-1", "i-2"}, StatusRunning); return err }},
	}
	for _, tc := range cases {
		err := tc.call()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "nebula: ") || !strings.Contains(msg, tc.name+":") {
			t.Errorf("%s: %q", tc.name, msg)
		}
	}
}

// ImagesFor's refusals name ImagesFor, not the Images call it makes.
func TestImagesForErrorsNameTheCall(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	p := Product{ID: "x", Region: "CANADA"}
	var nilCtx context.Context
	for _, err := range []error{
		func() error { _, err := e.client.Compute.ImagesFor(nilCtx, p); return err }(),
		func() error { _, err := e.client.Compute.ImagesFor(bg, p, WithCallTimeout(-1)); return err }(),
	} {
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "Compute.ImagesFor:") {
			t.Errorf("%v", err)
		}
	}
}

// WithCallPolling sets how often Create looks for its instance, not for
// how long: polling faster than the default still looks for as long as
// the default schedule does. Create looked a fixed number of times, so a
// faster interval gave up sooner.
func TestCreateCallPollingKeepsTheLookTime(t *testing.T) {
	t.Parallel()
	a := newAccount(2)
	lists := 0
	a.beforeCreate = func(string) bool { return false } // not listed yet
	a.advance = func(a *account) {
		lists++
		if lists == 1+10 { // the survey, then the tenth look
			a.add("testname", StatusCreating)
		}
	}
	c, _ := accountClient(t, a)
	// The default schedule: 3 looks, 20 ms apart (40 ms of waits).
	c.Instances.createPoll, c.Instances.createPollMax, c.Instances.createPollTries = 20*time.Millisecond, 20*time.Millisecond, 3
	in, err := c.Instances.Create(bg, validCreate(), WithCallPolling(time.Millisecond, time.Millisecond))
	if err != nil || in.Name != "testname" {
		t.Fatalf("instance %+v, error %v", in, err)
	}
}

// A 301 or 302 answering a create is not followed, and says nothing about
// whether the server acted: a 302 after a POST is the common
// Post/Redirect/Get answer of a server that did. It is ErrOutcomeUnknown
// (still the *APIError with the status), so that a caller Lookups before
// creating again; it used to be a plain *APIError, which reads as refused.
func TestFoundAnsweringACreateIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound} {
		a := newAccount(1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				a.mu.Lock()
				a.requests["POST"]++
				a.mu.Unlock()
				w.Header().Set("Location", "/api/v1/elsewhere")
				w.WriteHeader(code)
				return
			}
			a.ServeHTTP(w, r)
		})
		c, _ := accountClient(t, h)
		_, err := c.Instances.Create(bg, validCreate())
		var apiErr *APIError
		if !errors.Is(err, ErrOutcomeUnknown) || !errors.As(err, &apiErr) || apiErr.HTTPStatus != code {
			t.Errorf("Instances.Create answered %d: %v, want ErrOutcomeUnknown and the *APIError", code, err)
		}
		if _, err := c.APIKeys.Create(bg, CreateAPIKeyRequest{Name: "k"}); !errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("APIKeys.Create answered %d: %v, want ErrOutcomeUnknown", code, err)
		}
		if n := a.count("POST"); n != 2 {
			t.Errorf("%d: %d POSTs, want one per create", code, n)
		}
	}
}

// A reused WithResponseInto never shows an earlier call's metadata when an
// Instances call is refused before sending.
func TestInstancesRefusalZeroesReusedResponse(t *testing.T) {
	t.Parallel()
	e := newInstancesEnv(t)
	e.mock.RegisterResponder("GET", testBase+"/computing/instance/5", httpmock.NewStringResponder(200, detailOf("5", "Running")))
	var resp Response
	into := WithResponseInto(&resp)
	refusals := map[string]func() error{
		"Get":     func() error { _, err := e.client.Instances.Get(bg, "", into); return err },
		"Create":  func() error { _, err := e.client.Instances.Create(bg, CreateInstanceRequest{}, into); return err },
		"Lookup":  func() error { _, err := e.client.Instances.Lookup(bg, " ", into); return err },
		"Wait":    func() error { _, err := e.client.Instances.Wait(bg, "5", "Runing", into); return err },
		"WaitAll": func() error { _, err := e.client.Instances.WaitAll(bg, []ID{""}, StatusRunning, into); return err },
		"Delete":  func() error { return e.client.Instances.Delete(bg, "..", into) },
		"List":    func() error { _, err := e.client.Instances.List(bg, ListOptions{Limit: -1}, into); return err },
	}
	for name, refuse := range refusals {
		if _, err := e.client.Instances.Get(bg, "5", into); err != nil || resp.StatusCode != 200 || resp.Attempts != 1 {
			t.Fatalf("Get: %v, %+v", err, resp)
		}
		if err := refuse(); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.StatusCode != 0 || resp.Attempts != 0 || resp.Header != nil {
			t.Errorf("%s refused, but the Response shows %+v", name, resp)
		}
	}
}

// The checks Instances.Create makes before and after its POST (catalog,
// list, the walk that finds the new instance) run partly at the same time
// and must not fill the caller's Response: it describes the create itself.
// WithResponseInto's option carries its target in CallOption.response and
// sets nothing through apply, so withoutResponse must look there.
func TestInstancesCreateResponseIsTheCreates(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	fastPolls(e.client.Instances)
	check := map[string]string{"X-Request-Id": "check"}
	e.reply("GET", "/computing/products", answer{status: 200, body: docsProducts, header: check})
	e.reply("GET", "/computing/images", answer{status: 200, body: docsImages, header: check})
	e.reply("GET", "/computing/instances",
		answer{status: 200, body: listOf(1, instanceJSON("1", "other", "Running")), header: check},
		answer{status: 200, body: listOf(2, instanceJSON("1", "other", "Running"), instanceJSON("9", "testname", "Creating")), header: check})
	e.reply("POST", "/computing/instance", answer{status: 200, body: docsInstanceCreated, header: map[string]string{"X-Request-Id": "create"}})
	var resp Response
	in, err := e.client.Instances.Create(bg, validCreate(), WithCallTimeout(time.Minute), WithResponseInto(&resp))
	if err != nil || in.ID != "9" {
		t.Fatalf("Create: %+v, %v", in, err)
	}
	if resp.RequestID != "create" || resp.Attempts != 1 || resp.StatusCode != 200 {
		t.Errorf("Response %+v, want the POST's (request id create, 1 attempt)", resp)
	}
}

func TestWithoutResponseDropsWithResponseInto(t *testing.T) {
	t.Parallel()
	var a, b Response
	opts := []CallOption{WithResponseInto(&a), WithCallTimeout(time.Second), WithResponseInto(&b), WithCallMaxRetries(2)}
	got := withoutResponse(opts)
	if len(got) != 2 {
		t.Fatalf("withoutResponse kept %d of %d options, want 2", len(got), len(opts))
	}
	for _, o := range got {
		if o.response != nil {
			t.Errorf("a WithResponseInto was kept")
		}
	}
}
