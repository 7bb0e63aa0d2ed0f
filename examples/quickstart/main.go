// Command quickstart creates, lists, rotates and deletes an API key.
//
// With NEBULA_API_KEY set it uses the real Nebula API (NEBULA_API_URL, if
// set, names another base URL). Without it, it starts an embedded fake API
// from package nebulatest and says so, so it runs anywhere.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

func main() {
	if err := run(context.Background(), os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run is the quickstart; getenv is os.Getenv outside tests.
func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	var client *nebula.Client
	var err error
	if getenv("NEBULA_API_KEY") != "" {
		fmt.Fprintln(out, "Using the Nebula API (NEBULA_API_KEY is set).")
		client, err = nebula.NewClient() // reads NEBULA_API_KEY and NEBULA_API_URL
	} else {
		srv := nebulatest.NewServer()
		defer srv.Close()
		fmt.Fprintf(out, "NEBULA_API_KEY is not set: using an embedded fake Nebula API at %s.\n", srv.URL)
		client, err = srv.NewClient()
	}
	if err != nil {
		return err
	}

	return tour(ctx, out, client)
}

// tour creates, lists, rotates and deletes a key. Whatever it created is
// deleted again when a step fails, so a failed run leaves no key behind.
func tour(ctx context.Context, out io.Writer, client *nebula.Client) (err error) {
	var live []nebula.ID // keys this run created and has not deleted
	defer func() {
		if err == nil || len(live) == 0 {
			return
		}
		// ctx may be what ended the run: clean up with a little time of
		// our own.
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, id := range live {
			if derr := client.APIKeys.Delete(cleanupCtx, id); derr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: key %s is left: %w", id, derr))
				continue
			}
			fmt.Fprintf(out, "Cleanup: deleted key %s.\n", id)
		}
	}()

	suffix := time.Now().UTC().Format("20060102-150405")
	created, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{
		Name:        "quickstart-" + suffix,
		Description: "created by nebula-go's quickstart",
	})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	live = append(live, created.ID)
	// created.Key prints redacted; created.Key.Reveal() is the value to store.
	fmt.Fprintf(out, "1. Created key %s (%s): %v\n", created.ID, created.Name, created.Key)

	keys, err := client.APIKeys.List(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	fmt.Fprintf(out, "2. The account has %d key(s):\n", len(keys))
	for _, k := range keys {
		fmt.Fprintf(out, "   - %s %s %s\n", k.ID, k.Name, k.PartialKey)
	}

	rotated, err := client.APIKeys.Rotate(ctx, created.ID, nebula.CreateAPIKeyRequest{
		Name:        "quickstart-rotated-" + suffix,
		Description: "replaces " + created.Name,
	})
	var rotateErr *nebula.RotateError
	switch {
	case errors.As(err, &rotateErr):
		// The new key exists; the old one is still there too.
		live = append(live, rotated.ID)
		return fmt.Errorf("rotate: %w", err)
	case err != nil:
		return fmt.Errorf("rotate: %w", err)
	}
	live = []nebula.ID{rotated.ID}
	fmt.Fprintf(out, "3. Rotated key %s to %s: %v\n", created.ID, rotated.ID, rotated.Key)

	if err := client.APIKeys.Delete(ctx, rotated.ID); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	live = nil
	fmt.Fprintf(out, "4. Deleted key %s.\n", rotated.ID)
	return nil
}
