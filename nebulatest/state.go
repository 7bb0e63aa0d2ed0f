package nebulatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// state is everything the API's callers can change. s.mu guards it.
type state struct {
	seed string

	keys        []*apiKey          // creation order, with tombstones (deleted)
	keysByNum   map[int]*apiKey    // integer ids: smaller than a string map
	keysByUUID  map[string]*apiKey // under WithUUIDs
	keysByName  map[string]*apiKey
	keysByValue map[string]*apiKey
	deadKeys    int
	nextKeyID   int
	created     int
	// keyList is the list answer, shared by every list until the keys
	// change (indexKey and deleteKey drop it); nil until a list needs it.
	keyList []byte

	jwts map[string]time.Time // live login JWTs and their expiry

	sshKeys   []*sshKey // creation order
	sshByID   map[int]*sshKey
	sshByName map[string]*sshKey
	nextSSHID int

	instances []*instance // active, creation order
	deleted   []*instance // deletion order
	instByID  map[string]*instance
	nextHost  int // numbers the instances' addresses
}

func newState(seed string) *state {
	return &state{
		seed:        seed,
		keysByNum:   map[int]*apiKey{},
		keysByUUID:  map[string]*apiKey{},
		keysByName:  map[string]*apiKey{},
		keysByValue: map[string]*apiKey{},
		nextKeyID:   1,
		jwts:        map[string]time.Time{},
		sshByID:     map[int]*sshKey{},
		sshByName:   map[string]*sshKey{},
		nextSSHID:   1,
		instByID:    map[string]*instance{},
	}
}

// initialState is the account as NewServer starts it: the seed key only.
func (s *Server) initialState() *state {
	st := newState(s.cfg.seed)
	st.addKey("default", "the account's initial key", s.cfg.seed, s.cfg.uuidIDs)
	return st
}

// stateFormat names the saved state's format, so that a file from
// elsewhere is refused with a clear error.
const stateFormat = "nebulatest-state/1"

type savedState struct {
	Format    string     `json:"format"`
	Seed      string     `json:"seed"`
	NextKeyID int        `json:"next_key_id,omitempty"`
	Created   int        `json:"created"`
	APIKeys   []savedKey `json:"api_keys"`

	NextSSHKeyID int         `json:"next_ssh_key_id"`
	SSHKeys      []savedSSH  `json:"ssh_keys"`
	NextHost     int         `json:"next_host"`
	Instances    []*instance `json:"instances"` // deleted ones too, with status "Deleted"
}

type savedSSH struct {
	ID        int       `json:"id"`
	Name      string    `json:"key_name"`
	Data      string    `json:"key_data"`
	CreatedAt time.Time `json:"create_time"`
}

