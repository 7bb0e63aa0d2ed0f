package nebula

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// APIKeysService manages API keys: Create, List, Delete and Rotate. Get it
// from Client.APIKeys.
type APIKeysService struct {
	client *Client
}

// CreateAPIKeyRequest describes a new API key.
type CreateAPIKeyRequest struct {
	Name        string // required, not blank
	Description string // optional; omitted from the request when empty
}

// APIKey is an API key as List shows it: everything but its value.
type APIKey struct {
	ID          ID     `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// PartialKey is the API's partial_key_data: a prefix such as "ak_...",
	// never the key's value.
	PartialKey string `json:"partial_key_data"`
}

// CreatedAPIKey is a key just created. Key holds its value, which the API
// shows only this once: store it before the CreatedAPIKey goes out of scope.
// Printing, logging or marshalling a CreatedAPIKey shows Key redacted.
type CreatedAPIKey struct {
	ID          ID     `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Key         Secret `json:"key"`
}

// createAPIKeyBody is the JSON body of POST /api-keys.
type createAPIKeyBody struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// createdAPIKeyData is the data of a create answer as it comes off the wire.
type createdAPIKeyData struct {
	ID          *ID    `json:"id"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// validate refuses a created key the caller could neither use nor delete.
func (d *createdAPIKeyData) validate() string {
	if d.ID == nil || *d.ID == "" || d.Key == "" {
		return `created key without "id" or "key"`
	}
	return ""
}

// Create creates an API key and returns it with its value, which the API
// never shows again.
//
// Errors: ErrInvalidArgument (nil context; a name that is empty, blank or
// holds a control character such as a NUL or a line break; nothing is
// sent); an *APIError matching ErrBadRequest, ErrUnauthorized,
// ErrForbidden, ErrConflict, ErrRateLimited or ErrServerError; and
// ErrOutcomeUnknown, wrapped with its cause, when the request failed after
// the API may have created the key (see docs/errors-and-retries.md for how
// to recover).
// Create is retried only when the request provably never reached the API, or
// on 429.
func (s *APIKeysService) Create(ctx context.Context, req CreateAPIKeyRequest, opts ...CallOption) (*CreatedAPIKey, error) {
	if err := checkName("APIKeys.Create", "name", req.Name); err != nil {
		return nil, refused(opts, err)
	}
	body, err := json.Marshal(createAPIKeyBody(req))
	if err != nil {
		return nil, refused(opts, invalidArgument("APIKeys.Create: %v", err))
	}
	r := &request{name: "APIKeys.Create", route: "/api-keys", opts: opts, method: http.MethodPost, path: "/api-keys", body: body, safety: sendOnce}
	data, err := send[createdAPIKeyData](ctx, s.client, r)
	if err != nil {
		return nil, err
	}
	return &CreatedAPIKey{ID: *data.ID, Name: data.Name, Description: data.Description, Key: NewSecret(data.Key)}, nil
}

// List returns the account's API keys, without their values.
//
// Errors: ErrInvalidArgument (nil context); an *APIError matching
// ErrUnauthorized, ErrForbidden, ErrRateLimited or ErrServerError after
// retries, or ErrUnexpectedResponse.
func (s *APIKeysService) List(ctx context.Context, opts ...CallOption) ([]APIKey, error) {
	r := &request{name: "APIKeys.List", route: "/api_keys", opts: opts, method: http.MethodGet, path: "/api_keys", safety: repeatable}
	return sendList[APIKey](ctx, s.client, r)
}

// Delete deletes the API key id. If an earlier attempt may have deleted it
// and a retry then finds no such key, Delete succeeds: the key is gone.
//
// Errors: ErrInvalidArgument (nil context, an id that is empty, "." or
// "..", or shaped like a key value or a JWT; nothing is sent); an *APIError matching ErrNotFound, ErrUnauthorized, ErrForbidden,
// ErrRateLimited or ErrServerError.
func (s *APIKeysService) Delete(ctx context.Context, id ID, opts ...CallOption) error {
	path, err := apiKeyPath(id)
	if err != nil {
		return refused(opts, named("APIKeys.Delete", err))
	}
	r := &request{name: "APIKeys.Delete", route: "/api-keys/{id}", opts: opts, method: http.MethodDelete, path: path, safety: repeatable, goneOK: true, noData: true}
	_, err = send[json.RawMessage](ctx, s.client, r)
	return err
}

// apiKeyPath is the key's path with id checked and escaped.
func apiKeyPath(id ID) (string, error) {
	escaped, err := escapeID("API key ID", id)
	if err != nil {
		return "", err
	}
	return "/api-keys/" + escaped, nil
}

// RotateError is returned by Rotate when the new key was created but the old
// one could not be deleted. Rotate returns the new key beside it.
type RotateError struct {
	OldID ID    // the key that is still there
	Err   error // why deleting it failed
}

// Error says that the new key exists and which old key is left.
func (e *RotateError) Error() string {
	return fmt.Sprintf("nebula: APIKeys.Rotate: new key created, but deleting old key %s failed: %v", e.OldID, e.Err)
}

// Unwrap returns the delete's error.
func (e *RotateError) Unwrap() error { return e.Err }

// Rotate replaces the API key old with a new one: it creates the new key
// first, then deletes old, so there is always a working key. If the delete
// fails, Rotate returns the new key together with a *RotateError, so the new
// secret is never lost; delete the old key later.
//
// Errors: those of Create (and then no new key is returned), or a
// *RotateError wrapping those of Delete. ErrInvalidArgument for an unusable
// old ID is reported before anything is created.
func (s *APIKeysService) Rotate(ctx context.Context, old ID, req CreateAPIKeyRequest, opts ...CallOption) (*CreatedAPIKey, error) {
	if _, err := apiKeyPath(old); err != nil {
		return nil, refused(opts, named("APIKeys.Rotate", err))
	}
	created, err := s.Create(ctx, req, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Delete(ctx, old, opts...); err != nil {
		return created, &RotateError{OldID: old, Err: err}
	}
	return created, nil
}
