package nebulatest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
)

// v1 sends a request to the OpenAI-compatible surface and returns the
// status and the body.
func v1(t *testing.T, s *Server, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.InferenceURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// openAIErr is OpenAI's error shape, as its SDKs read it.
type openAIErr struct {
	Error *struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func checkOpenAIError(t *testing.T, what string, code int, b []byte, wantCode int) {
	t.Helper()
	var e openAIErr
	if err := json.Unmarshal(b, &e); err != nil || code != wantCode || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("%s: %d %s, want %d in OpenAI's error shape", what, code, b, wantCode)
	}
	if bytes.Contains(b, []byte(`"status":"failed"`)) {
		t.Errorf("%s: the Nebula envelope on /v1: %s", what, b)
	}
}

func TestOpenAIModels(t *testing.T) {
	t.Parallel()
	s := New(t)
	code, b := v1(t, s, "GET", "/models", s.Token(), "")
	var list struct {
		Object string
		Data   []struct {
			ID, Object string
			OwnedBy    string `json:"owned_by"`
			Created    int64
		}
	}
	if err := json.Unmarshal(b, &list); err != nil || code != 200 || list.Object != "list" {
		t.Fatalf("models: %d %s", code, b)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.Created == 0 || m.OwnedBy == "" {
			t.Errorf("model %+v", m)
		}
	}
	want := "deepseek-ai/DeepSeek-R1-Distill-Llama-70B WhereIsAI/UAE-Large-V1 meta-llama/Llama-3.1-8B-Instruct"
	if strings.Join(ids, " ") != want {
		t.Errorf("models %v, want the text and embedding ones: %s", ids, want)
	}

	// It follows WithModels.
	custom := New(t, WithModels(Model{Name: "only-text", Type: "Text"}, Model{Name: "img", Type: "Image"}))
	if code, b := v1(t, custom, "GET", "/models", custom.Token(), ""); code != 200 || !strings.Contains(string(b), `"id":"only-text"`) || strings.Contains(string(b), `"img"`) {
		t.Errorf("WithModels: %d %s", code, b)
	}

	code, b = v1(t, s, "GET", "/models", "", "")
	checkOpenAIError(t, "no key", code, b, 401)
	code, b = v1(t, s, "GET", "/models", "ak_NotAKeyOfThisServer123", "")
	checkOpenAIError(t, "bad key", code, b, 401)

	// One model, as the OpenAI SDKs' models.retrieve asks (it was 404
	// unknown_url); its name holds a '/'.
	code, b = v1(t, s, "GET", "/models/meta-llama/Llama-3.1-8B-Instruct", s.Token(), "")
	var one struct{ ID, Object string }
	if err := json.Unmarshal(b, &one); err != nil || code != 200 || one.ID != "meta-llama/Llama-3.1-8B-Instruct" || one.Object != "model" {
		t.Errorf("retrieve: %d %s", code, b)
	}
	code, b = v1(t, s, "GET", "/models/no/such-model", s.Token(), "")
	checkOpenAIError(t, "retrieve an unknown model", code, b, 404)
	if !strings.Contains(string(b), "model_not_found") {
		t.Errorf("retrieve an unknown model: %s", b)
	}
	code, b = v1(t, s, "GET", "/models/meta-llama/Llama-3.1-8B-Instruct", "", "")
	checkOpenAIError(t, "retrieve without a key", code, b, 401)
}

func decodeEmbeddings(t *testing.T, b []byte) [][]float32 {
	t.Helper()
	var out struct {
		Object string
		Model  string
		Data   []struct {
			Object    string
			Index     int
			Embedding json.RawMessage
		}
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Object != "list" || out.Model == "" || out.Usage.TotalTokens == 0 {
		t.Fatalf("embeddings: %v %.300s", err, b)
	}
	vecs := make([][]float32, len(out.Data))
	for i, d := range out.Data {
		if d.Object != "embedding" || d.Index != i {
			t.Fatalf("item %d: %+v", i, d)
		}
		var b64 string
		if json.Unmarshal(d.Embedding, &b64) == nil {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || len(raw)%4 != 0 {
				t.Fatalf("base64 embedding: %v", err)
			}
			for j := 0; j < len(raw); j += 4 {
				vecs[i] = append(vecs[i], math.Float32frombits(binary.LittleEndian.Uint32(raw[j:])))
			}
		} else if err := json.Unmarshal(d.Embedding, &vecs[i]); err != nil {
			t.Fatalf("embedding %d: %v", i, err)
		}
	}
	return vecs
}

func TestEmbeddings(t *testing.T) {
	t.Parallel()
	s := New(t)
	other := New(t)
	embed := func(s *Server, body string) [][]float32 {
		t.Helper()
		code, b := v1(t, s, "POST", "/embeddings", s.Token(), body)
		if code != 200 {
			t.Fatalf("%s: %d %s", body, code, b)
		}
		return decodeEmbeddings(t, b)
	}
	a := embed(s, `{"model":"WhereIsAI/UAE-Large-V1","input":"hello world"}`)
	if len(a) != 1 || len(a[0]) != 1024 {
		t.Fatalf("want one vector of 1024, got %d", len(a))
	}
	var norm float64
	for _, f := range a[0] {
		norm += float64(f) * float64(f)
	}
	if math.Abs(norm-1) > 1e-4 {
		t.Errorf("norm² %v, want a unit vector", norm)
	}
	// Deterministic: the same on another server, by alias, and as base64
	// (what the OpenAI SDKs ask for by default).
	for _, body := range []string{
		`{"model":"WhereIsAI/UAE-Large-V1","input":"hello world"}`,
		`{"model":"WhereIsAI/UAE-Large-V1","input":["hello world"],"encoding_format":"base64"}`,
	} {
		b := embed(other, body)
		if len(b) != 1 || !equalVectors(a[0], b[0]) {
			t.Errorf("%s gave another vector", body)
		}
	}
	many := embed(s, `{"model":"WhereIsAI/UAE-Large-V1","input":["hello world","goodbye",[1,2,3]],"dimensions":1024}`)
	if len(many) != 3 || !equalVectors(many[0], a[0]) || equalVectors(many[1], a[0]) || equalVectors(many[2], many[1]) {
		t.Errorf("three inputs: %d vectors, or equal vectors for different inputs", len(many))
	}

	for _, c := range []struct {
		body string
		code int
	}{
		{`{"input":"x"}`, 400},
		{`{"model":"WhereIsAI/UAE-Large-V1"}`, 400},
		{`{"model":"WhereIsAI/UAE-Large-V1","input":""}`, 400},
		{`{"model":"WhereIsAI/UAE-Large-V1","input":[]}`, 400},
		{`{"model":"WhereIsAI/UAE-Large-V1","input":{"a":1}}`, 400},
		{`{"model":"WhereIsAI/UAE-Large-V1","input":"x","dimensions":3}`, 400},
		{`{"model":"WhereIsAI/UAE-Large-V1","input":"x","encoding_format":"hex"}`, 400},
		{`{"model":"WhereIsAI/UAE-Large-V1","input":"x",}`, 400},
		{`{"model":7,"input":"x"}`, 400},
		{``, 400},
		{`{"model":"no-such-model","input":"x"}`, 404},
		{`{"model":"deepseek-ai/DeepSeek-R1-Distill-Llama-70B","input":"x"}`, 400},
	} {
		code, b := v1(t, s, "POST", "/embeddings", s.Token(), c.body)
		checkOpenAIError(t, c.body, code, b, c.code)
	}
	code, b := v1(t, s, "POST", "/embeddings", "ak_NotAKeyOfThisServer123", `{"model":"WhereIsAI/UAE-Large-V1","input":"x"}`)
	checkOpenAIError(t, "bad key", code, b, 401)
}

func equalVectors(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmbeddingDimensionPerModel(t *testing.T) {
	t.Parallel()
	s := New(t, WithModels(
		Model{Name: "small", Type: "Embedding", Description: "a 384-dim model"},
		Model{Name: "plain", Type: "Embedding"},
	))
	for model, dim := range map[string]int{"small": 384, "plain": DefaultEmbeddingDimension} {
		code, b := v1(t, s, "POST", "/embeddings", s.Token(), `{"model":"`+model+`","input":"x"}`)
		if code != 200 {
			t.Fatalf("%s: %d %s", model, code, b)
		}
		if v := decodeEmbeddings(t, b); len(v[0]) != dim {
			t.Errorf("%s: %d dimensions, want %d", model, len(v[0]), dim)
		}
	}
}

func TestChatStreamIncludeUsage(t *testing.T) {
	t.Parallel()
	s := New(t)
	const base = `{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hi"}],"stream":true`
	events := func(body string) []map[string]any {
		t.Helper()
		code, b := v1(t, s, "POST", "/chat/completions", s.Token(), body)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		parts := strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n")
		if parts[len(parts)-1] != "data: [DONE]" {
			t.Fatalf("no [DONE]: %q", b)
		}
		var out []map[string]any
		for _, p := range parts[:len(parts)-1] {
			var m map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(p, "data: ")), &m); err != nil {
				t.Fatalf("event %q: %v", p, err)
			}
			out = append(out, m)
		}
		return out
	}
	with := events(base + `,"stream_options":{"include_usage":true}}`)
	last := with[len(with)-1]
	usage, _ := last["usage"].(map[string]any)
	if choices, _ := last["choices"].([]any); len(choices) != 0 || usage == nil || usage["total_tokens"].(float64) == 0 {
		t.Errorf("last chunk %v, want empty choices and the usage", last)
	}
	for _, e := range with[:len(with)-1] {
		if u, found := e["usage"]; !found || u != nil {
			t.Errorf("chunk %v: want usage null before the last", e)
		}
	}
	without := events(base + `}`)
	if len(without) != len(with)-1 {
		t.Errorf("%d chunks without usage, %d with", len(without), len(with))
	}
	for _, e := range without {
		if _, found := e["usage"]; found {
			t.Errorf("chunk %v has usage without include_usage", e)
		}
	}
	code, b := v1(t, s, "POST", "/chat/completions", s.Token(), `{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`)
	checkOpenAIError(t, "stream_options without stream", code, b, 400)
}

func TestOpenAIErrors(t *testing.T) {
	t.Parallel()
	s := New(t)
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	for _, c := range []struct {
		method, path, token, body string
		code                      int
	}{
		{"POST", "/chat/completions", "", `{"model":"meta-llama/Llama-3.1-8B-Instruct",` + msgs + `}`, 401},
		{"POST", "/chat/completions", "zq9-Mx7vP2wLr4Kt", `{"model":"meta-llama/Llama-3.1-8B-Instruct",` + msgs + `}`, 401},
		{"POST", "/chat/completions", s.Token(), `{"model":"no-such-model",` + msgs + `}`, 404},
		{"POST", "/chat/completions", s.Token(), `{"model":"WhereIsAI/UAE-Large-V1",` + msgs + `}`, 400},
		{"POST", "/chat/completions", s.Token(), `{"model":"meta-llama/Llama-3.1-8B-Instruct"}`, 400},
		{"POST", "/chat/completions", s.Token(), `{` + msgs + `}`, 400},
		{"POST", "/chat/completions", s.Token(), `{"model":`, 400},
		{"GET", "/chat/completions", s.Token(), ``, 405},
		{"POST", "/completions", s.Token(), `{}`, 404},
		{"GET", "/no/such/path", s.Token(), ``, 404},
	} {
		code, b := v1(t, s, c.method, c.path, c.token, c.body)
		checkOpenAIError(t, c.method+" "+c.path+" "+c.body, code, b, c.code)
		if bytes.Contains(b, []byte("zq9-Mx7vP2wLr4Kt")) {
			t.Errorf("the error shows the key: %s", b)
		}
	}
}
