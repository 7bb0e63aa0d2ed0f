package nebulatest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// The OpenAI-compatible surface under /v1: what the official OpenAI SDKs
// call (chat completions, models, embeddings), with errors in OpenAI's
// shape, which those SDKs read.

// openAIError answers in the OpenAI error shape, as the inference API does:
// {"error": {"message", "type", "param", "code"}}.
func openAIError(status int, message, kind, param, code string) reply {
	e := struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}{Message: message, Type: kind}
	if param != "" {
		e.Param = &param
	}
	if code != "" {
		e.Code = &code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return reply{status: status, message: message, contentType: "application/json", raw: append(b, '\n')}
}

// openAINotFound answers a path under /v1 that the fake does not serve.
func (s *Server) openAINotFound(c *call) reply {
	var rep reply
	if allowed := s.allowedMethods(c.r, "/v1/"); len(allowed) > 0 {
		rep = openAIError(http.StatusMethodNotAllowed, "Method "+c.r.Method+" is not allowed on "+c.r.URL.Path+": use "+strings.Join(allowed, " or "), "invalid_request_error", "", "method_not_allowed")
	} else {
		rep = openAIError(http.StatusNotFound, "Invalid URL ("+c.r.Method+" "+c.r.URL.Path+")", "invalid_request_error", "", "unknown_url")
	}
	rep.unserved = true
	return rep
}

