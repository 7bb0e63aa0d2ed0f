package nebulaotel

import (
	"context"
	"errors"
	"testing"

	"github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// TestInstanceCreateOutcomeUnknown is the alert the module exists for: the
// fake reads a GPU instance create and hangs up without answering (without
// carrying it out, so that Create, which then looks for the instance, finds
// none and returns ErrOutcomeUnknown). The counter names the operation, so
// an alert can say which create to recover with Lookup.
func TestInstanceCreateOutcomeUnknown(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	api := nebulatest.NewServer(nebulatest.WithBootTime(0))
	t.Cleanup(api.Close)
	c, err := api.NewClient(WithTelemetry(s.options()...))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key, err := c.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: "ci", PublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEbGxx5pPMb3cgVjdHgHEE0/+8DqyfcT7qQQ4nlE4jm1 ci"})
	if err != nil {
		t.Fatal(err)
	}
	api.Inject(nebulatest.Fault{Method: "POST", Path: "/computing/instance", HangUp: nebulatest.HangUpBefore})
	_, err = c.Instances.Create(ctx, nebula.CreateInstanceRequest{
		Name: "gpu-1", ProductID: "fcp66d566c43a9501001256", ImageID: "fcp66d566c93a95010012", SSHKeyID: key.ID,
	})
	if !errors.Is(err, nebula.ErrOutcomeUnknown) {
		t.Fatalf("Create error %v, want ErrOutcomeUnknown", err)
	}
	if n := len(api.Instances()); n != 0 {
		t.Fatalf("the fake holds %d instances, want none", n)
	}

	var creates int
	for _, sp := range s.exp.GetSpans() {
		if sp.Name != "POST /computing/instance" || sp.Parent.IsValid() {
			continue
		}
		creates++
		attrsOf(sp.Attributes).want(t, "create span", []attribute.KeyValue{
			OperationKey.String("Instances.Create"), OutcomeUnknownKey.Bool(true), AttemptsKey.Int(1),
		}, semconv.HTTPResponseStatusCodeKey)
	}
	if creates != 1 {
		t.Errorf("%d create spans, want 1", creates)
	}
	p := counter(t, s.collect(t), OutcomeUnknownMetric)
	if len(p) != 1 || p[0].Value != 1 {
		t.Fatalf("%s = %+v, want 1", OutcomeUnknownMetric, p)
	}
	setAttrs(p[0].Attributes).want(t, OutcomeUnknownMetric, []attribute.KeyValue{
		OperationKey.String("Instances.Create"), semconv.URLTemplate("/computing/instance"),
	})
}
