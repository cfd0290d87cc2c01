package tokencache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// hookStore runs beforeCAS once, just before the first CompareAndSwap, to
// let another writer in between a Cache's read and its write.
type hookStore struct {
	*tokencache.MemoryStore
	once      sync.Once
	beforeCAS func()
}

func (h *hookStore) CompareAndSwap(ctx context.Context, k string, old, v []byte, ttl time.Duration) (bool, error) {
	h.once.Do(h.beforeCAS)
	return h.MemoryStore.CompareAndSwap(ctx, k, old, v, ttl)
}

// noCASStore hides MemoryStore's CompareAndSwap: a Store without the
// optional capability.
type noCASStore struct{ s *tokencache.MemoryStore }

func (n noCASStore) Get(ctx context.Context, k string) ([]byte, bool, error) { return n.s.Get(ctx, k) }
func (n noCASStore) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return n.s.Set(ctx, k, v, ttl)
}
func (n noCASStore) Delete(ctx context.Context, k string) error { return n.s.Delete(ctx, k) }
func (n noCASStore) InProcess() bool                            { return true }

func loadRefreshSecrets(t *testing.T, c *tokencache.Cache) map[string]bool {
	t.Helper()
	m := &msalCache{}
	if err := replace(c, "p", m); err != nil {
		t.Fatal(err)
	}
	return refreshSecrets(t, m.data)
}

// TestConcurrentWritersLoseNoRefreshToken: replica A reads the partition,
// replica B writes it (a refresh token A never saw), then A writes. With
// compare-and-swap A's write is retried and merged; without, A's read-merge
// still sees B's write. Either way both refresh tokens survive.
func TestConcurrentWritersLoseNoRefreshToken(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name  string
		store func(before func()) tokencache.Store
	}{
		{"compare-and-swap", func(before func()) tokencache.Store {
			return &hookStore{MemoryStore: tokencache.NewMemoryStore(), beforeCAS: before}
		}},
		{"merge without compare-and-swap", func(func()) tokencache.Store {
			return noCASStore{tokencache.NewMemoryStore()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b *tokencache.Cache
			s := tt.store(func() {
				if err := export(b, "p", docWith("alice", map[string]string{"rt-b": "B"}, exp)); err != nil {
					t.Error(err)
				}
			})
			a := newCache(t, s)
			b = newCache(t, unhooked(s))
			if err := export(a, "p", docWith("alice", map[string]string{"rt-a": "A"}, exp)); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.(noCASStore); ok { // no hook: B writes after A
				if err := export(b, "p", docWith("alice", map[string]string{"rt-b": "B"}, exp)); err != nil {
					t.Fatal(err)
				}
			}
			if got := loadRefreshSecrets(t, a); !got["A"] || !got["B"] {
				t.Fatalf("refresh tokens after two writers: %v; want both A and B", got)
			}
		})
	}
}

// unhooked returns the store under a hookStore, so the second writer's own
// write does not trigger the hook.
func unhooked(s tokencache.Store) tokencache.Store {
	if h, ok := s.(*hookStore); ok {
		return h.MemoryStore
	}
	return s
}

