package nebula_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"

	nebula "github.com/nebula-sdk/nebula-go"
)

// sshKeyServer is a tiny stand-in for the SSH key routes of the API, so
// that the examples run without an account.
func sshKeyServer() *httptest.Server {
	var mu sync.Mutex
	keys := []map[string]any{}
	next := 73
	write := func(w http.ResponseWriter, data any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"data": data, "message": "ok", "status": "success"})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/ssh-keys", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			KeyName string `json:"key_name"`
			KeyData string `json:"key_data"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		defer mu.Unlock()
		key := map[string]any{"id": next, "key_name": body.KeyName, "key_data": body.KeyData, "create_time": "1730847667"}
		next++
		keys = append(keys, key)
		write(w, key)
	})
	mux.HandleFunc("GET /api/v1/ssh-keys", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		mu.Lock()
		defer mu.Unlock()
		if limit == 0 {
			limit = 100
		}
		page := keys[min(offset, len(keys)):min(offset+limit, len(keys))]
		write(w, map[string]any{"total_ssh_keys": len(keys), "ssh_keys": page})
	})
	return httptest.NewServer(mux)
}

func ExampleSSHKeysService_Create() {
	srv := sshKeyServer()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}

	// The contents of ~/.ssh/id_ed25519.pub; its trailing newline is fine.
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINPLzfjQK0mLJKRQA0yirth3CTd+G4YnzYCvVYP3aN0h user@example.com\n"
	key, err := client.SSHKeys.Create(context.Background(), nebula.CreateSSHKeyRequest{Name: "laptop", PublicKey: pub})
	if errors.Is(err, nebula.ErrOutcomeUnknown) {
		// The key may exist: look for it with All before creating it again.
		log.Fatal(err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key.ID, key.Name, key.CreatedAt.Format("2006-01-02"))

	// A private key pasted by mistake is refused before anything is sent,
	// and the error does not quote it.
	_, err = client.SSHKeys.Create(context.Background(), nebula.CreateSSHKeyRequest{
		Name:      "oops",
		PublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n",
	})
	fmt.Println(errors.Is(err, nebula.ErrInvalidArgument))
	// Output:
	// 73 laptop 2024-11-05
	// true
}

func ExampleSSHKeysService_All() {
	srv := sshKeyServer()
	defer srv.Close()
	client, err := nebula.NewClient(nebula.WithToken("ak_example"), nebula.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"laptop", "ci"} {
		pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINPLzfjQK0mLJKRQA0yirth3CTd+G4YnzYCvVYP3aN0h " + name
		if _, err := client.SSHKeys.Create(ctx, nebula.CreateSSHKeyRequest{Name: name, PublicKey: pub}); err != nil {
			log.Fatal(err)
		}
	}

	// All fetches page after page as the loop goes on.
	for key, err := range client.SSHKeys.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(key.ID, key.Name)
	}

	// List fetches one page; Next asks for the following one.
	page, err := client.SSHKeys.List(ctx, nebula.ListOptions{Limit: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(page.Items), "of", page.Total, "next offset", page.Next.Offset)
	// Output:
	// 73 laptop
	// 74 ci
	// 1 of 2 next offset 1
}
