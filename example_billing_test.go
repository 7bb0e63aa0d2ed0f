package nebula_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	nebula "github.com/nebula-sdk/nebula-go"
)

// billingAPI stands in for the Platform API in the billing and inference
// examples, answering with the docs' examples. Against the real API, call
// nebula.NewClient() with NEBULA_API_KEY set instead.
func billingAPI() (*httptest.Server, *nebula.Client) {
	png := []byte("\x89PNG\r\n\x1a\n(a 1024x1024 image)")
	answers := map[string]string{
		"GET /api/v1/users/credits": `{"data": {"available_balance": "1228.55600"},
			"message": "User credit balance successfully retrieved", "status": "success"}`,
		"GET /api/v1/users/credits/history": `{"data": {"credit_balance": 9.8682, "credit_history": [
			{"user_id": 266, "computing_amount": 2.004, "serverless_amount": 0.0,
			 "create_time": "EST 2024-10-10 06:54:58", "update_time": "EST 2024-10-10 07:54:58", "total": 2.004}],
			"total_credit_histories": 1}, "message": "ok", "status": "success"}`,
		"GET /api/v1/users/invoices": `{"data": {"invoices": [
			{"invoiced_time": "EST 2024-10-29 14:19:32", "invoice_id": "#NB-20241029181932-266", "price": 229.95, "type": "Reload", "id": 3688, "user_id": 266},
			{"invoiced_time": "EST 2024-10-29 14:18:54", "invoice_id": "#NB-20241029181853-266", "price": 11.5, "type": "Reload", "id": 3687, "user_id": 266}],
			"total_invoices": 2}, "message": "User invoices retrieved successfully", "status": "success"}`,
		"GET /api/v1/serverless/models": `{"data": {"models": [
			{"model_name": "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "model_alias": "DeepSeek-R1-Distill-Llama-70B", "model_type": "Text",
			 "context_length": 32768, "max_completion_tokens": 10000, "description": "", "price": 0, "huggingface_url": ""},
			{"model_name": "stabilityai/stable-diffusion-xl-base-1.0", "model_alias": "SD-XL 1.0-base", "model_type": "Image",
			 "context_length": null, "max_completion_tokens": 10000, "description": "", "price": 0.009, "huggingface_url": ""}]},
			"message": "Get models list successfully.", "status": "success"}`,
		"POST /api/v1/images/generation": `{"model": "stabilityai/stable-diffusion-xl-base-1.0", "object": "list",
			"data": [{"timings": {"inference": 13.366829872131348}, "index": 0, "b64_json": "` + base64.StdEncoding.EncodeToString(png) + `"}],
			"message": "Image generated successfully", "status": "success"}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/users/invoice-download/3688" {
			w.Header().Set("Content-Type", "application/pdf")
			io.WriteString(w, "%PDF-1.4\n(the invoice)\n%%EOF\n")
			return
		}
		body, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"data": null, "message": "Not found", "status": "failed"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	return srv, client
}

func ExampleBillingService_Balance() {
	srv, client := billingAPI()
	defer srv.Close()

	balance, err := client.Billing.Balance(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	dollars, err := balance.Available.Float64() // for arithmetic; the Decimal keeps the digits
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("available:", balance.Available, dollars > 1000)
	// Output: available: 1228.55600 true
}

func ExampleBillingService_CreditHistory() {
	srv, client := billingAPI()
	defer srv.Close()

	page, err := client.Billing.CreditHistory(context.Background(), nebula.ListOptions{Limit: 24})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page.Items {
		fmt.Println(e.CreatedAt.Format("2006-01-02 15:04 MST"), "computing", e.ComputingAmount, "serverless", e.ServerlessAmount)
	}
	fmt.Println("last page:", page.Next == nil)
	// Output:
	// 2024-10-10 11:54 UTC computing 2.004 serverless 0.0
	// last page: true
}

func ExampleBillingService_Invoices() {
	srv, client := billingAPI()
	defer srv.Close()

	page, err := client.Billing.Invoices(context.Background(), nebula.ListOptions{Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, inv := range page.Items {
		fmt.Println(inv.ID, inv.Number, inv.Type, "$"+inv.Amount)
	}
	fmt.Println(page.Total, "in all")
	// Output:
	// 3688 #NB-20241029181932-266 Reload $229.95
	// 3687 #NB-20241029181853-266 Reload $11.5
	// 2 in all
}

func ExampleBillingService_AllInvoices() {
	srv, client := billingAPI()
	defer srv.Close()

	// AllInvoices fetches the pages as the loop needs them.
	for inv, err := range client.Billing.AllInvoices(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(inv.Number, inv.InvoicedAt.Format("2006-01-02"))
	}
	// Output:
	// #NB-20241029181932-266 2024-10-29
	// #NB-20241029181853-266 2024-10-29
}

func ExampleBillingService_DownloadInvoice() {
	srv, client := billingAPI()
	defer srv.Close()

	dir, err := os.MkdirTemp("", "invoices")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "NB-20241029181932-266.pdf"))
	if err != nil {
		log.Fatal(err)
	}
	// The PDF streams into the file; nothing but a PDF is ever written.
	n, err := client.Billing.DownloadInvoice(context.Background(), "3688", f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name()) // a failed download may leave part of a PDF
		log.Fatal(err)
	}
	fmt.Println("wrote", n, "bytes")

	// An invoice the API does not know.
	_, err = client.Billing.DownloadInvoice(context.Background(), "1", io.Discard)
	fmt.Println(errors.Is(err, nebula.ErrNotFound))
	// Output:
	// wrote 29 bytes
	// true
}
