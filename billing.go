package nebula

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// BillingService reads the account's balance, credit history and invoices,
// and downloads invoice PDFs. Get it from Client.Billing. Every call is a
// read and is retried like one.
type BillingService struct {
	client *Client
}

// Balance is the account's credit balance.
type Balance struct {
	// Available is the API's available_balance, in US dollars, with the
	// digits the API sent ("1228.55600").
	Available Decimal
}

// CreditEntry is one line of the credit history: what the account spent in
// one period (the docs show hourly periods), per product.
type CreditEntry struct {
	UserID           ID        // user_id
	ComputingAmount  Decimal   // computing_amount: GPU instances
	ServerlessAmount Decimal   // serverless_amount: inference
	Total            Decimal   // total
	CreatedAt        time.Time // create_time: the start of the period, UTC
	UpdatedAt        time.Time // update_time: the end of the period, UTC
}

// Invoice is one invoice of the account.
type Invoice struct {
	// ID identifies the invoice for DownloadInvoice (the API's id).
	ID ID
	// Number is the invoice number printed on the invoice, the API's
	// invoice_id ("#NB-20241029181932-266"). It is not the ID.
	Number string
	// Amount is the API's price, in US dollars.
	Amount Decimal
	// Type is what the invoice is for ("Reload": credits bought).
	Type string
	// InvoicedAt is invoiced_time, in UTC.
	InvoicedAt time.Time
	// UserID is the account the invoice belongs to (user_id).
	UserID ID
}

// balanceData is the data of GET /users/credits.
type balanceData struct {
	AvailableBalance Decimal `json:"available_balance"`
}

func (d *balanceData) validate() string {
	if d.AvailableBalance == "" {
		return `balance without "available_balance"`
	}
	return ""
}

// creditHistoryData is the data of GET /users/credits/history.
type creditHistoryData struct {
	// CreditBalance is documented beside the history; Balance returns the
	// same amount, so the page does not carry it.
	CreditBalance Decimal            `json:"credit_balance"`
	History       *[]creditEntryWire `json:"credit_history"` // preset (see listMember)
	Total         *flexInt           `json:"total_credit_histories"`
}

// page refuses an answer without its list.
func (d *creditHistoryData) page(*rawEnvelope) ([]creditEntryWire, *flexInt, string) {
	history, problem := listMember(d.History, "credit history", "credit_history")
	if problem != "" {
		return nil, nil, problem
	}
	return history, d.Total, ""
}

type creditEntryWire struct {
	UserID           ID      `json:"user_id"`
	ComputingAmount  Decimal `json:"computing_amount"`
	ServerlessAmount Decimal `json:"serverless_amount"`
	CreateTime       apiTime `json:"create_time"`
	UpdateTime       apiTime `json:"update_time"`
	Total            Decimal `json:"total"`
}

func (w *creditEntryWire) public() CreditEntry {
	return CreditEntry{
		UserID:           w.UserID,
		ComputingAmount:  w.ComputingAmount,
		ServerlessAmount: w.ServerlessAmount,
		Total:            w.Total,
		CreatedAt:        w.CreateTime.Time,
		UpdatedAt:        w.UpdateTime.Time,
	}
}

// invoicesData is the data of GET /users/invoices.
type invoicesData struct {
	Invoices *[]invoiceWire `json:"invoices"` // preset (see listMember)
	Total    *flexInt       `json:"total_invoices"`
}

type invoiceWire struct {
	InvoicedTime apiTime `json:"invoiced_time"`
	InvoiceID    string  `json:"invoice_id"`
	Price        Decimal `json:"price"`
	Type         string  `json:"type"`
	ID           ID      `json:"id"`
	UserID       ID      `json:"user_id"`
}

// page refuses an answer without its list, and an invoice without an id:
// it could not be downloaded.
func (d *invoicesData) page(*rawEnvelope) ([]invoiceWire, *flexInt, string) {
	invoices, problem := listMember(d.Invoices, "invoice list", "invoices")
	if problem != "" {
		return nil, nil, problem
	}
	for i := range invoices {
		if invoices[i].ID == "" {
			return nil, nil, fmt.Sprintf(`invoice %d without "id"`, i)
		}
	}
	return invoices, d.Total, ""
}

func (w *invoiceWire) public() Invoice {
	return Invoice{
		ID:         w.ID,
		Number:     w.InvoiceID,
		Amount:     w.Price,
		Type:       w.Type,
		InvoicedAt: w.InvoicedTime.Time,
		UserID:     w.UserID,
	}
}

// Balance returns the account's available credit.
//
// Errors: ErrInvalidArgument (nil context); an *APIError matching
// ErrUnauthorized, ErrForbidden, ErrRateLimited or ErrServerError after
// retries, or ErrUnexpectedResponse (no available_balance, or one that is
// not a number).
func (s *BillingService) Balance(ctx context.Context, opts ...CallOption) (*Balance, error) {
	r := &request{name: "Billing.Balance", route: "/users/credits", opts: opts, method: http.MethodGet, path: "/users/credits", safety: repeatable}
	data, err := send[balanceData](ctx, s.client, r)
	if err != nil {
		return nil, err
	}
	return &Balance{Available: data.AvailableBalance}, nil
}

