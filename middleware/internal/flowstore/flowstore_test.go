package flowstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type mapKV struct {
	mu sync.Mutex
	m  map[string][]byte
	e  error
}

func (k *mapKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok, k.e
}

func (k *mapKV) Set(_ context.Context, key string, v []byte, _ time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = v
	return k.e
}

func (k *mapKV) Delete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return k.e
}

func TestPutTake(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	kv := &mapKV{m: map[string][]byte{}}
	s, err := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, 10*time.Minute, clock)
	if err != nil {
		t.Fatal(err)
	}
	f := &Flow{State: "st", Nonce: "n", Verifier: "v", Scopes: []string{"Mail.Read"}, ReturnURL: "/mail?x=1", Created: now, SID: "sid"}
	if err := s.Put(ctx, f); err != nil {
		t.Fatal(err)
	}
	for k, v := range kv.m {
		if string(v) == "" || k != Prefix+ID("st") {
			t.Fatalf("unexpected entry %q", k)
		}
	}
	got, err := s.Take(ctx, "st")
	if err != nil || got.Nonce != "n" || got.ReturnURL != "/mail?x=1" || got.State != "st" {
		t.Fatalf("Take = %+v, %v", got, err)
	}
	if _, err := s.Take(ctx, "st"); !errors.Is(err, ErrNotFound) {
		t.Errorf("replay: %v, want ErrNotFound", err)
	}
	if _, err := s.Take(ctx, "forged"); !errors.Is(err, ErrNotFound) {
		t.Errorf("forged: %v, want ErrNotFound", err)
	}

	// Expiry by the injected clock.
	f.State = "st2"
	_ = s.Put(ctx, f)
	now = now.Add(11 * time.Minute)
	if _, err := s.Take(ctx, "st2"); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v, want ErrExpired", err)
	}

	// Another replica with the same keys opens it; other keys do not; rotation works.
	f.State, f.Created = "st3", now
	_ = s.Put(ctx, f)
	other, _ := New(kv, [][]byte{[]byte("another key......................")}, 10*time.Minute, clock)
	if _, err := other.Take(ctx, "st3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong key: %v, want ErrNotFound", err)
	}
	f.State = "st4"
	_ = s.Put(ctx, f)
	rotated, _ := New(kv, [][]byte{[]byte("new key"), []byte("0123456789abcdef0123456789abcdef")}, 10*time.Minute, clock)
	if _, err := rotated.Take(ctx, "st4"); err != nil {
		t.Errorf("rotated keys: %v", err)
	}
}

func TestStoreFailure(t *testing.T) {
	kv := &mapKV{m: map[string][]byte{}, e: errors.New("down")}
	s, _ := New(kv, [][]byte{[]byte("k")}, time.Minute, time.Now)
	if err := s.Put(context.Background(), &Flow{State: "s"}); err == nil {
		t.Error("Put succeeded with failing store")
	}
	if _, err := s.Take(context.Background(), "s"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Take = %v, want a store error", err)
	}
}
