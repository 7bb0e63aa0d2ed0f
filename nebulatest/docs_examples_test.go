package nebulatest

import (
	"net/http"
	"strings"
	"testing"
)

// formType is what curl -d sends without -H 'Content-Type: ...'.
const formType = "application/x-www-form-urlencoded"

// TestDocsCurlExamples pastes each example of the API reference pages, with
// {API_URL} and the token filled in, and checks the documented answer, or,
// where the example itself is invalid, a failed envelope that says why.
func TestDocsCurlExamples(t *testing.T) {
	t.Parallel()
	s := NewServer(WithUser("testemail@gmail.com", "123456789"), WithBootTime(0))
	defer s.Close()
	tok := s.Token()
	// Make the ids the examples use exist: API key 5, SSH keys 2 and 76.
	for i := 2; i <= 5; i++ {
		raw(t, s, "POST", "/api-keys", tok, "application/json", `{"name":"k`+string(rune('0'+i))+`"}`)
	}
	for i := 1; i <= 76; i++ {
		newSSHKey(t, s)
	}
	examples := []struct {
		page                string
		method, path, ctype string
		noAuth              bool
		body                string
		code                int
		message             string // the documented message, or what a failed one says
	}{
		{page: "Authentication", method: "POST", path: "/login", ctype: formType,
			body: "{\n    \"username\": \"testemail@gmail.com\",\n    \"password\": \"123456789\",\n}",
			code: 422, message: "trailing comma"},
		{page: "Create API Key", method: "POST", path: "/api-keys", ctype: formType,
			body: "{\n    \"name\": \"test-api-key\",\n    \"description\": \"This is a test API key\",\n}",
			code: 422, message: "Content-Type must be application/json"},
		{page: "List API Keys", method: "GET", path: "/api_keys", code: 200, message: "API keys successfully retrieved"},
		{page: "Delete API Key", method: "DELETE", path: "/api-keys/5", code: 200, message: "API key successfully deleted"},
		{page: "Create SSH Key", method: "POST", path: "/ssh-keys", ctype: formType,
			body: "{\n    \"name\": \"My Personal SSH Key\",\n    \"key_data\": \"ssh-rsa AAADB3NzaC1yc2EBBACCAQABAAABAQD5\",\n}",
			code: 422, message: `(JSON allows none); the field is "key_name", not "name"`},
		{page: "List SSH Keys", method: "GET", path: "/ssh-keys", code: 200, message: "SSH keys retrieved successfully"},
		{page: "Rename SSH Key", method: "PUT", path: "/ssh-keys/76", ctype: formType,
			body: "{\n    \"key_name\": \"Test user was here\",\n}", code: 422, message: "Content-Type must be application/json"},
		{page: "Delete SSH Key", method: "DELETE", path: "/ssh-keys/5", code: 200, message: "SSH key deleted successfully"},
		{page: "List Products", method: "GET", path: "/api/v1/computing/products", ctype: "application/json", code: 404, message: "repeats /api/v1"},
		{page: "List Images", method: "GET", path: "/api/v1/computing/images", ctype: "application/json", code: 404, message: "repeats /api/v1"},
		{page: "Create GPU Instance", method: "POST", path: "/computing/instance", ctype: "application/json",
			body: "{\n    \"instance_name\":\"testname\",\n    \"product_id\":\"fcp66d566c43a9501001256\",\n    \"image_id\":\"fcp66d566c93a95010012\",\n    \"ssh_key_id\":2\n}",
			code: 200, message: "Instances created successfully"},
		{page: "List User Instances", method: "GET", path: "/computing/instances", ctype: "application/json", code: 200, message: "All instances retrieved successfully"},
		// The detail page's example calls the list route.
		{page: "User Instance Detail", method: "GET", path: "/computing/instances", ctype: "application/json", code: 200, message: "All instances retrieved successfully"},
		{page: "Reboot GPU Instance", method: "GET", path: "/computing/instance/{id}/reboot", ctype: "application/json", code: 200, message: "Instances rebooted successfully"},
		{page: "Stop GPU Instance", method: "GET", path: "/computing/instance/{id}/stop", ctype: "application/json", code: 200, message: "Instances stopped successfully"},
		{page: "Start GPU Instance", method: "GET", path: "/computing/instance/{id}/start", ctype: "application/json", code: 200, message: "Instances started successfully"},
		{page: "Delete GPU Instance", method: "DELETE", path: "/computing/instance/{id}", ctype: "application/json", code: 200, message: "Instances deleted successfully"},
		{page: "List Deleted User Instances", method: "GET", path: "/computing/deleted-instances", ctype: "application/json", code: 200, message: "All deleted instances retrieved successfully"},
		// The billing examples lack the "\" before -H: curl sends no token.
		{page: "Get Credit Balance", method: "GET", path: "/users/credits", noAuth: true, code: 401, message: "Not authenticated"},
		{page: "Get Credit Balance (fixed)", method: "GET", path: "/users/credits", code: 200, message: "User credit balance successfully retrieved"},
		{page: "Get Payment History (fixed)", method: "GET", path: "/users/credits/history?limit=2&offset=0", code: 200, message: "User credit history successfully retrieved"},
		{page: "List Invoices (fixed)", method: "GET", path: "/users/invoices?limit=2&offset=0", code: 200, message: "User invoices retrieved successfully"},
		{page: "Download Invoice", method: "GET", path: "/users/invoice-download/3688", noAuth: true, code: 401, message: "Not authenticated"},
		{page: "List Models", method: "GET", path: "/api/v1/serverless/models", ctype: "application/json", code: 404, message: "repeats /api/v1"},
		{page: "List Models (fixed)", method: "GET", path: "/serverless/models", ctype: "application/json", code: 200, message: "Get models list successfully."},
		{page: "Generate Images (text-to-image)", method: "GET", path: "/api/v1/images/generation", ctype: "application/json",
			body: `{"model": "stabilityai/stable-diffusion-xl-base-1.0", "prompt": "insert your prompt here", "num_steps": 25, "guidance_scale": 9, "width": 1024, "height": 1024, "negative_prompt": null}`,
			code: 404, message: "repeats /api/v1"},
		{page: "Generate Images (text-to-image, path fixed)", method: "GET", path: "/images/generation", ctype: "application/json",
			body: `{"model": "stabilityai/stable-diffusion-xl-base-1.0", "prompt": "insert your prompt here"}`, code: 405, message: "use POST"},
		{page: "Generate Images (image-to-image)", method: "POST", path: "/images/generation", ctype: "application/json",
			body: "{\n    \"model\":\"black-forest-labs/FLUX.1-Fill-dev\",\n    \"prompt\": \"a red baseball cap\",\n    \"num_steps\": 40,\n    \"guidance_scale\": 4.5,\n    \"width\": 1024,\n    \"height\": 1024,\n    \"image\": \"/9j/4…/Z\", \n    \"mask\": \"/9j/4…ACgD/9k=\"\n}",
			code: 200, message: "Image generated successfully"},
		{page: "Generate Text", method: "GET", path: "/api/v1/chat/completions", ctype: "application/json",
			body: `{"messages": [{"role": "user", "content": "insert your prompt here"}], "model": "meta-llama/Llama-3.1-8B-Instruct", "max_tokens": null, "temperature": 1, "top_p": 0.9, "stream": true}`,
			code: 404, message: "repeats /api/v1"},
	}
	instanceID := ""
	for _, ex := range examples {
		path := ex.path
		if strings.Contains(path, "{id}") {
			if instanceID == "" {
				for id := range s.Instances() {
					instanceID = id
				}
			}
			path = strings.ReplaceAll(path, "{id}", instanceID)
		}
		token := tok
		if ex.noAuth {
			token = ""
		}
		code, env := raw(t, s, ex.method, path, token, ex.ctype, ex.body)
		msg, _ := env["message"].(string)
		wantStatus := "success"
		if ex.code >= 300 {
			wantStatus = "failed"
		}
		if code != ex.code || env["status"] != wantStatus || !strings.Contains(msg, ex.message) {
			t.Errorf("%s: %s %s: %d %q, want %d %q", ex.page, ex.method, ex.path, code, msg, ex.code, ex.message)
		}
	}

	// The login example with its trailing comma removed logs in.
	code, env := raw(t, s, "POST", "/login", "", formType, "{\n    \"username\": \"testemail@gmail.com\",\n    \"password\": \"123456789\"\n}")
	if code != 200 || env["message"] != "Login successful" {
		t.Errorf("login example without the comma: %d %v", code, env)
	}
	// The text generation example against the inference URL, as GET: 405.
	req, _ := http.NewRequest("GET", s.InferenceURL()+"/chat/completions", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET chat completions: %d", resp.StatusCode)
	}
}
