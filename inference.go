package nebula

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// DefaultInferenceURL is Nebula's OpenAI-compatible inference API (chat
// completions, embeddings). This SDK does not wrap it: point the official
// OpenAI Go SDK at it with the same API key (see docs/inference.md and
// examples/chat). Models and
// GenerateImage use the Platform API's base URL instead.
const DefaultInferenceURL = "https://inference.nebulablock.com/v1"

// InferenceService lists the serverless models and generates images. Get it
// from Client.Inference. Chat completions and embeddings are served at
// DefaultInferenceURL through the OpenAI protocol.
type InferenceService struct {
	client *Client
}

// Model is a serverless model, as GET /serverless/models lists it.
type Model struct {
	// Name is the model_name to pass in API calls
	// ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B").
	Name string
	// Alias is a readable name (model_alias).
	Alias string
	// Type is what the model outputs: "Text", "Image", "Embedding"
	// (model_type).
	Type        string
	Description string
	// HuggingFaceURL is the model's Hugging Face page, when it has one.
	HuggingFaceURL string
	// ContextLength is the context window in tokens; 0 when the API sends
	// null (image models).
	ContextLength int
	// MaxCompletionTokens is the most tokens one answer may hold.
	MaxCompletionTokens int
	// Price is the model's price in US dollars, as the API sent it. The docs
	// do not say per what unit (per image, per million tokens).
	Price Decimal
}

type modelsData struct {
	Models []modelWire `json:"models"`
}

type modelWire struct {
	ModelName           string  `json:"model_name"`
	ModelAlias          string  `json:"model_alias"`
	ModelType           string  `json:"model_type"`
	ContextLength       flexInt `json:"context_length"`
	MaxCompletionTokens flexInt `json:"max_completion_tokens"`
	Description         string  `json:"description"`
	Price               Decimal `json:"price"`
	HuggingFaceURL      string  `json:"huggingface_url"`
}

// validate refuses a model without a name: it could not be used.
func (d *modelsData) validate() string {
	for i := range d.Models {
		if d.Models[i].ModelName == "" {
			return fmt.Sprintf(`model %d without "model_name"`, i)
		}
	}
	return ""
}

// Models lists the serverless models available for inference, in the
// API's order.
//
// Errors: ErrInvalidArgument (nil context); an *APIError matching
// ErrUnauthorized, ErrForbidden, ErrRateLimited or ErrServerError after
// retries, or ErrUnexpectedResponse (a model without model_name, a number
// or price in no known form).
func (s *InferenceService) Models(ctx context.Context, opts ...CallOption) ([]Model, error) {
	r := &request{name: "Inference.Models", route: "/serverless/models", opts: opts, method: http.MethodGet, path: "/serverless/models", safety: repeatable}
	data, err := sendNullable[modelsData](ctx, s.client, r)
	if err != nil {
		return nil, err
	}
	models := make([]Model, len(data.Models))
	for i, w := range data.Models {
		models[i] = Model{
			Name:                w.ModelName,
			Alias:               w.ModelAlias,
			Type:                w.ModelType,
			Description:         w.Description,
			HuggingFaceURL:      w.HuggingFaceURL,
			ContextLength:       int(w.ContextLength),
			MaxCompletionTokens: int(w.MaxCompletionTokens),
			Price:               w.Price,
		}
	}
	return models, nil
}

// GenerateImageRequest describes the images to generate. Zero values are
// left out of the request, so the API's defaults apply. Which parameters a
// model honours differs (the docs: NegativePrompt only Stable Diffusion XL,
// Seed only FLUX.1 schnell, Image and Mask only FLUX.1 Fill dev); the SDK
// sends what is set and lets the API decide.
type GenerateImageRequest struct {
	// Model is a Model.Name of type "Image"
	// ("stabilityai/stable-diffusion-xl-base-1.0"). Required.
	Model string
	// Prompt describes the image. Required, not blank.
	Prompt string
	// NegativePrompt describes what to keep out of the image.
	NegativePrompt string
	// Width and Height are the image's size in pixels (the docs' examples
	// use 1024×1024). Not negative. FLUX.1 Fill dev rounds sizes that are
	// not multiples of 16.
	Width, Height int
	// Steps is the number of inference steps (num_steps): more is better
	// and costs more. Not negative.
	Steps int
	// GuidanceScale is how closely the image follows the prompt. Not
	// negative, finite.
	GuidanceScale float64
	// Seed makes a generation reproducible; nil lets the API choose.
	Seed *int64
	// Image and Mask are the input image and its mask (image files: JPG,
	// PNG or WebP) for image-to-image models; the SDK base64-encodes them.
	// Mask needs Image.
	Image, Mask []byte
}

// GeneratedImage is one generated image.
type GeneratedImage struct {
	// Index is the image's position among those generated (index).
	Index int
	// PNG is the image file, decoded from the API's b64_json. The docs call
	// it a PNG; the SDK does not check the format.
	PNG []byte
	// InferenceTime is how long the model took (timings.inference).
	InferenceTime time.Duration
	// Model is the model the API says it used (the answer's top-level
	// model).
	Model string
}

type generateImageBody struct {
	Model          string  `json:"model"`
	Prompt         string  `json:"prompt"`
	NegativePrompt string  `json:"negative_prompt,omitempty"`
	Width          int     `json:"width,omitempty"`
	Height         int     `json:"height,omitempty"`
	NumSteps       int     `json:"num_steps,omitempty"`
	GuidanceScale  float64 `json:"guidance_scale,omitempty"`
	Seed           *int64  `json:"seed,omitempty"`
	Image          string  `json:"image,omitempty"`
	Mask           string  `json:"mask,omitempty"`
}

