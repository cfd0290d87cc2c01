package tokencache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
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
