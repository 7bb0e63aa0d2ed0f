package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nebula-sdk/nebula-go/internal/leakcheck"
	"github.com/nebula-sdk/nebula-go/nebulatest"
	"github.com/openai/openai-go/v3"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// The fake's fixed completion (nebulatest's chat route).
const fakeCompletion = "This is a fake completion from nebulatest."

func TestRunAgainstTheFake(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), &out, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"NEBULA_API_KEY is not set: using an embedded fake inference API.",
		"Completion: " + fakeCompletion,
		"Streamed: " + fakeCompletion,
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("output:\n%s", out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i+1, got[i], want[i])
		}
	}
}

func TestRunWithAKey(t *testing.T) {
	t.Parallel()
	srv := nebulatest.NewServer()
	defer srv.Close()
	env := map[string]string{"NEBULA_API_KEY": srv.Token(), "NEBULA_INFERENCE_URL": srv.InferenceURL()}
	var out bytes.Buffer
	if err := run(context.Background(), &out, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "Completion: "+fakeCompletion+"\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunRefusedKey(t *testing.T) {
	t.Parallel()
	srv := nebulatest.NewServer()
	defer srv.Close()
	env := map[string]string{"NEBULA_API_KEY": "ak_NotAKeyTheFakeKnows_0123456789", "NEBULA_INFERENCE_URL": srv.InferenceURL()}
	var out bytes.Buffer
	err := run(context.Background(), &out, func(k string) string { return env[k] })
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(out.String(), "Completion:") {
		t.Errorf("output:\n%s", out.String())
	}
}
