package nebula

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strings"
	"time"
)

// SSHKeysService manages the SSH keys that GPU instances can be created
// with: Create, List, All, Rename and Delete. Get it from Client.SSHKeys.
type SSHKeysService struct {
	client *Client
}

// SSHKey is an SSH public key stored with the account.
type SSHKey struct {
	ID        ID        // the id instances refer to (ssh_key_id)
	Name      string    // key_name
	PublicKey string    // key_data: the OpenSSH public-key line as stored
	CreatedAt time.Time // create_time, in UTC; zero when the API sent none
}

// CreateSSHKeyRequest describes a new SSH key.
type CreateSSHKeyRequest struct {
	// Name is required and must not be blank.
	Name string
	// PublicKey is one OpenSSH public-key line, as in a ".pub" file or
	// authorized_keys without options: "ssh-ed25519 AAAA... comment". The
	// types accepted are ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521,
	// sk-ssh-ed25519@openssh.com and sk-ecdsa-sha2-nistp256@openssh.com. One
	// trailing line break is dropped.
	PublicKey string
}

// sshKeyData is an SSH key as the API sends it.
type sshKeyData struct {
	ID         ID      `json:"id"` // a value, not a pointer: one allocation less per key
	KeyName    string  `json:"key_name"`
	KeyData    string  `json:"key_data"`
	CreateTime apiTime `json:"create_time"`
}

// validate refuses a key without an id: the caller could neither use it for
// an instance nor delete it.
func (d *sshKeyData) validate() string {
	if d.ID == "" {
		return `SSH key without "id"`
	}
	return ""
}

func (d *sshKeyData) public() SSHKey {
	return SSHKey{ID: d.ID, Name: d.KeyName, PublicKey: d.KeyData, CreatedAt: d.CreateTime.Time}
}

// sshKeyListData is the data of GET /ssh-keys. Keys is preset (see
// listMember).
type sshKeyListData struct {
	Total *flexInt      `json:"total_ssh_keys"`
	Keys  *[]sshKeyData `json:"ssh_keys"`
}

// page refuses an answer without its list and any key without an id.
func (d *sshKeyListData) page(*rawEnvelope) ([]sshKeyData, *flexInt, string) {
	keys, problem := listMember(d.Keys, "SSH key list", "ssh_keys")
	if problem != "" {
		return nil, nil, problem
	}
	for i := range keys {
		if p := keys[i].validate(); p != "" {
			return nil, nil, p
		}
	}
	return keys, d.Total, ""
}

// sshKeyBody is the JSON body of POST /ssh-keys and PUT /ssh-keys/{id}.
// The docs' curl example sends "name", but their parameter table and
// Nebula's own MCP server send "key_name".
type sshKeyBody struct {
	KeyName string `json:"key_name"`
	KeyData string `json:"key_data,omitempty"`
}

// Create stores an SSH public key. The key is checked before anything is
// sent: it must be one OpenSSH public-key line whose base64 part decodes and
// names the same key type as the line. A private key pasted by mistake is
// refused, and the error never quotes any of it.
//
// Create is never sent twice once it may have reached the API (it is a
// create, like every create): it is retried only when the request provably
// never left, or on 429.
//
// Errors: ErrInvalidArgument (nil context, a blank name, a PublicKey that is
// not one OpenSSH public-key line, a private key; nothing is sent); an
// *APIError matching ErrBadRequest, ErrUnauthorized, ErrForbidden,
// ErrConflict, ErrRateLimited or ErrServerError, or ErrUnexpectedResponse
// (an answer without the key's id); and ErrOutcomeUnknown, wrapped with its
// cause, when the request failed after the API may have stored the key: List
// tells whether it did.
func (s *SSHKeysService) Create(ctx context.Context, req CreateSSHKeyRequest, opts ...CallOption) (*SSHKey, error) {
	if err := checkName("SSHKeys.Create", "name", req.Name); err != nil {
		return nil, refused(opts, err)
	}
	line, blob, err := checkPublicKey(req.PublicKey)
	if err != nil {
		return nil, refused(opts, err)
	}
	body, err := json.Marshal(sshKeyBody{KeyName: req.Name, KeyData: line})
	if err != nil {
		return nil, refused(opts, invalidArgument("SSHKeys.Create: %v", err))
	}
	r := &request{
		name: "SSHKeys.Create", route: "/ssh-keys", opts: opts,
		method: http.MethodPost, path: "/ssh-keys", body: body, safety: sendOnce,
		// An error answer that echoes the key shows it redacted.
		secrets: []string{line, blob},
	}
	data, err := send[sshKeyData](ctx, s.client, r)
	if err != nil {
		return nil, redactKeyMaterial(err)
	}
	key := data.public()
	return &key, nil
}

