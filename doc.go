// Package nebula is the Go SDK for the Nebula Block Platform API. It
// manages API keys (create, list, delete, rotate) and logs in.
//
// Create one Client and share it; it is safe for concurrent use:
//
//	client, err := nebula.NewClient(nebula.WithToken(apiKey)) // or NEBULA_API_KEY
//	key, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "ci"})
//	store(key.Key.Reveal()) // shown only this once
//
// # Errors
//
// Input the SDK refuses before sending is ErrInvalidArgument. Every answer
// from the API that is not a success is an *APIError, which errors.Is maps
// to a class sentinel (ErrNotFound, ErrConflict, ...). A create that failed
// after the API may have acted on it is ErrOutcomeUnknown: the key may
// exist; the README shows how to recover.
//
// # Retries
//
// GET and DELETE are retried on transport errors and on 408, 429, 500, 502,
// 503 and 504; POST only when the request provably never left, or on 429,
// so a retry never creates a second key. Waits are exponential with full
// jitter, and honour Retry-After up to a minute.
//
// # Secrets
//
// Key values and JWTs are Secrets: redacted under every fmt verb, log/slog
// and encoding/json. No error or log record carries a credential, and the
// token is never sent to another host than the base URL's.
//
// Package [github.com/nebula-sdk/nebula-go/nebulatest] runs a fake API for
// tests, the way net/http/httptest runs a server.
package nebula
