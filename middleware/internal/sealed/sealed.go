package sealed

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KV is the storage; tokencache.Store satisfies it. Get reports a missing key
// as found=false with a nil error.
type KV interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// Box seals records of one kind under one key prefix.
type Box struct {
	kv     KV
	aeads  []cipher.AEAD // first seals; all open (key rotation)
	prefix string
	now    func() time.Time
}

// envelope is what is sealed: the record and its expiry by the Box's clock.
type envelope struct {
	Expires time.Time       `json:"e,omitzero"`
	V       json.RawMessage `json:"v"`
}

// New returns a Box. label separates the keys of different kinds of record;
// secrets derive the sealing keys (the first seals, all open).
func New(kv KV, secrets [][]byte, label, prefix string, now func() time.Time) (*Box, error) {
	aeads, err := NewAEADs(secrets, "consentry/sealed/v1/"+label)
	if err != nil {
		return nil, err
	}
	return &Box{kv: kv, aeads: aeads, prefix: prefix, now: now}, nil
}

// NewAEADs derives one AES-256-GCM per secret: the key is
// HMAC-SHA256(secret, info). The first seals, all open (key rotation).
func NewAEADs(secrets [][]byte, info string) ([]cipher.AEAD, error) {
	if len(secrets) == 0 {
		return nil, errors.New("sealed: no secret")
	}
	var aeads []cipher.AEAD
	for _, sec := range secrets {
		mac := hmac.New(sha256.New, sec)
		mac.Write([]byte(info))
		block, err := aes.NewCipher(mac.Sum(nil))
		if err != nil {
			return nil, err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		aeads = append(aeads, gcm)
	}
	return aeads, nil
}

// Seal encrypts plain with aeads[0] under a random nonce, bound to ad
// (additional data, e.g. the store key); the nonce leads the result.
func Seal(aeads []cipher.AEAD, plain, ad []byte) []byte {
	nonce := make([]byte, aeads[0].NonceSize())
	_, _ = rand.Read(nonce)
	return aeads[0].Seal(nonce, nonce, plain, ad)
}

// Open decrypts what Seal returned with the first of aeads that opens it.
func Open(aeads []cipher.AEAD, data, ad []byte) ([]byte, bool) {
	for _, a := range aeads {
		n := a.NonceSize()
		if len(data) < n {
			break
		}
		if plain, err := a.Open(nil, data[:n], data[n:], ad); err == nil {
			return plain, true
		}
	}
	return nil, false
}

// Key returns the store key of id: the prefix and a hash, so the store never
// sees ids that act as bearer secrets.
func (b *Box) Key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return b.prefix + hex.EncodeToString(sum[:16])
}

// Put stores v under id for ttl (ttl <= 0: no expiry).
func (b *Box) Put(ctx context.Context, id string, v any, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("sealed: %w", err)
	}
	env := envelope{V: raw}
	storeTTL := time.Duration(0)
	if ttl > 0 {
		env.Expires = b.now().Add(ttl)
		storeTTL = ttl + time.Minute // a backstop by wall-clock time
	}
	plain, _ := json.Marshal(env)
	key := b.Key(id)
	if err := b.kv.Set(ctx, key, Seal(b.aeads, plain, []byte(key)), storeTTL); err != nil {
		return fmt.Errorf("sealed: save: %w", err)
	}
	return nil
}

// Get reads the record of id into v. A missing, expired or unopenable record
// is found=false with a nil error; errors are store failures.
func (b *Box) Get(ctx context.Context, id string, v any) (found bool, err error) {
	key := b.Key(id)
	data, found, err := b.kv.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("sealed: read: %w", err)
	}
	if !found {
		return false, nil
	}
	env, ok := b.open(key, data)
	if !ok || (!env.Expires.IsZero() && b.now().After(env.Expires)) {
		return false, nil
	}
	return json.Unmarshal(env.V, v) == nil, nil
}

// CompareAndSwapper is the optional store capability (tokencache's) that
// makes Claim, and so Take, atomic across replicas.
type CompareAndSwapper interface {
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
}

// Take reads the record of id and deletes it: a record can be taken once
// (see Claim). A missing, expired or unopenable record is found=false with a
// nil error; errors are store failures.
func (b *Box) Take(ctx context.Context, id string, v any) (found bool, err error) {
	key := b.Key(id)
	data, found, err := b.kv.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("sealed: read: %w", err)
	}
	env, ok := b.open(key, data)
	if !found || !ok {
		return false, nil
	}
	if won, err := Claim(ctx, b.kv, key, data); !won || err != nil {
		return false, err
	}
	if !env.Expires.IsZero() && b.now().After(env.Expires) {
		return false, nil
	}
	return json.Unmarshal(env.V, v) == nil, nil
}

// Claim removes key, whose value was read as data, for one taker, and
// reports whether this caller won it. With a CompareAndSwapper store two
// concurrent Claims cannot both win: the value is swapped for an empty
// marker, and once that swap is won the Delete is best effort (the marker
// never opens and expires within a minute, while failing would strand the
// record's user). Without one, the Delete is the claim and its failure an
// error.
func Claim(ctx context.Context, kv KV, key string, data []byte) (won bool, err error) {
	cas, ok := kv.(CompareAndSwapper)
	if !ok {
		if err := kv.Delete(ctx, key); err != nil {
			return false, fmt.Errorf("sealed: delete: %w", err)
		}
		return true, nil
	}
	swapped, err := cas.CompareAndSwap(ctx, key, data, []byte{}, time.Minute)
	if err != nil {
		return false, fmt.Errorf("sealed: claim: %w", err)
	}
	if swapped {
		_ = kv.Delete(ctx, key) // best effort: the claim is won
	}
	return swapped, nil
}

// Delete removes the record of id; a missing one is not an error.
func (b *Box) Delete(ctx context.Context, id string) error {
	if err := b.kv.Delete(ctx, b.Key(id)); err != nil {
		return fmt.Errorf("sealed: delete: %w", err)
	}
	return nil
}

func (b *Box) open(key string, data []byte) (envelope, bool) {
	var env envelope
	plain, ok := Open(b.aeads, data, []byte(key))
	return env, ok && json.Unmarshal(plain, &env) == nil
}
