package nebula_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

// The examples run against an in-memory fake API; against the real one,
// drop the fake and call nebula.NewClient() with NEBULA_API_KEY set, or
// nebula.NewClient(nebula.WithToken(key)).

func ExampleNewClient() {
	srv := nebulatest.NewServer()
	defer srv.Close()

	client, err := nebula.NewClient(
		nebula.WithToken(srv.Token()), // or set NEBULA_API_KEY
		nebula.WithBaseURL(srv.URL),   // or set NEBULA_API_URL; defaults to DefaultBaseURL
		nebula.WithUserAgent("billing-service/2.1"),
	)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := client.APIKeys.List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(keys), "key:", keys[0].Name)
	// Output: 1 key: default
}

func ExampleNewClient_missingCredential() {
	_, err := nebula.NewClient(nebula.WithToken(""))
	fmt.Println(errors.Is(err, nebula.ErrInvalidArgument))
	// Output: true
}

func ExampleAPIKeysService_Create() {
	srv := nebulatest.NewServer()
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}

	key, err := client.APIKeys.Create(context.Background(), nebula.CreateAPIKeyRequest{
		Name:        "ci-runner",
		Description: "used by CI",
	})
	if err != nil {
		log.Fatal(err)
	}
	// The value is shown only now: store key.Key.Reveal() in a secrets
	// manager. Printing key.Key shows it redacted.
	fmt.Println(key.ID, key.Name, len(key.Key.Reveal()))
	fmt.Printf("%q\n", fmt.Sprint(key.Key)[:6])
	// Output:
	// 2 ci-runner 46
	// "ak_..."
}

func ExampleAPIKeysService_List() {
	srv := nebulatest.NewServer()
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "staging"}); err != nil {
		log.Fatal(err)
	}

	keys, err := client.APIKeys.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range keys {
		fmt.Println(k.ID, k.Name, k.PartialKey)
	}
	// Output:
	// 1 default ak_...
	// 2 staging ak_...
}

func ExampleAPIKeysService_Delete() {
	srv := nebulatest.NewServer()
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	key, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "temporary"})
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println(client.APIKeys.Delete(ctx, key.ID))
	err = client.APIKeys.Delete(ctx, key.ID)
	fmt.Println(errors.Is(err, nebula.ErrNotFound))
	// Output:
	// <nil>
	// true
}

func ExampleAPIKeysService_Rotate() {
	srv := nebulatest.NewServer()
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	old, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "deployer"})
	if err != nil {
		log.Fatal(err)
	}

	fresh, err := client.APIKeys.Rotate(ctx, old.ID, nebula.CreateAPIKeyRequest{Name: "deployer-2"})
	var rotateErr *nebula.RotateError
	switch {
	case errors.As(err, &rotateErr):
		// fresh is valid; only deleting the old key failed. Store fresh
		// and retry the delete later.
		log.Printf("delete %s later: %v", rotateErr.OldID, err)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("replaced", old.ID, "with", fresh.ID)
	// Output: replaced 2 with 3
}

func ExampleAPIError() {
	srv := nebulatest.NewServer()
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}

	_, err = client.APIKeys.Create(context.Background(), nebula.CreateAPIKeyRequest{Name: "default"})
	var apiErr *nebula.APIError
	switch {
	case errors.Is(err, nebula.ErrOutcomeUnknown):
		// The key may exist: List, delete the orphan by name, create again.
	case errors.Is(err, nebula.ErrConflict) && errors.As(err, &apiErr):
		fmt.Println(apiErr.HTTPStatus, apiErr.Message)
		fmt.Println(err)
	case err != nil:
		log.Fatal(err)
	}
	// Output:
	// 409 API key name already exists
	// nebula: APIKeys.Create: POST /api-keys: 409 Conflict: API key name already exists (request id req-1)
}

func ExampleSecret() {
	s := nebula.NewSecret("ak_WT2l5Rw8Rv8Mp7Q7fLh7dFgEDl_EMAntCsqlxhEsu-0")
	fmt.Println(s)
	fmt.Printf("%+v %d\n", s, s)
	fmt.Println(s.Reveal() == "ak_WT2l5Rw8Rv8Mp7Q7fLh7dFgEDl_EMAntCsqlxhEsu-0")
	// Output:
	// ak_...su-0
	// ak_...su-0 ak_...su-0
	// true
}

func ExampleWithLogin() {
	srv := nebulatest.NewServer(nebulatest.WithUser("ops@example.com", "correct horse"))
	defer srv.Close()

	// The client logs in on first use and again before the JWT expires.
	client, err := srv.NewClient(nebula.WithLogin("ops@example.com", "correct horse"))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := client.APIKeys.List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(keys))
	// Output: 1
}
