package nebula

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// The docs' example answers, verbatim.
const (
	docsBalance = `{
    "data": {
        "available_balance": "1228.55600"
    },
    "message": "User credit balance successfully retrieved",
    "status": "success"
}`
	docsCreditHistory = `{
    "data": {
        "credit_balance": 9.8682,
        "credit_history": [
            {
                "user_id": 266,
                "computing_amount": 2.004,
                "serverless_amount": 0.0,
                "create_time": "EST 2024-10-10 06:54:58",
                "update_time": "EST 2024-10-10 07:54:58",
                "total": 2.004
            },
            {
                "user_id": 266,
                "computing_amount": 2.004,
                "serverless_amount": 0.0,
                "create_time": "EST 2024-10-10 05:54:58",
                "update_time": "EST 2024-10-10 06:54:58",
                "total": 2.004
            }
        ],
        "total_credit_histories": 2
    },
    "message": "User credit history successfully retrieved",
    "status": "success"
}`
	docsInvoices = `{
    "data": {
        "invoices": [
            {
                "invoiced_time": "EST 2024-10-29 14:19:32",
                "invoice_id": "#NB-20241029181932-266",
                "price": 229.95,
                "type": "Reload",
                "id": 3688,
                "user_id": 266
            },
            {
                "invoiced_time": "EST 2024-10-29 14:18:54",
                "invoice_id": "#NB-20241029181853-266",
                "price": 11.5,
                "type": "Reload",
                "id": 3687,
                "user_id": 266
            },
            {
                "invoiced_time": "EST 2024-10-29 14:15:29",
                "invoice_id": "#NB-20241029181528-266",
                "price": 114.98,
                "type": "Reload",
                "id": 3686,
                "user_id": 266
            }
        ],
        "total_invoices": 3
    },
    "message": "User invoices retrieved successfully",
    "status": "success"
}`
)

// est is the docs' "EST" label: UTC-5.
var est = time.FixedZone("EST", -5*3600)

func TestBalanceDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/users/credits", ok(docsBalance))
	b, err := e.client.Billing.Balance(bg)
	if err != nil {
		t.Fatal(err)
	}
	if b.Available != "1228.55600" {
		t.Errorf("available %q, want the digits as sent", b.Available)
	}
	if r := rec.all()[0]; r.Header.Get("Accept") != "application/json" || r.Body != "" {
		t.Errorf("sent %+v", r)
	}
}

func TestBalanceAmountForms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want string }{
		{`"1228.55600"`, "1228.55600"},
		{`0.679`, "0.679"},
		{`"$0.0000"`, "0.0000"},
		{`"$12.50"`, "12.50"},
		{`-3.5`, "-3.5"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/users/credits", ok(`{"data":{"available_balance":`+tc.raw+`},"message":"ok","status":"success"}`))
			b, err := e.client.Billing.Balance(bg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b.Available) != tc.want {
				t.Errorf("got %q, want %q", b.Available, tc.want)
			}
		})
	}
}

func TestBalanceUnusableAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no balance":   `{"data":{},"message":"ok","status":"success"}`,
		"null balance": `{"data":{"available_balance":null},"message":"ok","status":"success"}`,
		"not a number": `{"data":{"available_balance":"lots"},"message":"ok","status":"success"}`,
		"no data":      `{"message":"ok","status":"success"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/users/credits", ok(body))
			b, err := e.client.Billing.Balance(bg)
			if !errors.Is(err, ErrUnexpectedResponse) || b != nil {
				t.Fatalf("balance %+v, err %v", b, err)
			}
		})
	}
}

func TestBalanceRetriedLikeARead(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/users/credits", status(503, "unavailable"), status(502, "bad gateway"), ok(docsBalance))
	if _, err := e.client.Billing.Balance(bg); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 3 {
		t.Errorf("%d requests, want 3", rec.count())
	}
}

func TestCreditHistoryDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/users/credits/history", ok(docsCreditHistory))
	page, err := e.client.Billing.CreditHistory(bg, ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.all()[0].URL; got != testBase+"/users/credits/history?limit=2" {
		t.Errorf("URL %s", got)
	}
	want := []CreditEntry{
		{UserID: "266", ComputingAmount: "2.004", ServerlessAmount: "0.0", Total: "2.004",
			CreatedAt: time.Date(2024, 10, 10, 6, 54, 58, 0, est), UpdatedAt: time.Date(2024, 10, 10, 7, 54, 58, 0, est)},
		{UserID: "266", ComputingAmount: "2.004", ServerlessAmount: "0.0", Total: "2.004",
			CreatedAt: time.Date(2024, 10, 10, 5, 54, 58, 0, est), UpdatedAt: time.Date(2024, 10, 10, 6, 54, 58, 0, est)},
	}
	if len(page.Items) != len(want) {
		t.Fatalf("%d entries", len(page.Items))
	}
	for i, got := range page.Items {
		w := want[i]
		if got.UserID != w.UserID || got.ComputingAmount != w.ComputingAmount || got.ServerlessAmount != w.ServerlessAmount ||
			got.Total != w.Total || !got.CreatedAt.Equal(w.CreatedAt) || !got.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("entry %d: %+v, want %+v", i, got, w)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("entry %d: time in %v, want UTC", i, got.CreatedAt.Location())
		}
	}
	if page.Total != 2 || page.Next != nil {
		t.Errorf("total %d, next %+v", page.Total, page.Next)
	}
}

func TestInvoicesDecodesDocsExample(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/users/invoices", ok(docsInvoices))
	// The docs ask for limit=2 and get three invoices: the page takes what
	// came, and the total says it is the last.
	page, err := e.client.Billing.Invoices(bg, ListOptions{Limit: 2, Offset: 0})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.all()[0].URL; got != testBase+"/users/invoices?limit=2" {
		t.Errorf("URL %s", got)
	}
	want := []Invoice{
		{ID: "3688", Number: "#NB-20241029181932-266", Amount: "229.95", Type: "Reload", InvoicedAt: time.Date(2024, 10, 29, 14, 19, 32, 0, est), UserID: "266"},
		{ID: "3687", Number: "#NB-20241029181853-266", Amount: "11.5", Type: "Reload", InvoicedAt: time.Date(2024, 10, 29, 14, 18, 54, 0, est), UserID: "266"},
		{ID: "3686", Number: "#NB-20241029181528-266", Amount: "114.98", Type: "Reload", InvoicedAt: time.Date(2024, 10, 29, 14, 15, 29, 0, est), UserID: "266"},
	}
	if len(page.Items) != len(want) {
		t.Fatalf("%d invoices", len(page.Items))
	}
	for i, got := range page.Items {
		w := want[i]
		if got.ID != w.ID || got.Number != w.Number || got.Amount != w.Amount || got.Type != w.Type ||
			!got.InvoicedAt.Equal(w.InvoicedAt) || got.UserID != w.UserID {
			t.Errorf("invoice %d: %+v, want %+v", i, got, w)
		}
	}
	if page.Total != 3 || page.Next != nil {
		t.Errorf("total %d, next %+v", page.Total, page.Next)
	}
}

func TestInvoicesAmountsAsStrings(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.reply("GET", "/users/invoices", ok(`{"data":{"invoices":[{"invoiced_time":"1730847667","invoice_id":"#NB-1","price":"$229.950","type":"Reload","id":"9a4d7961-3274-4479-a20b-10f57f9bc75a","user_id":"266"}],"total_invoices":"1"},"message":"ok","status":"success"}`))
	page, err := e.client.Billing.Invoices(bg, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv := page.Items[0]
	if inv.Amount != "229.950" || inv.ID != "9a4d7961-3274-4479-a20b-10f57f9bc75a" || !inv.InvoicedAt.Equal(time.Unix(1730847667, 0)) || page.Total != 1 {
		t.Errorf("%+v total %d", inv, page.Total)
	}
}

func TestInvoicesUnusableAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"invoice without id": `{"data":{"invoices":[{"invoice_id":"#NB-1","price":1}],"total_invoices":1},"status":"success"}`,
		"bad price":          `{"data":{"invoices":[{"id":1,"price":"free"}],"total_invoices":1},"status":"success"}`,
		"bad time":           `{"data":{"invoices":[{"id":1,"invoiced_time":"yesterday"}],"total_invoices":1},"status":"success"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.reply("GET", "/users/invoices", ok(body))
			page, err := e.client.Billing.Invoices(bg, ListOptions{})
			if !errors.Is(err, ErrUnexpectedResponse) || page != nil {
				t.Fatalf("page %+v, err %v", page, err)
			}
		})
	}
}

