package hotcache

// index maps a key hash to a slot by open addressing with linear probing in
// one pointer-free array kept at most half full, so that a lookup reads one
// cache line in the common case (a Go map reads its directory, a table, a
// control word and then the slot). An entry holds the hash's low 32 bits
// (its tag, which also places it, so entries move without reading their
// slots), the slot and where the slot's key string is in the arena: a hit
// reads the key and the slot's value at once, both found from this line.
type index struct {
	t []ientry
	n int
}

// ientry is one entry of an index; slot 0 is empty.
type ientry struct {
	tag  uint32
	slot uint32 // slot+1
	off  uint32 // the key string: keys[off:off+n]
	n    uint32
}

// lookup returns the entry whose tag is tag, if any.
func (x *index) lookup(tag uint32) (ientry, bool) {
	if len(x.t) == 0 {
		return ientry{}, false
	}
	mask := uint64(len(x.t) - 1)
	for p := uint64(tag) & mask; ; p = (p + 1) & mask {
		e := x.t[p]
		if e.slot == 0 {
			return ientry{}, false
		}
		if e.tag == tag {
			return e, true
		}
	}
}

// insert records slot i with tag tag and key string keys[off:off+n]; tag
// must not be in the index.
func (x *index) insert(tag uint32, i int32, off, n uint32) {
	if 2*(x.n+1) > len(x.t) {
		x.grow()
	}
	x.place(ientry{tag: tag, slot: uint32(i) + 1, off: off, n: n})
	x.n++
}

func (x *index) place(e ientry) {
	mask := uint64(len(x.t) - 1)
	p := uint64(e.tag) & mask
	for x.t[p].slot != 0 {
		p = (p + 1) & mask
	}
	x.t[p] = e
}

// grow doubles the table (at least 8 entries) and places the entries again.
func (x *index) grow() {
	old := x.t
	x.t = make([]ientry, max(8, 2*len(old)))
	for _, e := range old {
		if e.slot != 0 {
			x.place(e)
		}
	}
}

// remove drops the entry of slot i, whose tag is tag, shifting the entries
// after it back so that no probe sequence has a hole.
func (x *index) remove(tag uint32, i int32) {
	if len(x.t) == 0 {
		return
	}
	mask, slot := uint64(len(x.t)-1), uint32(i)+1
	p := uint64(tag) & mask
	for x.t[p].slot != slot {
		if x.t[p].slot == 0 {
			return
		}
		p = (p + 1) & mask
	}
	x.n--
	for q := p; ; {
		x.t[p] = ientry{}
		for {
			q = (q + 1) & mask
			e := x.t[q]
			if e.slot == 0 {
				return
			}
			if h := uint64(e.tag) & mask; (q-h)&mask >= (q-p)&mask { // e's home is at or before p
				x.t[p], p = e, q
				break
			}
		}
	}
}

// moved sets the key offset of every entry to its slot's, after the arena
// was compacted.
func (x *index) moved(slots []slot) {
	for p := range x.t {
		if e := &x.t[p]; e.slot != 0 {
			e.off = slots[e.slot-1].off
		}
	}
}
