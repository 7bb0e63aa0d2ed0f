package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/internal/leakcheck"
	"github.com/nebula-sdk/nebula-go/nebulatest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestQuickstartOnEmbeddedFake(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	if err := run(context.Background(), &out, noEnv); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := regexp.MustCompile(`(?s)^NEBULA_API_KEY is not set: using an embedded fake Nebula API at http://127\.0\.0\.1:\d+/api/v1\.
1\. Created key 2 \(quickstart-\S+\): ak_\.\.\.\S{4}
2\. The account has 2 key\(s\):
   - 1 default ak_\.\.\.
   - 2 quickstart-\S+ ak_\.\.\.
3\. Rotated key 2 to 3: ak_\.\.\.\S{4}
4\. Deleted key 3\.
$`)
	if !want.Match(out.Bytes()) {
		t.Fatalf("output:\n%s", out.String())
	}
}

// TestQuickstartCleansUpAfterAFailedStep fails each step after the first
// create in turn and checks that the account is left as it was.
func TestQuickstartCleansUpAfterAFailedStep(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]nebulatest.Fault{
		"list":                {Method: "GET", Path: "/api_keys", Status: 403},
		"rotate's create":     {Method: "POST", Path: "/api-keys", Skip: 1, Status: 409},
		"rotate's delete":     {Method: "DELETE", Path: "/api-keys/", Status: 403},
		"the final delete":    {Method: "DELETE", Path: "/api-keys/", Skip: 1, Status: 403},
		"create, unknown end": {Method: "POST", Path: "/api-keys", Skip: 1, Status: 502},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := nebulatest.NewServer()
			defer srv.Close()
			client, err := srv.NewClient(nebula.WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			srv.Inject(f)
			var out bytes.Buffer
			if err := tour(context.Background(), &out, client); err == nil {
				t.Fatalf("no error:\n%s", out.String())
			}
			keys := srv.Keys()
			if len(keys) != 1 || keys[0].Name != "default" {
				t.Fatalf("keys left behind: %v\n%s", keys, out.String())
			}
		})
	}
}
