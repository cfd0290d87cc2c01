package tokencache_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache"
)

// sealedBlob exports a user document to partition "p" with key id "k1" and
// returns the cache, its store and the stored blob.
func sealedBlob(t *testing.T) (*tokencache.Cache, *remoteStore, []byte, []byte) {
	t.Helper()
	r, key := newRemote(), newKey(t)
	c := newCache(t, r, tokencache.WithKey("k1", key))
	if err := export(c, "p", userDoc("alice", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	blob, _, err := r.MemoryStore.Get(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	return c, r, blob, key
}

func TestBlobIsEncryptedAtRest(t *testing.T) {
	_, _, blob, _ := sealedBlob(t)
	for _, clear := range []string{"RefreshToken", "secret", "uid-alice", "alice@example.com"} {
		if bytes.Contains(blob, []byte(clear)) {
			t.Errorf("stored blob contains %q in clear", clear)
		}
	}
}

// TestTamperedBlobRejected alters one part of a stored blob at a time: each
// read reports the documented error and MSAL's cache is left empty.
func TestTamperedBlobRejected(t *testing.T) {
	_, _, blob, _ := sealedBlob(t)
	flip := func(i int) func([]byte) []byte {
		return func(b []byte) []byte { b[i] ^= 0x01; return b }
	}
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"format version", flip(0), tokencache.ErrMalformed},
		{"key id length", func(b []byte) []byte { b[1] = 200; return b }, tokencache.ErrUnknownKey},
		{"key id past the end", func(b []byte) []byte { b[1] = 255; return b[:100] }, tokencache.ErrMalformed},
		{"key id", flip(3), tokencache.ErrUnknownKey},
		{"nonce", flip(4), tokencache.ErrDecrypt},
		{"ciphertext", flip(40), tokencache.ErrDecrypt},
		{"tag", flip(len(blob) - 1), tokencache.ErrDecrypt},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, tokencache.ErrDecrypt},
		{"empty", func([]byte) []byte { return []byte{} }, tokencache.ErrMalformed},
		{"plaintext", func([]byte) []byte { return []byte(`{"RefreshToken":{}}`) }, tokencache.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, _, _ := sealedBlob(t)
			if err := r.MemoryStore.Set(context.Background(), "p", tt.mutate(bytes.Clone(blob)), 0); err != nil {
				t.Fatal(err)
			}
			wantBlobError(t, c, "p", tt.want)
		})
	}
}

// wantBlobError: reading partition key reports a *BlobError wrapping want;
// Replace fails with it for a blob sealed with an unknown key and loads an
// empty cache for a corrupt one (BlobError.Corrupt); MSAL holds nothing.
func wantBlobError(t *testing.T, c *tokencache.Cache, key string, want error) {
	t.Helper()
	_, _, err := c.AccessToken(context.Background(), tokencache.TokenQuery{HomeAccountID: key, Scopes: []string{"s"}})
	var be *tokencache.BlobError
	if !errors.Is(err, want) || !errors.As(err, &be) || be.Partition != key {
		t.Fatalf("reading %q: %v; want a *BlobError wrapping %v", key, err, want)
	}
	m := &msalCache{data: []byte(`{"Account":{"x":{}}}`)}
	err = replace(c, key, m)
	if be.Corrupt() && err != nil || !be.Corrupt() && !errors.Is(err, want) {
		t.Fatalf("Replace: %v; want %v", err, map[bool]any{true: "nil (corrupt: an empty cache)", false: want}[be.Corrupt()])
	}
	if string(m.data) != "{}" {
		t.Fatalf("after a rejected blob MSAL holds %s; want {}", m.data)
	}
}

func TestMovedBlobRejected(t *testing.T) {
	c, r, blob, _ := sealedBlob(t)
	if err := r.MemoryStore.Set(context.Background(), "q", blob, 0); err != nil {
		t.Fatal(err)
	}
	wantBlobError(t, c, "q", tokencache.ErrDecrypt)
}

func TestWrongKeyRejected(t *testing.T) {
	_, r, _, key := sealedBlob(t)
	tests := []struct {
		name string
		opts []tokencache.Option
		want error
	}{
		{"same id, other key", []tokencache.Option{tokencache.WithKey("k1", newKey(t))}, tokencache.ErrDecrypt},
		{"other id", []tokencache.Option{tokencache.WithKey("k2", key)}, tokencache.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantBlobError(t, newCache(t, r, tt.opts...), "p", tt.want)
		})
	}
	t.Run("no key", func(t *testing.T) {
		mem := tokencache.NewMemoryStore()
		blob, _, _ := r.MemoryStore.Get(context.Background(), "p")
		_ = mem.Set(context.Background(), "p", blob, 0)
		wantBlobError(t, newCache(t, mem), "p", tokencache.ErrUnknownKey)
	})
}

