package middleware

import "testing"

// TestRouteSet: routes are found by id, replaced, removed, and a set handed
// out earlier never changes.
func TestRouteSet(t *testing.T) {
	acct := &Account{HomeAccountID: "a.t", TenantID: "t"}
	ai := func(route uint32, tok string) *authInfo {
		return &authInfo{tok: Token{AccessToken: tok}, acct: acct, route: route}
	}
	var s routeSet
	for id := range uint32(4) {
		s = s.with(routeAuth{ai: ai(id, "tok"), until: int64(id)})
	}
	held := s // a reader's copy
	s = s.with(routeAuth{ai: ai(2, "newer"), until: 20})
	if ra, ok := s.get(2); !ok || ra.until != 20 || len(s.all()) != 4 {
		t.Errorf("replaced route: %+v, %v, %d routes", ra, ok, len(s.all()))
	}
	if ra, _ := held.get(2); ra.until != 2 {
		t.Error("a copy handed out earlier changed")
	}
	for _, id := range []uint32{0, 3} {
		var left bool
		s, left = s.without(id)
		if _, ok := s.get(id); ok || !left {
			t.Errorf("route %d still there after without, or nothing left", id)
		}
	}
	if _, ok := s.get(1); !ok {
		t.Error("route 1 lost")
	}
	if _, a, same := s.sharing(*acct, "tok"); !same || a != acct {
		t.Error("the stored token is not shared")
	}
	if _, a, same := s.sharing(*acct, "other"); same || a != acct {
		t.Error("another token: the account should be shared, the token not")
	}
	if _, a, _ := s.sharing(Account{HomeAccountID: "a.t", TenantID: "t", Name: "renamed"}, "tok"); a != nil {
		t.Error("an account with other details shared the stored one")
	}
	s, _ = s.without(1)
	if _, left := s.without(2); left {
		t.Error("routes left after removing the last")
	}
}
