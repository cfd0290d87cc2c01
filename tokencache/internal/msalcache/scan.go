package msalcache

import (
	"encoding/binary"
	"strconv"
)

// scanner walks JSON as strictly as encoding/json accepts it. Every method
// reports false for input encoding/json would reject, and also for input it
// would accept but this package declines to read (nesting deeper than
// maxDepth).
type scanner struct {
	b     []byte
	i     int
	depth int
}

// maxDepth bounds the nesting of values this package reads.
const maxDepth = 64

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// eat consumes c after white space.
func (s *scanner) eat(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// str reads a string. raw is its JSON text with the quotes; plain reports
// that it has no escape and only ASCII, so raw[1:len(raw)-1] is its value.
func (s *scanner) str() (raw []byte, plain, ok bool) {
	if s.peek() != '"' {
		return nil, false, false
	}
	start := s.i
	s.i++
	plain = true
	for s.i < len(s.b) {
		if s.i+8 <= len(s.b) && !special(binary.LittleEndian.Uint64(s.b[s.i:])) {
			s.i += 8
			continue
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], plain, true
		case c == '\\':
			plain = false
			if !s.escape() {
				return nil, false, false
			}
			continue
		case c < 0x20:
			return nil, false, false
		case c >= 0x80:
			plain = false
		}
		s.i++
	}
	return nil, false, false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports whether one of the 8 bytes in w may be a quote, a
// backslash, a control character or not ASCII (it may report a byte after
// such a byte too, never misses one).
func special(w uint64) bool {
	q, bs := w^(ones*'"'), w^(ones*'\\')
	return ((q-ones)&^q|(bs-ones)&^bs|(w-ones*0x20)&^w|w)&highs != 0
}

// escape consumes one escape sequence at s.i.
func (s *scanner) escape() bool {
	if s.i+1 >= len(s.b) {
		return false
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return true
	case 'u':
		if s.i+6 > len(s.b) {
			return false
		}
		for _, h := range s.b[s.i+2 : s.i+6] {
			if !isHex(h) {
				return false
			}
		}
		s.i += 6
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// value skips one value of any type.
func (s *scanner) value() bool {
	switch s.peek() {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{':
		return s.object(skipMember)
	case '[':
		return s.array()
	case 't':
		return s.word("true")
	case 'f':
		return s.word("false")
	case 'n':
		return s.word("null")
	}
	return s.number()
}

// object reads an object, calling member for each key with the scanner
// positioned at the member's value; member must consume the value.
func (s *scanner) object(member func(s *scanner, key []byte, plain bool) bool) bool {
	if !s.eat('{') || !s.enter() {
		return false
	}
	if s.eat('}') {
		s.depth--
		return true
	}
	for {
		key, plain, ok := s.str()
		if !ok || !s.eat(':') || !member(s, key[1:len(key)-1], plain) {
			return false
		}
		if s.eat('}') {
			s.depth--
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

func skipMember(s *scanner, _ []byte, _ bool) bool { return s.value() }

func (s *scanner) array() bool {
	if !s.eat('[') || !s.enter() {
		return false
	}
	if s.eat(']') {
		s.depth--
		return true
	}
	for {
		if !s.value() {
			return false
		}
		if s.eat(']') {
			s.depth--
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

func (s *scanner) enter() bool {
	s.depth++
	return s.depth <= maxDepth
}

func (s *scanner) word(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() bool {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// int64 reads a number that encoding/json decodes into an int64: an
// integer literal within range.
func (s *scanner) int64() bool {
	s.ws()
	start := s.i
	if !s.number() {
		return false
	}
	_, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	return err == nil
}