// TestKeyRotation: blobs sealed with an old key still open; the next write
// uses the current key, which the old-key-only cache cannot open.
func TestKeyRotation(t *testing.T) {
	_, r, _, k1 := sealedBlob(t)
	k2 := newKey(t)
	rotated := newCache(t, r, tokencache.WithKey("k2", k2), tokencache.WithKey("k1", k1))
	m := &msalCache{}
	if err := replace(rotated, "p", m); err != nil {
		t.Fatalf("old blob under the rotated cache: %v", err)
	}
	if err := rotated.Export(context.Background(), m, exportHints("p")); err != nil {
		t.Fatal(err)
	}
	blob, _, _ := r.MemoryStore.Get(context.Background(), "p")
	if !bytes.Equal(blob[1:4], []byte("\x02k2")) {
		t.Fatalf("rewritten blob header %q; want key id k2", blob[:4])
	}
	wantBlobError(t, newCache(t, r, tokencache.WithKey("k1", k1)), "p", tokencache.ErrUnknownKey)
	if err := replace(newCache(t, r, tokencache.WithKey("k2", k2)), "p", &msalCache{}); err != nil {
		t.Fatalf("new key alone: %v", err)
	}
}

// TestMSALRejectsMovedBlob copies alice's blob over bob's partition: bob's
// call finds no token (the entry is corrupt for his partition) instead of
// returning alice's.
func TestMSALRejectsMovedBlob(t *testing.T) {
	ts := newTokenServer(t)
	store := tokencache.NewMemoryStore()
	c := newCache(t, store, tokencache.WithKey("k1", newKey(t)))
	client := newClient(t, ts, c)
	signIn(t, client, "alice")
	bob := signIn(t, client, "bob")
	ctx := context.Background()
	blob, _, err := store.Get(ctx, homeAccountID("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Set(ctx, homeAccountID("bob"), blob, 0); err != nil {
		t.Fatal(err)
	}
	res, err := silent(client, bob.Account)
	if err == nil || res.AccessToken != "" {
		t.Fatalf("silent(bob) over alice's blob = %q, %v; want no token", res.AccessToken, err)
	}
	_, _, err = c.AccessToken(ctx, tokencache.TokenQuery{HomeAccountID: bob.Account.HomeAccountID, Scopes: testScopes})
	var be *tokencache.BlobError
	if !errors.Is(err, tokencache.ErrDecrypt) || !errors.As(err, &be) || be.Partition != homeAccountID("bob") || !be.Corrupt() {
		t.Fatalf("reading bob's partition: %v; want a corrupt *BlobError wrapping ErrDecrypt", err)
	}
}

// TestMSALKeyRotation signs in with key k1, then rotates to k2 (k1 kept as
// an old key): the old blob still serves tokens, and the refresh writes a
// blob only k2 opens.
func TestMSALKeyRotation(t *testing.T) {
	ts := newTokenServer(t)
	store := tokencache.NewMemoryStore()
	k1, k2 := newKey(t), newKey(t)
	alice := signIn(t, newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", k1))), "alice")

	rotated := newClient(t, ts, newCache(t, store, tokencache.WithKey("k2", k2), tokencache.WithKey("k1", k1)))
	res, err := silent(rotated, alice.Account)
	wantTokenOf(t, res, err, "alice")

	ts.expiresIn.Store(60) // under MSAL's 5-minute margin: the next silent call refreshes
	calls := ts.calls.Load()
	signIn(t, rotated, "alice")
	res, err = silent(rotated, alice.Account)
	wantTokenOf(t, res, err, "alice")
	if ts.calls.Load() == calls {
		t.Fatal("no network call: the rotated cache never wrote")
	}
	onlyK1 := newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", k1)))
	if _, err := silent(onlyK1, alice.Account); !errors.Is(err, tokencache.ErrUnknownKey) {
		t.Fatalf("silent with only the old key after rotation: %v; want ErrUnknownKey", err)
	}
	onlyK2 := newClient(t, ts, newCache(t, store, tokencache.WithKey("k2", k2)))
	res, err = silent(onlyK2, alice.Account)
	wantTokenOf(t, res, err, "alice")
}