func TestBillingListsRefuseNegativeOptions(t *testing.T) {
	t.Parallel()
	for _, opts := range []ListOptions{{Limit: -1}, {Offset: -1}, {Limit: 10, Offset: -5}} {
		e := newTestEnv(t)
		rec := e.anyRequest(ok(docsInvoices))
		if _, err := e.client.Billing.Invoices(bg, opts); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Invoices(%+v): %v", opts, err)
		}
		if _, err := e.client.Billing.CreditHistory(bg, opts); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("CreditHistory(%+v): %v", opts, err)
		}
		if rec.count() != 0 {
			t.Errorf("%+v: %d requests sent", opts, rec.count())
		}
	}
}

// invoicePages answers GET /users/invoices with total invoices, paged by
// the request's limit and offset, and counts the requests.
func invoicePages(e *testEnv, total int) *atomic.Int32 {
	var calls atomic.Int32
	e.mock.RegisterResponder("GET", testBase+"/users/invoices", func(req *http.Request) (*http.Response, error) {
		calls.Add(1)
		q := req.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		var items []string
		for i := offset; i < min(offset+limit, total); i++ {
			items = append(items, `{"id":`+strconv.Itoa(i+1)+`,"invoice_id":"#NB-`+strconv.Itoa(i+1)+`","price":1.5,"type":"Reload","invoiced_time":"EST 2024-10-29 14:19:32"}`)
		}
		body := `{"data":{"invoices":[` + strings.Join(items, ",") + `],"total_invoices":` + strconv.Itoa(total) + `},"message":"ok","status":"success"}`
		return httpmock.NewStringResponse(200, body), nil
	})
	return &calls
}

func TestAllInvoicesWalksEveryPage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	calls := invoicePages(e, 2*defaultPageSize+7)
	var ids []ID
	for inv, err := range e.client.Billing.AllInvoices(bg) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	if len(ids) != 2*defaultPageSize+7 || ids[0] != "1" || ids[len(ids)-1] != ID(strconv.Itoa(2*defaultPageSize+7)) {
		t.Errorf("%d invoices, first %v", len(ids), ids[:1])
	}
	if calls.Load() != 3 {
		t.Errorf("%d requests, want 3", calls.Load())
	}
}

func TestAllInvoicesStopsWhenTheLoopEnds(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	calls := invoicePages(e, 5*defaultPageSize)
	n := 0
	for _, err := range e.client.Billing.AllInvoices(bg) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == defaultPageSize+1 {
			break
		}
	}
	if calls.Load() != 2 {
		t.Errorf("%d requests after breaking on the second page", calls.Load())
	}
}

func TestAllInvoicesYieldsTheErrorOnce(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, WithMaxRetries(0))
	e.reply("GET", "/users/invoices", status(401, failedEnvelope("bad token")))
	var errs int
	for _, err := range e.client.Billing.AllInvoices(bg) {
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err %v", err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("%d errors yielded", errs)
	}
}

func TestAllCreditHistory(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/users/credits/history", ok(docsCreditHistory))
	n := 0
	for _, err := range e.client.Billing.AllCreditHistory(bg) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || rec.count() != 1 {
		t.Errorf("%d entries in %d requests", n, rec.count())
	}
	if got := rec.all()[0].URL; got != testBase+"/users/credits/history?limit="+strconv.Itoa(defaultPageSize) {
		t.Errorf("URL %s", got)
	}
}

// testPDF is a small, complete PDF file.
const testPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" +
	"trailer<</Root 1 0 R>>\n%%EOF\n"

func pdfAnswer(contentType string) answer {
	a := answer{status: 200, body: testPDF, header: map[string]string{}}
	if contentType != "" {
		a.header["Content-Type"] = contentType
	}
	return a
}

func TestDownloadInvoiceWritesThePDF(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/pdf", "application/octet-stream", "", "Application/PDF; name=invoice.pdf"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.reply("GET", "/users/invoice-download/3688", pdfAnswer(ct))
			var buf bytes.Buffer
			n, err := e.client.Billing.DownloadInvoice(bg, "3688", &buf)
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != testPDF || n != int64(len(testPDF)) {
				t.Errorf("wrote %d bytes: %q", n, buf.String())
			}
			r := rec.all()[0]
			if !strings.HasPrefix(r.Header.Get("Accept"), "application/pdf") || r.Header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("headers %v", r.Header)
			}
		})
	}
}

