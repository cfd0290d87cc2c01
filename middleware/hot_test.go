package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
)

// TestFastPathKeepsUsersApart: many users through the fast path, in turns,
// each get their own token; a user who signs out gets none from it, and a
// cookie sent twice (not the value the session came from) still works.
func TestFastPathKeepsUsersApart(t *testing.T) {
	e := newEnv(t)
	const n = 50
	cookies := make([]string, n)
	for i := range cookies {
		acct := middleware.Account{HomeAccountID: fmt.Sprintf("%08x.%s", i, e.tenant.ID), TenantID: e.tenant.ID, Username: fmt.Sprint("u", i)}
		middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: fmt.Sprint("token-", i), ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
		c := middleware.SessionCookie(e.mw, acct)
		cookies[i] = c.Name + "=" + c.Value
	}
	h := e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middlewareToken(r)
		fmt.Fprint(w, tok)
	}))
	get := func(cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for round := range 3 {
		for i := range n {
			j := (i*7 + round) % n
			if w := get(cookies[j]); w.Body.String() != fmt.Sprint("token-", j) {
				t.Fatalf("round %d user %d got %q", round, j, w.Body)
			}
		}
	}
	if w := get(cookies[1] + "; " + cookies[2]); w.Body.String() != "token-1" {
		t.Errorf("cookie sent twice: got %q, want the first one's token", w.Body)
	}
	r := httptest.NewRequest("POST", e.srv.URL+"/auth/signout", nil)
	r.Header.Set("Cookie", cookies[3])
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	e.mw.AuthHandler().ServeHTTP(httptest.NewRecorder(), r)
	if w := get(cookies[3]); w.Code != http.StatusFound || w.Body.String() == "token-3" {
		t.Errorf("after sign-out: %d %q, want a redirect to sign in", w.Code, w.Body)
	}
}

// TestFastPathAllocations: a cached token costs the middleware at most two
// allocations (the request copy and its context), not a cookie parse.
func TestFastPathAllocations(t *testing.T) {
	e := newEnv(t)
	acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID}
	middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: "t", ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
	c := middleware.SessionCookie(e.mw, acct)
	h := e.mw.Require("User.Read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
	r.Header.Set("Cookie", c.Name+"="+c.Value)
	var w http.ResponseWriter = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n > 2 {
		t.Errorf("%v allocations per request on the fast path, want at most 2", n)
	}
}
