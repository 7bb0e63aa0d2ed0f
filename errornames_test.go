package nebula

import (
	"errors"
	"io"
	"iter"
	"os"
	"strings"
	"testing"
)

// Every error the SDK writes starts with "nebula: " and names its call as
// Service.Method: refusals before sending, answers, transport errors.
func TestErrorsNameTheCall(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithMaxRetries(0))
	e.reply("GET", "/users/credits", status(503, failedEnvelope("busy")))
	e.reply("GET", "/ssh-keys", answer{err: errors.New("connection reset by peer")})
	e.reply("DELETE", "/api-keys/5", status(403, failedEnvelope("not yours")))
	e.reply("GET", "/users/invoice-download/7", ok(`{"status":"success","data":{}}`))
	cases := []struct {
		name string
		call func() error
	}{
		{"APIKeys.Delete", func() error { return e.client.APIKeys.Delete(bg, "") }},
		{"APIKeys.Delete", func() error { return e.client.APIKeys.Delete(bg, "5") }},
		{"APIKeys.Rotate", func() error { _, err := e.client.APIKeys.Rotate(bg, "..", CreateAPIKeyRequest{Name: "n"}); return err }},
		{"APIKeys.List", func() error { _, err := e.client.APIKeys.List(bg, CallOption{}); return err }},
		{"SSHKeys.List", func() error { _, err := e.client.SSHKeys.List(bg, ListOptions{Limit: -1}); return err }},
		{"SSHKeys.List", func() error { _, err := e.client.SSHKeys.List(bg, ListOptions{}); return err }},
		{"SSHKeys.Rename", func() error { _, err := e.client.SSHKeys.Rename(bg, "", "n"); return err }},
		{"SSHKeys.Delete", func() error { return e.client.SSHKeys.Delete(bg, "") }},
		{"Billing.Balance", func() error { _, err := e.client.Billing.Balance(bg); return err }},
		{"Billing.CreditHistory", func() error { _, err := e.client.Billing.CreditHistory(bg, ListOptions{Offset: -1}); return err }},
		{"Billing.Invoices", func() error { _, err := e.client.Billing.Invoices(bg, ListOptions{Limit: -1}); return err }},
		{"Billing.DownloadInvoice", func() error { _, err := e.client.Billing.DownloadInvoice(bg, "7", nil); return err }},
		{"Billing.DownloadInvoice", func() error { _, err := e.client.Billing.DownloadInvoice(bg, "", io.Discard); return err }},
		{"Billing.DownloadInvoice", func() error { _, err := e.client.Billing.DownloadInvoice(bg, "7", io.Discard); return err }},
		{"Inference.GenerateImage", func() error { _, err := e.client.Inference.GenerateImage(bg, GenerateImageRequest{}); return err }},
		{"Auth.Login", func() error { _, err := e.client.Auth.Login(bg, "", ""); return err }},
		{"Compute.Products", func() error { _, err := e.client.Compute.Products(bg, WithCallTimeout(0)); return err }},
	}
	for _, c := range cases {
		err := c.call()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "nebula: ") || !strings.Contains(msg, c.name+":") {
			t.Errorf("%s: %q", c.name, msg)
		}
	}
}

