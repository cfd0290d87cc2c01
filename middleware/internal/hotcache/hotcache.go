package hotcache

import (
	"hash/maphash"
	"sync"
)

// shards splits the cache so that concurrent requests rarely share a lock.
const shards = 32

// MaxKey is the longest key string Put keeps (longer ones are not cached).
const MaxKey = 1 << 16

// Cache maps (string, id) to values of type V that expire at an instant given
// in Unix nanoseconds. Each entry belongs to a group (an account) for
// RemoveGroup. The zero value is not usable; call New.
type Cache[V any] struct {
	seed   maphash.Seed
	tail   int                              // bytes of a key hashed from its end (0: all)
	hash   func(s string, id uint32) uint64 // tests inject collisions
	shards []shard[V]
}

// shard is one lock's worth of entries. Slot i's value is vals[i] and its key
// string is keys[off:off+n].
type shard[V any] struct {
	mu       sync.Mutex
	max      int
	maxBytes int    // bound on live key bytes (0: none)
	live     int    // bytes of the key strings of used slots
	index    index  // key hash -> slot
	slots    []slot // no pointers: the GC does not scan it
	vals     []V
	keys     []byte  // key strings of the slots, back to back; no pointers
	dead     int     // bytes of keys that no slot uses any more
	free     []int32 // emptied slots to reuse
	hand     int     // CLOCK hand
}

// slot is an entry's bookkeeping, free of pointers.
type slot struct {
	key   uint64
	group uint64
	until int64 // Unix nanoseconds; the entry is served while now < until
	off   int   // key string in shard.keys
	n     uint32
	id    uint32
	ref   bool // CLOCK reference bit, set on a hit
	used  bool
}

// New returns a cache of at most size entries (size < 1 is treated as 1).
func New[V any](size int) *Cache[V] { return NewBounded[V](size, 0) }

// NewBounded is New whose key strings also stay within about maxBytes in all
// (maxBytes <= 0: no bound but size): a Put that would exceed its shard's
// share first evicts entries, and a key longer than that share is not kept.
// The key arena may hold up to about twice the live key bytes between
// compactions (see Bytes).
func NewBounded[V any](size, maxBytes int) *Cache[V] {
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
		c.shards[i] = shard[V]{max: per}
		if maxBytes > 0 {
			c.shards[i].maxBytes = max(1, maxBytes/n)
		}
	}
	return c
}

// HashTail makes c hash only the last n bytes of a key and its length,
// for keys whose end is unpredictable without a secret (a session cookie
// ends with its MAC): a 640-byte cookie is then read once per lookup, by
// the full compare, instead of twice. Keys equal in those bytes share a
// hash, so one evicts the other; a hit still compares the whole key. It
// must be called before c is used, and returns c.
func (c *Cache[V]) HashTail(n int) *Cache[V] {
	c.tail = n
	return c
}

func (c *Cache[V]) keyHash(s string, id uint32) uint64 {
	h := uint64(id) + 1
	if c.tail > 0 && len(s) > c.tail {
		h += uint64(len(s)) << 32
		s = s[len(s)-c.tail:]
	}
	return maphash.String(c.seed, s) ^ h*0x9e3779b97f4a7c15
}

// GroupHash returns the group of an owner id (e.g. an account), for Put and
// RemoveGroup.
func (c *Cache[V]) GroupHash(owner string) uint64 { return maphash.String(c.seed, owner) }

func (c *Cache[V]) shard(k uint64) *shard[V] { return &c.shards[(k>>32)%uint64(len(c.shards))] }

// find returns the slot of (s, id), if any. sh.mu must be held.
func (sh *shard[V]) find(k uint64, s string, id uint32) (int32, bool) {
	i, ok := sh.index.lookup(k, sh.slots)
	if !ok {
		return 0, false
	}
	e := &sh.slots[i]
	return i, e.id == id && int(e.n) == len(s) && string(sh.keys[e.off:e.off+int(e.n)]) == s
}

