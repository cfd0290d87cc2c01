// Package hotcache is the middleware's in-process cache: values found by a
// string (a session cookie, an account) and a small id (a route's scope set),
// with one map lookup per hit and no write on a hit but one reference bit.
//
// It is built for many entries that are each used rarely, and for a garbage
// collector that should not notice them: per shard, the map is keyed by a
// 64-bit keyed hash (no pointers), the entries' bookkeeping is one
// pointer-free slab, the key strings are copied back to back into one
// pointer-free byte arena, and the values sit in one slice. A hundred thousand
// entries are a handful of heap objects, not a few hundred thousand. Eviction
// is CLOCK (second chance) instead of moving entries to the front of a list on
// every hit, and a hit compares the full key string, so a hash collision is a
// miss, never another key's value.
package hotcache
