package flowstore

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/consentry/consentry/middleware/internal/sealed"
)

// KV is the storage the flows live in; tokencache.Store satisfies it.
// Get reports a missing key as found=false with a nil error.
type KV = sealed.KV

// Flow is one pending authorize request.
type Flow struct {
	State     string    `json:"-"` // never stored: only its hash names the entry
	Nonce     string    `json:"n"`
	Verifier  string    `json:"v"`
	Scopes    []string  `json:"sc,omitempty"`
	ReturnURL string    `json:"r"`
	Created   time.Time `json:"t"`
	SID       string    `json:"sid"`          // the browser session's binding id
	Attempt   int       `json:"a,omitempty"`  // how many flows in a row for these scopes (loop guard)
	Claims    string    `json:"c,omitempty"`  // claims challenge carried to authorize
	LoginHint string    `json:"lh,omitempty"` // who was signed in when the flow started
	Kind      string    `json:"k,omitempty"`  // "" authorize, KindAdminConsent or KindConnect
	Resume    string    `json:"rs,omitempty"` // id of a kept request to replay after the callback
	Tenant    string    `json:"tn,omitempty"` // tenant the admin consent was sent to
	Admin     bool      `json:"ad,omitempty"` // scopes declared admin-only (RequireAdmin)
}

// Kinds of flow besides the authorize request.
const (
	KindAdminConsent = "admin"   // admin consent for a route's scopes
	KindConnect      = "connect" // tenant onboarding (admin consent for the app's permissions)
)

// Errors of Take and TakeIf. ErrNotFound covers forged and replayed states
// alike; ErrRefused is a flow TakeIf's accept refused (left in the store).
var (
	ErrNotFound = errors.New("no pending sign-in for this state (forged, already used or expired)")
	ErrExpired  = errors.New("the pending sign-in expired")
	ErrRefused  = errors.New("the pending sign-in belongs to another browser session")
)

// ClockSkew is how far behind the clock of the replica that takes a flow
// may be of the one that started it: a flow seems created up to this much
// in the future and is still taken. (A replica ahead sees flows older by
// its lead, so they expire that much early by its clock.)
const ClockSkew = 5 * time.Minute

// Prefix starts every key this package writes.
const Prefix = "consentry:flow:"

// Store seals flows into a KV.
type Store struct {
	kv    KV
	aeads []cipher.AEAD // first seals; all open (key rotation)
	ttl   time.Duration
	now   func() time.Time
}

// New returns a Store. secrets derive the sealing keys (the first seals, all
// open); ttl is how long a flow stays valid by now's clock.
func New(kv KV, secrets [][]byte, ttl time.Duration, now func() time.Time) (*Store, error) {
	aeads, err := sealed.NewAEADs(secrets, "consentry/flow/v1")
	if err != nil {
		return nil, fmt.Errorf("flowstore: %w", err)
	}
	return &Store{kv: kv, aeads: aeads, ttl: ttl, now: now}, nil
}

// ID returns the public identifier of a state: a hash, safe to keep in cookies and logs.
func ID(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:16])
}

// Put stores f under its state.
func (s *Store) Put(ctx context.Context, f *Flow) error {
	plain, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("flowstore: %w", err)
	}
	id := ID(f.State)
	// The store's TTL is a backstop by wall-clock time; Take enforces s.ttl by s.now.
	if err := s.kv.Set(ctx, Prefix+id, sealed.Seal(s.aeads, plain, []byte(id)), s.ttl+time.Minute); err != nil {
		return fmt.Errorf("flowstore: save flow: %w", err)
	}
	return nil
}

// Drop deletes the flow whose ID is id, if any (an abandoned flow).
func (s *Store) Drop(ctx context.Context, id string) error {
	if err := s.kv.Delete(ctx, Prefix+id); err != nil {
		return fmt.Errorf("flowstore: delete flow: %w", err)
	}
	return nil
}

// Take returns the flow of state and deletes it (single use): TakeIf that
// accepts any flow.
func (s *Store) Take(ctx context.Context, state string) (*Flow, error) {
	return s.TakeIf(ctx, state, nil)
}

// TakeIf returns the flow of state and deletes it (single use) if accept
// (nil: any flow) approves it. The flow is read and opened first; a flow
// accept refuses is an error wrapping ErrRefused and stays in the store
// untouched, so whoever merely knows a state cannot consume another
// browser's flow. The accepted flow is then claimed with sealed.Claim, so
// with a store that can compare-and-swap (tokencache's) two concurrent Takes
// (two replicas given the same callback) cannot both succeed. A missing, undecryptable or
// expired flow is an error wrapping ErrNotFound or ErrExpired; other errors
// are store failures.
func (s *Store) TakeIf(ctx context.Context, state string, accept func(*Flow) bool) (*Flow, error) {
	id := ID(state)
	data, found, err := s.kv.Get(ctx, Prefix+id)
	if err != nil {
		return nil, fmt.Errorf("flowstore: read flow: %w", err)
	}
	if !found || len(data) == 0 {
		return nil, ErrNotFound
	}
	f, err := s.open(id, data)
	if err != nil {
		return nil, err
	}
	f.State = state
	if accept != nil && !accept(f) {
		return nil, ErrRefused
	}
	won, err := sealed.Claim(ctx, s.kv, Prefix+id, data) // single use, also across replicas
	if err != nil {
		return nil, fmt.Errorf("flowstore: %w", err)
	}
	if !won {
		return nil, ErrNotFound // another Take got it
	}
	if age := s.now().Sub(f.Created); age > s.ttl || age < -ClockSkew {
		return nil, ErrExpired
	}
	return f, nil
}

func (s *Store) open(id string, data []byte) (*Flow, error) {
	plain, ok := sealed.Open(s.aeads, data, []byte(id))
	if !ok {
		return nil, fmt.Errorf("%w: entry does not open with the current keys", ErrNotFound)
	}
	var f Flow
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return &f, nil
}
