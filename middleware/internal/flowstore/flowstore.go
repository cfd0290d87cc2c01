package flowstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/consentry/consentry/middleware/internal/sealed"
	"github.com/consentry/consentry/tokencache/seal"
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
	Prompt    string    `json:"pr,omitempty"` // prompt to send to authorize, e.g. "select_account"
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
	box *sealed.Box
	ttl time.Duration
	now func() time.Time
}

// New returns a Store. secrets derive the sealing keys (the first seals, all
// open); ttl is how long a flow stays valid by now's clock.
func New(kv KV, secrets [][]byte, ttl time.Duration, now func() time.Time) (*Store, error) {
	// Flows sealed before package seal were the bare Flow, bound to its ID.
	legacy := sealed.Legacy{Info: "consentry/flow/v1", TrimPrefix: true, Bare: true}
	box, err := sealed.NewWithLegacy(kv, secrets, "flow", Prefix, now, legacy)
	if err != nil {
		return nil, fmt.Errorf("flowstore: %w", err)
	}
	return &Store{box: box, ttl: ttl, now: now}, nil
}

// ID returns the public identifier of a state: a hash, safe to keep in cookies and logs.
func ID(state string) string { return seal.ID(state) }

// Put stores f under its state.
func (s *Store) Put(ctx context.Context, f *Flow) error {
	if err := s.box.Put(ctx, f.State, f, s.ttl); err != nil {
		return fmt.Errorf("flowstore: save flow: %w", err)
	}
	return nil
}

// Drop deletes the flow whose ID is id, if any (an abandoned flow).
func (s *Store) Drop(ctx context.Context, id string) error {
	if err := s.box.Drop(ctx, id); err != nil {
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
// browser's flow. With a store that can compare-and-swap (tokencache's) two
// concurrent Takes (two replicas given the same callback) cannot both
// succeed. A missing, undecryptable or expired flow is an error wrapping
// ErrNotFound or ErrExpired; other errors are store failures.
func (s *Store) TakeIf(ctx context.Context, state string, accept func(*Flow) bool) (*Flow, error) {
	f := &Flow{}
	res, err := s.box.TakeIf(ctx, state, f, func() bool {
		f.State = state
		return accept == nil || accept(f)
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("flowstore: %w", err)
	case res == sealed.Refused:
		return nil, ErrRefused
	case res == sealed.Missing:
		return nil, ErrNotFound
	case res == sealed.Expired:
		return nil, ErrExpired
	}
	f.State = state
	if age := s.now().Sub(f.Created); age > s.ttl || age < -ClockSkew {
		return nil, ErrExpired
	}
	return f, nil
}