// Get returns the value of (s, id) if it is there and now < its expiry.
func (c *Cache[V]) Get(s string, id uint32, now int64) (V, bool) {
	k := c.hash(s, id)
	sh := c.shard(k)
	sh.mu.Lock()
	if i, ok := sh.find(k, s, id); ok && now < sh.slots[i].until {
		v := sh.vals[i]
		if e := &sh.slots[i]; !e.ref {
			e.ref = true // written once per CLOCK round, not on every hit
		}
		sh.mu.Unlock()
		return v, true
	}
	sh.mu.Unlock()
	var zero V
	return zero, false
}

// Put stores v for (s, id) in group until the instant until (Unix
// nanoseconds), evicting an entry not used since the CLOCK hand last passed
// when the shard is full. s is copied; a key longer than MaxKey is not kept.
func (c *Cache[V]) Put(s string, id uint32, group uint64, v V, until int64) {
	c.Update(s, id, group, 0, until, func(V, bool) (V, bool) { return v, true })
}

// Update replaces the value of (s, id) with what fn returns given the one
// stored (live: there is one and now is before its expiry), all under the
// shard's lock; the entry is then served until the instant until, or dropped
// when fn returns false. Values must not be changed in place: Get's callers
// hold copies. Like Put, a key longer than MaxKey is not kept. Only a key
// not yet stored makes room for its bytes: replacing or dropping a value
// evicts no other entry.
func (c *Cache[V]) Update(s string, id uint32, group uint64, now, until int64, fn func(old V, live bool) (V, bool)) {
	if len(s) > MaxKey {
		return
	}
	k := c.hash(s, id)
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, same := sh.find(k, s, id)
	var old V
	if same {
		old = sh.vals[i]
	}
	v, keep := fn(old, same && now < sh.slots[i].until)
	switch {
	case !keep:
		if same {
			sh.drop(i)
		}
		return
	case !same: // a key to store: room for its bytes first (an update needs none)
		if !sh.makeRoom(len(s)) {
			return
		}
		if j, taken := sh.index.lookup(k, sh.slots); taken {
			i = j // a key of the same hash: replaced
		} else {
			i = sh.take()
			sh.index.insert(k, i)
		}
		sh.release(i)
		sh.store(i, s)
	}
	sh.slots[i].key, sh.slots[i].group, sh.slots[i].until, sh.slots[i].id = k, group, until, id
	sh.slots[i].used, sh.slots[i].ref = true, false
	sh.vals[i] = v
}

// Remove drops the entry of (s, id), if any.
func (c *Cache[V]) Remove(s string, id uint32) {
	k := c.hash(s, id)
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i, ok := sh.find(k, s, id); ok {
		sh.drop(i)
	}
}

// RemoveGroup drops every entry of group. It scans the whole cache, a
// pointer-free slab per shard (sign-out and claims challenges are rare; hits
// and memory must stay cheap).
func (c *Cache[V]) RemoveGroup(group uint64) {
	for si := range c.shards {
		sh := &c.shards[si]
		sh.mu.Lock()
		for i := range sh.slots {
			if e := &sh.slots[i]; e.used && e.group == group {
				sh.drop(int32(i))
			}
		}
		sh.mu.Unlock()
	}
}

// Range calls fn with every value, one shard's lock held at a time.
func (c *Cache[V]) Range(fn func(V)) {
	for si := range c.shards {
		sh := &c.shards[si]
		sh.mu.Lock()
		for i := range sh.slots {
			if sh.slots[i].used {
				fn(sh.vals[i])
			}
		}
		sh.mu.Unlock()
	}
}

// Bytes returns the bytes the cache holds for key strings: its key arenas,
// live keys and keys not yet compacted away.
func (c *Cache[V]) Bytes() int { return c.total(func(sh *shard[V]) int { return len(sh.keys) }) }

// Len returns the number of entries.
func (c *Cache[V]) Len() int { return c.total(func(sh *shard[V]) int { return sh.index.n }) }

// total sums f over the shards, each under its lock.
func (c *Cache[V]) total(f func(sh *shard[V]) int) int {
	n := 0
	for si := range c.shards {
		sh := &c.shards[si]
		sh.mu.Lock()
		n += f(sh)
		sh.mu.Unlock()
	}
	return n
}
