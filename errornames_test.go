package nebula

import (
	"errors"
	"io"
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
