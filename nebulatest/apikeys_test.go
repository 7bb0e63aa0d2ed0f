package nebulatest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// wantKeyList is the list answer for the Server's live keys as
// encoding/json writes it: the hand-made and cached answer must be the
// same bytes.
func wantKeyList(t *testing.T, s *Server) []byte {
	t.Helper()
	type item struct {
		ID          json.RawMessage `json:"id"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Partial     string          `json:"partial_key_data"`
	}
	items := []item{}
	for _, k := range s.Keys() {
		id, _ := json.Marshal(string(k.ID))
		if _, err := strconv.Atoi(string(k.ID)); err == nil {
			id = []byte(k.ID)
		}
		items = append(items, item{ID: id, Name: k.Name, Description: k.Description, Partial: k.PartialKey})
	}
	b, err := json.Marshal(envelopeJSON{Data: items, Message: "API keys successfully retrieved", Status: "success"})
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// checkKeyList lists the keys through the API and compares the answer
// with wantKeyList; it returns the IDs listed.
func checkKeyList(t *testing.T, s *Server, step string) []string {
	t.Helper()
	resp, got, err := send(s, "GET", "/api_keys", s.Token(), "", "")
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if want := wantKeyList(t, s); resp.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Fatalf("%s: list %d\n%s\nwant\n%s", step, resp.StatusCode, got, want)
	}
	if resp.ContentLength != int64(len(got)) {
		t.Fatalf("%s: Content-Length %d for %d bytes", step, resp.ContentLength, len(got))
	}
	var env struct {
		Data []struct{ ID json.RawMessage }
	}
	json.Unmarshal(got, &env)
	ids := make([]string, len(env.Data))
	for i, k := range env.Data {
		ids[i] = string(k.ID)
	}
	return ids
}

// TestKeyListFollowsChanges: the list answer, encoded once per change of
// the keys and shared by the lists in between, shows every create, delete,
// Reset and restored state at once, byte for byte as encoding/json would.
func TestKeyListFollowsChanges(t *testing.T) {
	t.Parallel()
	for _, uuids := range []bool{false, true} {
		t.Run("uuids="+strconv.FormatBool(uuids), func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if uuids {
				opts = append(opts, WithUUIDs())
			}
			s := New(t, opts...)
			// create checks the created key's answer against encoding/json's
			// too.
			create := func(name, description string) string {
				t.Helper()
				body, _ := json.Marshal(map[string]string{"name": name, "description": description})
				resp, got, err := send(s, "POST", "/api-keys", s.Token(), "application/json", string(body))
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("create %q: %v %s", name, err, got)
				}
				var created struct {
					Data struct {
						ID  json.RawMessage `json:"id"`
						Key string          `json:"key"`
					}
				}
				json.Unmarshal(got, &created)
				want, _ := json.Marshal(envelopeJSON{Data: struct {
					ID          json.RawMessage `json:"id"`
					Key         string          `json:"key"`
					Name        string          `json:"name"`
					Description string          `json:"description"`
				}{created.Data.ID, created.Data.Key, name, description}, Message: "API key successfully created", Status: "success"})
				if !bytes.Equal(got, append(want, '\n')) || !keyPattern.MatchString(created.Data.Key) {
					t.Fatalf("create %q:\n%s\nwant\n%s", name, got, want)
				}
				return strings.Trim(string(created.Data.ID), `"`)
			}
			del := func(id string) {
				t.Helper()
				if code, env := raw(t, s, "DELETE", "/api-keys/"+id, s.Token(), "", ""); code != 200 {
					t.Fatalf("delete %s: %d %v", id, code, env)
				}
			}

			if ids := checkKeyList(t, s, "seed"); len(ids) != 1 {
				t.Fatalf("seed: %v", ids)
			}
			// Names and descriptions that JSON escapes.
			first := create(`<a&b> "q" \ é`+"\u2028\t", "line\nbreak")
			checkKeyList(t, s, "first create")
			checkKeyList(t, s, "the same list again")
			second := create("second", "")
			if ids := checkKeyList(t, s, "second create"); len(ids) != 3 {
				t.Fatalf("second create: %v", ids)
			}
			// A refused create changes nothing.
			if code, _ := raw(t, s, "POST", "/api-keys", s.Token(), "", `{"name":"second"}`); code != 409 {
				t.Fatalf("name taken: %d", code)
			}
			checkKeyList(t, s, "refused create")
			del(first)
			if ids := checkKeyList(t, s, "delete"); len(ids) != 2 || strings.Trim(ids[1], `"`) != second {
				t.Fatalf("delete: %v", ids)
			}
			// Enough deletes that the creation-order slice is compacted.
			var many []string
			for i := range 40 {
				many = append(many, create("many-"+strconv.Itoa(i), "d"))
			}
			checkKeyList(t, s, "40 creates")
			for _, id := range many[:35] {
				del(id)
			}
			if ids := checkKeyList(t, s, "35 deletes"); len(ids) != 7 {
				t.Fatalf("35 deletes: %v", ids)
			}

			var saved bytes.Buffer
			if err := s.SaveState(&saved); err != nil {
				t.Fatal(err)
			}
			restored := New(t, append(opts, WithState(&saved))...)
			before := checkKeyList(t, s, "before saving")
			if after := checkKeyList(t, restored, "restored"); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Fatalf("restored %v, saved %v", after, before)
			}

			s.Reset()
			if ids := checkKeyList(t, s, "reset"); len(ids) != 1 {
				t.Fatalf("reset: %v", ids)
			}
		})
	}
}

