package sealed

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/seal"
)

// KV is the storage; tokencache.Store satisfies it. Get reports a missing key
// as found=false with a nil error.
type KV interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// CompareAndSwapper is the optional store capability (tokencache's) that
// makes a Take atomic across replicas.
type CompareAndSwapper interface {
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
}

// Box seals records of one kind under one key prefix.
type Box struct {
	kv     KV
	ring   *seal.Keyring
	legacy *legacyBox // opens records sealed before package seal
	prefix string
	now    func() time.Time
}

// envelope is what is sealed: the record and its expiry by the Box's clock.
type envelope struct {
	Expires time.Time       `json:"e,omitzero"`
	V       json.RawMessage `json:"v"`
}

// New returns a Box. label separates the keys of different kinds of record;
// secrets derive the sealing keys (the first seals, all open). Records of
// label sealed in the Legacy format {Info: "consentry/sealed/v1/"+label}
// still open.
func New(kv KV, secrets [][]byte, label, prefix string, now func() time.Time) (*Box, error) {
	return NewWithLegacy(kv, secrets, label, prefix, now, Legacy{Info: "consentry/sealed/v1/" + label})
}

// NewWithLegacy is New for records that were sealed in the Legacy format
// legacy.
func NewWithLegacy(kv KV, secrets [][]byte, label, prefix string, now func() time.Time, legacy Legacy) (*Box, error) {
	ring, err := seal.Derive("consentry/middleware/v2/"+label+"\x00", secrets)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	lb, err := newLegacy(legacy, secrets)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	return &Box{kv: kv, ring: ring, legacy: lb, prefix: prefix, now: now}, nil
}

// Key returns the store key of id: the prefix and seal.ID(id), so the store
// never sees ids that act as bearer secrets.
func (b *Box) Key(id string) string { return b.prefix + seal.ID(id) }

// Put stores v under id for ttl (ttl <= 0: no expiry). The store's own TTL
// is a minute longer: a backstop by wall-clock time, while Get and Take
// enforce ttl by the Box's clock.
func (b *Box) Put(ctx context.Context, id string, v any, ttl time.Duration) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("sealed: %w", err)
	}
	env := envelope{V: raw}
	storeTTL := time.Duration(0)
	if ttl > 0 {
		env.Expires = b.now().Add(ttl)
		storeTTL = ttl + time.Minute
	}
	plain, _ := json.Marshal(env)
	key := b.Key(id)
	blob, err := b.ring.Seal(nil, plain, key)
	if err != nil {
		return fmt.Errorf("sealed: %w", err)
	}
	if err := b.kv.Set(ctx, key, blob, storeTTL); err != nil {
		return fmt.Errorf("sealed: save: %w", err)
	}
	return nil
}

// Get reads the record of id into v. A missing, expired or unopenable record
// is found=false with a nil error; errors are store failures.
func (b *Box) Get(ctx context.Context, id string, v any) (found bool, err error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	key := b.Key(id)
	data, found, err := b.kv.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("sealed: read: %w", err)
	}
	env, ok := b.open(key, data)
	if !found || !ok || b.expired(env) {
		return false, nil
	}
	return json.Unmarshal(env.V, v) == nil, nil
}

// Result says how a TakeIf ended.
type Result int

const (
	Missing Result = iota // no record: never stored, taken already, or unopenable
	Taken                 // the record was read into v and removed
	Expired               // the record was removed, but had expired
	Refused               // accept refused the record; it stays in the store untouched
)

// Take reads the record of id into v and removes it: a record can be taken
// once. A missing, expired or unopenable record is found=false with a nil
// error; errors are store failures.
func (b *Box) Take(ctx context.Context, id string, v any) (found bool, err error) {
	res, err := b.TakeIf(ctx, id, v, nil)
	return res == Taken, err
}

// TakeIf reads the record of id into v and, if accept (nil: any record)
// approves it, removes it: whoever merely knows an id cannot use up a record
// accept refuses. With a CompareAndSwapper store two concurrent TakeIfs
// cannot both take it: the value is swapped for an empty marker, and once
// that swap is won the Delete is best effort (the marker never opens and
// expires within a minute, while failing would strand the record's user).
// Without one, the Delete is the claim and its failure an error.
func (b *Box) TakeIf(ctx context.Context, id string, v any, accept func() bool) (Result, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	key := b.Key(id)
	data, found, err := b.kv.Get(ctx, key)
	if err != nil {
		return Missing, fmt.Errorf("sealed: read: %w", err)
	}
	env, ok := b.open(key, data)
	if !found || !ok || json.Unmarshal(env.V, v) != nil {
		return Missing, nil
	}
	if accept != nil && !accept() {
		return Refused, nil
	}
	if won, err := b.claim(ctx, key, data); !won || err != nil {
		return Missing, err
	}
	if b.expired(env) {
		return Expired, nil
	}
	return Taken, nil
}

// claim removes key, whose value was read as data, for one taker, and
// reports whether this caller won it.
func (b *Box) claim(ctx context.Context, key string, data []byte) (won bool, err error) {
	cas, ok := b.kv.(CompareAndSwapper)
	if !ok {
		if err := b.kv.Delete(ctx, key); err != nil {
			return false, fmt.Errorf("sealed: delete: %w", err)
		}
		return true, nil
	}
	swapped, err := cas.CompareAndSwap(ctx, key, data, []byte{}, time.Minute)
	if err != nil {
		return false, fmt.Errorf("sealed: claim: %w", err)
	}
	if swapped {
		_ = b.kv.Delete(ctx, key) // best effort: the claim is won
	}
	return swapped, nil
}

// Delete removes the record of id; a missing one is not an error.
func (b *Box) Delete(ctx context.Context, id string) error {
	return b.Drop(ctx, seal.ID(id))
}

// Drop removes the record whose public id (seal.ID of its id) is pub.
func (b *Box) Drop(ctx context.Context, pub string) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	if err := b.kv.Delete(ctx, b.prefix+pub); err != nil {
		return fmt.Errorf("sealed: delete: %w", err)
	}
	return nil
}

// open opens a record stored under key, in package seal's format or else in
// the Legacy one.
func (b *Box) open(key string, data []byte) (envelope, bool) {
	plain, _, err := b.ring.Open(nil, data, key)
	if err != nil {
		return b.legacy.open(b.prefix, key, data)
	}
	var env envelope
	return env, json.Unmarshal(plain, &env) == nil
}

func (b *Box) expired(env envelope) bool {
	return !env.Expires.IsZero() && b.now().After(env.Expires)
}

// StoreTimeout bounds the store calls of a Box whose context has no deadline
// (a request's context has none): a store that retries while a Redis primary
// fails over gets a deadline to retry within, and a hung store cannot hold a
// request forever. It is tokencache.DefaultTimeout, the token cache's bound.
const StoreTimeout = tokencache.DefaultTimeout

// bound returns ctx, with StoreTimeout as its deadline when it has none.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, StoreTimeout)
}
