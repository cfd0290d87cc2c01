package middleware

import "reflect"

// routeSet is what an in-process cache keeps for one key (a session cookie,
// an account): the authInfo of each route served, so that the key is stored
// once however many routes share it. A set is never changed in place (Get
// hands out copies): with and without build a new one.
type routeSet struct {
	first   routeAuth   // the first route, inline: most users use one
	firstID uint32      // its route id, beside it: a hit reads no authInfo
	more    []routeAuth // the others
}

// routeAuth is one route's authInfo and the instant (Unix nanoseconds) it
// stops being served.
type routeAuth struct {
	ai    *authInfo
	until int64
}

// get returns the entry of route id.
func (s routeSet) get(id uint32) (routeAuth, bool) {
	if s.first.ai != nil && s.firstID == id {
		return s.first, true
	}
	for _, ra := range s.more {
		if ra.ai.route == id {
			return ra, true
		}
	}
	return routeAuth{}, false
}

// with returns s with ra in place of its route's earlier entry.
func (s routeSet) with(ra routeAuth) routeSet {
	if s.first.ai == nil || s.firstID == ra.ai.route {
		s.first, s.firstID = ra, ra.ai.route
		return s
	}
	more := make([]routeAuth, 0, len(s.more)+1)
	for _, o := range s.more {
		if o.ai.route != ra.ai.route {
			more = append(more, o)
		}
	}
	s.more = append(more, ra)
	return s
}

// without returns s without route id's entry, and whether any is left.
func (s routeSet) without(id uint32) (routeSet, bool) {
	var out routeSet
	for _, ra := range s.all() {
		if ra.ai.route != id {
			out = out.with(ra)
		}
	}
	return out, out.first.ai != nil
}

// all returns the entries of s.
func (s routeSet) all() []routeAuth {
	if s.first.ai == nil {
		return nil
	}
	return append([]routeAuth{s.first}, s.more...)
}

// sharing returns what a new authInfo of acct with access token tok can
// share with those of s: the token string when one has the same token (one
// stored copy of a token however many routes it serves) and the account.
func (s routeSet) sharing(acct Account, tok string) (string, *Account, bool) {
	var a *Account
	for _, ra := range s.all() {
		if !reflect.DeepEqual(*ra.ai.acct, acct) {
			continue
		}
		a = ra.ai.acct
		if ra.ai.tok.AccessToken == tok {
			return ra.ai.tok.AccessToken, a, true
		}
	}
	return "", a, false
}