// List returns one page of the account's SSH keys. Page.Total is the API's
// total_ssh_keys and Page.Next asks for the following page. Zero options use
// the API's defaults (the docs: 100 keys from offset 0).
//
// Errors: ErrInvalidArgument (nil context, a negative Limit or Offset;
// nothing is sent); an *APIError matching ErrUnauthorized, ErrForbidden,
// ErrRateLimited or ErrServerError after retries, or ErrUnexpectedResponse
// (no "ssh_keys", a key without an id, a create_time in no known form).
func (s *SSHKeysService) List(ctx context.Context, lo ListOptions, opts ...CallOption) (*Page[SSHKey], error) {
	q, err := lo.query()
	if err != nil {
		return nil, refused(opts, named("SSHKeys.List", err))
	}
	r := &request{name: "SSHKeys.List", route: "/ssh-keys", opts: opts, method: http.MethodGet, path: "/ssh-keys", query: q, safety: repeatable}
	page, err := sendPage(ctx, s.client, r, lo, &sshKeyListData{Keys: new([]sshKeyData)}, (*sshKeyData).public)
	return page, redactKeyMaterial(err)
}

// All walks every SSH key of the account, a page of 100 at a time, holding
// one page and the IDs seen (about 65 bytes each, so that a shifting list
// yields no key twice) in memory. It stops fetching when the loop is left early. An
// error is yielded once, with a zero SSHKey, and ends the walk; the errors
// are those of List.
//
//	for key, err := range client.SSHKeys.All(ctx) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(key.Name)
//	}
func (s *SSHKeysService) All(ctx context.Context, opts ...CallOption) iter.Seq2[SSHKey, error] {
	return allPages(ctx, "SSHKeys.All", defaultPageSize, func(ctx context.Context, lo ListOptions) (*Page[SSHKey], error) {
		return s.List(ctx, lo, opts...)
	}, func(k *SSHKey) string { return string(k.ID) })
}

// Rename gives the SSH key id a new name and returns the key. Renaming is
// safe to repeat, so it is retried like a read.
//
// Errors: ErrInvalidArgument (nil context, a blank name, an id that is
// empty, "." or "..", or shaped like a key value or a JWT; nothing is sent);
// an *APIError matching ErrBadRequest, ErrNotFound, ErrUnauthorized,
// ErrForbidden, ErrConflict, ErrRateLimited or ErrServerError, or
// ErrUnexpectedResponse (an answer without the key).
func (s *SSHKeysService) Rename(ctx context.Context, id ID, name string, opts ...CallOption) (*SSHKey, error) {
	path, err := sshKeyPath(id)
	if err != nil {
		return nil, refused(opts, named("SSHKeys.Rename", err))
	}
	if err := checkName("SSHKeys.Rename", "name", name); err != nil {
		return nil, refused(opts, err)
	}
	body, err := json.Marshal(sshKeyBody{KeyName: name})
	if err != nil {
		return nil, refused(opts, invalidArgument("SSHKeys.Rename: %v", err))
	}
	r := &request{name: "SSHKeys.Rename", route: "/ssh-keys/{id}", opts: opts, method: http.MethodPut, path: path, body: body, safety: repeatable}
	data, err := send[sshKeyData](ctx, s.client, r)
	if err != nil {
		return nil, redactKeyMaterial(err)
	}
	key := data.public()
	return &key, nil
}

// Delete deletes the SSH key id. If an earlier attempt may have deleted it
// and a retry then finds no such key, Delete succeeds: the key is gone.
//
// Errors: ErrInvalidArgument (nil context, an id that is empty, "." or
// "..", or shaped like a key value or a JWT; nothing is sent); an *APIError
// matching ErrNotFound, ErrUnauthorized, ErrForbidden, ErrRateLimited or
// ErrServerError.
func (s *SSHKeysService) Delete(ctx context.Context, id ID, opts ...CallOption) error {
	path, err := sshKeyPath(id)
	if err != nil {
		return refused(opts, named("SSHKeys.Delete", err))
	}
	r := &request{name: "SSHKeys.Delete", route: "/ssh-keys/{id}", opts: opts, method: http.MethodDelete, path: path, safety: repeatable, goneOK: true, noData: true}
	_, err = send[json.RawMessage](ctx, s.client, r)
	return redactKeyMaterial(err)
}

// sshKeyPath is the key's path with id checked and escaped.
func sshKeyPath(id ID) (string, error) {
	escaped, err := escapeID("SSH key ID", id)
	if err != nil {
		return "", err
	}
	return "/ssh-keys/" + escaped, nil
}

// sshKeyTypes are the public-key types accepted, with the number of
// length-prefixed fields that follow the type name in the key blob
// (RFC 4253, RFC 5656, OpenSSH PROTOCOL.u2f).
var sshKeyTypes = map[string]int{
	"ssh-ed25519":                        1, // key
	"ssh-rsa":                            2, // e, n
	"ecdsa-sha2-nistp256":                2, // curve, Q
	"ecdsa-sha2-nistp384":                2,
	"ecdsa-sha2-nistp521":                2,
	"sk-ssh-ed25519@openssh.com":         2, // key, application
	"sk-ecdsa-sha2-nistp256@openssh.com": 3, // curve, Q, application
}

// privateKeyMarkers betray a private key: PEM and OpenSSH armour, PKCS#8,
// PuTTY's .ppk files.
var privateKeyMarkers = []string{"PRIVATE KEY", "PuTTY-User-Key-File"}

