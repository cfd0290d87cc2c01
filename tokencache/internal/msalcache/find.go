package msalcache

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Query names the access token MSAL's AcquireTokenSilent would look for.
type Query struct {
	HomeAccountID string   // the account's home account id, "uid.utid"
	Environment   string   // the authority's host, lower case, with its port if any
	Realm         string   // the authority's tenant path segment, lower case
	ClientID      string   // the app's client id
	Scopes        []string // the scopes asked for, as given to AcquireTokenSilent
}

// Token is the access token MSAL would return, as its AuthResult has it.
// Its strings are copies, sharing no memory with the document.
type Token struct {
	AccessToken   string
	ExpiresOn     time.Time
	RefreshOn     time.Time // zero if the entry has none
	GrantedScopes []string  // the entry's target split at spaces
}

// validityMargin is MSAL's: an access token expiring within 5 minutes is
// not used (AccessToken.Validate).
const validityMargin = 5 * time.Minute

// clockGuard keeps Find away from the instants where MSAL, reading its own
// clock a moment later, could decide otherwise: a token that reaches
// MSAL's margin or its refresh_on within clockGuard is a miss.
const clockGuard = 30 * time.Second

var documents = sync.Pool{New: func() any { return new(document) }}

// Clock is the span of instants at which MSAL may judge a token: a token is
// used only if MSAL would use it at every instant from Earliest to Latest.
type Clock struct{ Earliest, Latest time.Time }

// Between returns the Clock spanning a and b, in either order.
func Between(a, b time.Time) Clock {
	if b.Before(a) {
		a, b = b, a
	}
	return Clock{Earliest: a, Latest: b}
}

// Find returns the access token MSAL's AcquireTokenSilent would return for q
// from the cache document doc at any instant of now, or ok=false when it
// would not return one from this document without a network call, or Find
// cannot tell.
func Find(doc []byte, q Query, now Clock) (Token, bool) {
	d := documents.Get().(*document)
	defer func() { d.reset(); documents.Put(d) }()
	if !d.parse(doc) {
		return Token{}, false
	}
	at, ok := d.accessToken(q, now)
	if !ok || !d.idTokenDecodes(q) {
		return Token{}, false
	}
	return tokenOf(at), true
}

// accessToken returns an entry MSAL's readAccessToken can return for q and
// AcquireTokenSilent would then return without a refresh. When several
// entries match (Entra grants every consented scope of a resource, so
// tokens for different scope sets often all match), MSAL takes the first in
// Go's random map order: the answer is certain only if every candidate is
// usable, and then is the one expiring last (ties: the smallest key), one of
// the tokens MSAL returns. A candidate under another environment (an alias
// of the host, perhaps) or under a key MSAL would rewrite (upper case: a
// v1.0 key) is a miss.
func (d *document) accessToken(q Query, now Clock) (*entry, bool) {
	var best *entry
	for i := range d.at {
		e := &d.at[i]
		if !e.sameAccount(q) || !bearer(e) || !scopesMatch(q.Scopes, e.text[fTarget]) || len(e.text[fExtKey]) > 0 {
			continue
		}
		if string(e.text[fEnv]) != q.Environment || needsUpgrade(e.key) || !usable(e, now) {
			return nil, false
		}
		if best == nil || later(e, best) {
			best = e
		}
	}
	return best, best != nil
}

func later(a, b *entry) bool {
	if a.times[tExpiresOn] != b.times[tExpiresOn] {
		return a.times[tExpiresOn] > b.times[tExpiresOn]
	}
	return string(a.key) < string(b.key)
}

func (e *entry) sameAccount(q Query) bool {
	return string(e.text[fHome]) == q.HomeAccountID && string(e.text[fRealm]) == q.Realm &&
		string(e.text[fClient]) == q.ClientID
}

// bearer is readAccessToken's token type match for MSAL's default (Bearer)
// authentication scheme, whose key id is empty.
func bearer(e *entry) bool {
	tt := e.str(fTokenType)
	return (strings.EqualFold(tt, "Bearer") && len(e.text[fKeyID]) == 0) || tt == ""
}

// scopesMatch is MSAL's isMatchingScopes, which counts every
// case-insensitive match of every requested scope in target.
func scopesMatch(scopes []string, target []byte) bool {
	n := 0
	for _, want := range scopes {
		rest := target
		for {
			s, after, more := bytes.Cut(rest, []byte(" "))
			if equalFold(want, s) {
				n++
			}
			if !more {
				break
			}
			rest = after
		}
	}
	return n == len(scopes)
}

// equalFold is strings.EqualFold(a, string(b)), without copying b when both
// are ASCII (then only ASCII letters fold, and only onto each other).
func equalFold(a string, b []byte) bool {
	if !isASCII(a) || !isASCII(b) {
		return strings.EqualFold(a, string(b))
	}
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func isASCII[S string | []byte](s S) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func needsUpgrade(key []byte) bool {
	for _, c := range key {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// usable is AccessToken.Validate plus AcquireTokenSilent's refresh_on check
// at every instant of now, kept clockGuard away from their edges.
func usable(e *entry, now Clock) bool {
	cached := e.time(tCachedAt)
	if cached.IsZero() || cached.After(now.Earliest) {
		return false
	}
	if e.time(tExpiresOn).Before(now.Latest.Add(validityMargin + clockGuard)) {
		return false
	}
	refresh := e.time(tRefreshOn)
	return refresh.IsZero() || refresh.After(now.Latest.Add(clockGuard))
}

// time is the slot as MSAL's time.Unix holds it: the zero time if absent.
func (e *entry) time(slot int) time.Time {
	if !e.timeSet[slot] {
		return time.Time{}
	}
	return time.Unix(e.times[slot], 0)
}

func tokenOf(e *entry) Token {
	target := e.str(fTarget)
	return Token{AccessToken: e.str(fSecret), ExpiresOn: e.time(tExpiresOn), RefreshOn: e.time(tRefreshOn),
		GrantedScopes: strings.Split(target, " ")}
}
