package storetest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache"
)

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
