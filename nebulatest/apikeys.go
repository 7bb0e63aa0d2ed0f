package nebulatest

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	nebula "github.com/nebula-sdk/nebula-go"
)

// apiKey is one API key of the account.
type apiKey struct {
	num         int    // the integer id, when uuid is ""
	uuid        string // the id under WithUUIDs
	name        string
	description string
	value       string
	deleted     bool
}

// id is the key's id as the API's paths carry it.
func (k *apiKey) id() string {
	if k.uuid != "" {
		return k.uuid
	}
	return strconv.Itoa(k.num)
}

// partialKey is what List shows of every key, as documented.
const partialKey = "ak_..."

func (s *Server) createKey(c *call) reply {
	name, description, plain := "", "", false
	if ct := c.r.Header.Get("Content-Type"); ct == "" || ct == "application/json" {
		name, description, plain = parseKeyRequest(c.body)
	}
	if !plain {
		var req struct {
			// A missing name, null and "" get the same answer: a plain
			// string tells them apart no less than a *string would,
			// without its allocation.
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		if rep, bad := decodeJSON(c, &req); bad {
			return rep
		}
		name, description = req.Name, req.Description
	}
	if strings.TrimSpace(name) == "" {
		return fail(http.StatusUnprocessableEntity, "name is required")
	}
	value := newKeyValue() // crypto/rand, before the lock
	s.mu.Lock()
	st := s.st
	if _, taken := st.keysByName[name]; taken {
		s.mu.Unlock()
		return fail(http.StatusConflict, "API key name already exists")
	}
	k := st.addKey(name, description, value, s.cfg.uuidIDs)
	st.created++
	s.mu.Unlock()
	// Encoded by hand, after the lock (k never changes once made):
	// creating and listing keys is what load tests do most, and
	// encoding/json's reflection was most of their cost.
	b := make([]byte, 0, createdAnswerSize+len(k.name)+len(k.description))
	b = append(b, `{"data":{"id":`...)
	b = k.appendJSONID(b)
	b = append(b, `,"key":`...)
	b = appendJSONString(b, k.value)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, k.name)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, k.description)
	b = append(b, createdTail...)
	return reply{status: http.StatusOK, contentType: "application/json", raw: b}
}

// parseKeyRequest reads a create's body in the shape clients send,
// {"name": "...", "description": "..."} with strings that need no
// unescaping, as encoding/json would, without its reflection and in one
// allocation that holds both values (the key keeps them: no more memory
// than encoding/json's two strings). It returns false for anything else
// (escapes, other fields or types, invalid UTF-8, malformed JSON), which
// decodeJSON then reads, or explains.
func parseKeyRequest(body []byte) (name, description string, ok bool) {
	var nameAt, descAt [2]int // where the values are in body
	i := skipJSONSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return "", "", false
	}
	i = skipJSONSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return "", "", skipJSONSpace(body, i+1) == len(body)
	}
	for {
		field, next, ok := plainJSONString(body, i)
		if !ok {
			return "", "", false
		}
		i = skipJSONSpace(body, next)
		if i == len(body) || body[i] != ':' {
			return "", "", false
		}
		value, next, ok := plainJSONString(body, skipJSONSpace(body, i+1))
		if !ok {
			return "", "", false
		}
		switch string(body[field[0]:field[1]]) { // encoding/json would also take "Name", "NAME"...
		case "name":
			nameAt = value
		case "description":
			descAt = value
		default:
			return "", "", false
		}
		i = skipJSONSpace(body, next)
		switch {
		case i == len(body):
			return "", "", false
		case body[i] == ',':
			i = skipJSONSpace(body, i+1)
		case body[i] == '}':
			if skipJSONSpace(body, i+1) != len(body) {
				return "", "", false
			}
			var both strings.Builder
			both.Grow(nameAt[1] - nameAt[0] + descAt[1] - descAt[0])
			both.Write(body[nameAt[0]:nameAt[1]])
			both.Write(body[descAt[0]:descAt[1]])
			str := both.String()
			n := nameAt[1] - nameAt[0]
			return str[:n], str[n:], true
		default:
			return "", "", false
		}
	}
}

// skipJSONSpace returns the index of the first byte of b from i on that is
// not JSON white space.
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainJSONString finds the JSON string that starts at b[i], if it is one
// that decodes to its own bytes (no escape, no control character, valid
// UTF-8): where its contents start and end, and the index after it.
func plainJSONString(b []byte, i int) ([2]int, int, bool) {
	if i == len(b) || b[i] != '"' {
		return [2]int{}, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return [2]int{i + 1, j}, j + 1, utf8.Valid(b[i+1 : j])
		case c == '\\' || c < 0x20:
			return [2]int{}, j, false
		}
	}
	return [2]int{}, len(b), false
}

