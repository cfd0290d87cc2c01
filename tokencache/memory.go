package tokencache

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultMemoryMaxBytes is the default size bound of a MemoryStore: 64 MiB of
// keys and values.
const DefaultMemoryMaxBytes = 64 << 20

// MemoryStore is a Store that keeps values in this process's memory, bounded
// by total size (and optionally entry count) with least-recently-used
// eviction. It is safe for concurrent use and is the Store New uses when given
// nil. Create it with NewMemoryStore; the zero value is not usable.
type MemoryStore struct {
	mu         sync.Mutex
	items      map[string]*list.Element
	lru        list.List // front = most recently used; values are *memItem
	size       int64
	maxBytes   int64
	maxEntries int
	now        func() time.Time
}

type memItem struct {
	key     string
	value   []byte
	expires time.Time // zero: never
}

var (
	_ Store             = (*MemoryStore)(nil)
	_ CompareAndSwapper = (*MemoryStore)(nil)
	_ InProcess         = (*MemoryStore)(nil)
)

// MemoryOption configures a MemoryStore.
type MemoryOption func(*MemoryStore)

// WithMaxBytes bounds the total size of keys and values held by the store
// (default DefaultMemoryMaxBytes). When a Set would exceed it, the least
// recently used entries are evicted. n <= 0 keeps the default.
func WithMaxBytes(n int64) MemoryOption {
	return func(s *MemoryStore) {
		if n > 0 {
			s.maxBytes = n
		}
	}
}

// WithMaxEntries bounds the number of entries (default: no bound other than
// WithMaxBytes). n <= 0 means no entry bound.
func WithMaxEntries(n int) MemoryOption {
	return func(s *MemoryStore) { s.maxEntries = n }
}

// WithMemoryClock sets the clock used for TTLs (default time.Now). Tests use
// it to expire entries without sleeping.
func WithMemoryClock(now func() time.Time) MemoryOption {
	return func(s *MemoryStore) {
		if now != nil {
			s.now = now
		}
	}
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	s := &MemoryStore{items: map[string]*list.Element{}, maxBytes: DefaultMemoryMaxBytes, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// InProcess reports true: a MemoryStore's data never leaves the process.
func (s *MemoryStore) InProcess() bool { return true }

// Len returns the number of entries currently held (expired ones included
// until they are read or evicted).
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return s.getAppend(ctx, key, nil)
}

// getAppend is Get appending the value to dst[:0].
func (s *MemoryStore) getAppend(ctx context.Context, key string, dst []byte) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("tokencache: memory get: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	if it == nil {
		return nil, false, nil
	}
	if dst == nil {
		dst = make([]byte, 0, len(it.value))
	}
	return append(dst[:0], it.value...), true, nil
}

// Set implements Store. A value larger than the store's byte bound is an
// error.
func (s *MemoryStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tokencache: memory set: %w", err)
	}
	if n := entrySize(key, value); n > s.maxBytes {
		return fmt.Errorf("tokencache: memory set: entry of %d bytes exceeds the store bound of %d bytes", n, s.maxBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(key, value, ttl)
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tokencache: memory delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.items[key]; ok {
		s.remove(e)
	}
	return nil
}

// CompareAndSwap implements CompareAndSwapper.
func (s *MemoryStore) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("tokencache: memory compare-and-swap: %w", err)
	}
	if n := entrySize(key, value); n > s.maxBytes {
		return false, fmt.Errorf("tokencache: memory compare-and-swap: entry of %d bytes exceeds the store bound of %d bytes", n, s.maxBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(key)
	switch {
	case old == nil && it != nil, old != nil && it == nil, it != nil && !bytes.Equal(it.value, old):
		return false, nil
	}
	s.put(key, value, ttl)
	return true, nil
}

// lookup returns the live item for key, dropping it if expired, and marks it
// recently used. s.mu must be held.
func (s *MemoryStore) lookup(key string) *memItem {
	e, ok := s.items[key]
	if !ok {
		return nil
	}
	it := e.Value.(*memItem)
	if !it.expires.IsZero() && !s.now().Before(it.expires) {
		s.remove(e)
		return nil
	}
	s.lru.MoveToFront(e)
	return it
}

// put stores a copy of value and evicts until the bounds hold. Overwriting
// a key updates its entry in place, reusing its value buffer when the new
// value fits (Get hands out copies, so nobody else holds it). s.mu must be
// held.
func (s *MemoryStore) put(key string, value []byte, ttl time.Duration) {
	var expires time.Time
	if ttl > 0 {
		expires = s.now().Add(ttl)
	}
	if e, ok := s.items[key]; ok {
		it := e.Value.(*memItem)
		s.size += int64(len(value) - len(it.value))
		it.value, it.expires = append(it.value[:0], value...), expires
		s.lru.MoveToFront(e)
	} else {
		it := &memItem{key: key, value: append([]byte(nil), value...), expires: expires}
		s.items[key] = s.lru.PushFront(it)
		s.size += entrySize(key, value)
	}
	for s.size > s.maxBytes || (s.maxEntries > 0 && s.lru.Len() > s.maxEntries) {
		s.remove(s.lru.Back())
	}
}

// remove drops e. s.mu must be held.
func (s *MemoryStore) remove(e *list.Element) {
	it := s.lru.Remove(e).(*memItem)
	delete(s.items, it.key)
	s.size -= entrySize(it.key, it.value)
}

func entrySize(key string, value []byte) int64 { return int64(len(key) + len(value)) }
