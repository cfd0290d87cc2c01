package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache"
)

func testNoExpiry(t *testing.T, cfg Config) {
	s := cfg.New(t)
	set(t, s, "zero", []byte("v"), 0)
	set(t, s, "negative", []byte("v"), -time.Second)
	if cfg.Advance != nil {
		cfg.Advance(t, s, 1000*time.Hour)
	}
	wantValue(t, s, "zero", []byte("v"))
	wantValue(t, s, "negative", []byte("v"))
}

func testExpiry(t *testing.T, cfg Config) {
	if cfg.Advance == nil {
		t.Skip("storetest: no Config.Advance for this store; expiry not checked")
	}
	s := cfg.New(t)
	set(t, s, "short", []byte("v"), time.Minute)
	set(t, s, "long", []byte("v"), time.Hour)
	cfg.Advance(t, s, 30*time.Second)
	wantValue(t, s, "short", []byte("v"))
	cfg.Advance(t, s, time.Minute)
	wantMissing(t, s, "short")
	wantValue(t, s, "long", []byte("v"))
	set(t, s, "long", []byte("w"), 0) // an overwrite without ttl clears it
	cfg.Advance(t, s, 2*time.Hour)
	wantValue(t, s, "long", []byte("w"))
	if c, ok := s.(tokencache.CompareAndSwapper); ok {
		testCASExpiry(t, cfg, s, c)
	}
}

// testCASExpiry checks that CompareAndSwap sets and clears expiry as Set does.
func testCASExpiry(t *testing.T, cfg Config, s tokencache.Store, c tokencache.CompareAndSwapper) {
	t.Helper()
	swap := func(key string, old, value []byte, ttl time.Duration) {
		t.Helper()
		if ok, err := c.CompareAndSwap(context.Background(), key, old, value, ttl); !ok || err != nil {
			t.Fatalf("CompareAndSwap(%q, %q -> %q) = %v, %v; want true, nil", key, old, value, ok, err)
		}
	}
	swap("cas", nil, []byte("v"), time.Minute)
	cfg.Advance(t, s, 2*time.Minute)
	wantMissing(t, s, "cas")
	swap("cas", nil, []byte("v"), time.Minute)
	swap("cas", []byte("v"), []byte("w"), 0) // a swap without ttl clears it
	cfg.Advance(t, s, 2*time.Hour)
	wantValue(t, s, "cas", []byte("w"))
}

func testCanceled(t *testing.T, cfg Config) {
	s := cfg.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ops := map[string]func() error{
		"Get":    func() error { _, _, err := s.Get(ctx, "k"); return err },
		"Set":    func() error { return s.Set(ctx, "k", []byte("v"), 0) },
		"Delete": func() error { return s.Delete(ctx, "k") },
	}
	if c, ok := s.(tokencache.CompareAndSwapper); ok {
		ops["CompareAndSwap"] = func() error { _, err := c.CompareAndSwap(ctx, "k", nil, []byte("v"), 0); return err }
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			if err := op(); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s with a canceled context: %v; want an error wrapping context.Canceled", name, err)
			}
		})
	}
}

func testConcurrent(t *testing.T, cfg Config) {
	s := cfg.New(t)
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- churn(s, fmt.Sprintf("w%d", w), rounds)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// churn sets, reads back and deletes its own key rounds times.
func churn(s tokencache.Store, key string, rounds int) error {
	ctx := context.Background()
	for i := range rounds {
		want := key + "/" + strconv.Itoa(i)
		if err := s.Set(ctx, key, []byte(want), time.Hour); err != nil {
			return err
		}
		got, found, err := s.Get(ctx, key)
		if err != nil || !found || string(got) != want {
			return fmt.Errorf("Get(%q) = %q, %v, %v; want %q", key, got, found, err, want)
		}
		if i%5 == 4 {
			if err := s.Delete(ctx, key); err != nil {
				return err
			}
		}
	}
	return nil
}

func casOf(t *testing.T, s tokencache.Store) tokencache.CompareAndSwapper {
	t.Helper()
	c, ok := s.(tokencache.CompareAndSwapper)
	if !ok {
		t.Skipf("storetest: %T does not implement tokencache.CompareAndSwapper", s)
	}
	return c
}

func testCAS(t *testing.T, cfg Config) {
	s := cfg.New(t)
	c := casOf(t, s)
	tests := []struct {
		name     string
		old, new []byte
		want     bool
		after    []byte // nil: missing
	}{
		{"absent: create", nil, []byte("a"), true, []byte("a")},
		{"absent expected but present", nil, []byte("b"), false, []byte("a")},
		{"wrong old", []byte("x"), []byte("b"), false, []byte("a")},
		{"right old", []byte("a"), []byte(""), true, []byte("")},
		{"nil old does not match empty", nil, []byte("c"), false, []byte("")},
		{"empty old matches empty", []byte{}, []byte("d"), true, []byte("d")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := c.CompareAndSwap(context.Background(), "k", tt.old, tt.new, time.Hour)
			if err != nil || ok != tt.want {
				t.Fatalf("CompareAndSwap(%q -> %q) = %v, %v; want %v, nil", tt.old, tt.new, ok, err, tt.want)
			}
			wantValue(t, s, "k", tt.after)
		})
	}
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.CompareAndSwap(context.Background(), "k", []byte("d"), []byte("e"), 0); ok || err != nil {
		t.Fatalf("CompareAndSwap on a deleted key = %v, %v; want false, nil", ok, err)
	}
}

// testCASConcurrent increments a counter from several goroutines with
// compare-and-swap loops: no increment may be lost.
func testCASConcurrent(t *testing.T, cfg Config) {
	s := cfg.New(t)
	c := casOf(t, s)
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- increment(s, c, "counter", each)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantValue(t, s, "counter", []byte(strconv.Itoa(workers*each)))
}

func increment(s tokencache.Store, c tokencache.CompareAndSwapper, key string, n int) error {
	ctx := context.Background()
	for done := 0; done < n; {
		old, found, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		cur := 0
		if found {
			cur, _ = strconv.Atoi(string(old))
		} else {
			old = nil
		}
		ok, err := c.CompareAndSwap(ctx, key, old, []byte(strconv.Itoa(cur+1)), 0)
		if err != nil {
			return err
		}
		if ok {
			done++
		}
	}
	return nil
}
