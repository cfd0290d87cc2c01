package tokencache_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache"
)

// logRecords is a slog.Handler keeping every record.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

func (l *logRecords) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs)
}

// plainStore is a Store outside the process with only Get, Set and Delete
// (no compare-and-swap).
type plainStore struct{ m *tokencache.MemoryStore }

func (p plainStore) Get(ctx context.Context, k string) ([]byte, bool, error) { return p.m.Get(ctx, k) }
func (p plainStore) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return p.m.Set(ctx, k, v, ttl)
}
func (p plainStore) Delete(ctx context.Context, k string) error { return p.m.Delete(ctx, k) }

// TestSignInReplacesCorruptEntry: a user whose entry was damaged (bit flip,
// truncation, another partition's entry, a plaintext entry) gets no token
// from it, and signing in again (MSAL's AcquireTokenByAuthCode: Replace then
// Export) writes a working entry; the incident is logged once.
func TestSignInReplacesCorruptEntry(t *testing.T) {
	corruptions := []struct {
		name   string
		mutate func(own, other []byte) []byte
	}{
		{"bit flip", func(own, _ []byte) []byte { own[len(own)/2] ^= 0x04; return own }},
		{"truncated", func(own, _ []byte) []byte { return own[:len(own)-10] }},
		{"another partition's entry", func(_, other []byte) []byte { return other }},
		{"plaintext", func([]byte, []byte) []byte { return []byte(`{"AccessToken":{}}`) }},
		{"format version", func(own, _ []byte) []byte { own[0] = 9; return own }},
	}
	stores := []struct {
		name string
		new  func() tokencache.Store
	}{
		{"compare-and-swap", func() tokencache.Store { return newRemote() }},
		{"get and set", func() tokencache.Store { return plainStore{tokencache.NewMemoryStore()} }},
	}
	for _, st := range stores {
		for _, cr := range corruptions {
			t.Run(st.name+"/"+cr.name, func(t *testing.T) {
				signInAfterCorruption(t, st.new(), cr.mutate)
			})
		}
	}
}

func signInAfterCorruption(t *testing.T, store tokencache.Store, mutate func(own, other []byte) []byte) {
	ctx, ts, key, logs := context.Background(), newTokenServer(t), newKey(t), &logRecords{}
	client := newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", key), tokencache.WithLogger(slog.New(logs))))
	alice, bob := signIn(t, client, "alice"), signIn(t, client, "bob")
	own, _, err := store.Get(ctx, homeAccountID("alice"))
	other, _, err2 := store.Get(ctx, homeAccountID("bob"))
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	if err := store.Set(ctx, homeAccountID("alice"), mutate(own, other), 0); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if res, err := silent(client, alice.Account); err == nil || res.AccessToken != "" {
			t.Fatalf("silent over a corrupt entry = %q, %v; want no token", res.AccessToken, err)
		}
	}
	signIn(t, client, "alice")
	replica := newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", key)))
	res, err := silent(replica, alice.Account)
	wantTokenOf(t, res, err, "alice")
	res, err = silent(replica, bob.Account)
	wantTokenOf(t, res, err, "bob")
	if n := logs.count(); n != 1 {
		t.Errorf("%d log records for one corrupt entry read 4 times; want 1", n)
	}
}

// TestUnknownKeyEntryKept: during a key rotation, a replica without the new
// key cannot read the entries the others write; it fails (ErrUnknownKey) on
// silent calls and sign-ins alike and never overwrites them.
func TestUnknownKeyEntryKept(t *testing.T) {
	ctx, ts, store, logs := context.Background(), newTokenServer(t), newRemote(), &logRecords{}
	k1, k2 := newKey(t), newKey(t)
	opts := func(keys ...tokencache.Option) []tokencache.Option {
		return append(keys, tokencache.WithLogger(slog.New(logs)))
	}
	rotated := newClient(t, ts, newCache(t, store, opts(tokencache.WithKey("k2", k2), tokencache.WithKey("k1", k1))...))
	alice := signIn(t, rotated, "alice")
	blob, _, err := store.Get(ctx, homeAccountID("alice"))
	if err != nil {
		t.Fatal(err)
	}
	behind := newClient(t, ts, newCache(t, store, opts(tokencache.WithKey("k1", k1))...))
	if _, err := silent(behind, alice.Account); !errors.Is(err, tokencache.ErrUnknownKey) {
		t.Fatalf("silent on a replica without the new key: %v; want ErrUnknownKey", err)
	}
	if _, err := behind.AcquireTokenByAuthCode(ctx, "code-alice", redirectURI, testScopes); !errors.Is(err, tokencache.ErrUnknownKey) {
		t.Fatalf("sign-in on a replica without the new key: %v; want ErrUnknownKey", err)
	}
	if now, _, _ := store.Get(ctx, homeAccountID("alice")); !bytes.Equal(now, blob) {
		t.Fatal("a replica without the new key overwrote the entry")
	}
	res, err := silent(rotated, alice.Account)
	wantTokenOf(t, res, err, "alice")
	if n := logs.count(); n != 0 {
		t.Errorf("%d log records for an entry sealed with another replica's key; want 0", n)
	}
}
