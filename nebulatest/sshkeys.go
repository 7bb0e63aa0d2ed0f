package nebulatest

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sshKey is one SSH public key of the account.
type sshKey struct {
	id      int
	name    string
	data    string
	created time.Time
}

// unixTime is how create and rename show create_time: unix seconds in a
// string, as in the docs' examples.
func unixTime(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// est is the zone of the "EST 2024-10-23 10:24:21" times the docs show
// (read as UTC-5, as labelled).
var est = time.FixedZone("EST", -5*60*60)

// estTime formats t as the list routes show times.
func estTime(t time.Time) string { return "EST " + t.In(est).Format(time.DateTime) }

func (k *sshKey) view(timeFormat func(time.Time) string) map[string]any {
	return map[string]any{"id": k.id, "key_name": k.name, "key_data": k.data, "create_time": timeFormat(k.created)}
}

// sshKeyTypes are the OpenSSH public-key types the fake accepts.
var sshKeyTypes = []string{"ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-"}

// checkPublicKey says what is wrong with key_data, without quoting it (it
// may be a private key pasted by mistake).
func checkPublicKey(data string) string {
	if strings.Contains(data, "PRIVATE KEY") || strings.Contains(data, "-----BEGIN") {
		return "key_data must be a public key; this looks like a private key"
	}
	fields := strings.Fields(data)
	if len(fields) < 2 || strings.Contains(strings.TrimSpace(data), "\n") {
		return "key_data must be one OpenSSH public key line: type, base64 key, optional comment"
	}
	known := false
	for _, t := range sshKeyTypes {
		if fields[0] == t || (strings.HasSuffix(t, "-") && strings.HasPrefix(fields[0], t)) {
			known = true
		}
	}
	if !known {
		return "key_data has an unknown key type"
	}
	if strings.Trim(fields[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != "" {
		return "key_data's key is not base64"
	}
	return ""
}

func (s *Server) createSSHKey(c *call) reply {
	var req struct {
		Name *string `json:"key_name"`
		Data *string `json:"key_data"`
	}
	if rep, bad := decodeJSON(c, &req); bad {
		rep.message += nameHint(c.body)
		return rep
	}
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		return fail(http.StatusUnprocessableEntity, "key_name is required"+nameHint(c.body))
	}
	if req.Data == nil || strings.TrimSpace(*req.Data) == "" {
		return fail(http.StatusUnprocessableEntity, "key_data is required")
	}
	if msg := checkPublicKey(*req.Data); msg != "" {
		return fail(http.StatusBadRequest, msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if _, taken := st.sshByName[*req.Name]; taken {
		return fail(http.StatusConflict, "SSH key name already exists")
	}
	k := &sshKey{id: st.nextSSHID, name: *req.Name, data: strings.TrimSpace(*req.Data), created: s.now()}
	st.nextSSHID++
	st.addSSHKey(k)
	return ok(k.view(unixTime), "SSH key created successfully")
}

// nameHint helps callers who send the API key field "name" (as the docs'
// own SSH key example does) instead of "key_name".
func nameHint(body []byte) string {
	if nameField.Match(body) {
		return `; the field is "key_name", not "name"`
	}
	return ""
}

var nameField = regexp.MustCompile(`"name"\s*:`)

func (st *state) addSSHKey(k *sshKey) {
	st.sshKeys = append(st.sshKeys, k)
	st.sshByID[k.id] = k
	st.sshByName[k.name] = k
}

func (s *Server) listSSHKeys(c *call) reply {
	limit, offset, rep, bad := pageParams(c)
	if bad {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := s.st.sshKeys
	out := make([]map[string]any, 0)
	for _, k := range page(keys, limit, offset) {
		out = append(out, k.view(estTime))
	}
	return ok(map[string]any{"total_ssh_keys": len(keys), "ssh_keys": out}, "SSH keys retrieved successfully")
}

// sshKeyFor finds the key of the path's id.
func (st *state) sshKeyFor(c *call) (*sshKey, reply, bool) {
	id, err := strconv.Atoi(c.r.PathValue("id"))
	if err != nil {
		return nil, fail(http.StatusUnprocessableEntity, "the SSH key id must be an integer"), false
	}
	k := st.sshByID[id]
	if k == nil {
		return nil, fail(http.StatusNotFound, "SSH key not found"), false
	}
	return k, reply{}, true
}

func (s *Server) renameSSHKey(c *call) reply {
	var req struct {
		Name *string `json:"key_name"`
	}
	if rep, bad := decodeJSON(c, &req); bad {
		rep.message += nameHint(c.body)
		return rep
	}
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		return fail(http.StatusUnprocessableEntity, "key_name is required"+nameHint(c.body))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	k, rep, found := st.sshKeyFor(c)
	if !found {
		return rep
	}
	if other, taken := st.sshByName[*req.Name]; taken && other != k {
		return fail(http.StatusConflict, "SSH key name already exists")
	}
	delete(st.sshByName, k.name)
	k.name = *req.Name
	st.sshByName[k.name] = k
	return ok(k.view(unixTime), "SSH key updated successfully")
}

func (s *Server) deleteSSHKey(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	k, rep, found := st.sshKeyFor(c)
	if !found {
		return rep
	}
	delete(st.sshByID, k.id)
	delete(st.sshByName, k.name)
	for i, other := range st.sshKeys {
		if other == k {
			st.sshKeys = append(st.sshKeys[:i:i], st.sshKeys[i+1:]...)
			break
		}
	}
	return ok(map[string]any{}, "SSH key deleted successfully")
}

// defaultPageLimit is the documented default of limit.
const defaultPageLimit = 100

// pageParams reads limit and offset; a value that is not a non-negative
// integer gets 422, as FastAPI answers.
func pageParams(c *call) (limit, offset int, rep reply, bad bool) {
	q := c.r.URL.Query()
	limit, offset = defaultPageLimit, 0
	for name, dst := range map[string]*int{"limit": &limit, "offset": &offset} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fail(http.StatusUnprocessableEntity, name+" must be a non-negative integer"), true
		}
		*dst = n
	}
	return limit, offset, reply{}, false
}

// page returns the slice of items that limit and offset select.
func page[T any](items []T, limit, offset int) []T {
	if offset >= len(items) {
		return nil
	}
	items = items[offset:]
	if limit < len(items) {
		items = items[:limit]
	}
	return items
}