// TestConcurrentReplicas runs many replicas (each its own Cache) writing one
// partition at once, on the memory store and on Redis: every refresh token
// written is in the final partition.
func TestConcurrentReplicas(t *testing.T) {
	key := newKey(t)
	stores := map[string]func(t *testing.T) tokencache.Store{
		"memory": func(t *testing.T) tokencache.Store { return tokencache.NewMemoryStore() },
		"miniredis": func(t *testing.T) tokencache.Store {
			rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			return redisstore.New(rdb)
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			const replicas = 8
			var wg sync.WaitGroup
			for i := range replicas {
				c := newCache(t, s, tokencache.WithKey("k1", key))
				wg.Add(1)
				go func() {
					defer wg.Done()
					rt := map[string]string{fmt.Sprintf("rt-%d", i): fmt.Sprint(i)}
					if err := export(c, "p", docWith("alice", rt, time.Now().Add(time.Hour))); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got := loadRefreshSecrets(t, newCache(t, s, tokencache.WithKey("k1", key)))
			if len(got) != replicas {
				t.Fatalf("partition holds %d refresh tokens %v; want %d", len(got), got, replicas)
			}
		})
	}
}

// TestExportAfterReplaceSeesOtherWriters: an MSAL cache loaded by Replace
// exports after another writer (another MSAL client on the same Cache, or
// another replica) changed the partition: its single compare-and-swap fails
// and the write is merged, so the other writer's refresh token survives.
func TestExportAfterReplaceSeesOtherWriters(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	s := tokencache.NewMemoryStore()
	tests := []struct {
		name  string
		other *tokencache.Cache
	}{
		{"same Cache, other MSAL client", nil},
		{"other replica", newCache(t, s)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t, s)
			if tt.other == nil {
				tt.other = c
			}
			if err := export(c, "p", docWith("alice", map[string]string{"rt-0": "0"}, exp)); err != nil {
				t.Fatal(err)
			}
			a, b := &msalCache{}, &msalCache{}
			mustReplace(t, c, a)
			mustReplace(t, tt.other, b)
			b.data = []byte(docWith("alice", map[string]string{"rt-0": "0", "rt-b": "B"}, exp))
			if err := tt.other.Export(context.Background(), b, exportHints("p")); err != nil {
				t.Fatal(err)
			}
			a.data = []byte(docWith("alice", map[string]string{"rt-0": "0", "rt-a": "A"}, exp))
			if err := c.Export(context.Background(), a, exportHints("p")); err != nil {
				t.Fatal(err)
			}
			if got := loadRefreshSecrets(t, c); !got["0"] || !got["A"] || !got["B"] {
				t.Fatalf("refresh tokens: %v; want 0, A and B", got)
			}
		})
	}
}

func mustReplace(t *testing.T, c *tokencache.Cache, m *msalCache) {
	t.Helper()
	if err := replace(c, "p", m); err != nil {
		t.Fatal(err)
	}
}

// TestExportLeavesMSALBytesAlone runs Caches with and without keys side by
// side (they share internal buffer pools): the bytes MSAL hands to Export
// and the state Replace loads are never altered by another call.
func TestExportLeavesMSALBytesAlone(t *testing.T) {
	caches := []*tokencache.Cache{newCache(t, nil), newCache(t, nil, tokencache.WithKey("k", newKey(t)))}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, key := caches[w%2], fmt.Sprintf("p%d", w)
			doc := docWith(key, map[string]string{"rt": key}, time.Now().Add(time.Hour))
			for range 50 {
				m := &msalCache{}
				if err := replace(c, key, m); err != nil {
					t.Error(err)
					return
				}
				m.data = []byte(doc)
				if err := c.Export(context.Background(), m, exportHints(key)); err != nil || string(m.data) != doc {
					t.Errorf("Export changed MSAL's bytes or failed: %v", err)
					return
				}
			}
			m := &msalCache{}
			if err := replace(c, key, m); err != nil || len(refreshSecrets(t, m.data)) != 1 {
				t.Errorf("partition %s after the rounds: %s, %v", key, m.data, err)
			}
		}()
	}
	wg.Wait()
}

