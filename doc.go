// Package nebula is the Go SDK for the Nebula Block Platform API: API keys
// and login, SSH keys, the compute catalog, GPU instances, billing and
// invoices, serverless models and image generation.
//
// Create one Client and share it; it is safe for concurrent use:
//
//	client, err := nebula.NewClient(nebula.WithToken(apiKey)) // or NEBULA_API_KEY
//	key, err := client.APIKeys.Create(ctx, nebula.CreateAPIKeyRequest{Name: "ci"})
//	store(key.Key.Reveal()) // shown only this once
//
//	for in, err := range client.Instances.All(ctx) { ... } // every page, one in memory
//
// # Errors
//
// Input the SDK refuses before sending is ErrInvalidArgument. Every answer
// from the API that is not a success is an *APIError, which errors.Is maps
// to a class sentinel (ErrNotFound, ErrConflict, ...). A create that failed
// after the API may have acted on it is ErrOutcomeUnknown: what it creates
// may exist (Instances.Lookup tells for an instance); the README shows how
// to recover.
//
// # Retries
//
// Whether a call may reach the API twice is a property of the call. Reads,
// deletes, renames, login and the start/stop/reboot GETs are retried on
// transport errors and on 408, 429, 500, 502, 503 and 504. Creates (API
// keys, SSH keys, instances, images) only when the request provably never
// left, or on 429, and they are handed to the transport so that it cannot
// replay them either: a retry never creates a second key or instance. Waits
// are exponential with jitter, and honour Retry-After up to a minute.
//
// # Options for one call
//
// Every method takes CallOptions last: WithCallTimeout and
// WithCallMaxRetries change one call's timeout and retries, WithCallHeader
// adds a header to each of its attempts, and WithResponseInto fills a
// Response (status, headers, request id, attempts, duration, rate limits)
// when the call returns, failed or not. WithObserver reports every call and
// attempt to an Observer, which a tracer or a metrics recorder implements
// (module github.com/nebula-sdk/nebula-go/otel for OpenTelemetry).
//
// # Secrets
//
// Key values, JWTs and instance passwords are Secrets: redacted under every
// fmt verb, log/slog and encoding/json. No error or log record carries a
// credential, in clear or escaped, and the token is never sent to another
// host than the base URL's.
//
// Package [github.com/nebula-sdk/nebula-go/nebulatest] runs a fake API for
// tests, the way net/http/httptest runs a server; cmd/nebula-fake serves the
// same fake as a program for harnesses in any language.
package nebula
