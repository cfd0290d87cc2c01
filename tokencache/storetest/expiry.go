package storetest

import (
	"context"
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
	if cfg.TTL != nil {
		wantTTL(t, cfg, s, "zero", 0)
		wantTTL(t, cfg, s, "negative", 0)
	}
}

// testExpiry checks that values expire after their ttl, by moving the
// store's clock (Config.Advance) or else by reading the TTLs the store keeps
// (Config.TTL).
func testExpiry(t *testing.T, cfg Config) {
	switch {
	case cfg.Advance != nil:
		testExpiryAdvance(t, cfg)
	case cfg.TTL != nil:
		testExpiryTTL(t, cfg)
	default:
		t.Skip("storetest: neither Config.Advance nor Config.TTL for this store; expiry not checked")
	}
}

func testExpiryAdvance(t *testing.T, cfg Config) {
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
	c, ok := s.(tokencache.CompareAndSwapper)
	if !ok {
		return
	}
	// CompareAndSwap sets and clears expiry as Set does.
	swap(t, c, "cas", nil, []byte("v"), time.Minute)
	cfg.Advance(t, s, 2*time.Minute)
	wantMissing(t, s, "cas")
	swap(t, c, "cas", nil, []byte("v"), time.Minute)
	swap(t, c, "cas", []byte("v"), []byte("w"), 0) // a swap without ttl clears it
	cfg.Advance(t, s, 2*time.Hour)
	wantValue(t, s, "cas", []byte("w"))
}

func testExpiryTTL(t *testing.T, cfg Config) {
	s := cfg.New(t)
	set(t, s, "short", []byte("v"), time.Minute)
	set(t, s, "long", []byte("v"), time.Hour)
	wantTTL(t, cfg, s, "short", time.Minute)
	wantTTL(t, cfg, s, "long", time.Hour)
	if got := cfg.TTL(t, s, "long"); got <= time.Minute {
		t.Fatalf("TTL of a value set for an hour = %v; want more than a minute", got)
	}
	set(t, s, "long", []byte("w"), 0) // an overwrite without ttl clears it
	wantTTL(t, cfg, s, "long", 0)
	c, ok := s.(tokencache.CompareAndSwapper)
	if !ok {
		return
	}
	swap(t, c, "cas", nil, []byte("v"), time.Minute)
	wantTTL(t, cfg, s, "cas", time.Minute)
	swap(t, c, "cas", []byte("v"), []byte("w"), 0) // a swap without ttl clears it
	wantTTL(t, cfg, s, "cas", 0)
	swap(t, c, "cas", []byte("w"), []byte("x"), time.Hour)
	wantTTL(t, cfg, s, "cas", time.Hour)
}

// wantTTL checks that key's remaining time to live is none (limit 0) or in
// (0, limit].
func wantTTL(t *testing.T, cfg Config, s tokencache.Store, key string, limit time.Duration) {
	t.Helper()
	got := cfg.TTL(t, s, key)
	if limit == 0 && got != 0 || limit > 0 && (got <= 0 || got > limit) {
		t.Fatalf("TTL of %q = %v; want %v", key, got, wantText(limit))
	}
}

func wantText(limit time.Duration) string {
	if limit == 0 {
		return "0 (no expiry)"
	}
	return "in (0, " + limit.String() + "]"
}

func swap(t *testing.T, c tokencache.CompareAndSwapper, key string, old, value []byte, ttl time.Duration) {
	t.Helper()
	if ok, err := c.CompareAndSwap(context.Background(), key, old, value, ttl); !ok || err != nil {
		t.Fatalf("CompareAndSwap(%q, %q -> %q) = %v, %v; want true, nil", key, old, value, ok, err)
	}
}