// decodeOpenAI decodes a JSON body as the OpenAI surface does: bad JSON is
// a 400 in OpenAI's shape, which never quotes the body.
func decodeOpenAI(c *call, v any) (reply, bool) {
	var msg string
	if len(strings.TrimSpace(string(c.body))) == 0 {
		msg = "We could not parse the JSON body of your request: it is empty"
	} else if err := json.Unmarshal(c.body, v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			// Parsed, but a field has the wrong type: a bad parameter.
			return openAIError(http.StatusBadRequest, fmt.Sprintf("Invalid type for '%s': expected a %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value), "invalid_request_error", typ.Field, "invalid_type"), true
		}
		msg = "We could not parse the JSON body of your request: " + describeJSONError(c.body, err)
	}
	if msg == "" {
		return reply{}, false
	}
	rep := openAIError(http.StatusBadRequest, msg, "invalid_request_error", "", "")
	rep.unserved = true
	return rep, true
}

// openAIModel finds a model by name (or alias) and checks its type.
func (s *Server) openAIModel(name, kind string) (reply, bool) {
	for _, m := range s.cfg.models {
		if m.Name != name && m.Alias != name {
			continue
		}
		if m.Type != kind {
			return openAIError(http.StatusBadRequest, "The model `"+name+"` is a "+strings.ToLower(m.Type)+" model, not a "+strings.ToLower(kind)+" model", "invalid_request_error", "model", "model_not_supported"), true
		}
		return reply{}, false
	}
	return openAIError(http.StatusNotFound, "The model `"+name+"` does not exist or you do not have access to it.", "invalid_request_error", "model", "model_not_found"), true
}

// modelCreated is the "created" time of every model: the fake's models do
// not change.
const modelCreated = 1735689600 // 2025-01-01

// openAIModels lists the text and embedding models, in OpenAI's shape.
// openAIModel is a model as OpenAI's GET /v1/models describes one.
type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// openAIModelsServed are the models /v1 serves: the text and embedding ones.
func (s *Server) openAIModelsServed() []openAIModel {
	out := []openAIModel{}
	for _, m := range s.cfg.models {
		if m.Type == "Text" || m.Type == "Embedding" {
			owner, _, found := strings.Cut(m.Name, "/")
			if !found {
				owner = "nebulablock"
			}
			out = append(out, openAIModel{ID: m.Name, Object: "model", Created: modelCreated, OwnedBy: owner})
		}
	}
	return out
}

func (s *Server) openAIModels(*call) reply {
	b, _ := json.Marshal(map[string]any{"object": "list", "data": s.openAIModelsServed()})
	return reply{status: http.StatusOK, contentType: "application/json", raw: append(b, '\n')}
}

// retrieveOpenAIModel answers GET /v1/models/{id} (the OpenAI SDKs'
// models.retrieve); a model's name holds a '/', so the ID is the rest of
// the path.
func (s *Server) retrieveOpenAIModel(c *call) reply {
	id := c.r.PathValue("id")
	for _, m := range s.openAIModelsServed() {
		if m.ID == id {
			b, _ := json.Marshal(m)
			return reply{status: http.StatusOK, contentType: "application/json", raw: append(b, '\n')}
		}
	}
	return openAIError(http.StatusNotFound, "The model `"+id+"` does not exist or you do not have access to it.", "invalid_request_error", "model", "model_not_found")
}

// DefaultEmbeddingDimension is the length of the vectors of an embedding
// model whose description does not name one ("1024-dim").
const DefaultEmbeddingDimension = 1024

var dimPattern = regexp.MustCompile(`\b([1-9][0-9]{0,4})-dim`)

// embeddingDimension is a model's fixed vector length: the one its
// description names (UAE-Large-V1: "1024-dim embeddings"), else
// DefaultEmbeddingDimension.
func embeddingDimension(m Model) int {
	if sub := dimPattern.FindStringSubmatch(m.Description); sub != nil {
		n, _ := strconv.Atoi(sub[1])
		return n
	}
	return DefaultEmbeddingDimension
}

// embeddings answers deterministic vectors: the same model and input give
// the same unit vector, on any Server.
func (s *Server) embeddings(c *call) reply {
	var req struct {
		Model          *string         `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
		Dimensions     *int            `json:"dimensions"`
	}
	if rep, bad := decodeOpenAI(c, &req); bad {
		return rep
	}
	if req.Model == nil || *req.Model == "" {
		return openAIError(http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "model", "")
	}
	inputs, msg := embeddingInputs(req.Input)
	if msg != "" {
		return openAIError(http.StatusBadRequest, msg, "invalid_request_error", "input", "")
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		return openAIError(http.StatusBadRequest, "encoding_format must be \"float\" or \"base64\"", "invalid_request_error", "encoding_format", "")
	}
	if rep, bad := s.openAIModel(*req.Model, "Embedding"); bad {
		return rep
	}
	var model Model
	for _, m := range s.cfg.models {
		if m.Name == *req.Model || m.Alias == *req.Model {
			model = m
			break
		}
	}
	dim := embeddingDimension(model)
	if req.Dimensions != nil && *req.Dimensions != dim {
		return openAIError(http.StatusBadRequest, fmt.Sprintf("This model has %d dimensions; dimensions must be %d or left out", dim, dim), "invalid_request_error", "dimensions", "")
	}
	type embedding struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]embedding, len(inputs))
	tokens := 0
	for i, in := range inputs {
		vec := embed(model.Name, in, dim)
		tokens += max(1, len(strings.Fields(in)))
		var v any = vec
		if req.EncodingFormat == "base64" {
			// What the OpenAI SDKs ask for by default: little-endian
			// float32s, base64-encoded.
			b := make([]byte, 4*len(vec))
			for j, f := range vec {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(f))
			}
			v = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
	}
	b, _ := json.Marshal(map[string]any{"object": "list", "data": data, "model": model.Name,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
	return reply{status: http.StatusOK, contentType: "application/json", raw: append(b, '\n')}
}

// maxEmbeddingInputs bounds the inputs of one request, as OpenAI does.
const maxEmbeddingInputs = 2048

// embeddingInputs reads input as OpenAI takes it: a string, an array of
// strings, an array of token ids, or an array of those. Token arrays are
// embedded by their decimal form.
func embeddingInputs(raw json.RawMessage) ([]string, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "Missing required parameter: 'input'."
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, "'input' must not be empty"
		}
		return []string{one}, ""
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) != nil {
		return nil, "'input' must be a string, an array of strings, or an array of token arrays"
	}
	if len(many) == 0 || len(many) > maxEmbeddingInputs {
		return nil, fmt.Sprintf("'input' must hold between 1 and %d items", maxEmbeddingInputs)
	}
	var tokens []int
	if json.Unmarshal(raw, &tokens) == nil {
		return []string{fmt.Sprint(tokens)}, ""
	}
	out := make([]string, len(many))
	for i, item := range many {
		var str string
		var toks []int
		switch {
		case json.Unmarshal(item, &str) == nil && str != "":
			out[i] = str
		case json.Unmarshal(item, &toks) == nil && len(toks) > 0:
			out[i] = fmt.Sprint(toks)
		default:
			return nil, fmt.Sprintf("'input[%d]' must be a non-empty string or token array", i)
		}
	}
	return out, ""
}

// embed is a unit vector of dim float32s drawn from a hash of model and
// input: deterministic, and different for different inputs.
func embed(model, input string, dim int) []float32 {
	sum := sha256.Sum256([]byte(model + "\x00" + input))
	state := binary.LittleEndian.Uint64(sum[:8]) ^ binary.LittleEndian.Uint64(sum[8:16])
	vec := make([]float32, dim)
	var norm float64
	for i := range vec {
		// splitmix64
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		f := float64(z>>11)/float64(1<<53)*2 - 1
		vec[i] = float32(f)
		norm += f * f
	}
	norm = math.Sqrt(norm)
	for i := range vec {
		vec[i] = float32(float64(vec[i]) / norm)
	}
	return vec
}
