package nebula_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

// gate holds every create on its way to the fake until released, and says
// when the first one is held: a test sees a Create in flight without sleeps.
type gate struct {
	rt      http.RoundTripper
	held    chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/computing/instance") {
		g.once.Do(func() { close(g.held) })
		<-g.release
	}
	return g.rt.RoundTrip(req)
}

// TestFakeConcurrentCreatesOfOneName shows, against nebulatest, that one
// Client's concurrent creates of a name make one instance: while the first
// is in flight the others fail with ErrConflict and send nothing.
func TestFakeConcurrentCreatesOfOneName(t *testing.T) {
	t.Parallel()
	s := nebulatest.NewServer()
	defer s.Close()
	g := &gate{rt: s.HTTPClient().Transport, held: make(chan struct{}), release: make(chan struct{})}
	c, err := s.NewClient(nebula.WithHTTPClient(&http.Client{Transport: g}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key, err := c.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "k", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host"})
	if err != nil {
		t.Fatal(err)
	}
	products, err := c.Compute.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var req nebula.CreateInstanceRequest
	for _, p := range products {
		if !p.Available {
			continue
		}
		images, err := c.Compute.ImagesFor(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(images) > 0 {
			req = nebula.CreateInstanceRequest{Name: "trainer", ProductID: p.ID, ImageID: images[0].ID, SSHKeyID: key.ID}
			break
		}
	}
	if req.Name == "" {
		t.Fatal("the fake's catalog has no product with an image")
	}

	first := make(chan error, 1)
	go func() {
		_, err := c.Instances.Create(ctx, req)
		first <- err
	}()
	<-g.held
	sent := len(s.Requests())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Instances.Create(ctx, req); !errors.Is(err, nebula.ErrConflict) {
				t.Errorf("a concurrent Create: %v, want ErrConflict", err)
			}
		}()
	}
	wg.Wait()
	if n := len(s.Requests()); n != sent {
		t.Errorf("the refused creates sent %d requests", n-sent)
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	named := 0
	for in, err := range c.Instances.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if in.Name == req.Name {
			named++
		}
	}
	if named != 1 {
		t.Errorf("%d instances named %q, want 1", named, req.Name)
	}
}

// panicsOn is an Observer with a bug: it panics at the start of the calls
// of one operation ("Compute.Images").
type panicsOn struct{ service, operation string }

func (o panicsOn) CallStart(ctx context.Context, info nebula.CallInfo) context.Context {
	if info.Service == o.service && info.Operation == o.operation {
		panic("observer bug in " + o.service + "." + o.operation)
	}
	return ctx
}
func (panicsOn) AttemptDone(context.Context, nebula.CallInfo, nebula.AttemptInfo) {}
func (panicsOn) CallDone(context.Context, nebula.CallInfo, nebula.CallResult)     {}

// Create reads the catalog in goroutines of its own; a panic there (an
// Observer's) reaches the caller's goroutine, where it can be recovered:
// it ended the program. The create is not sent.
func TestFakeCreatePanicInItsGoroutinesReachesTheCaller(t *testing.T) {
	t.Parallel()
	for _, op := range [][2]string{{"Compute", "Images"}, {"Compute", "Products"}} {
		s := nebulatest.NewServer()
		defer s.Close()
		c, err := s.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		key, err := c.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "k", PublicKey: newEd25519PublicKey(t, "k")})
		if err != nil {
			t.Fatal(err)
		}
		product, image := cheapestProductAndImage(t, ctx, c)
		c, err = s.NewClient(nebula.WithObserver(panicsOn{op[0], op[1]}))
		if err != nil {
			t.Fatal(err)
		}
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			c.Instances.Create(ctx, nebula.CreateInstanceRequest{Name: "trainer", ProductID: product.ID, ImageID: image.ID, SSHKeyID: key.ID})
		}()
		if recovered != "observer bug in "+op[0]+"."+op[1] {
			t.Errorf("%s.%s: recovered %v", op[0], op[1], recovered)
		}
		if n := len(s.Instances()); n != 0 {
			t.Errorf("%s.%s: %d instances created", op[0], op[1], n)
		}
	}
}

// A name that is not valid UTF-8 is refused before anything is sent: JSON
// sent U+FFFD for its bad bytes, so the API kept another name than the one
// Create and Lookup compare, and the documented recovery (Lookup, then
// create again on ErrNotFound) made a second instance.
func TestFakeCreateRefusesInvalidUTF8Names(t *testing.T) {
	t.Parallel()
	s := nebulatest.NewServer()
	defer s.Close()
	c, err := s.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := len(s.Requests())
	for _, name := range []string{"caf\xe9", "gpu-\xe9", "\xff"} {
		_, err := c.Instances.Create(ctx, nebula.CreateInstanceRequest{Name: name, ProductID: "p", ImageID: "i", SSHKeyID: "1"})
		if !errors.Is(err, nebula.ErrInvalidArgument) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("Create(%q): %v", name, err)
		}
		if _, err := c.Instances.Lookup(ctx, name); !errors.Is(err, nebula.ErrInvalidArgument) {
			t.Errorf("Lookup(%q): %v", name, err)
		}
		if _, err := c.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: name}); !errors.Is(err, nebula.ErrInvalidArgument) {
			t.Errorf("APIKeys.Create(%q): %v", name, err)
		}
		if _, err := c.SSHKeys.Rename(ctx, "1", name); !errors.Is(err, nebula.ErrInvalidArgument) {
			t.Errorf("SSHKeys.Rename(%q): %v", name, err)
		}
	}
	if n := len(s.Requests()) - before; n != 0 || len(s.Instances()) != 0 {
		t.Fatalf("%d requests sent, %d instances", n, len(s.Instances()))
	}
}
