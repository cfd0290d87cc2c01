// Package hotcache is the middleware's fast-path cache: values found by a
// string (a session cookie) and a small route id, with one map lookup per
// hit and no write on a hit but one reference bit.
//
// It is built for many entries that are each used rarely: the maps are keyed
// by a 64-bit keyed hash (no pointers for the garbage collector to follow, no
// long string hashed twice), entries live in per-shard slabs, eviction is
// CLOCK (second chance) instead of moving entries to the front of a list on
// every hit, and a hit compares the full string, so a hash collision is a
// miss, never another string's value.
package hotcache

import (
	"hash/maphash"
	"sync"
)

// shards splits the cache so that concurrent requests rarely share a lock.
const shards = 32

// Cache maps (string, route id) to values of type V that expire at an
// instant given in Unix nanoseconds. Each entry belongs to a group (an
// account) for RemoveGroup. The zero value is not usable; call New.
type Cache[V any] struct {
	seed   maphash.Seed
	hash   func(s string, id uint32) uint64 // tests inject collisions
	shards []shard[V]
}

type shard[V any] struct {
	mu    sync.Mutex
	max   int
	index map[uint64]int32 // key hash -> slot
	slots []slot[V]
	free  []int32 // emptied slots to reuse
	hand  int     // CLOCK hand
}

type slot[V any] struct {
	key   uint64
	group uint64
	until int64 // Unix nanoseconds; the entry is served while now < until
	id    uint32
	ref   bool // CLOCK reference bit, set on a hit
	s     string
	val   V
	used  bool
}

// New returns a cache of at most size entries (size < 1 is treated as 1).
func New[V any](size int) *Cache[V] {
	c := &Cache[V]{seed: maphash.MakeSeed()}
	c.hash = c.keyHash
	n := shards
	if size < 4*shards {
		n = 1
	}
	c.shards = make([]shard[V], n)
	size = max(1, size)
	for i := range c.shards {
		per := size / n
		if i < size%n {
			per++
		}
		c.shards[i] = shard[V]{max: per, index: make(map[uint64]int32)}
	}
	return c
}

func (c *Cache[V]) keyHash(s string, id uint32) uint64 {
	return maphash.String(c.seed, s) ^ (uint64(id)+1)*0x9e3779b97f4a7c15
}

// GroupHash returns the group of an owner id (e.g. an account), for Put and
// RemoveGroup.
func (c *Cache[V]) GroupHash(owner string) uint64 { return maphash.String(c.seed, owner) }

func (c *Cache[V]) shard(k uint64) *shard[V] { return &c.shards[(k>>32)%uint64(len(c.shards))] }

// Get returns the value of (s, id) if it is there and now < its expiry.
func (c *Cache[V]) Get(s string, id uint32, now int64) (V, bool) {
	k := c.hash(s, id)
	sh := c.shard(k)
	sh.mu.Lock()
	i, ok := sh.index[k]
	if ok {
		e := &sh.slots[i]
		if e.id == id && now < e.until && e.s == s {
			v := e.val
			if !e.ref {
				e.ref = true // written once per CLOCK round, not on every hit
			}
			sh.mu.Unlock()
			return v, true
		}
	}
	sh.mu.Unlock()
	var zero V
	return zero, false
}

// Put stores v for (s, id) in group until the instant until (Unix
// nanoseconds), evicting an entry not used since the CLOCK hand last passed
// when the shard is full. s is copied.
func (c *Cache[V]) Put(s string, id uint32, group uint64, v V, until int64) {
	k := c.hash(s, id)
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, ok := sh.index[k]
	if !ok {
		i = sh.take()
		sh.index[k] = i
	}
	e := &sh.slots[i]
	e.key, e.group, e.until, e.id, e.val, e.used = k, group, until, id, v, true
	if e.s != s {
		e.s = string(append([]byte(nil), s...))
	}
	e.ref = false
}

// take returns a free slot, growing the slab up to max, else evicting.
func (sh *shard[V]) take() int32 {
	if n := len(sh.free); n > 0 {
		i := sh.free[n-1]
		sh.free = sh.free[:n-1]
		return i
	}
	if len(sh.slots) < sh.max {
		sh.slots = append(sh.slots, slot[V]{})
		return int32(len(sh.slots) - 1)
	}
	for {
		sh.hand = (sh.hand + 1) % len(sh.slots)
		e := &sh.slots[sh.hand]
		if e.ref {
			e.ref = false // a second chance
			continue
		}
		delete(sh.index, e.key)
		sh.clear(e)
		return int32(sh.hand)
	}
}

func (sh *shard[V]) clear(e *slot[V]) {
	var zero V
	e.val, e.s, e.used, e.until = zero, "", false, 0
}

// RemoveGroup drops every entry of group. It scans the whole cache (sign-out
// and claims challenges are rare; hits must stay cheap).
func (c *Cache[V]) RemoveGroup(group uint64) {
	for si := range c.shards {
		sh := &c.shards[si]
		sh.mu.Lock()
		for i := range sh.slots {
			if e := &sh.slots[i]; e.used && e.group == group {
				delete(sh.index, e.key)
				sh.clear(e)
				sh.free = append(sh.free, int32(i))
			}
		}
		sh.mu.Unlock()
	}
}

// Len returns the number of entries.
func (c *Cache[V]) Len() int {
	n := 0
	for si := range c.shards {
		sh := &c.shards[si]
		sh.mu.Lock()
		n += len(sh.index)
		sh.mu.Unlock()
	}
	return n
}
