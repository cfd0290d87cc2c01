package tokencache

import "sync"

// scratch holds the byte buffers of one Replace or Export, recycled through
// scratchPool so that a round allocates almost nothing: with a large heap
// (many users in a MemoryStore) every fresh allocation costs page faults.
type scratch struct {
	raw    []byte // stored blob
	plain  []byte // opened blob
	old    []byte // blob this MSAL cache was loaded from
	sealed []byte // blob to write
}

// maxScratch is the largest buffer kept for reuse; bigger ones are dropped.
const maxScratch = 1 << 20

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	for _, b := range []*[]byte{&s.raw, &s.plain, &s.old, &s.sealed} {
		if cap(*b) > maxScratch {
			*b = nil
		}
		*b = (*b)[:0]
	}
	scratchPool.Put(s)
}

// keep records b as buffer *field for reuse if it has more room.
func keep(field *[]byte, b []byte) {
	if cap(b) > cap(*field) {
		*field = b[:0]
	}
}
