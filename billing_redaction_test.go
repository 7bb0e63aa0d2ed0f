package nebula

import (
	"errors"
	"strings"
	"testing"
)

// breakerToken is a credential no pattern recognises (no "ak_", no "eyJ"):
// only the SDK's knowledge of the call's token can keep it out of errors.
const breakerToken = "tok-Zq8VxN4m2LpR7wY1sK9dF3hJ6cB0"

// DESIGN.md, Security: "No error string ... carries the token ... in clear
// or escaped". DownloadInvoice turns a 2xx "failed" envelope into an
// *APIError without telling the scrubber the call's token.
func TestDownloadInvoiceFailedEnvelopeDoesNotLeakToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		header map[string]string
		body   string
	}{
		{"json failed envelope echoing the token",
			map[string]string{"Content-Type": "application/json"},
			`{"data": null, "message": "token ` + breakerToken + ` may not download invoices", "status": "failed"}`},
		{"request id echoing the token on a non-PDF",
			map[string]string{"Content-Type": "text/html", "X-Request-Id": breakerToken},
			`<html><body>oops</body></html>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, WithToken(breakerToken))
			e.reply("GET", "/users/invoice-download/5", answer{status: 200, body: tc.body, header: tc.header})
			var sink strings.Builder
			_, err := e.client.Billing.DownloadInvoice(bg, "5", &sink)
			if err == nil {
				t.Fatal("DownloadInvoice succeeded on a non-PDF answer")
			}
			if strings.Contains(err.Error(), breakerToken) {
				t.Errorf("error carries the token: %v", err)
			}
			var apiErr *APIError
			if asAPIError(err, &apiErr) && (strings.Contains(apiErr.Message, breakerToken) || strings.Contains(apiErr.RequestID, breakerToken)) {
				t.Errorf("APIError fields carry the token: %+v", *apiErr)
			}
		})
	}
}

func asAPIError(err error, target **APIError) bool { return errors.As(err, target) }