// TestKeyListConcurrentWithCreates lists while keys are created, for the
// race detector: the shared answer is never written once made, and every
// list shows at least the keys created before it was sent.
func TestKeyListConcurrentWithCreates(t *testing.T) {
	t.Parallel()
	s := New(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				name := "g" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				if code, env := raw(t, s, "POST", "/api-keys", s.Token(), "", `{"name":"`+name+`"}`); code != 200 {
					t.Errorf("create %s: %d %v", name, code, env)
					return
				}
				_, env := raw(t, s, "GET", "/api_keys", s.Token(), "", "")
				found := false
				for _, k := range env["data"].([]any) {
					found = found || k.(map[string]any)["name"] == name
				}
				if !found {
					t.Errorf("list after creating %s: %v", name, env["data"])
					return
				}
			}
		}()
	}
	wg.Wait()
	if ids := checkKeyList(t, s, "after"); len(ids) != 41 {
		t.Fatalf("%d keys listed, want 41", len(ids))
	}
}

// TestParseKeyRequest: the bodies clients send take the fast path; anything
// else is left to encoding/json (and its explanations).
func TestParseKeyRequest(t *testing.T) {
	t.Parallel()
	indented, _ := json.MarshalIndent(map[string]string{"name": "k1", "description": "d é 世界"}, "", "\t")
	for body, want := range map[string][2]string{
		`{"name":"k1","description":"bench"}`: {"k1", "bench"},
		`{"name":"k1"}`:                       {"k1", ""},
		`{"description":"d","name":"k1"}`:     {"k1", "d"},
		` {} `:                                {"", ""},
		`{"name":"a","name":"b"}`:             {"b", ""}, // the last wins, as in encoding/json
		string(indented) + "\r\n":             {"k1", "d é 世界"},
	} {
		name, description, ok := parseKeyRequest([]byte(body))
		if !ok || name != want[0] || description != want[1] {
			t.Errorf("parseKeyRequest(%q) = %q, %q, %v; want %q, %q", body, name, description, ok, want[0], want[1])
		}
	}
	for _, body := range []string{
		``, ` `, `[]`, `null`, `"name"`, `{`, `{"name"}`, `{"name":}`, `{"name":"k1",}`, `{"name":"k1"} x`, `{"name":"k1"}{}`,
		`{"name":"k\"1"}`, `{"name":"k\u00e91"}`, "{\"name\":\"k\t1\"}", "{\"name\":\"k\xff\"}", `{"NAME":"k1"}`, `{"Name":"k1"}`,
		`{"name":null}`, `{"name":1}`, `{"name":"k1","other":"x"}`, `{"name":"k1" "description":"d"}`, "\ufeff{}",
	} {
		if name, description, ok := parseKeyRequest([]byte(body)); ok {
			t.Errorf("parseKeyRequest(%q) = %q, %q, true; want it left to encoding/json", body, name, description)
		}
	}
}

// FuzzParseKeyRequest: what the fast path reads, encoding/json reads the
// same.
func FuzzParseKeyRequest(f *testing.F) {
	for _, body := range []string{`{"name":"k1","description":"bench"}`, ` { "name" : "a" , "name":"b" } `, `{}`, `{"name":"k\"1"}`, "{\"name\":\"\xff\"}", `{"name":"k1"}x`} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, description, ok := parseKeyRequest(body)
		if !ok {
			return
		}
		var want struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(body, &want); err != nil || want.Name != name || want.Description != description {
			t.Errorf("parseKeyRequest(%q) = %q, %q; encoding/json: %q, %q, %v", body, name, description, want.Name, want.Description, err)
		}
	})
}
