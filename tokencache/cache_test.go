package tokencache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/redis/go-redis/v9"
)

// msalCache stands in for MSAL's in-memory cache.
type msalCache struct{ data []byte }

func (m *msalCache) Marshal() ([]byte, error) { return m.data, nil }
func (m *msalCache) Unmarshal(b []byte) error { m.data = append([]byte{}, b...); return nil }

// remoteStore is a Store outside the process (no InProcess), backed by a
// MemoryStore, recording the ttl and context of the last call.
type remoteStore struct {
	*tokencache.MemoryStore
	mu          sync.Mutex
	lastTTL     time.Duration
	hadDeadline bool
	err         error // returned by every call when set
}

func newRemote() *remoteStore { return &remoteStore{MemoryStore: tokencache.NewMemoryStore()} }

func (r *remoteStore) InProcess() bool { return false }

func (r *remoteStore) note(ctx context.Context, ttl time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, r.hadDeadline = ctx.Deadline()
	r.lastTTL = ttl
	return r.err
}

func (r *remoteStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if err := r.note(ctx, 0); err != nil {
		return nil, false, err
	}
	return r.MemoryStore.Get(ctx, k)
}

func (r *remoteStore) CompareAndSwap(ctx context.Context, k string, old, v []byte, ttl time.Duration) (bool, error) {
	if err := r.note(ctx, ttl); err != nil {
		return false, err
	}
	return r.MemoryStore.CompareAndSwap(ctx, k, old, v, ttl)
}

func (r *remoteStore) Delete(ctx context.Context, k string) error {
	if err := r.note(ctx, 0); err != nil {
		return err
	}
	return r.MemoryStore.Delete(ctx, k)
}

func replace(c *tokencache.Cache, key string, m *msalCache) error {
	return c.Replace(context.Background(), m, cache.ReplaceHints{PartitionKey: key})
}

func export(c *tokencache.Cache, key string, doc string) error {
	return c.Export(context.Background(), &msalCache{data: []byte(doc)}, cache.ExportHints{PartitionKey: key})
}