// armourMarkers betray a key in an armour the API does not take: a PEM
// public key (openssl's, ssh-keygen -e -m PEM) or an SSH2 one (RFC 4716,
// ssh-keygen -e).
var armourMarkers = []string{"-----BEGIN", "---- BEGIN SSH2"}

// checkPublicKey checks that s is one OpenSSH public-key line and returns it
// without its trailing line break, and its base64 part. Its errors never
// quote s: what was pasted may be a private key, whatever shape it has.
func checkPublicKey(s string) (line, blob string, err error) {
	const what = "SSHKeys.Create: PublicKey"
	for _, m := range privateKeyMarkers {
		if strings.Contains(s, m) {
			return "", "", invalidArgument("%s holds a private key, which was not sent: pass the public key (the .pub file, or the output of ssh-keygen -y)", what)
		}
	}
	for _, m := range armourMarkers {
		if strings.Contains(s, m) {
			return "", "", invalidArgument("%s is in PEM or SSH2 armour, which the API does not take; nothing was sent: pass the OpenSSH form, one line such as \"ssh-ed25519 AAAA... comment\" (ssh-keygen -i -f FILE converts an SSH2 key, ssh-keygen -i -m PKCS8 -f FILE a PEM one)", what)
		}
	}
	line = strings.TrimSuffix(s, "\n")
	line = strings.TrimSuffix(line, "\r")
	switch {
	case strings.TrimSpace(line) == "":
		return "", "", invalidArgument("%s is empty", what)
	case strings.ContainsAny(line, "\r\n"):
		return "", "", invalidArgument("%s must be one line, an OpenSSH public key such as \"ssh-ed25519 AAAA... comment\"", what)
	case hasControl(strings.ReplaceAll(line, "\t", " ")):
		return "", "", invalidArgument("%s holds a control character", what)
	}
	keyType, rest, _ := strings.Cut(line, " ")
	blob, _, _ = strings.Cut(rest, " ")
	fields, known := sshKeyTypes[keyType]
	if !known {
		return "", "", invalidArgument("%s does not start with a supported key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com) followed by one space", what)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(blob)
	if err != nil || blob == "" {
		return "", "", invalidArgument("%s: the part after the key type is not valid base64 (a key cut short or wrapped?)", what)
	}
	if err := checkKeyBlob(raw, keyType, fields); err != nil {
		return "", "", invalidArgument("%s: %v", what, err)
	}
	return line, blob, nil
}

// checkKeyBlob checks the decoded base64 part of a public-key line: a
// sequence of length-prefixed strings, the first the key type, then fields
// more, and nothing after them.
func checkKeyBlob(raw []byte, keyType string, fields int) error {
	parts := make([][]byte, 0, 1+fields)
	for len(raw) > 0 {
		if len(raw) < 4 {
			return errKeyBlob
		}
		n := binary.BigEndian.Uint32(raw)
		if uint64(n) > uint64(len(raw)-4) {
			return errKeyBlob
		}
		parts = append(parts, raw[4:4+n])
		raw = raw[4+n:]
	}
	switch {
	case len(parts) == 0 || string(parts[0]) != keyType:
		return errors.New("the key inside the base64 part is not of the type the line names")
	case len(parts) != 1+fields:
		return errKeyBlob
	case (keyType == "ssh-ed25519" || keyType == "sk-ssh-ed25519@openssh.com") && len(parts[1]) != 32:
		return errKeyBlob
	case strings.HasPrefix(keyType, "ecdsa-sha2-") && string(parts[1]) != strings.TrimPrefix(keyType, "ecdsa-sha2-"):
		return errKeyBlob
	case keyType == "sk-ecdsa-sha2-nistp256@openssh.com" && string(parts[1]) != "nistp256":
		return errKeyBlob
	}
	return nil
}

var errKeyBlob = errors.New("the base64 part is not a well-formed public key of its type (cut short?)")

// redactKeyMaterial removes from an *APIError's message anything shaped
// like the base64 part of an SSH public key (it always starts "AAAA": the
// type name's length prefix), should the API echo a key in an error.
func redactKeyMaterial(err error) error {
	if err == nil {
		return nil // before apiErr, whose address escapes: a success allocates nothing here
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.Message = redactKeyBlobs(apiErr.Message)
	}
	return err
}

// minKeyBlobLen is the shortest base64 run with "AAAA" taken for key
// material (a message cut to length may keep only the start of a key);
// shorter runs are ordinary words.
const minKeyBlobLen = 8

func redactKeyBlobs(s string) string {
	if !strings.Contains(s, "AAAA") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "AAAA")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i
		for j < len(s) && isBase64Byte(s[j]) {
			j++
		}
		start := i
		for start > 0 && isBase64Byte(s[start-1]) {
			start--
		}
		b.WriteString(s[:start])
		if j-start >= minKeyBlobLen {
			b.WriteString("[REDACTED-KEY]")
		} else {
			b.WriteString(s[start:j])
		}
		s = s[j:]
	}
}

func isBase64Byte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}