// CreditHistory returns one page of the account's credit history, newest
// first as the API orders it.
//
// Errors: ErrInvalidArgument (nil context, a negative Limit or Offset;
// nothing is sent); an *APIError matching ErrUnauthorized, ErrForbidden,
// ErrRateLimited or ErrServerError after retries, or ErrUnexpectedResponse.
func (s *BillingService) CreditHistory(ctx context.Context, lo ListOptions, opts ...CallOption) (*Page[CreditEntry], error) {
	q, err := lo.query()
	if err != nil {
		return nil, refused(opts, named("Billing.CreditHistory", err))
	}
	r := &request{name: "Billing.CreditHistory", route: "/users/credits/history", opts: opts, method: http.MethodGet, path: "/users/credits/history", query: q, safety: repeatable}
	return sendPage(ctx, s.client, r, lo, &creditHistoryData{History: new([]creditEntryWire)}, (*creditEntryWire).public)
}

// AllCreditHistory walks the whole credit history page by page (see
// CreditHistory), holding one page and the identities of the entries seen
// (about 65 bytes each, so that a shifting list yields no entry twice) in
// memory. It stops at the first error,
// which it yields once, and fetches nothing more once the loop is left.
func (s *BillingService) AllCreditHistory(ctx context.Context, opts ...CallOption) iter.Seq2[CreditEntry, error] {
	return allPages(ctx, "Billing.AllCreditHistory", defaultPageSize, func(ctx context.Context, lo ListOptions) (*Page[CreditEntry], error) {
		return s.CreditHistory(ctx, lo, opts...)
	}, creditEntryKey)
}

// creditEntryKey identifies a credit-history entry, which has no ID, by all
// it holds: only an entry listed twice has the same key as another.
func creditEntryKey(e *CreditEntry) string {
	return fmt.Sprintf("%s|%d|%d|%s|%s|%s", e.UserID, e.CreatedAt.UnixNano(), e.UpdatedAt.UnixNano(), e.ComputingAmount, e.ServerlessAmount, e.Total)
}

// Invoices returns one page of the account's invoices.
//
// Errors: ErrInvalidArgument (nil context, a negative Limit or Offset;
// nothing is sent); an *APIError matching ErrUnauthorized, ErrForbidden,
// ErrRateLimited or ErrServerError after retries, or ErrUnexpectedResponse
// (an invoice without id, a price or time in no known form).
func (s *BillingService) Invoices(ctx context.Context, lo ListOptions, opts ...CallOption) (*Page[Invoice], error) {
	q, err := lo.query()
	if err != nil {
		return nil, refused(opts, named("Billing.Invoices", err))
	}
	r := &request{name: "Billing.Invoices", route: "/users/invoices", opts: opts, method: http.MethodGet, path: "/users/invoices", query: q, safety: repeatable}
	return sendPage(ctx, s.client, r, lo, &invoicesData{Invoices: new([]invoiceWire)}, (*invoiceWire).public)
}

// AllInvoices walks every invoice page by page (see Invoices), holding one
// page and the IDs seen (so that a shifting list yields no invoice twice) in
// memory. It stops at the first error, which it yields once, and
// fetches nothing more once the loop is left.
func (s *BillingService) AllInvoices(ctx context.Context, opts ...CallOption) iter.Seq2[Invoice, error] {
	return allPages(ctx, "Billing.AllInvoices", defaultPageSize, func(ctx context.Context, lo ListOptions) (*Page[Invoice], error) {
		return s.Invoices(ctx, lo, opts...)
	}, func(in *Invoice) string { return string(in.ID) })
}

