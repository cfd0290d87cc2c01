package hotcache

// index maps a key hash to a slot by open addressing with linear probing in
// one pointer-free array kept at most half full, so that a lookup reads one
// cache line in the common case (a Go map reads its directory, a table, a
// control word and then the slot). An entry holds the hash's low 32 bits
// above slot+1; 0 is empty. The low bits also place the entry, so entries
// can be moved without reading their slots.
type index struct {
	t []uint64
	n int
}

// lookup returns the slot whose key hash is k. slots confirms a match of
// the low 32 bits (the slot is read next anyway).
func (x *index) lookup(k uint64, slots []slot) (int32, bool) {
	if len(x.t) == 0 {
		return 0, false
	}
	mask, tag := uint64(len(x.t)-1), k<<32
	for p := k & mask; ; p = (p + 1) & mask {
		e := x.t[p]
		if e == 0 {
			return 0, false
		}
		if e&^0xffffffff == tag {
			if i := int32(uint32(e)) - 1; slots[i].key == k {
				return i, true
			}
		}
	}
}

// insert records slot i for k, which must not be in the index.
func (x *index) insert(k uint64, i int32) {
	if 2*(x.n+1) > len(x.t) {
		x.grow()
	}
	x.place(k<<32 | uint64(uint32(i+1)))
	x.n++
}

func (x *index) place(e uint64) {
	mask := uint64(len(x.t) - 1)
	p := (e >> 32) & mask
	for x.t[p] != 0 {
		p = (p + 1) & mask
	}
	x.t[p] = e
}

// grow doubles the table (at least 8 entries) and places the entries again.
func (x *index) grow() {
	old := x.t
	x.t = make([]uint64, max(8, 2*len(old)))
	for _, e := range old {
		if e != 0 {
			x.place(e)
		}
	}
}

// remove drops the entry of slot i, whose key hash is k, shifting the
// entries after it back so that no probe sequence has a hole.
func (x *index) remove(k uint64, i int32) {
	if len(x.t) == 0 {
		return
	}
	mask, want := uint64(len(x.t)-1), k<<32|uint64(uint32(i+1))
	p := k & mask
	for x.t[p] != want {
		if x.t[p] == 0 {
			return
		}
		p = (p + 1) & mask
	}
	x.n--
	for q := p; ; {
		x.t[p] = 0
		for {
			q = (q + 1) & mask
			e := x.t[q]
			if e == 0 {
				return
			}
			if h := (e >> 32) & mask; (q-h)&mask >= (q-p)&mask { // e's home is at or before p
				x.t[p], p = e, q
				break
			}
		}
	}
}
