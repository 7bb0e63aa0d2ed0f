package nebula_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

// newFake starts a fake API and a client for it, both closed with the test.
func newFake(t *testing.T, srvOpts []nebulatest.Option, opts ...nebula.Option) (*nebulatest.Server, *nebula.Client) {
	t.Helper()
	srv := nebulatest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	client, err := srv.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	for name, srvOpts := range map[string][]nebulatest.Option{"integer ids": nil, "uuid ids": {nebulatest.WithUUIDs()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			_, client := newFake(t, srvOpts)
			created, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "ci", Description: "for CI"})
			if err != nil {
				t.Fatal(err)
			}
			keys, err := client.APIKeys.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 2 || keys[1].ID != created.ID || keys[1].Name != "ci" || keys[1].Description != "for CI" || keys[1].PartialKey != "ak_..." {
				t.Fatalf("list %+v", keys)
			}
			if err := client.APIKeys.Delete(ctx, created.ID); err != nil {
				t.Fatal(err)
			}
			if err := client.APIKeys.Delete(ctx, created.ID); !errors.Is(err, nebula.ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
			if keys, _ := client.APIKeys.List(ctx); len(keys) != 1 {
				t.Fatalf("%d keys after delete", len(keys))
			}
		})
	}
}

func TestRotationEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, admin := newFake(t, nil)
	first, err := admin.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "service"})
	if err != nil {
		t.Fatal(err)
	}
	service, err := srv.NewClient(nebula.WithToken(first.Key.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	second, err := service.APIKeys.Rotate(ctx, first.ID, nebula.CreateAPIKeyRequest{Name: "service-2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service.APIKeys.List(ctx); !errors.Is(err, nebula.ErrUnauthorized) {
		t.Fatalf("old key still works: %v", err)
	}
	rotated, err := srv.NewClient(nebula.WithToken(second.Key.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.APIKeys.List(ctx); err != nil {
		t.Fatalf("new key refused: %v", err)
	}
}

func TestRateLimitThenSuccess(t *testing.T) {
	t.Parallel()
	srv, client := newFake(t, nil)
	srv.Inject(nebulatest.Fault{Method: "POST", Path: "/api-keys", Times: 2, Status: 429, RetryAfter: "0"})
	if _, err := client.APIKeys.Create(context.Background(), nebula.CreateAPIKeyRequest{Name: "k"}); err != nil {
		t.Fatal(err)
	}
	if srv.Created() != 1 || len(srv.Requests()) != 3 {
		t.Fatalf("created %d in %d requests", srv.Created(), len(srv.Requests()))
	}
}

// The documented recovery from ErrOutcomeUnknown: list, delete the orphan by
// name, create again.
func TestAmbiguousCreateAndRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, client := newFake(t, nil)
	srv.Inject(nebulatest.Fault{Method: "POST", Path: "/api-keys", HangUp: nebulatest.HangUpAfter})
	req := nebula.CreateAPIKeyRequest{Name: "deploy-bot"}

	_, err := client.APIKeys.Create(ctx, req)
	if !errors.Is(err, nebula.ErrOutcomeUnknown) {
		t.Fatalf("err %v", err)
	}
	if srv.Created() != 1 {
		t.Fatalf("the fake created %d keys", srv.Created())
	}
	if _, err := client.APIKeys.Create(ctx, req); !errors.Is(err, nebula.ErrConflict) {
		t.Fatalf("creating again without recovery: %v", err)
	}

	keys, err := client.APIKeys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == req.Name {
			if err := client.APIKeys.Delete(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	key, err := client.APIKeys.Create(ctx, req)
	if err != nil || key.Key.Reveal() == "" {
		t.Fatalf("recovery create: %v", err)
	}
	if n := len(srv.Keys()); n != 2 {
		t.Fatalf("%d keys: an orphan is left", n)
	}
}

func TestConcurrentCreateAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, client := newFake(t, nil)
	const workers = 32
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: fmt.Sprintf("worker-%d", i)})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := client.APIKeys.List(ctx); err != nil {
				t.Error(err)
			}
			if err := client.APIKeys.Delete(ctx, key.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if srv.Created() != workers || len(srv.Keys()) != 1 {
		t.Fatalf("created %d, %d left", srv.Created(), len(srv.Keys()))
	}
}

func TestLoginEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, client := newFake(t, []nebulatest.Option{nebulatest.WithUser("ops@example.com", "s3cret!"), nebulatest.WithJWTLifetime(2 * time.Hour)},
		nebula.WithLogin("ops@example.com", "s3cret!"))
	if _, err := client.APIKeys.List(ctx); err != nil {
		t.Fatal(err)
	}
	// The API revokes the JWT: the next call gets 401, logs in again and
	// goes through.
	srv.RevokeJWTs()
	if _, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "after-revoke"}); err != nil {
		t.Fatal(err)
	}
	logins := 0
	for _, r := range srv.Requests() {
		if r.Path == "/api/v1/login" {
			logins++
		}
	}
	if logins != 2 {
		t.Fatalf("%d logins", logins)
	}

	sess, err := client.Auth.Login(ctx, "ops@example.com", "s3cret!")
	if err != nil || time.Until(sess.ExpiresAt) < time.Hour {
		t.Fatalf("session %+v err %v", sess, err)
	}
	if _, err := client.Auth.Login(ctx, "ops@example.com", "wrong"); !errors.Is(err, nebula.ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
}
