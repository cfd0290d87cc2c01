package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
)

// TestMemoHoldsNothingForAnonymousCookies: session cookies that do not
// decode (however large and however many) and valid sessions without a
// signed-in user add no byte to the session memo or the fast path; a
// signed-in user's cookie is memoized.
func TestMemoHoldsNothingForAnonymousCookies(t *testing.T) {
	e := newEnv(t)
	h := e.routes(e.mw)
	filler := strings.Repeat("A", 60<<10)
	for i := range 500 {
		r := httptest.NewRequest(http.MethodGet, e.srv.URL+"/profile", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookieName, Value: fmt.Sprint(i, filler)})
		if _, ok := e.mw.Account(r); ok {
			t.Fatal("an undecodable cookie is signed in")
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	anon := anonymousCookie(t, e, h)
	for range 100 {
		r := httptest.NewRequest(http.MethodGet, e.srv.URL+"/profile", nil)
		r.AddCookie(anon)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := middleware.MemoBytes(e.mw); n != 0 {
		t.Fatalf("anonymous requests left %d bytes in the session memo", n)
	}
	replica := e.newMiddleware(t, e.cfg) // decodes the cookie itself
	r := httptest.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	r.AddCookie(middleware.SessionCookie(e.mw, middleware.Account{HomeAccountID: "uid.utid", Username: "adele"}))
	if _, ok := replica.Account(r); !ok || middleware.MemoBytes(replica) == 0 {
		t.Fatal("a signed-in user's cookie is not memoized")
	}
}

// anonymousCookie returns a valid session cookie without a signed-in user,
// as the app issues with a first sign-in redirect.
func anonymousCookie(t *testing.T, e *env, h http.Handler) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, e.srv.URL+"/profile", nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookieName {
			return c
		}
	}
	t.Fatalf("no session cookie in the sign-in redirect (status %d)", w.Code)
	return nil
}
