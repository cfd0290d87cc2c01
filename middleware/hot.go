package middleware

import (
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// The fast path of a protected request (default cookie store only): one
// lookup of the session cookie in m.fast, which holds for each route's
// scope set the authInfo (token and account) the request gets. An entry is made on the
// slow path, after the cookie was decoded (sessionAccount) and the account's
// token found (m.tokens or MSAL); it is served until the earlier of the
// cookie memo's expiry and the token's refresh window (RefreshMargin). A hit
// compares the whole cookie value, so a hash collision is a miss, never
// another user's token. Sign-out, a refused tenant and a claims challenge
// drop the account's entries (dropAccount, forget).

// cookieTail is how much of a session cookie's end the in-process caches
// hash: securecookie's value ends with its HMAC-SHA256, and 32 of its
// base64 characters (192 bits) are as unpredictable as the whole value to
// anyone without the key. A lookup still compares the whole value.
const cookieTail = 32

// tokenOwner is the key string of an account's tokens in m.tokens; the
// route id of the scope set is the other half of the key.
func tokenOwner(acct Account) string { return acct.HomeAccountID + "\x00" + acct.TenantID }

// routeIDs numbers canonical scope keys, so that the fast-path key is a
// cookie and a small integer, and routes with the same scopes share entries.
type routeIDs struct {
	mu  sync.Mutex
	ids map[string]uint32
}

// known returns the id of key if a route or Token already numbered it.
func (r *routeIDs) known(key string) (uint32, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.ids[key]
	return id, ok
}

func (r *routeIDs) id(key string) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.ids[key]
	if !ok {
		if r.ids == nil {
			r.ids = make(map[string]uint32)
		}
		id = uint32(len(r.ids))
		r.ids[key] = id
	}
	return id
}

// fastGet returns the authInfo of r's session cookie for rt, without decoding
// the cookie, if the fast path has it.
func (m *Middleware) fastGet(r *http.Request, rt *route) (*authInfo, string, bool) {
	if m.fast == nil {
		return nil, "", false
	}
	raw, ok := rawCookie(r, m.cfg.SessionName)
	if !ok {
		return nil, "", false
	}
	now := m.cfg.Now().UnixNano()
	set, ok := m.fast.Get(raw, 0, now)
	if !ok {
		return nil, raw, false
	}
	ra, ok := set.get(rt.id)
	if !ok || now >= ra.until {
		return nil, raw, false
	}
	return ra.ai, raw, true
}

// fastPut remembers ai for the cookie raw and rt until the earlier of
// memoUntil and ai's refresh window. raw must be the value the session was
// decoded from.
func (m *Middleware) fastPut(raw string, rt *route, ai *authInfo, memoUntil time.Time) {
	if m.fast == nil || raw == "" {
		return
	}
	until := ai.tok.ExpiresOn.Add(-RefreshMargin)
	if memoUntil.Before(until) {
		until = memoUntil
	}
	ra := routeAuth{ai: ai, until: until.UnixNano()}
	m.fast.Update(raw, 0, m.fast.GroupHash(ai.acct.HomeAccountID), m.cfg.Now().UnixNano(), memoUntil.UnixNano(),
		func(s routeSet, live bool) (routeSet, bool) {
			if !live {
				s = routeSet{} // the routes of an expired memo are not served again
			}
			return s.with(ra), true
		})
}

// keptToken returns the in-process token of acct for rt, if any.
func (m *Middleware) keptToken(acct Account, rt *route) (*authInfo, bool) {
	set, ok := m.tokens.Get(tokenOwner(acct), 0, math.MinInt64)
	if !ok {
		return nil, false
	}
	ra, ok := set.get(rt.id)
	return ra.ai, ok
}

// remember puts a token into the in-process cache and returns it.
func (m *Middleware) remember(acct Account, scopes []string, id uint32, ar confidential.AuthResult) *authInfo {
	return m.keepToken(acct, Token{AccessToken: ar.AccessToken, ExpiresOn: ar.ExpiresOn, Scopes: scopes}, id, false)
}

// keepToken puts tok, for the scope set whose route id is id, into the
// in-process cache (bounded by Config.TokenCacheSize accounts) and returns
// it. The token string is stored once per account however many scope sets
// it serves (one token of a resource covers every scope consented to).
// own reports that tok.AccessToken is a string of its own, sharing memory
// with nothing else, so it is kept as it is instead of copied.
func (m *Middleware) keepToken(acct Account, tok Token, id uint32, own bool) *authInfo {
	ai := &authInfo{tok: tok, route: id} // acct: set below, shared or packed
	m.tokens.Update(tokenOwner(acct), 0, m.tokens.GroupHash(acct.HomeAccountID), 0, math.MaxInt64,
		func(s routeSet, _ bool) (routeSet, bool) {
			str, a, same := s.sharing(acct, tok.AccessToken)
			switch {
			case same:
				ai.tok.AccessToken, ai.acct = str, a
			case a != nil:
				if !own {
					ai.tok.AccessToken = strings.Clone(tok.AccessToken)
				}
				ai.acct = a
			case own:
				packed := acct.packed()
				ai.acct = &packed
			default:
				packed := new(Account)
				ai.tok.AccessToken, *packed = acct.packedWith(tok.AccessToken) // one string object per token
				ai.acct = packed
			}
			return s.with(routeAuth{ai: ai, until: math.MaxInt64}), true
		})
	if ai.acct == nil { // not kept (a key too long for the cache)
		a := acct
		ai.acct = &a
	}
	return ai
}

// forget drops a token from the in-process cache, so the fast path stops
// serving it (the next request asks MSAL, or the claims round trip replaces it).
func (m *Middleware) forget(ai *authInfo) {
	m.tokens.Update(tokenOwner(*ai.acct), 0, m.tokens.GroupHash(ai.acct.HomeAccountID), 0, math.MaxInt64,
		func(s routeSet, _ bool) (routeSet, bool) { return s.without(ai.route) })
	if m.fast != nil { // the account's other fast-path entries come back from m.tokens
		m.fast.RemoveGroup(m.fast.GroupHash(ai.acct.HomeAccountID))
	}
}

// dropAccount forgets an account's in-process tokens and fast-path entries.
func (m *Middleware) dropAccount(homeAccountID string) {
	m.tokens.RemoveGroup(m.tokens.GroupHash(homeAccountID))
	if m.fast != nil {
		m.fast.RemoveGroup(m.fast.GroupHash(homeAccountID))
	}
}

// rawCookie returns the value of the first cookie called name in r's Cookie
// headers, as sent (no allocation). Quoted values are returned with their
// quotes; they never equal a decoded value, so they never reach the fast path.
func rawCookie(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " ")
			if v, ok := strings.CutPrefix(part, name); ok && strings.HasPrefix(v, "=") {
				return strings.TrimRight(v[1:], " "), true
			}
		}
	}
	return "", false
}
