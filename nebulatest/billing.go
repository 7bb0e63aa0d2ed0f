package nebulatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// CreditEntry is one line of the credit history, as GET
// /users/credits/history shows it. WithCreditHistory seeds them.
type CreditEntry struct {
	UserID           int
	ComputingAmount  float64
	ServerlessAmount float64
	Total            float64
	CreateTime       time.Time
	UpdateTime       time.Time
}

// Invoice is one invoice, as GET /users/invoices shows it. WithInvoices
// seeds them.
type Invoice struct {
	ID         int     // the id DownloadInvoice takes
	Number     string  // invoice_id, "#NB-…"
	Price      float64 // price
	Type       string  // "Reload"
	InvoicedAt time.Time
	UserID     int
}

// billing is the account's balance, credit history and invoices.
type billing struct {
	balance  string
	history  []CreditEntry
	invoices []Invoice
	byID     map[int]*Invoice
}

func newBilling(balance string, history []CreditEntry, invoices []Invoice) billing {
	b := billing{balance: balance, history: history, invoices: invoices, byID: map[int]*Invoice{}}
	for i := range b.invoices {
		b.byID[b.invoices[i].ID] = &b.invoices[i]
	}
	return b
}

// WithBalance sets the available balance, a decimal string such as
// "1228.55600" (the default, from the docs' example). It is sent as is.
func WithBalance(balance string) Option {
	return func(s *Server) { s.cfg.billing.balance = balance }
}

// WithCreditHistory replaces the default credit history (the docs' two
// entries).
func WithCreditHistory(entries ...CreditEntry) Option {
	return func(s *Server) {
		b := s.cfg.billing
		s.cfg.billing = newBilling(b.balance, append([]CreditEntry(nil), entries...), b.invoices)
	}
}

// WithInvoices replaces the default invoices (the docs' three).
func WithInvoices(invoices ...Invoice) Option {
	return func(s *Server) {
		b := s.cfg.billing
		s.cfg.billing = newBilling(b.balance, b.history, append([]Invoice(nil), invoices...))
	}
}

// estDate reads a time as the docs print it, for the defaults.
func estDate(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, est)
	if err != nil {
		panic(err)
	}
	return t
}

func defaultBilling() billing {
	return newBilling("1228.55600",
		[]CreditEntry{
			{UserID: 266, ComputingAmount: 2.004, Total: 2.004, CreateTime: estDate("2024-10-10 06:54:58"), UpdateTime: estDate("2024-10-10 07:54:58")},
			{UserID: 266, ComputingAmount: 2.004, Total: 2.004, CreateTime: estDate("2024-10-10 05:54:58"), UpdateTime: estDate("2024-10-10 06:54:58")},
		},
		[]Invoice{
			{ID: 3688, Number: "#NB-20241029181932-266", Price: 229.95, Type: "Reload", InvoicedAt: estDate("2024-10-29 14:19:32"), UserID: 266},
			{ID: 3687, Number: "#NB-20241029181853-266", Price: 11.5, Type: "Reload", InvoicedAt: estDate("2024-10-29 14:18:54"), UserID: 266},
			{ID: 3686, Number: "#NB-20241029181528-266", Price: 114.98, Type: "Reload", InvoicedAt: estDate("2024-10-29 14:15:29"), UserID: 266},
		})
}

func (s *Server) credits(*call) reply {
	return ok(map[string]any{"available_balance": s.cfg.billing.balance}, "User credit balance successfully retrieved")
}

func (s *Server) creditHistory(c *call) reply {
	limit, offset, rep, bad := pageParams(c)
	if bad {
		return rep
	}
	b := s.cfg.billing
	out := make([]map[string]any, 0)
	for _, e := range page(b.history, limit, offset) {
		out = append(out, map[string]any{
			"user_id": e.UserID, "computing_amount": e.ComputingAmount, "serverless_amount": e.ServerlessAmount,
			"create_time": estTime(e.CreateTime), "update_time": estTime(e.UpdateTime), "total": e.Total,
		})
	}
	var balance any = json.Number(b.balance)
	if _, err := strconv.ParseFloat(b.balance, 64); err != nil {
		balance = b.balance
	}
	return ok(map[string]any{"credit_balance": balance, "credit_history": out, "total_credit_histories": len(b.history)},
		"User credit history successfully retrieved")
}

func (s *Server) listInvoices(c *call) reply {
	limit, offset, rep, bad := pageParams(c)
	if bad {
		return rep
	}
	b := s.cfg.billing
	out := make([]map[string]any, 0)
	for _, inv := range page(b.invoices, limit, offset) {
		out = append(out, map[string]any{
			"invoiced_time": estTime(inv.InvoicedAt), "invoice_id": inv.Number, "price": inv.Price,
			"type": inv.Type, "id": inv.ID, "user_id": inv.UserID,
		})
	}
	return ok(map[string]any{"invoices": out, "total_invoices": len(b.invoices)}, "User invoices retrieved successfully")
}

// downloadInvoice answers a small valid PDF naming the invoice.
func (s *Server) downloadInvoice(c *call) reply {
	id, err := strconv.Atoi(c.r.PathValue("id"))
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "the invoice id must be an integer")
	}
	inv := s.cfg.billing.byID[id]
	if inv == nil {
		return fail(http.StatusNotFound, "Invoice not found")
	}
	return reply{status: http.StatusOK, contentType: "application/pdf", raw: invoicePDF(inv)}
}

// invoicePDF writes a one-page PDF 1.4 with a correct cross-reference table.
func invoicePDF(inv *Invoice) []byte {
	text := fmt.Sprintf("Nebula Block invoice %s: %.2f USD (%s)", inv.Number, inv.Price, inv.Type)
	content := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", pdfEscape(text))
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func pdfEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		if r == '(' || r == ')' || r == '\\' {
			b.WriteByte('\\')
		}
		if r < 128 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
