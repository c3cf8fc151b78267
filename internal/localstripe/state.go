package localstripe

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
)

// state is everything the server keeps, as saved to Options.StatePath.
type state struct {
	Customers     map[string]*customer     `json:"customers"`
	Sessions      map[string]*session      `json:"checkout_sessions"`
	Subscriptions map[string]*subscription `json:"subscriptions"`
	// Idempotent maps "METHOD path key" to the first answer, so a retried
	// POST (stripe-go retries with the same Idempotency-Key) gets it again.
	Idempotent map[string]cachedAnswer `json:"idempotent"`
	// Deliveries are the latest webhook deliveries, newest last.
	Deliveries []Delivery `json:"deliveries"`
	// Seq orders objects created in the same second.
	Seq int64 `json:"seq"`
}

// cachedAnswer is one remembered idempotent answer.
type cachedAnswer struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// maxDeliveries is how many deliveries the state keeps.
const maxDeliveries = 100

func newState() *state {
	return &state{
		Customers:     map[string]*customer{},
		Sessions:      map[string]*session{},
		Subscriptions: map[string]*subscription{},
		Idempotent:    map[string]cachedAnswer{},
	}
}

// loadState reads path; a missing file (or an empty path) is an empty state.
func loadState(path string) (*state, error) {
	st := newState()
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, errors.New("localstripe: " + path + " is not a saved state (delete it to start afresh): " + err.Error())
	}
	if st.Customers == nil {
		st.Customers = map[string]*customer{}
	}
	if st.Sessions == nil {
		st.Sessions = map[string]*session{}
	}
	if st.Subscriptions == nil {
		st.Subscriptions = map[string]*subscription{}
	}
	if st.Idempotent == nil {
		st.Idempotent = map[string]cachedAnswer{}
	}
	return st, nil
}

// save writes the state to Options.StatePath (atomically); the caller
// holds s.mu.
func (s *Server) save() error {
	if s.opt.StatePath == "" {
		return nil
	}
	b, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.opt.StatePath), 0o755); err != nil {
		return err
	}
	tmp := s.opt.StatePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.opt.StatePath)
}

// next is the next sequence number; the caller holds s.mu.
func (s *Server) next() int64 {
	s.st.Seq++
	return s.st.Seq
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
