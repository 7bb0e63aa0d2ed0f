package nebulatest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"time"
)

// Model is one serverless model, as GET /serverless/models shows it.
// WithModels seeds them.
type Model struct {
	Name                string  `json:"model_name"`
	Alias               string  `json:"model_alias"`
	Type                string  `json:"model_type"` // "Text", "Image", "Embedding"
	ContextLength       *int    `json:"context_length"`
	MaxCompletionTokens int     `json:"max_completion_tokens"`
	Description         string  `json:"description"`
	Price               float64 `json:"price"`
	HuggingFaceURL      string  `json:"huggingface_url"`
}

// WithModels replaces the default models (the docs' list example: a text,
// an image and an embedding model, the two FLUX models the image
// generation examples use, and the text model of the Generate Text docs).
// Image generation accepts the models of type "Image", chat completions
// those of type "Text" and embeddings those of type "Embedding"; GET
// /v1/models lists the text and embedding models.
func WithModels(models ...Model) Option {
	return func(s *Server) { s.cfg.models = append([]Model(nil), models...) }
}

// DefaultModels returns the models of the docs' example, which a Server
// offers unless WithModels says otherwise.
func DefaultModels() []Model {
	n32768, n512 := 32768, 512
	return []Model{
		{Name: "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", Alias: "DeepSeek-R1-Distill-Llama-70B", Type: "Text",
			ContextLength: &n32768, MaxCompletionTokens: 10000, Price: 0,
			Description:    "A highly advanced, distilled version of the LLaMA 70B model developed by DeepSeek, optimized for efficiency and performance",
			HuggingFaceURL: "https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Llama-70B"},
		{Name: "stabilityai/stable-diffusion-xl-base-1.0", Alias: "SD-XL 1.0-base", Type: "Image",
			MaxCompletionTokens: 10000, Price: 0.009,
			Description:    "A high-resolution latent diffusion model designed for generating detailed and high-quality images",
			HuggingFaceURL: "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0"},
		{Name: "WhereIsAI/UAE-Large-V1", Alias: "UAE-Large-V1", Type: "Embedding",
			ContextLength: &n512, MaxCompletionTokens: 10000, Price: 0.012,
			Description:    "A universal English sentence embedding model by WhereIsAI with 1024-dim embeddings and 512 context length support",
			HuggingFaceURL: "https://huggingface.co/WhereIsAI/UAE-Large-V1"},
		// The image generation page's examples use these two.
		{Name: "black-forest-labs/FLUX.1-schnell", Alias: "FLUX.1-schnell", Type: "Image", MaxCompletionTokens: 10000, Price: 0.003,
			Description: "A fast text-to-image model by Black Forest Labs", HuggingFaceURL: "https://huggingface.co/black-forest-labs/FLUX.1-schnell"},
		{Name: "black-forest-labs/FLUX.1-Fill-dev", Alias: "FLUX.1-Fill-dev", Type: "Image", MaxCompletionTokens: 10000, Price: 0.01,
			Description: "An inpainting model by Black Forest Labs", HuggingFaceURL: "https://huggingface.co/black-forest-labs/FLUX.1-Fill-dev"},
		// The Generate Text page's examples use this one.
		{Name: "meta-llama/Llama-3.1-8B-Instruct", Alias: "Llama-3.1-8B-Instruct", Type: "Text",
			ContextLength: &n32768, MaxCompletionTokens: 8192, Price: 0,
			Description: "Meta's 8-billion-parameter instruction-tuned Llama 3.1", HuggingFaceURL: "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"},
	}
}

func defaultModels() []Model { return DefaultModels() }

func (s *Server) listModels(*call) reply {
	return ok(map[string]any{"models": s.cfg.models}, "Get models list successfully.")
}