// generatedImages reads the answer of POST /images/generation: data is a
// list, with the model beside it rather than in each item.
type generatedImages struct {
	wire   []imageDataWire
	images []GeneratedImage
}

type imageDataWire struct {
	Timings struct {
		Inference flexFloat `json:"inference"`
	} `json:"timings"`
	Index   flexInt `json:"index"`
	B64JSON string  `json:"b64_json"`
}

// decode decodes the images, so that an image the caller could not use
// fails the call inside the pipeline. That makes it ErrUnexpectedResponse
// and, since the API has generated (and billed) the image,
// ErrOutcomeUnknown: the caller must not simply try again.
func decodeImages(env *rawEnvelope, out any) string { return out.(*generatedImages).decode(env) }

func (e *generatedImages) decode(env *rawEnvelope) string {
	if reason := decodeObject(env, &e.wire); reason != "" {
		return reason
	}
	var model string
	if env.Model != nil {
		if err := json.Unmarshal(env.Model, &model); err != nil {
			return "body does not match the documented envelope: " + jsonErrorText(err, "model")
		}
	}
	items := e.wire
	if len(items) == 0 {
		return "no image in data"
	}
	e.images = make([]GeneratedImage, len(items))
	for i := range items {
		w := &items[i]
		png, err := decodeBase64(w.B64JSON)
		if err != nil || len(png) == 0 {
			return fmt.Sprintf("image %d: b64_json is not base64 image data", i)
		}
		secs := float64(w.Timings.Inference)
		if secs < 0 || secs > math.MaxInt64/float64(time.Second) {
			return fmt.Sprintf("image %d: timings.inference out of range", i)
		}
		e.images[i] = GeneratedImage{
			Index:         int(w.Index),
			PNG:           png,
			InferenceTime: time.Duration(secs * float64(time.Second)),
			Model:         model,
		}
		w.B64JSON = "" // the encoded copy is no longer needed
	}
	return ""
}

// decodeBase64 reads standard base64, with or without padding; line
// breaks are ignored.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if len(s)%4 != 0 {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// GenerateImage generates images from a prompt (or from an input image and
// mask) and returns them decoded. An image costs money, so the request is
// sent once: it is retried only when it provably never reached the API, or
// on 429.
//
// Generation takes seconds (the docs show 13 s); the per-attempt timeout
// (WithTimeout, default 30 s) applies, and a timeout after the request was
// sent is ErrOutcomeUnknown.
//
// Errors: ErrInvalidArgument (nil context, empty model or prompt, a
// negative size, step count or guidance scale, a Mask without Image;
// nothing is sent); an *APIError matching ErrBadRequest, ErrUnauthorized,
// ErrForbidden, ErrRateLimited or ErrServerError; ErrOutcomeUnknown,
// wrapped with its cause, when the request failed after the API may have
// generated the image (a timeout, a lost connection, a 502, and a 2xx
// whose images cannot be decoded, which also matches
// ErrUnexpectedResponse).
func (s *InferenceService) GenerateImage(ctx context.Context, req GenerateImageRequest, opts ...CallOption) ([]GeneratedImage, error) {
	if err := req.check(); err != nil {
		return nil, refused(opts, err)
	}
	body := generateImageBody{
		Model:          req.Model,
		Prompt:         req.Prompt,
		NegativePrompt: req.NegativePrompt,
		Width:          req.Width,
		Height:         req.Height,
		NumSteps:       req.Steps,
		GuidanceScale:  req.GuidanceScale,
		Seed:           req.Seed,
	}
	if req.Image != nil {
		body.Image = base64.StdEncoding.EncodeToString(req.Image)
	}
	if req.Mask != nil {
		body.Mask = base64.StdEncoding.EncodeToString(req.Mask)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, refused(opts, invalidArgument("Inference.GenerateImage: %v", err))
	}
	r := &request{name: "Inference.GenerateImage", route: "/images/generation", opts: opts, method: http.MethodPost, path: "/images/generation", body: raw, safety: sendOnce, bigBody: true}
	var out generatedImages
	r.decode, r.out = decodeImages, &out
	if err := s.client.do(ctx, r); err != nil {
		return nil, err
	}
	return out.images, nil
}

// check refuses a request the API cannot carry out, before anything is
// sent (and paid for).
func (req *GenerateImageRequest) check() error {
	switch {
	case strings.TrimSpace(req.Model) == "":
		return invalidArgument("Inference.GenerateImage: the model must not be empty")
	case strings.TrimSpace(req.Prompt) == "":
		return invalidArgument("Inference.GenerateImage: the prompt must not be empty or blank")
	case req.Width < 0 || req.Height < 0:
		return invalidArgument("Inference.GenerateImage: width %d and height %d must not be negative", req.Width, req.Height)
	case req.Steps < 0:
		return invalidArgument("Inference.GenerateImage: steps %d must not be negative", req.Steps)
	case math.IsNaN(req.GuidanceScale) || math.IsInf(req.GuidanceScale, 0) || req.GuidanceScale < 0:
		return invalidArgument("Inference.GenerateImage: guidance scale %v must be a finite number, not negative", req.GuidanceScale)
	case len(req.Mask) > 0 && len(req.Image) == 0:
		return invalidArgument("Inference.GenerateImage: a mask needs an input image")
	}
	return nil
}
