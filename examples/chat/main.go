// Command chat sends a chat completion, then a streamed one, to Nebula's
// OpenAI-compatible inference API with the official OpenAI Go SDK: nebula-go
// does not wrap chat completions or embeddings, because the OpenAI SDK
// already speaks that protocol. Only the base URL and the key change.
//
// With NEBULA_API_KEY set it talks to the real API at
// nebula.DefaultInferenceURL (NEBULA_CHAT_MODEL picks the model). Without it,
// it starts the fake API of package nebulatest, which serves an
// OpenAI-shaped /v1/chat/completions, and says so. NEBULA_INFERENCE_URL,
// if set, replaces the inference URL (a proxy, a test server).
//
// This is its own module so that the OpenAI SDK never becomes a dependency
// of nebula-go itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
	"github.com/nebula-sdk/nebula-go/nebulatest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// defaultModel is the text model of Nebula's Generate Text docs.
const defaultModel = "meta-llama/Llama-3.1-8B-Instruct"

func main() {
	if err := run(context.Background(), os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run is the example; getenv is os.Getenv outside tests.
func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	baseURL, key := nebula.DefaultInferenceURL, getenv("NEBULA_API_KEY")
	if u := getenv("NEBULA_INFERENCE_URL"); u != "" {
		baseURL = u
	}
	if key == "" {
		srv := nebulatest.NewServer()
		defer srv.Close()
		baseURL, key = srv.InferenceURL(), srv.Token()
		fmt.Fprintln(out, "NEBULA_API_KEY is not set: using an embedded fake inference API.")
	}
	model := getenv("NEBULA_CHAT_MODEL")
	if model == "" {
		model = defaultModel
	}

	// The only Nebula-specific lines: its inference URL and its API key.
	client := openai.NewClient(
		option.WithBaseURL(baseURL),
		option.WithAPIKey(key),
	)

	// A whole completion.
	completion, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are a concise assistant."),
			openai.UserMessage("Say hello to a Go developer."),
		},
		MaxTokens: openai.Int(100),
	})
	if err != nil {
		return fmt.Errorf("completion: %w", err)
	}
	if len(completion.Choices) == 0 {
		return errors.New("completion: no choices in the answer")
	}
	fmt.Fprintln(out, "Completion:", completion.Choices[0].Message.Content)

	// The same, streamed as it is generated.
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Count to five.")},
	})
	defer stream.Close()
	fmt.Fprint(out, "Streamed: ")
	for stream.Next() {
		chunk := stream.Current()
		if len(chunk.Choices) > 0 {
			fmt.Fprint(out, chunk.Choices[0].Delta.Content)
		}
	}
	fmt.Fprintln(out)
	if err := stream.Err(); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	return nil
}