func TestDownloadInvoiceRefusesWhatIsNoPDF(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		a       answer
		message string // in the error's Message
		failed  bool   // the API's failed envelope
	}{
		"success envelope": {a: answer{status: 200, body: `{"data":{"url":"https://x/y.pdf"},"message":"ok","status":"success"}`, header: map[string]string{"Content-Type": "application/json"}}, message: "JSON envelope"},
		"failed envelope":  {a: answer{status: 200, body: failedEnvelope("Invoice not found"), header: map[string]string{"Content-Type": "application/json"}}, message: "Invoice not found", failed: true},
		"envelope as pdf":  {a: answer{status: 200, body: failedEnvelope("Invoice not found"), header: map[string]string{"Content-Type": "application/pdf"}}, message: "Invoice not found", failed: true},
		"html page":        {a: answer{status: 200, body: "<!DOCTYPE html><html><title>Login</title></html>", header: map[string]string{"Content-Type": "text/html; charset=utf-8"}}, message: "HTML page"},
		"html as octets":   {a: answer{status: 200, body: "<html><body>maintenance</body></html>", header: map[string]string{"Content-Type": "application/octet-stream"}}, message: "HTML page"},
		"text":             {a: answer{status: 200, body: "%PDF-1.4 but labelled text", header: map[string]string{"Content-Type": "text/plain"}}, message: "text/plain"},
		"no magic":         {a: answer{status: 200, body: "PK\x03\x04zip file", header: map[string]string{"Content-Type": "application/pdf"}}, message: "%PDF-"},
		"short":            {a: answer{status: 200, body: "%PD", header: map[string]string{"Content-Type": "application/pdf"}}, message: "%PDF-"},
		"empty":            {a: answer{status: 200, body: ""}, message: "%PDF-"},
		"204":              {a: answer{status: 204, body: ""}, message: "%PDF-"},
		"bad content type": {a: answer{status: 200, body: testPDF, header: map[string]string{"Content-Type": "application/pdf; ="}}, message: "Content-Type"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.reply("GET", "/users/invoice-download/5", tc.a)
			var buf bytes.Buffer
			n, err := e.client.Billing.DownloadInvoice(bg, "5", &buf)
			if !errors.Is(err, ErrUnexpectedResponse) {
				t.Fatalf("err %v", err)
			}
			if n != 0 || buf.Len() != 0 {
				t.Errorf("wrote %d bytes: %q", n, buf.String())
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, tc.message) {
				t.Errorf("message %q, want it to mention %q", apiErr.Message, tc.message)
			}
			if (apiErr.Status == statusFailed) != tc.failed {
				t.Errorf("status %q", apiErr.Status)
			}
			if rec.count() != 1 {
				t.Errorf("%d requests: a wrong answer is not retried", rec.count())
			}
		})
	}
}

func TestDownloadInvoiceErrorAnswers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/users/invoice-download/5", status(404, failedEnvelope("Invoice not found")))
	var buf bytes.Buffer
	n, err := e.client.Billing.DownloadInvoice(bg, "5", &buf)
	var apiErr *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Message != "Invoice not found" {
		t.Fatalf("err %v", err)
	}
	if n != 0 || buf.Len() != 0 || rec.count() != 1 {
		t.Errorf("wrote %d, %d requests", n, rec.count())
	}
}

func TestDownloadInvoiceBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		id ID
		w  io.Writer
	}{
		"nil writer": {"5", nil},
		"empty id":   {"", io.Discard},
		"dot dot":    {"..", io.Discard},
		"a key":      {testToken, io.Discard},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			rec := e.anyRequest(pdfAnswer("application/pdf"))
			n, err := e.client.Billing.DownloadInvoice(bg, tc.id, tc.w)
			if !errors.Is(err, ErrInvalidArgument) || n != 0 {
				t.Fatalf("n %d, err %v", n, err)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("error quotes the key")
			}
			if rec.count() != 0 {
				t.Errorf("%d requests sent", rec.count())
			}
		})
	}
}

func TestDownloadInvoiceEscapesTheID(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.anyRequest(pdfAnswer("application/pdf"))
	if _, err := e.client.Billing.DownloadInvoice(bg, "a/../b", io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := rec.all()[0].RawPath; got != "/api/v1/users/invoice-download/a%2F..%2Fb" {
		t.Errorf("path %s", got)
	}
}

// failingBody yields data, then fails with err.
type failingBody struct {
	r   io.Reader
	err error
}

func (b *failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}
func (b *failingBody) Close() error { return nil }

var errConnReset = errors.New("connection reset by peer")

func cutAnswer(prefix string) func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: 200, Header: http.Header{"Content-Type": {"application/pdf"}},
			Body: &failingBody{strings.NewReader(prefix), errConnReset}, ContentLength: -1, Request: req,
		}, nil
	}
}

