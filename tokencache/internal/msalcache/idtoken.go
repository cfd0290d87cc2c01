package msalcache

import (
	"bytes"
	"encoding/base64"
	"slices"
	"sync"
)

// idTokenDecodes reports that the ID token MSAL's readIDToken would pick for
// q, if any, decodes the way AuthResultFromStorage requires: an ID token
// MSAL cannot decode fails the whole silent call. Several candidates, or one
// under another environment, are a miss.
func (d *document) idTokenDecodes(q Query) bool {
	var found *entry
	for i := range d.idt {
		e := &d.idt[i]
		if !e.sameAccount(q) {
			continue
		}
		if found != nil || string(e.text[fEnv]) != q.Environment || needsUpgrade(e.key) {
			return false
		}
		found = e
	}
	return found == nil || decodesAsIDToken(found.text[fSecret])
}

// claims are the members of MSAL's accesstokens.IDToken, into which MSAL
// decodes an ID token's payload with encoding/json, by lower-case name
// (encoding/json matches names case-insensitively): "RawToken" and
// "AdditionalFields" are fields without tags, exp, iat and nbf are int64.
var claims = map[string]claimKind{"preferred_username": claimText, "given_name": claimText,
	"family_name": claimText, "middle_name": claimText, "name": claimText, "oid": claimText, "tid": claimText,
	"sub": claimText, "upn": claimText, "email": claimText, "alternative_id": claimText, "iss": claimText,
	"aud": claimText, "exp": claimInt, "iat": claimInt, "nbf": claimInt, "rawtoken": claimText,
	"additionalfields": claimObject}

type claimKind uint8

const (
	claimText   claimKind = iota // a string or null
	claimInt                     // an int64 or null
	claimObject                  // an object of anything, or null
)

// decodesAsIDToken follows accesstokens.IDToken.UnmarshalJSON on the
// stored secret: quotes trimmed, the second dot-separated part
// base64url-decoded, and decoded as JSON into the IDToken struct.
func decodesAsIDToken(secret []byte) bool {
	if string(secret) == "null" {
		return true
	}
	_, rest, ok := bytes.Cut(bytes.Trim(secret, `"`), []byte("."))
	if !ok {
		return false
	}
	part, _, _ := bytes.Cut(rest, []byte("."))
	sc := payloads.Get().(*payloadScratch)
	defer payloads.Put(sc)
	payload := slices.Grow(sc.buf[:0], base64.RawURLEncoding.DecodedLen(len(part)))[:base64.RawURLEncoding.DecodedLen(len(part))]
	sc.buf = payload
	n, err := base64.RawURLEncoding.Decode(payload, part)
	return err == nil && claimsDecode(&sc.s, payload[:n])
}

// payloadScratch is what decodesAsIDToken reuses: the decoded payload and
// the scanner (which would otherwise be allocated on every call).
type payloadScratch struct {
	buf []byte
	s   scanner
}

var payloads = sync.Pool{New: func() any { return new(payloadScratch) }}

// claimsDecode reports whether encoding/json.Unmarshal of payload into
// MSAL's IDToken succeeds (false also where this package cannot tell:
// escaped or non-ASCII member names). It reads with s, reset first.
func claimsDecode(s *scanner, payload []byte) bool {
	*s = scanner{b: payload}
	if s.peek() == 'n' {
		if !s.word("null") {
			return false
		}
	} else if !s.object(claim) {
		return false
	}
	s.ws()
	return s.i == len(payload)
}

func claim(s *scanner, name []byte, plain bool) bool {
	if !plain {
		return false
	}
	var lower [20]byte
	if len(name) > len(lower) {
		return s.value()
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	k, known := claims[string(lower[:len(name)])]
	switch {
	case !known:
		return s.value()
	case s.peek() == 'n':
		return s.word("null")
	case k == claimText:
		_, _, ok := s.str()
		return ok
	case k == claimInt:
		return s.int64()
	}
	return s.peek() == '{' && s.value()
}
