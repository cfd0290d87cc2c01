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
	last map[any]*recalled
}

type recalled struct {
	partition string
	present   bool   // the partition existed
	raw       []byte // its blob; the record's own buffer
}

// remember records that msal (MSAL's cache) now holds partition as stored in
// raw (nil: absent). It copies raw into the record's buffer.
func (r *recall) remember(msal any, partition string, raw []byte) {
	if !usableKey(msal) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil || len(r.last) >= maxRecalled {
		r.last = map[any]*recalled{}
	}
	rec := r.last[msal]
	if rec == nil {
		rec = &recalled{}
		r.last[msal] = rec
	}
	rec.partition, rec.present = partition, raw != nil
	rec.raw = append(rec.raw[:0], raw...)
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

// lookup returns, appended to dst[:0], the blob msal was loaded from if it
// holds partition; nil (with ok) if the partition was absent.
func (r *recall) lookup(msal any, partition string, dst []byte) (raw []byte, ok bool) {
	if !usableKey(msal) {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.last[msal]
	if rec == nil || rec.partition != partition {
		return nil, false
	}
	if !rec.present {
		return nil, true
	}
	return append(dst[:0], rec.raw...), true
}

// usableKey reports whether v can be a map key identifying one MSAL cache: a
// non-nil pointer (MSAL passes its *storage.Manager).
func usableKey(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && !rv.IsNil()
}
