package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache"
)

// Config describes optional abilities of the store under test.
type Config struct {
	// New returns a new, empty store. Each subtest calls it once.
	New func(t *testing.T) tokencache.Store
	// Advance, if set, moves the store's clock forward by d (for example a
	// MemoryStore clock or miniredis FastForward): the expiry tests check
	// that values are gone once their ttl has passed.
	Advance func(t *testing.T, s tokencache.Store, d time.Duration)
	// TTL, if set, returns the time key has left to live in s, 0 for a key
	// without expiry (for example from Redis's PTTL, mapping -1 to 0). A store
	// whose clock cannot be moved, such as a real Redis server, is checked
	// through it: the expiry tests check the TTL each write leaves. With
	// neither Advance nor TTL they are skipped: the suite never sleeps.
	TTL func(t *testing.T, s tokencache.Store, key string) time.Duration
}

// TestStore runs the conformance suite against stores made by newStore. It
// checks the documented Store contract, and CompareAndSwapper when the store
// implements it. Expiry is only checked by Run with Config.Advance or
// Config.TTL.
func TestStore(t *testing.T, newStore func(t *testing.T) tokencache.Store) {
	Run(t, Config{New: newStore})
}

// Run is TestStore with optional abilities.
func Run(t *testing.T, cfg Config) {
	tests := []struct {
		name string
		fn   func(*testing.T, Config)
	}{
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"KeysAreDistinct", testKeysDistinct},
		{"CopySemantics", testCopies},
		{"NoExpiry", testNoExpiry},
		{"Expiry", testExpiry},
		{"CanceledContext", testCanceled},
		{"Concurrent", testConcurrent},
		{"CompareAndSwap", testCAS},
		{"CompareAndSwapConcurrent", testCASConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, cfg) })
	}
}

func get(t *testing.T, s tokencache.Store, key string) ([]byte, bool) {
	t.Helper()
	v, found, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if found && v == nil {
		t.Fatalf("Get(%q): found with a nil value; want non-nil", key)
	}
	if !found && v != nil {
		t.Fatalf("Get(%q): not found but value %q; want nil", key, v)
	}
	return v, found
}

func set(t *testing.T, s tokencache.Store, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, v, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s tokencache.Store, key string, want []byte) {
	t.Helper()
	got, found := get(t, s, key)
	if !found || !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, found=%v; want %q, found=true", key, got, found, want)
	}
}

func wantMissing(t *testing.T, s tokencache.Store, key string) {
	t.Helper()
	if got, found := get(t, s, key); found {
		t.Fatalf("Get(%q) = %q, found=true; want found=false", key, got)
	}
}

func testGetMissing(t *testing.T, cfg Config) {
	wantMissing(t, cfg.New(t), "never-set")
}

func testSetGet(t *testing.T, cfg Config) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	tests := []struct {
		name, key string
		value     []byte
	}{
		{"json", "uid.utid", []byte(`{"AccessToken":{}}`)},
		{"empty", "empty", []byte{}},
		{"binary", "bin", binary},
		{"large", "large", bytes.Repeat([]byte("0123456789abcdef"), 64<<10)},
		{"unicode key", "ключ:🔑 with spaces", []byte("v")},
		{"long key", strings.Repeat("k", 1000), []byte("v")},
	}
	s := cfg.New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set(t, s, tt.key, tt.value, time.Hour)
			wantValue(t, s, tt.key, tt.value)
		})
	}
}

func testOverwrite(t *testing.T, cfg Config) {
	s := cfg.New(t)
	set(t, s, "k", []byte("first"), 0)
	set(t, s, "k", []byte("second, longer"), time.Hour)
	wantValue(t, s, "k", []byte("second, longer"))
}

func testDelete(t *testing.T, cfg Config) {
	s := cfg.New(t)
	set(t, s, "k", []byte("v"), 0)
	set(t, s, "other", []byte("w"), 0)
	if err := s.Delete(context.Background(), "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, "k")
	wantValue(t, s, "other", []byte("w"))
}

func testDeleteMissing(t *testing.T, cfg Config) {
	s := cfg.New(t)
	for range 2 {
		if err := s.Delete(context.Background(), "never-set"); err != nil {
			t.Fatalf("Delete of a missing key: %v; want nil", err)
		}
	}
}

func testKeysDistinct(t *testing.T, cfg Config) {
	s := cfg.New(t)
	keys := []string{"a", "A", "a:", ":a", "a.b", "a_b", "ab"}
	for i, k := range keys {
		set(t, s, k, []byte(fmt.Sprint(i)), 0)
	}
	for i, k := range keys {
		wantValue(t, s, k, []byte(fmt.Sprint(i)))
	}
}

func testCopies(t *testing.T, cfg Config) {
	s := cfg.New(t)
	v := []byte("original")
	set(t, s, "k", v, 0)
	copy(v, "XXXXXXXX")
	got, _ := get(t, s, "k")
	copy(got, "YYYYYYYY")
	wantValue(t, s, "k", []byte("original"))
}