// A call made of other requests names itself in their errors, not them:
// SSHKeys.All's said "SSHKeys.List", Instances.Create's name check
// "Instances.List", Wait's first poll "Instances.Get". errors.As still
// finds the request's *APIError.
func TestErrorsOfCallsMadeOfRequestsNameTheCall(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithMaxRetries(0))
	forbidden := status(403, failedEnvelope("forbidden"))
	for _, path := range []string{"/ssh-keys", "/computing/instances", "/computing/deleted-instances", "/users/invoices", "/users/credits/history", "/computing/instance/i-1", "/computing/products", "/computing/images"} {
		e.reply("GET", path, forbidden)
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"SSHKeys.All", func() error { return firstError(e.client.SSHKeys.All(bg)) }},
		{"Instances.All", func() error { return firstError(e.client.Instances.All(bg)) }},
		{"Instances.AllDeleted", func() error { return firstError(e.client.Instances.AllDeleted(bg)) }},
		{"Billing.AllInvoices", func() error { return firstError(e.client.Billing.AllInvoices(bg)) }},
		{"Billing.AllCreditHistory", func() error { return firstError(e.client.Billing.AllCreditHistory(bg, WithCallTimeout(-1))) }},
		{"Instances.Lookup", func() error { _, err := e.client.Instances.Lookup(bg, "x"); return err }},
		{"Instances.Create", func() error {
			_, err := e.client.Instances.Create(bg, CreateInstanceRequest{Name: "x", ProductID: "p", ImageID: "i", SSHKeyID: "1"})
			return err
		}},
		{"Instances.Wait", func() error { _, err := e.client.Instances.Wait(bg, "i-1", StatusRunning); return err }},
		{"Instances.WaitFunc", func() error {
			_, err := e.client.Instances.WaitFunc(bg, "i-1", func(*Instance) (bool, error) { return true, nil })
			return err
		}},
	}
	for _, c := range cases {
		err := c.call()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "nebula: ") || !strings.Contains(msg, c.name+":") {
			t.Errorf("%s: %q", c.name, msg)
		}
		var apiErr *APIError
		if c.name != "Billing.AllCreditHistory" && !errors.As(err, &apiErr) {
			t.Errorf("%s: errors.As finds no *APIError in %q", c.name, msg)
		}
	}
}

// firstError is the first error an iterator yields, nil if none.
func firstError[T any](seq iter.Seq2[T, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestAsCall(t *testing.T) {
	t.Parallel()
	base := errors.New("nebula: SSHKeys.List: GET /ssh-keys: 403 Forbidden")
	for _, tt := range []struct {
		err      error
		op, want string
	}{
		{base, "SSHKeys.All", "nebula: SSHKeys.All: GET /ssh-keys: 403 Forbidden"},
		{base, "SSHKeys.List", "nebula: SSHKeys.List: GET /ssh-keys: 403 Forbidden"},
		{errors.New("nebula: invalid argument: Billing.CreditHistory: bad"), "Billing.AllCreditHistory", "nebula: invalid argument: Billing.AllCreditHistory: bad"},
		{errors.New("nebula: no call named here"), "SSHKeys.All", "nebula: no call named here"},
		{errors.New("SSHKeys.List: at the start"), "SSHKeys.All", "SSHKeys.All: at the start"},
		{errors.New("nebula: SSHKeys.AZaz: letters at both ends of the ranges"), "SSHKeys.All", "nebula: SSHKeys.All: letters at both ends of the ranges"},
		{errors.New("nebula: the name ends the text SSHKeys.List"), "SSHKeys.All", "nebula: the name ends the text SSHKeys.List"},
		{errors.New("nebula: SSHKeys.: odd; XSSHKeys.List: not a name; SSHKeys.Get: this"), "SSHKeys.All", "nebula: SSHKeys.: odd; XSSHKeys.List: not a name; SSHKeys.All: this"},
	} {
		got := asCall(tt.err, tt.op)
		if got.Error() != tt.want || !errors.Is(got, tt.err) {
			t.Errorf("asCall(%q, %s) = %q, want %q", tt.err, tt.op, got, tt.want)
		}
	}
	if asCall(nil, "SSHKeys.All") != nil {
		t.Error("asCall(nil) is not nil")
	}
	// os.IsTimeout and a net.Error assertion do not unwrap: the renamed
	// error answers for the one it renames.
	renamed := asCall(listTimeout{}, "SSHKeys.All")
	if !strings.Contains(renamed.Error(), "SSHKeys.All:") || !os.IsTimeout(renamed) {
		t.Errorf("renamed %q: os.IsTimeout %v", renamed, os.IsTimeout(renamed))
	}
	if ne, ok := renamed.(interface{ Temporary() bool }); !ok || !ne.Temporary() {
		t.Errorf("Temporary not passed on")
	}
}

// listTimeout is an error that says it is a timeout, as net's do.
type listTimeout struct{}

func (listTimeout) Error() string   { return "nebula: SSHKeys.List: GET /ssh-keys: i/o timeout" }
func (listTimeout) Timeout() bool   { return true }
func (listTimeout) Temporary() bool { return true }
