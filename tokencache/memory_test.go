package tokencache_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/storetest"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMemoryStoreConformance(t *testing.T) {
	clocks := map[tokencache.Store]*fakeClock{}
	var mu sync.Mutex
	storetest.Run(t, storetest.Config{
		New: func(t *testing.T) tokencache.Store {
			c := newClock()
			s := tokencache.NewMemoryStore(tokencache.WithMemoryClock(c.Now))
			mu.Lock()
			clocks[s] = c
			mu.Unlock()
			return s
		},
		Advance: func(t *testing.T, s tokencache.Store, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			clocks[s].Advance(d)
		},
	})
}

func TestMemoryStoreEvictsLeastRecentlyUsed(t *testing.T) {
	tests := []struct {
		name    string
		opts    []tokencache.MemoryOption
		kept    []string
		evicted []string
	}{
		// each entry is 1 (key) + 9 (value) = 10 bytes
		{"max bytes", []tokencache.MemoryOption{tokencache.WithMaxBytes(30)}, []string{"a", "c", "d"}, []string{"b"}},
		{"max entries", []tokencache.MemoryOption{tokencache.WithMaxEntries(3)}, []string{"a", "c", "d"}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := tokencache.NewMemoryStore(tt.opts...)
			for _, k := range []string{"a", "b", "c"} {
				mustSet(t, s, k, []byte("123456789"))
			}
			if _, _, err := s.Get(ctx, "a"); err != nil { // a is now more recent than b
				t.Fatal(err)
			}
			mustSet(t, s, "d", []byte("123456789"))
			for _, k := range tt.kept {
				if _, found, _ := s.Get(ctx, k); !found {
					t.Errorf("%q evicted; want kept", k)
				}
			}
			for _, k := range tt.evicted {
				if _, found, _ := s.Get(ctx, k); found {
					t.Errorf("%q kept; want evicted", k)
				}
			}
			if s.Len() != 3 {
				t.Errorf("Len() = %d; want 3", s.Len())
			}
		})
	}
}

func TestMemoryStoreRejectsOversizedValue(t *testing.T) {
	s := tokencache.NewMemoryStore(tokencache.WithMaxBytes(10))
	if err := s.Set(context.Background(), "k", make([]byte, 10), 0); err == nil {
		t.Fatal("Set of an entry larger than the bound succeeded; want an error")
	}
}

func mustSet(t *testing.T, s tokencache.Store, k string, v []byte) {
	t.Helper()
	if err := s.Set(context.Background(), k, v, 0); err != nil {
		t.Fatal(err)
	}
}
