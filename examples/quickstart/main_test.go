package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