func TestNew(t *testing.T) {
	key := newKey(t)
	tests := []struct {
		name    string
		store   tokencache.Store
		opts    []tokencache.Option
		wantErr error // nil: success; errAny: any error
	}{
		{"nil store is memory", nil, nil, nil},
		{"memory store without key", tokencache.NewMemoryStore(), nil, nil},
		{"remote store without key", newRemote(), nil, tokencache.ErrKeyRequired},
		{"remote store with key", newRemote(), []tokencache.Option{tokencache.WithKey("k", key)}, nil},
		{"short key", nil, []tokencache.Option{tokencache.WithKey("k", key[:16])}, errAny},
		{"empty key id", nil, []tokencache.Option{tokencache.WithKey("", key)}, errAny},
		{"duplicate key id", nil, []tokencache.Option{tokencache.WithKey("k", key), tokencache.WithKey("k", key)}, errAny},
		{"zero timeout", nil, []tokencache.Option{tokencache.WithTimeout(0)}, errAny},
		{"zero refresh token TTL", nil, []tokencache.Option{tokencache.WithRefreshTokenTTL(0)}, errAny},
		{"nil clock", nil, []tokencache.Option{tokencache.WithClock(nil)}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tokencache.New(tt.store, tt.opts...)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr == nil && c.Store() == nil:
				t.Fatal("Store() = nil")
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("New: %v; want %v", err, tt.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "tokencache: "):
				t.Fatalf("error %q lacks the tokencache: prefix", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestReplaceMissEmptiesMSALCache(t *testing.T) {
	for _, key := range []string{"uid-bob.tenant-1", ""} {
		t.Run("partition "+key, func(t *testing.T) {
			c := newCache(t, nil)
			m := &msalCache{data: []byte(`{"RefreshToken":{"k":{"secret":"alice's"}}}`)}
			if err := replace(c, key, m); err != nil {
				t.Fatal(err)
			}
			if string(m.data) != "{}" {
				t.Fatalf("after a miss MSAL holds %s; want {}", m.data)
			}
		})
	}
}

func TestExportReplaceRoundTrip(t *testing.T) {
	c := newCache(t, newRemote(), tokencache.WithKey("k1", newKey(t)))
	doc := userDoc("alice", time.Now().Add(time.Hour))
	if err := export(c, "p", doc); err != nil {
		t.Fatal(err)
	}
	m := &msalCache{}
	if err := replace(c, "p", m); err != nil {
		t.Fatal(err)
	}
	wantSameJSON(t, m.data, doc)
}

func TestEmptyPartitionIsNotStored(t *testing.T) {
	s := tokencache.NewMemoryStore()
	c := newCache(t, s)
	if err := export(c, "", userDoc("alice", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 {
		t.Fatalf("store holds %d entries after Export to partition \"\"; want 0", s.Len())
	}
}

func TestRemove(t *testing.T) {
	c := newCache(t, nil)
	if err := export(c, "p", userDoc("alice", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	for range 2 { // removing a missing partition is not an error
		if err := c.Remove(context.Background(), "p"); err != nil {
			t.Fatal(err)
		}
	}
	m := &msalCache{}
	if err := replace(c, "p", m); err != nil || string(m.data) != "{}" {
		t.Fatalf("after Remove: %s, %v; want {}", m.data, err)
	}
	if err := c.Remove(context.Background(), ""); err == nil {
		t.Fatal("Remove of the empty partition key succeeded; want an error")
	}
}

func TestStoreErrorsAreWrapped(t *testing.T) {
	r := newRemote()
	c := newCache(t, r, tokencache.WithKey("k1", newKey(t)))
	r.err = errors.Join(tokencache.ErrUnavailable, errors.New("connection refused"))
	m := &msalCache{data: []byte(`{"Account":{"a":{}}}`)}
	calls := map[string]func() error{
		"Replace": func() error { return replace(c, "p", m) },
		"Export":  func() error { return export(c, "p", "{}") },
		"Remove":  func() error { return c.Remove(context.Background(), "p") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, tokencache.ErrUnavailable) || !strings.HasPrefix(err.Error(), "tokencache: ") {
				t.Fatalf("%s: %v; want a tokencache: error wrapping ErrUnavailable", name, err)
			}
		})
	}
	if string(m.data) != "{}" {
		t.Fatalf("after a failed Replace MSAL holds %s; want {}", m.data)
	}
}

func TestDefaultTimeout(t *testing.T) {
	r := newRemote()
	c := newCache(t, r, tokencache.WithKey("k1", newKey(t)))
	calls := []struct {
		name string
		call func() error
	}{
		{"Replace", func() error { return replace(c, "p", &msalCache{}) }},
		{"Export", func() error { return export(c, "p", "{}") }},
		{"Remove", func() error { return c.Remove(context.Background(), "p") }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			r.hadDeadline = false
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if !r.hadDeadline {
				t.Fatalf("%s: store got a context without deadline; want the default timeout applied", tt.name)
			}
		})
	}
}

func exportHints(key string) cache.ExportHints { return cache.ExportHints{PartitionKey: key} }

const (
	testClientID = "client-1"
	redirectURI  = "https://app.example/auth/callback"
)

var testScopes = []string{"User.Read"}

// TestMSALUsersNeverCross signs in two users on one MSAL client and cache and
// checks each silent call returns that user's token, one partition per user.
func TestMSALUsersNeverCross(t *testing.T) {
	ts := newTokenServer(t)
	store := tokencache.NewMemoryStore()
	client := newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", newKey(t))))
	alice := signIn(t, client, "alice")
	bob := signIn(t, client, "bob")
	calls := ts.calls.Load()
	for range 3 {
		res, err := silent(client, alice.Account)
		wantTokenOf(t, res, err, "alice")
		res, err = silent(client, bob.Account)
		wantTokenOf(t, res, err, "bob")
	}
	if got := ts.calls.Load() - calls; got != 0 {
		t.Errorf("silent calls hit the token endpoint %d times; want 0 (served from cache)", got)
	}
	if store.Len() != 2 {
		t.Errorf("store holds %d partitions; want 2 (one per user)", store.Len())
	}
	for _, u := range []string{"alice", "bob"} {
		if _, found, _ := store.Get(context.Background(), homeAccountID(u)); !found {
			t.Errorf("no partition %q", homeAccountID(u))
		}
	}
}

// TestMSALUnknownAccountFindsNothing: after alice's call loaded her
// partition, a silent call for a user with no partition must not see it.
func TestMSALUnknownAccountFindsNothing(t *testing.T) {
	ts := newTokenServer(t)
	client := newClient(t, ts, newCache(t, nil))
	alice := signIn(t, client, "alice")
	if res, err := silent(client, alice.Account); err != nil {
		t.Fatal(err)
	} else {
		wantTokenOf(t, res, nil, "alice")
	}
	mallory := alice.Account
	mallory.HomeAccountID = homeAccountID("mallory")
	if res, err := silent(client, mallory); err == nil {
		t.Fatalf("silent call for an account with no partition returned %q; want an error", res.AccessToken)
	}
}

// TestMSALRoundTrips: with a real MSAL client, a sign-in costs one store
// read (Replace) and one compare-and-swap (Export); a silent call from the
// cache costs one read.
func TestMSALRoundTrips(t *testing.T) {
	ts := newTokenServer(t)
	s := &countingStore{MemoryStore: tokencache.NewMemoryStore()}
	client := newClient(t, ts, newCache(t, s, tokencache.WithKey("k1", newKey(t))))
	alice := signIn(t, client, "alice")
	if s.gets != 1 || s.swaps != 1 || s.sets != 0 {
		t.Fatalf("sign-in: %d reads, %d compare-and-swaps, %d sets; want 1, 1, 0", s.gets, s.swaps, s.sets)
	}
	s.gets, s.swaps = 0, 0
	res, err := silent(client, alice.Account)
	wantTokenOf(t, res, err, "alice")
	if s.gets != 1 || s.swaps != 0 {
		t.Fatalf("silent call: %d reads, %d compare-and-swaps; want 1, 0", s.gets, s.swaps)
	}
}

// TestEntraEmulator runs the must-show properties against the project's Entra
// ID emulator (signed JWTs, real client_info, consent, PKCE) over Redis
// (miniredis): users never cross, a restart keeps the cache, a moved blob is
// rejected.
func TestEntraEmulator(t *testing.T) {
	e := newEntraEnv(t)
	addr, key := miniredis.RunT(t).Addr(), newKey(t)
	process := func() (*tokencache.Cache, confidential.Client) {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = rdb.Close() })
		c := newCache(t, redisstore.New(rdb), tokencache.WithKey("k1", key))
		return c, e.client(t, c)
	}
	_, client := process()
	accounts := map[string]confidential.Account{}
	for name := range e.users {
		accounts[name] = e.signIn(t, client, name).Account
	}
	_, restarted := process()
	calls := e.srv.Count(entratest.EndpointToken)
	for _, c := range []confidential.Client{client, restarted} {
		for name, acct := range accounts {
			res, err := silent(c, acct)
			if err != nil || oid(t, res.AccessToken) != e.users[name].ObjectID {
				t.Fatalf("silent(%s): %v, token of oid %q; want %q", name, err, oid(t, res.AccessToken), e.users[name].ObjectID)
			}
		}
	}
	if got := e.srv.Count(entratest.EndpointToken) - calls; got != 0 {
		t.Errorf("silent calls reached the token endpoint %d times; want 0", got)
	}
	t.Run("moved blob", func(t *testing.T) { moveBlob(t, process, accounts) })
}
