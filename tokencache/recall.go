package tokencache

import (
	"reflect"
	"sync"
)

// maxRecalled bounds the number of MSAL caches (one per MSAL client) whose
// last loaded blob a Cache remembers; beyond it the memory is dropped.
const maxRecalled = 1024

// recall remembers, per MSAL in-memory cache, the partition last loaded into
// it and the stored blob it came from. MSAL calls Export right after a
// Replace of the same partition under one lock, so when the store still holds
// that blob, what MSAL exports already includes everything stored and can be
// written with a single compare-and-swap, without reading and merging.
type recall struct {
	mu   sync.Mutex
	last map[any]recalled
}

type recalled struct {
	partition string
	raw       []byte // nil: the partition was absent
}

// remember records that msal (MSAL's cache) now holds partition as stored in
// raw, and takes ownership of raw.
func (r *recall) remember(msal any, partition string, raw []byte) {
	if !usableKey(msal) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil || len(r.last) >= maxRecalled {
		r.last = map[any]recalled{}
	}
	r.last[msal] = recalled{partition, raw}
}

// forget drops what is known of msal.
func (r *recall) forget(msal any) {
	if !usableKey(msal) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.last, msal)
}

// lookup returns the blob msal was loaded from if it holds partition. The
// caller must not modify it.
func (r *recall) lookup(msal any, partition string) ([]byte, bool) {
	if !usableKey(msal) {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.last[msal]
	if !ok || rec.partition != partition {
		return nil, false
	}
	return rec.raw, true
}

// usableKey reports whether v can be a map key identifying one MSAL cache: a
// non-nil pointer (MSAL passes its *storage.Manager).
func usableKey(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && !rv.IsNil()
}
