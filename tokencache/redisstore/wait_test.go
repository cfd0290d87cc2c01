package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// TestWaitFailsWritesNoReplicaHas: with WithWait(1, ...), every write fails
// with ErrUnavailable while the primary's replica is down (a failover could
// lose it), reads still work, and writes succeed again once the replica is
// back in sync (tried again within the caller's deadline until a replica
// acknowledges them).
func TestWaitFailsWritesNoReplicaHas(t *testing.T) {
	s := redistest.StartSentinel(t)
	store := redisstore.New(s.Client(t), redisstore.WithWait(1, 200*time.Millisecond))
	// On a loaded machine the replica may take longer than WithWait's timeout
	// to acknowledge: with a deadline, the write is tried again until it does.
	healthy, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.Set(healthy, "k", []byte("v"), 0); err != nil {
		t.Fatalf("Set with the replica up: %v", err)
	}
	ctx := context.Background() // one attempt: a write no replica acknowledges fails
	replica := s.Addrs()[1]
	s.Kill(replica)
	writes := map[string]func() error{
		"Set":    func() error { return store.Set(ctx, "k", []byte("w"), 0) },
		"Delete": func() error { return store.Delete(ctx, "other") },
		"CompareAndSwap": func() error {
			_, err := store.CompareAndSwap(ctx, "k", []byte("v"), []byte("w"), 0)
			return err
		},
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, redisstore.ErrUnavailable) {
			t.Errorf("%s with the replica down: %v; want ErrUnavailable", name, err)
		}
	}
	if _, found, err := store.Get(ctx, "k"); !found || err != nil {
		t.Errorf("Get with the replica down = %v, %v; want found", found, err)
	}
	s.Restart(replica)
	s.WaitHealthy()
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// An attempt whose write no replica acknowledged in time is tried again,
	// and then finds its own value: swapped may be false.
	if _, err := store.CompareAndSwap(ctx, "k", []byte("w"), []byte("x"), 0); err != nil {
		t.Fatalf("CompareAndSwap with the replica back: %v", err)
	}
	if v, _, err := store.Get(ctx, "k"); string(v) != "x" || err != nil {
		t.Fatalf("Get after CompareAndSwap with the replica back = %q, %v; want \"x\"", v, err)
	}
}