// TestMSALSurvivesRestartThroughRedis signs a user in on one "process" (a
// Cache and MSAL client), then builds a new Cache and client over the same
// Redis, as after a restart: the account and its token are served from Redis
// without a network call.
func TestMSALSurvivesRestartThroughRedis(t *testing.T) {
	servers := map[string]func(t *testing.T) string{
		"miniredis": func(t *testing.T) string { return "redis://" + miniredis.RunT(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.URL(t) },
	}
	for name, urlOf := range servers {
		t.Run(name, func(t *testing.T) {
			url, key := urlOf(t), newKey(t)
			prefix := prefixOn(t, url) // REDIS_URL may be shared
			ts := newTokenServer(t)
			process := func() (*tokencache.Cache, func()) {
				opt, err := redis.ParseURL(url)
				if err != nil {
					t.Fatal(err)
				}
				rdb := redis.NewClient(opt)
				c := newCache(t, redisstore.New(rdb, redisstore.WithPrefix(prefix)), tokencache.WithKey("k1", key))
				return c, func() { _ = rdb.Close() }
			}
			c1, stop1 := process()
			alice := signIn(t, newClient(t, ts, c1), "alice")
			stop1()

			c2, stop2 := process()
			defer stop2()
			client := newClient(t, ts, c2)
			acct, err := client.Account(context.Background(), alice.Account.HomeAccountID)
			if err != nil || acct.HomeAccountID != alice.Account.HomeAccountID {
				t.Fatalf("Account after restart = %+v, %v; want alice", acct, err)
			}
			calls := ts.calls.Load()
			res, err := silent(client, acct)
			wantTokenOf(t, res, err, "alice")
			if ts.calls.Load() != calls {
				t.Error("silent call after restart went to the network; want it served from Redis")
			}
		})
	}
}

// TestMSALRedisOutage stops Redis under a running MSAL client: the silent
// call fails with ErrUnavailable (not "no token"), and succeeds once Redis is
// back on the same address, with no new client.
func TestMSALRedisOutage(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := mr.Addr()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	ts := newTokenServer(t)
	client := newClient(t, ts, newCache(t, redisstore.New(rdb), tokencache.WithKey("k1", newKey(t))))
	alice := signIn(t, client, "alice")

	mr.Close()
	if _, err := silent(client, alice.Account); !errors.Is(err, tokencache.ErrUnavailable) {
		t.Fatalf("silent call with Redis down: %v; want ErrUnavailable", err)
	}
	if err := mr.StartAddr(addr); err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	res, err := silent(client, alice.Account)
	wantTokenOf(t, res, err, "alice")
}

// TestMSALReplicasWriteTogether: two replicas (each its own Cache and MSAL
// client over one Redis) get tokens for the same users at the same time,
// for different scopes. A third replica then finds both access tokens of
// every user in the cache, with no network call: no write was lost.
func TestMSALReplicasWriteTogether(t *testing.T) {
	addr, key := miniredis.RunT(t).Addr(), newKey(t)
	ts := newTokenServer(t)
	replica := func() confidential.Client {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = rdb.Close() })
		return newClient(t, ts, newCache(t, redisstore.New(rdb), tokencache.WithKey("k1", key)))
	}
	users := []string{"alice", "bob", "carol", "dave"}
	var wg sync.WaitGroup
	for i, scope := range []string{"Mail.Read", "Calendars.Read"} {
		client := replica()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, u := range users {
				code := "code-" + u
				if _, err := client.AcquireTokenByAuthCode(context.Background(), code, redirectURI, []string{scope}); err != nil {
					t.Errorf("replica %d, %s: %v", i, u, err)
				}
			}
		}()
	}
	wg.Wait()
	third, calls := replica(), ts.calls.Load()
	for _, u := range users {
		acct, err := third.Account(context.Background(), homeAccountID(u))
		if err != nil {
			t.Fatal(err)
		}
		for _, scope := range []string{"Mail.Read", "Calendars.Read"} {
			res, err := third.AcquireTokenSilent(context.Background(), []string{scope}, confidential.WithSilentAccount(acct))
			wantTokenOf(t, res, err, u)
		}
	}
	if got := ts.calls.Load() - calls; got != 0 {
		t.Fatalf("third replica made %d network calls; want 0 (a replica's write was lost)", got)
	}
}

// prefixOn returns a key prefix for t on the Redis at url, cleaned up after.
func prefixOn(t *testing.T, url string) string {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return redistest.Prefix(t, rdb)
}
