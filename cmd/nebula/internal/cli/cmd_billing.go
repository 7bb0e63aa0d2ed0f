package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	nebula "github.com/nebula-sdk/nebula-go"
)

type balanceView struct {
	Available nebula.Decimal `json:"available"`
}

var balanceColumns = columns[balanceView]{
	{"AVAILABLE", func(b balanceView) string { return string(b.Available) }, true},
}

type creditView struct {
	UserID           nebula.ID      `json:"user_id"`
	ComputingAmount  nebula.Decimal `json:"computing_amount"`
	ServerlessAmount nebula.Decimal `json:"serverless_amount"`
	Total            nebula.Decimal `json:"total"`
	CreatedAt        string         `json:"created_at"`
	UpdatedAt        string         `json:"updated_at"`
}

func creditView1(c nebula.CreditEntry) any {
	return creditView{c.UserID, c.ComputingAmount, c.ServerlessAmount, c.Total, rfc3339(c.CreatedAt), rfc3339(c.UpdatedAt)}
}

func (a *App) creditColumns() columns[nebula.CreditEntry] {
	return columns[nebula.CreditEntry]{
		{"FROM", func(c nebula.CreditEntry) string { return a.short(c.CreatedAt) }, true},
		{"TO", func(c nebula.CreditEntry) string { return a.short(c.UpdatedAt) }, true},
		{"COMPUTING", func(c nebula.CreditEntry) string { return string(c.ComputingAmount) }, true},
		{"SERVERLESS", func(c nebula.CreditEntry) string { return string(c.ServerlessAmount) }, true},
		{"TOTAL", func(c nebula.CreditEntry) string { return string(c.Total) }, true},
		{"USER_ID", func(c nebula.CreditEntry) string { return string(c.UserID) }, false},
	}
}

type invoiceView struct {
	ID         nebula.ID      `json:"id"`
	Number     string         `json:"number"`
	Amount     nebula.Decimal `json:"amount"`
	Type       string         `json:"type"`
	InvoicedAt string         `json:"invoiced_at"`
	UserID     nebula.ID      `json:"user_id"`
}

func invoiceView1(i nebula.Invoice) any {
	return invoiceView{i.ID, i.Number, i.Amount, i.Type, rfc3339(i.InvoicedAt), i.UserID}
}

func (a *App) invoiceColumns() columns[nebula.Invoice] {
	return columns[nebula.Invoice]{
		{"ID", func(i nebula.Invoice) string { return string(i.ID) }, true},
		{"NUMBER", func(i nebula.Invoice) string { return i.Number }, true},
		{"AMOUNT", func(i nebula.Invoice) string { return string(i.Amount) }, true},
		{"TYPE", func(i nebula.Invoice) string { return i.Type }, true},
		{"INVOICED", func(i nebula.Invoice) string { return a.short(i.InvoicedAt) }, true},
		{"USER_ID", func(i nebula.Invoice) string { return string(i.UserID) }, false},
	}
}

type downloadView struct {
	ID    nebula.ID `json:"id"`
	File  string    `json:"file"`
	Bytes int64     `json:"bytes"`
}

var downloadColumns = columns[downloadView]{
	{"ID", func(d downloadView) string { return string(d.ID) }, true},
	{"FILE", func(d downloadView) string { return d.File }, true},
	{"BYTES", func(d downloadView) string { return fmt.Sprint(d.Bytes) }, true},
}

func (a *App) billingCommand() *cobra.Command {
	balance := &cobra.Command{
		Use:     "balance",
		Short:   "Show the available credit (US dollars)",
		Example: "  nebula billing balance\n  nebula billing balance -o json",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, balanceColumns, func(cmd *cobra.Command, _ []string, p *printer[balanceView], client *nebula.Client) error {
			b, err := client.Billing.Balance(cmd.Context())
			if err != nil {
				return err
			}
			return p.one(balanceView{b.Available})
		}),
	}
	credits := &cobra.Command{
		Use:     "credits",
		Short:   "List the credit history (what was spent, period by period)",
		Example: "  nebula billing credits\n  nebula billing credits -o yaml",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, a.creditColumns(), func(cmd *cobra.Command, _ []string, p *printer[nebula.CreditEntry], client *nebula.Client) error {
			var rows []nebula.CreditEntry
			for c, err := range client.Billing.AllCreditHistory(cmd.Context()) {
				if err != nil {
					return err
				}
				rows = append(rows, c)
			}
			return p.list(rows, creditView1)
		}),
	}
	invList := &cobra.Command{
		Use:     "list",
		Short:   "List the invoices",
		Example: "  nebula billing invoice list",
		Args:    cobra.NoArgs,
		RunE: withPrinterClient(a, a.invoiceColumns(), func(cmd *cobra.Command, _ []string, p *printer[nebula.Invoice], client *nebula.Client) error {
			var rows []nebula.Invoice
			for i, err := range client.Billing.AllInvoices(cmd.Context()) {
				if err != nil {
					return err
				}
				rows = append(rows, i)
			}
			return p.list(rows, invoiceView1)
		}),
	}
	var outFile string
	invDownload := &cobra.Command{
		Use:   "download ID [-O FILE]",
		Short: "Download an invoice's PDF (default file: invoice-ID.pdf)",
		Long: `Downloads the PDF of invoice ID (the ID column of "invoice list", not its
number) to FILE, default invoice-ID.pdf; "-O -" writes it to stdout. The file
is written under a temporary name and renamed when complete: a failed download
never leaves a file under FILE, and an existing FILE stays as it was.`,
		Example: "  nebula billing invoice download 3\n  nebula billing invoice download 3 -O march.pdf",
		Args:    cobra.ExactArgs(1),
		RunE: withPrinterClient(a, downloadColumns, func(cmd *cobra.Command, args []string, p *printer[downloadView], client *nebula.Client) error {
			id := nebula.ID(args[0])
			if outFile == "-" {
				_, err := client.Billing.DownloadInvoice(cmd.Context(), id, a.Out)
				return err
			}
			file := outFile
			if file == "" {
				file = "invoice-" + safeName(args[0]) + ".pdf"
			}
			if err := checkWritable(file); err != nil {
				return err
			}
			var n int64
			prog := a.newProgress("invoice " + args[0])
			err := writeAtomic(file, func(f *os.File) error {
				cw := &countWriter{w: f, prog: prog}
				var err error
				n, err = client.Billing.DownloadInvoice(cmd.Context(), id, cw)
				cw.report(true)
				return err
			})
			prog.done()
			if err != nil {
				return err
			}
			return p.one(downloadView{id, file, n})
		}),
	}
	invDownload.Flags().StringVarP(&outFile, "output-file", "O", "", "the file to write (- for stdout)")
	invoice := group("invoice", "List and download invoices", "  nebula billing invoice list\n  nebula billing invoice download 3", invList, invDownload)
	return group("billing", "Balance, credit history and invoices", "  nebula billing balance", balance, credits, invoice)
}

// safeName keeps an ID usable in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == filepath.Separator {
			return '_'
		}
		return r
	}, s)
}

// countWriter counts the bytes of a download for its progress: on a
// terminal a live count, else one line when done.
type countWriter struct {
	w    io.Writer
	n    atomic.Int64
	prog *progress
	last time.Time
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	c.report(false)
	return n, err
}

func (c *countWriter) report(final bool) {
	if !final && !c.prog.a.StderrIsTerminal {
		return
	}
	if !final && time.Since(c.last) < 100*time.Millisecond {
		return
	}
	c.last = time.Now()
	c.prog.set(humanBytes(c.n.Load()))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