// DownloadInvoice writes the PDF of invoice id (Invoice.ID, not its Number)
// to w and returns how many bytes it wrote. The PDF is streamed: memory use
// does not depend on its size, and there is no size limit.
//
// Only a PDF is written: a 2xx answer whose Content-Type is
// application/pdf, application/octet-stream or absent, and whose body
// starts with "%PDF-". Anything else (a JSON envelope, an HTML page) is an
// error matching ErrUnexpectedResponse, and nothing is written to w; a
// "failed" envelope keeps the API's message in the *APIError.
//
// The download is retried, like any read, only while nothing has been
// written to w; once bytes have reached w, a failure ends the call with the
// count written so far, and w holds an incomplete PDF the caller should
// discard. The per-attempt timeout (WithCallTimeout, else WithTimeout,
// default 30 s) bounds the wait for the answer's headers and then each
// read's idle time, never the whole transfer: a slow, steady download is
// never cut off, and one that stalls that long fails. Use the context for
// an overall limit.
//
// Errors: ErrInvalidArgument (nil context or writer, an id that is empty,
// "." or "..", or shaped like a key value or a JWT; nothing is sent); an
// *APIError matching ErrNotFound, ErrUnauthorized, ErrForbidden,
// ErrRateLimited or ErrServerError after retries, or ErrUnexpectedResponse;
// the error of w, wrapped; a transport error (the body cut short after
// bytes were written, a timeout).
func (s *BillingService) DownloadInvoice(ctx context.Context, id ID, w io.Writer, opts ...CallOption) (int64, error) {
	if w == nil {
		return 0, refused(opts, invalidArgument("Billing.DownloadInvoice: nil writer"))
	}
	escaped, err := escapeID("invoice ID", id)
	if err != nil {
		return 0, refused(opts, named("Billing.DownloadInvoice", err))
	}
	d := &pdfDownload{w: w}
	r := &request{
		name:   "Billing.DownloadInvoice",
		route:  "/users/invoice-download/{id}",
		opts:   opts,
		method: http.MethodGet,
		path:   "/users/invoice-download/" + escaped,
		safety: repeatable,
		accept: headerAcceptPDF,
		stream: true,
		sink:   d.sink,
	}
	d.op = r.op()
	err = s.client.do(ctx, r)
	return d.written, err
}

// headerAcceptPDF asks for the PDF, and lets the API answer an error in its
// JSON envelope.
var headerAcceptPDF = []string{"application/pdf, application/json;q=0.5"}

// pdfMagic starts every PDF file.
const pdfMagic = "%PDF-"

// pdfDownload is one DownloadInvoice call: its sink runs once per attempt
// that got a 2xx.
type pdfDownload struct {
	w       io.Writer
	op      string
	written int64
	secrets []string // the call's, for the errors of the current attempt
}

// copyBufPool holds the buffers PDFs are copied through, so a download
// allocates nothing per call in the steady state.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerError marks a failure of the caller's writer, so that it is not taken
// for a body cut short.
type writerError struct{ err error }

func (e *writerError) Error() string { return "writing the invoice: " + e.err.Error() }
func (e *writerError) Unwrap() error { return e.err }

// sink checks that the answer is a PDF, then copies it to w. It returns a
// *cutShortError (which makes the pipeline retry) only while nothing has
// been written.
func (d *pdfDownload) sink(resp *http.Response, secrets []string) error {
	defer resp.Body.Close()
	d.secrets = secrets
	bufp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bufp)
	buf := *bufp

	if reason := pdfContentTypeProblem(resp.Header.Get("Content-Type")); reason != "" {
		return d.refuse(resp, buf, 0, reason)
	}
	// Read the first bytes before writing any: they decide whether this is
	// a PDF, and a failure here can still be retried.
	n := 0
	for n < len(pdfMagic) {
		m, err := resp.Body.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return &cutShortError{err}
		}
	}
	if n < len(pdfMagic) || string(buf[:len(pdfMagic)]) != pdfMagic {
		return d.refuse(resp, buf, n, "the body is not a PDF (no %PDF- header)")
	}

	if err := d.write(buf[:n]); err != nil {
		return err
	}
	for {
		m, rerr := resp.Body.Read(buf)
		if m > 0 {
			if err := d.write(buf[:m]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			// Bytes are in w already: the pipeline must not retry, so
			// this is no *cutShortError.
			return fmt.Errorf("invoice body cut short after %d bytes: %w", d.written, rerr)
		}
	}
}

func (d *pdfDownload) write(p []byte) error {
	m, err := d.w.Write(p)
	d.written += int64(m)
	if err == nil && m < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return &writerError{err}
	}
	return nil
}

// refuse builds the error for a 2xx that is not a PDF. It reads a bounded
// excerpt of the body (buf holds its first n bytes) to keep the API's
// message when the answer is its "failed" envelope.
func (d *pdfDownload) refuse(resp *http.Response, buf []byte, n int, reason string) error {
	if n < len(buf) {
		m, _ := io.ReadFull(resp.Body, buf[n:])
		n += m
	}
	head := buf[:n]
	var eb errorBody
	if json.Unmarshal(head, &eb) == nil && eb.Status != nil {
		if *eb.Status == statusFailed {
			e := answerError(d.op, resp, head, d.secrets)
			e.unexpected = true
			return e
		}
		reason = "a JSON envelope instead of a PDF"
	} else if looksLikeHTML(asciiLower(string(head[:min(n, 512)]))) {
		reason = "an HTML page instead of a PDF"
	}
	return unexpectedError(d.op, resp, reason, d.secrets)
}

// pdfContentTypeProblem says why a Content-Type cannot be a PDF, or "".
func pdfContentTypeProblem(ct string) string {
	if strings.TrimSpace(ct) == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "unreadable Content-Type"
	}
	switch mt {
	case "application/pdf", "application/octet-stream":
		return ""
	}
	return fmt.Sprintf("Content-Type %.60s instead of a PDF", mt)
}
