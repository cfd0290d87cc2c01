package middleware

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/gorilla/securecookie"
)

// sessionCodec serializes the default cookie store's session values (string
// keys and string values, see session.go) as length-prefixed strings behind
// a marker byte, instead of gob: decoding a cookie again (a user's first
// request on a replica, or after the session memo expired) then costs a few
// allocations, where gob builds a decoder and its type information for
// every cookie. It runs inside securecookie, after the HMAC check and
// decryption: it only ever reads what this app's keys signed.
//
// Cookies written with gob (by earlier releases, or for values that are not
// all strings) still decode: a gob stream never starts with the marker (its
// first byte is a message length, below 0x80 or from 0xF8 up).
type sessionCodec struct{}

// compactMarker starts a compact session value.
const compactMarker = 0x80

var errSessionValue = errors.New("middleware: session cookie value is malformed: the user must sign in again")

// Serialize writes src, a session's values, compactly when every key and
// value is a string, else with gob.
func (sessionCodec) Serialize(src any) ([]byte, error) {
	values, ok := src.(map[any]any)
	if !ok {
		return securecookie.GobEncoder{}.Serialize(src)
	}
	keys := make([]string, 0, len(values))
	size := 1
	for k, v := range values {
		ks, kok := k.(string)
		vs, vok := v.(string)
		if !kok || !vok {
			return securecookie.GobEncoder{}.Serialize(src)
		}
		keys = append(keys, ks)
		size += 2*binary.MaxVarintLen64 + len(ks) + len(vs)
	}
	slices.Sort(keys) // one encoding per session
	b := make([]byte, 1, size)
	b[0] = compactMarker
	for _, k := range keys {
		b = appendString(appendString(b, k), values[k].(string))
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// Deserialize reads src into dst, a *map[any]any, from either encoding.
func (sessionCodec) Deserialize(src []byte, dst any) error {
	if len(src) == 0 || src[0] != compactMarker {
		return securecookie.GobEncoder{}.Deserialize(src, dst)
	}
	values, ok := dst.(*map[any]any)
	if !ok {
		return errSessionValue
	}
	if *values == nil {
		*values = map[any]any{}
	}
	for rest := src[1:]; len(rest) > 0; {
		k, after, ok := readString(rest)
		if !ok {
			return errSessionValue
		}
		v, after, ok := readString(after)
		if !ok {
			return errSessionValue
		}
		(*values)[k] = v
		rest = after
	}
	return nil
}

// readString reads one length-prefixed string off the front of b.
func readString(b []byte) (s string, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return "", nil, false
	}
	end := w + int(n)
	return string(b[w:end]), b[end:], true
}
