package msalcache

import "bytes"

// maxEntries bounds the access and ID token entries a document may hold
// for Find to read it.
const maxEntries = 64

// document holds the access token and ID token entries of a cache document.
type document struct {
	at  []entry
	idt []entry
	s   scanner // parse's, kept with the pooled document so it is not allocated per call
}

// reset empties d for reuse, dropping every reference into the decrypted
// document it read: a pooled document must not keep its secrets alive.
func (d *document) reset() {
	clear(d.at)
	clear(d.idt)
	d.at, d.idt, d.s = d.at[:0], d.idt[:0], scanner{}
}

// parse reads b as MSAL's decoder would, keeping the access and ID token
// entries. It reports false for anything MSAL would reject and for what
// this package declines to read (see the package doc).
func (d *document) parse(b []byte) bool {
	d.s = scanner{b: b}
	s := &d.s
	var seen [len(sectionOrder)]bool
	ok := s.object(func(s *scanner, name []byte, plain bool) bool {
		if !plain || contractGoNames[string(name)] {
			return false
		}
		i := sectionIndex(name)
		if i < 0 {
			return s.value()
		}
		if seen[i] {
			return false
		}
		seen[i] = true
		return d.section(s, i)
	})
	s.ws()
	return ok && s.i == len(b)
}

// sectionOrder names the sections by index; the first two are kept.
var sectionOrder = [...]string{"AccessToken", "IdToken", "RefreshToken", "Account", "AppMetadata"}

func sectionIndex(name []byte) int {
	for i, n := range sectionOrder {
		if string(name) == n {
			return i
		}
	}
	return -1
}

// section reads one section: null (an empty section for MSAL) or an object
// of entries.
func (d *document) section(s *scanner, i int) bool {
	if s.peek() == 'n' {
		return s.word("null")
	}
	sc := sections[sectionOrder[i]]
	return s.object(func(s *scanner, key []byte, plain bool) bool {
		if i >= 2 {
			return readEntry(s, sc, nil)
		}
		list := &d.at
		if i == 1 {
			list = &d.idt
		}
		if !plain || len(*list) >= maxEntries || has(*list, key) {
			return false
		}
		*list = append(*list, entry{key: key})
		return readEntry(s, sc, &(*list)[len(*list)-1])
	})
}

func has(list []entry, key []byte) bool {
	for i := range list {
		if bytes.Equal(list[i].key, key) {
			return true
		}
	}
	return false
}