const createdTail = "},\"message\":\"API key successfully created\",\"status\":\"success\"}\n"

// createdAnswerSize is a created key's answer without its name and
// description (a UUID id, the key value, every quote), so that it is
// built in one allocation.
const createdAnswerSize = len(`{"data":{"id":"","key":"","name":"","description":`) + 36 + len("ak_") + 43 + len(createdTail) + 16

func (s *Server) listKeys(*call) reply {
	s.mu.Lock()
	st := s.st
	b := st.keyList
	if b == nil {
		b = st.encodeKeyList()
		st.keyList = b
	}
	s.mu.Unlock()
	// b is shared by every list answer until the keys change: it is
	// written, never changed.
	return reply{status: http.StatusOK, contentType: "application/json", raw: b}
}

// encodeKeyList encodes the list answer, by hand (see createKey). s.mu must
// be held.
func (st *state) encodeKeyList() []byte {
	b := make([]byte, 0, 128+96*len(st.keysByValue))
	b = append(b, `{"data":[`...)
	first := true
	for _, k := range st.keys {
		if k.deleted {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"id":`...)
		b = k.appendJSONID(b)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, k.name)
		b = append(b, `,"description":`...)
		b = appendJSONString(b, k.description)
		b = append(b, `,"partial_key_data":"`+partialKey+`"}`...)
	}
	return append(b, "],\"message\":\"API keys successfully retrieved\",\"status\":\"success\"}\n"...)
}

// appendJSONID appends the key's id as the API sends it: a JSON integer or
// a UUID string.
func (k *apiKey) appendJSONID(b []byte) []byte {
	if k.uuid != "" {
		return appendJSONString(b, k.uuid)
	}
	return strconv.AppendInt(b, int64(k.num), 10)
}

func (s *Server) deleteKey(c *call) reply {
	id := c.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.deleteKey(id) {
		return fail(http.StatusNotFound, "API key not found")
	}
	return ok(map[string]any{}, "API key successfully deleted")
}

// Keys returns the live API keys as List would show them.
func (s *Server) Keys() []nebula.APIKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]nebula.APIKey, 0, len(s.st.keysByValue))
	for _, k := range s.st.keys {
		if !k.deleted {
			out = append(out, nebula.APIKey{ID: nebula.ID(k.id()), Name: k.name, Description: k.description, PartialKey: partialKey})
		}
	}
	return out
}

// addKey stores a new key; names and values are indexed so that creating
// and authenticating stay O(1).
func (st *state) addKey(name, description, value string, uuid bool) *apiKey {
	k := &apiKey{name: name, description: description, value: value}
	if uuid {
		k.uuid = newUUID()
	} else {
		k.num = st.nextKeyID
		st.nextKeyID++
	}
	st.indexKey(k)
	return k
}

func (st *state) indexKey(k *apiKey) {
	st.keyList = nil
	st.keys = append(st.keys, k)
	if k.uuid != "" {
		st.keysByUUID[k.uuid] = k
	} else {
		st.keysByNum[k.num] = k
	}
	st.keysByName[k.name] = k
	st.keysByValue[k.value] = k
}

// deleteKey removes the key with id, if any. The creation-order slice keeps
// a tombstone until half of it is dead.
func (st *state) deleteKey(id string) bool {
	k := st.keyByID(id)
	if k == nil {
		return false
	}
	k.deleted = true
	st.keyList = nil
	delete(st.keysByUUID, k.uuid)
	delete(st.keysByNum, k.num)
	delete(st.keysByName, k.name)
	delete(st.keysByValue, k.value)
	st.deadKeys++
	if st.deadKeys > 32 && st.deadKeys > len(st.keys)/2 {
		live := make([]*apiKey, 0, len(st.keysByValue))
		for _, k := range st.keys {
			if !k.deleted {
				live = append(live, k)
			}
		}
		st.keys, st.deadKeys = live, 0
	}
	return true
}

// keyByID finds a live key by the id in a path: integers in their
// canonical form only ("007" is no key), as a string map would.
func (st *state) keyByID(id string) *apiKey {
	if n, err := strconv.Atoi(id); err == nil && strconv.Itoa(n) == id {
		return st.keysByNum[n]
	}
	return st.keysByUUID[id]
}

// newKeyValue makes an API key value as the real API does: "ak_" and 43
// URL-safe base64 characters (32 random bytes), in one allocation.
func newKeyValue() string {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic("nebulatest: crypto/rand: " + err.Error())
	}
	var b [len("ak_") + 43]byte
	copy(b[:], "ak_")
	base64.RawURLEncoding.Encode(b[len("ak_"):], raw[:])
	return string(b[:])
}