type savedKey struct {
	ID          string `json:"id"`
	NumericID   bool   `json:"numeric_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Key         string `json:"key"`
}

// SaveState writes, as JSON, everything callers created: the API keys with
// their values, the SSH keys, the instances, and the ID counters, so that a
// Server started with WithState goes on where this one stopped. Login JWTs,
// faults and the request log are not saved. The output holds live
// credentials: keep it private. It returns w's error.
func (s *Server) SaveState(w io.Writer) error {
	now := s.now()
	s.mu.Lock()
	saved := s.st.save(now)
	s.mu.Unlock()
	b, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return fmt.Errorf("nebulatest: encode state: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("nebulatest: write state: %w", err)
	}
	return nil
}

func (st *state) save(now time.Time) savedState {
	out := savedState{Format: stateFormat, Seed: st.seed, NextKeyID: st.nextKeyID, Created: st.created, APIKeys: []savedKey{},
		NextSSHKeyID: st.nextSSHID, SSHKeys: []savedSSH{}, NextHost: st.nextHost, Instances: []*instance{}}
	for _, k := range st.sshKeys {
		out.SSHKeys = append(out.SSHKeys, savedSSH{ID: k.id, Name: k.name, Data: k.data, CreatedAt: k.created})
	}
	for _, list := range [][]*instance{st.instances, st.deleted} {
		for _, in := range list {
			in.settle(now)
			c := *in
			out.Instances = append(out.Instances, &c)
		}
	}
	for _, k := range st.keys {
		if !k.deleted {
			out.APIKeys = append(out.APIKeys, savedKey{ID: k.id(), NumericID: k.uuid == "", Name: k.name, Description: k.description, Key: k.value})
		}
	}
	return out
}

// WithState starts the Server from a state SaveState wrote, instead of the
// seed key alone; the saved seed token then replaces WithSeedToken's.
// NewServerE reads r to its end and returns an error (and NewServer panics)
// when it cannot be read or is not a valid saved state.
func WithState(r io.Reader) Option { return func(s *Server) { s.cfg.stateReader = r } }

// errState prefixes every reason a saved state is refused.
var errState = errors.New("invalid saved state")

func (s *Server) loadState(r io.Reader) (*state, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var saved savedState
	if err := dec.Decode(&saved); err != nil {
		return nil, fmt.Errorf("%w: %v", errState, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON document", errState)
	}
	st, err := saved.restore()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errState, err)
	}
	return st, nil
}

func (saved savedState) restore() (*state, error) {
	if saved.Format != stateFormat {
		return nil, fmt.Errorf("format %q, want %q", saved.Format, stateFormat)
	}
	if !strings.HasPrefix(saved.Seed, "ak_") {
		return nil, errors.New(`the seed token does not start with "ak_"`)
	}
	// A counter left out (0) goes on after the highest id.
	if saved.NextKeyID == 0 {
		saved.NextKeyID = 1
		for _, k := range saved.APIKeys {
			if n, err := strconv.Atoi(k.ID); err == nil && k.NumericID && n >= saved.NextKeyID {
				saved.NextKeyID = n + 1
			}
		}
	}
	if saved.NextSSHKeyID == 0 {
		saved.NextSSHKeyID = 1
		for _, k := range saved.SSHKeys {
			saved.NextSSHKeyID = max(saved.NextSSHKeyID, k.ID+1)
		}
	}
	if saved.NextKeyID < 1 || saved.Created < 0 || saved.NextSSHKeyID < 1 || saved.NextHost < 0 {
		return nil, errors.New("negative counters")
	}
	st := newState(saved.Seed)
	st.nextKeyID, st.created = saved.NextKeyID, saved.Created
	for i, k := range saved.APIKeys {
		switch {
		case k.ID == "" || k.Name == "":
			return nil, fmt.Errorf("API key %d has no id or name", i)
		case !strings.HasPrefix(k.Key, "ak_"):
			return nil, fmt.Errorf("API key %s: its value does not start with \"ak_\"", k.ID)
		case st.keyByID(k.ID) != nil || st.keysByName[k.Name] != nil || st.keysByValue[k.Key] != nil:
			return nil, fmt.Errorf("API key %s: id, name or value used twice", k.ID)
		}
		key := &apiKey{uuid: k.ID, name: k.Name, description: k.Description, value: k.Key}
		if k.NumericID {
			n, err := strconv.Atoi(k.ID)
			if err != nil || n < 1 || n >= st.nextKeyID || strconv.Itoa(n) != k.ID {
				return nil, fmt.Errorf("API key %s: not an integer below next_key_id", k.ID)
			}
			key.num, key.uuid = n, ""
		} else if n, err := strconv.Atoi(k.ID); err == nil && strconv.Itoa(n) == k.ID {
			// Paths could not tell it from the integer id n.
			return nil, fmt.Errorf("API key %s: an integer id needs numeric_id", k.ID)
		}
		st.indexKey(key)
	}
	st.nextSSHID, st.nextHost = saved.NextSSHKeyID, saved.NextHost
	for _, k := range saved.SSHKeys {
		switch {
		case k.ID < 1 || k.ID >= st.nextSSHID:
			return nil, fmt.Errorf("SSH key %d: id not between 1 and next_ssh_key_id", k.ID)
		case k.Name == "" || st.sshByID[k.ID] != nil || st.sshByName[k.Name] != nil:
			return nil, fmt.Errorf("SSH key %d: no name, or id or name used twice", k.ID)
		case checkPublicKey(k.Data) != "":
			return nil, fmt.Errorf("SSH key %d: %s", k.ID, checkPublicKey(k.Data))
		}
		st.addSSHKey(&sshKey{id: k.ID, name: k.Name, data: k.Data, created: k.CreatedAt})
	}
	for i, in := range saved.Instances {
		switch {
		case in == nil || in.ID == "" || st.instByID[in.ID] != nil:
			return nil, fmt.Errorf("instance %d: no id, or id used twice", i)
		case in.Status != StatusCreating && in.Status != StatusRunning && in.Status != StatusStopped && in.Status != StatusDeleted:
			return nil, fmt.Errorf("instance %s: unknown status %q", in.ID, in.Status)
		}
		st.addInstance(in)
	}
	return st, nil
}
