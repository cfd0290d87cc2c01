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
