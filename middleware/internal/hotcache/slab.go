package hotcache

// The slab and the key arena of a shard. Every function here needs sh.mu held.

// minCompact is the dead arena bytes below which the arena is never compacted.
const minCompact = 64 << 10

// take returns a free slot, growing the slab up to max, else evicting.
func (sh *shard[V]) take() int32 {
	if n := len(sh.free); n > 0 {
		i := sh.free[n-1]
		sh.free = sh.free[:n-1]
		return i
	}
	if len(sh.slots) < sh.max {
		sh.slots = append(sh.slots, slot{})
		var zero V
		sh.vals = append(sh.vals, zero)
		return int32(len(sh.slots) - 1)
	}
	for {
		sh.hand = (sh.hand + 1) % len(sh.slots)
		e := &sh.slots[sh.hand]
		if e.ref {
			e.ref = false // a second chance
			continue
		}
		sh.index.remove(e.key, int32(sh.hand))
		sh.clear(int32(sh.hand))
		return int32(sh.hand)
	}
}

// drop removes slot i from the index and puts it on the free list.
func (sh *shard[V]) drop(i int32) {
	sh.index.remove(sh.slots[i].key, i)
	sh.clear(i)
	sh.free = append(sh.free, i)
}

// clear empties slot i and lets go of its value and key string.
func (sh *shard[V]) clear(i int32) {
	sh.release(i)
	var zero V
	sh.vals[i] = zero
	sh.slots[i] = slot{}
}

// release lets go of slot i's key string: the arena shrinks back if it is the
// last one stored (a key dropped and put again, as after a refresh, reuses
// the same bytes), else its bytes are dead until the next compaction.
func (sh *shard[V]) release(i int32) {
	e := &sh.slots[i]
	sh.live -= int(e.n)
	if e.n > 0 && e.off+int(e.n) == len(sh.keys) {
		sh.keys = sh.keys[:e.off]
	} else {
		sh.dead += int(e.n)
	}
	e.off, e.n = 0, 0
}

// store copies s to the arena as slot i's key string, first compacting the
// arena when more than half of it is dead, so that it stays at most about
// twice the live key strings.
func (sh *shard[V]) store(i int32, s string) {
	if sh.dead > minCompact && 2*sh.dead > len(sh.keys) {
		sh.compact()
	}
	e := &sh.slots[i]
	e.off, e.n = len(sh.keys), uint32(len(s))
	sh.keys = append(sh.keys, s...)
	sh.live += len(s)
}

// makeRoom evicts entries (CLOCK, second chance) until a key of n bytes fits
// the shard's byte bound, and reports whether it can fit at all.
func (sh *shard[V]) makeRoom(n int) bool {
	if sh.maxBytes == 0 {
		return true
	}
	if n > sh.maxBytes {
		return false
	}
	for sh.live+n > sh.maxBytes {
		sh.hand = (sh.hand + 1) % len(sh.slots)
		e := &sh.slots[sh.hand]
		switch {
		case !e.used || e.n == 0:
		case e.ref:
			e.ref = false // a second chance
		default:
			sh.drop(int32(sh.hand))
		}
	}
	return true
}

// compact copies the live key strings to a new arena.
func (sh *shard[V]) compact() {
	keys := make([]byte, 0, 2*(len(sh.keys)-sh.dead))
	for i := range sh.slots {
		if e := &sh.slots[i]; e.n > 0 {
			off := len(keys)
			keys = append(keys, sh.keys[e.off:e.off+int(e.n)]...)
			e.off = off
		}
	}
	sh.keys, sh.dead = keys, 0
}