func TestDownloadInvoiceRetriedWhileNothingWritten(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var calls atomic.Int32
	e.mock.RegisterResponder("GET", testBase+"/users/invoice-download/5", func(req *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			return cutAnswer("%PD")(req) // cut before the magic is complete
		}
		return pdfAnswer("application/pdf").response(req)
	})
	var buf bytes.Buffer
	n, err := e.client.Billing.DownloadInvoice(bg, "5", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != testPDF || n != int64(len(testPDF)) || calls.Load() != 2 {
		t.Errorf("wrote %d bytes in %d requests: %q", n, calls.Load(), buf.String())
	}
}

func TestDownloadInvoiceNotRetriedOnceWritten(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	var calls atomic.Int32
	e.mock.RegisterResponder("GET", testBase+"/users/invoice-download/5", func(req *http.Request) (*http.Response, error) {
		calls.Add(1)
		return cutAnswer(testPDF[:20])(req)
	})
	var buf bytes.Buffer
	n, err := e.client.Billing.DownloadInvoice(bg, "5", &buf)
	if !errors.Is(err, errConnReset) || errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err %v", err)
	}
	if n != 20 || buf.String() != testPDF[:20] || calls.Load() != 1 {
		t.Errorf("wrote %d bytes in %d requests", n, calls.Load())
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit int
	got   int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.got+len(p) > w.limit {
		n := w.limit - w.got
		w.got = w.limit
		return n, errDiskFull
	}
	w.got += len(p)
	return len(p), nil
}

func TestDownloadInvoiceWriterError(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	rec := e.reply("GET", "/users/invoice-download/5", pdfAnswer("application/pdf"))
	w := &failingWriter{limit: 7}
	n, err := e.client.Billing.DownloadInvoice(bg, "5", w)
	if !errors.Is(err, errDiskFull) || n != 7 || rec.count() != 1 {
		t.Fatalf("n %d, %d requests, err %v", n, rec.count(), err)
	}
}

// patternReader produces n bytes of a PDF-looking stream without holding
// them.
type patternReader struct{ left int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	for i := range p {
		p[i] = 'x'
	}
	r.left -= int64(len(p))
	return len(p), nil
}

func TestDownloadInvoiceHasNoSizeCap(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	size := int64(maxBodyBytes) + 1<<20 // more than any JSON answer may hold
	e.mock.RegisterResponder("GET", testBase+"/users/invoice-download/5", func(req *http.Request) (*http.Response, error) {
		body := io.MultiReader(strings.NewReader(pdfMagic), &patternReader{size - int64(len(pdfMagic))})
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/pdf"}},
			Body: io.NopCloser(body), ContentLength: size, Request: req}, nil
	})
	var cw countingWriter
	n, err := e.client.Billing.DownloadInvoice(bg, "5", &cw)
	if err != nil {
		t.Fatal(err)
	}
	if n != size || cw.n != size {
		t.Errorf("wrote %d (writer saw %d), want %d", n, cw.n, size)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// TestDownloadInvoiceHangUpBeforeTheBody: a real connection that dies
// after the headers and a few bytes is retried, and w gets one clean copy.
func TestDownloadInvoiceHangUpBeforeTheBody(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 1000\r\n\r\n%PD")
			buf.Flush()
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		io.WriteString(w, testPDF)
	}))
	defer srv.Close()
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL), WithRetryWait(time.Millisecond, 2*time.Millisecond), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := c.Billing.DownloadInvoice(bg, "5", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != testPDF || n != int64(len(testPDF)) || calls.Load() != 2 {
		t.Errorf("wrote %d bytes in %d requests", n, calls.Load())
	}
}

// TestDownloadInvoiceHangUpMidBody: once bytes are written, a dying
// connection ends the call with what was written, and no retry.
func TestDownloadInvoiceHangUpMidBody(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 100000\r\n\r\n")
		buf.WriteString(testPDF)
		buf.Flush()
	}))
	defer srv.Close()
	c, err := NewClient(WithToken(testToken), WithBaseURL(srv.URL), WithRetryWait(time.Millisecond, 2*time.Millisecond), withEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := c.Billing.DownloadInvoice(bg, "5", &buf)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v", err)
	}
	if n != int64(buf.Len()) || buf.String() != testPDF || calls.Load() != 1 {
		t.Errorf("wrote %d bytes (%d in w) in %d requests", n, buf.Len(), calls.Load())
	}
}