// generateImage answers one small PNG per request, in the documented shape:
// data beside model and object at the top level.
func (s *Server) generateImage(c *call) reply {
	var req struct {
		Model  *string `json:"model"`
		Prompt *string `json:"prompt"`
		Width  *int    `json:"width"`
		Height *int    `json:"height"`
		Steps  *int    `json:"num_steps"`
	}
	if rep, bad := decodeJSON(c, &req); bad {
		return rep
	}
	switch {
	case req.Model == nil || *req.Model == "":
		return fail(http.StatusUnprocessableEntity, "model is required")
	case req.Prompt == nil || strings.TrimSpace(*req.Prompt) == "":
		return fail(http.StatusUnprocessableEntity, "prompt is required")
	}
	for name, v := range map[string]*int{"width": req.Width, "height": req.Height, "num_steps": req.Steps} {
		if v != nil && (*v <= 0 || *v > 4096) {
			return fail(http.StatusUnprocessableEntity, name+" must be between 1 and 4096")
		}
	}
	var model *Model
	for i, m := range s.cfg.models {
		if m.Name == *req.Model {
			model = &s.cfg.models[i]
		}
	}
	if model == nil {
		return fail(http.StatusNotFound, "Model not found")
	}
	if model.Type != "Image" {
		return fail(http.StatusBadRequest, "Model "+model.Name+" does not generate images")
	}
	return reply{
		status: http.StatusOK, message: "Image generated successfully",
		data: []map[string]any{{
			"timings": map[string]any{"inference": 0.25}, "index": 0,
			"b64_json": base64.StdEncoding.EncodeToString(tinyPNG(*req.Prompt)),
		}},
		extra: map[string]any{"model": model.Name, "object": "list"},
	}
}

// tinyPNG is an 8×8 PNG whose colour depends on the prompt.
func tinyPNG(prompt string) []byte {
	var sum byte
	for i := 0; i < len(prompt); i++ {
		sum += prompt[i]
	}
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{R: sum, G: byte(x * 32), B: byte(y * 32), A: 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// InferenceURL returns the base URL of the fake's OpenAI-compatible
// inference API, e.g. "http://127.0.0.1:41234/v1": point an OpenAI client
// there with the Server's token. It serves POST /chat/completions, GET
// /models and POST /embeddings.
func (s *Server) InferenceURL() string { return s.srv.URL + "/v1" }

// chatCompletion is the fixed answer of the chat completion route.
const chatCompletion = "This is a fake completion from nebulatest."

// chatCompletions answers a fixed completion, or streams it as
// chat.completion.chunk events ending in "data: [DONE]" (with a usage
// chunk before it when stream_options.include_usage is set).
func (s *Server) chatCompletions(c *call) reply {
	var req struct {
		Model    *string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
		Stream        bool `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if rep, bad := decodeOpenAI(c, &req); bad {
		return rep
	}
	switch {
	case req.Model == nil || *req.Model == "":
		return openAIError(http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "model", "")
	case req.Messages == nil:
		return openAIError(http.StatusBadRequest, "Missing required parameter: 'messages'.", "invalid_request_error", "messages", "")
	case len(req.Messages) == 0:
		return openAIError(http.StatusBadRequest, "'messages' must not be empty", "invalid_request_error", "messages", "")
	case req.StreamOptions != nil && !req.Stream:
		return openAIError(http.StatusBadRequest, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "invalid_request_error", "stream_options", "")
	}
	if rep, bad := s.openAIModel(*req.Model, "Text"); bad {
		return rep
	}
	model := *req.Model
	id := "chatcmpl-" + strings.ReplaceAll(newUUID(), "-", "")
	created := time.Now().Unix()
	words := len(strings.Fields(chatCompletion))
	usage := map[string]any{"completion_tokens": words, "prompt_tokens": len(req.Messages) * 8, "total_tokens": words + len(req.Messages)*8,
		"completion_tokens_details": nil, "prompt_tokens_details": nil}
	if !req.Stream {
		return reply{stream: func(w http.ResponseWriter) {
			writeJSON(w, http.StatusOK, map[string]any{
				"id": id, "created": created, "model": model, "object": "chat.completion", "system_fingerprint": nil,
				"choices": []any{map[string]any{"finish_reason": "stop", "index": 0, "logprobs": nil, "message": map[string]any{
					"content": chatCompletion, "role": "assistant", "tool_calls": nil, "function_call": nil}}},
				"usage":        usage,
				"service_tier": nil, "prompt_logprobs": nil,
			})
		}}
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return reply{stream: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		flusher, _ := w.(http.Flusher)
		event := func(v map[string]any) {
			v["id"], v["created"], v["model"], v["object"] = id, created, model, "chat.completion.chunk"
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "data: %s\n\n", b)
			if flusher != nil {
				flusher.Flush()
			}
		}
		chunk := func(delta map[string]any, finish any) {
			v := map[string]any{"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}}}
			if includeUsage {
				v["usage"] = nil // as OpenAI does: null on every chunk but the last
			}
			event(v)
		}
		for i, word := range strings.SplitAfter(chatCompletion, " ") {
			delta := map[string]any{"content": word}
			if i == 0 {
				delta["role"] = "assistant"
			}
			chunk(delta, nil)
		}
		chunk(map[string]any{}, "stop")
		if includeUsage {
			event(map[string]any{"choices": []any{}, "usage": usage})
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}}
}
