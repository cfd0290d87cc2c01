// Package hotcache is the middleware's in-process cache: values found by a
// string (a session cookie, an account) and a small id (a route's scope set),
// with one map lookup per hit and no write on a hit but one reference bit.
//
// It is built for many entries that are each used rarely, and for a garbage
// collector that should not notice them: per shard, a flat pointer-free
// index (open addressing) maps a keyed hash to a slot and to where the key
// string is, the key strings are copied back to back into one pointer-free
// byte arena, each value sits with what a hit reads besides the key (expiry,
// route id, reference bit) in one slice, and the rest of the bookkeeping in
// a pointer-free slab. A hundred thousand entries are a handful of heap
// objects, not a few hundred thousand, and a hit on an entry no longer in
// the CPU caches waits for two memory reads in a row (the index line, then
// the key and the value together), not one per structure. Eviction is CLOCK
// (second chance) instead of moving entries to the front of a list on every
// hit, and a hit compares the full key string, so a hash collision is a
// miss, never another key's value.
package hotcache
