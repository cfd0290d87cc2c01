package middleware_test

import (
	"net/http/httptest"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware"
)

// TestSessionCookieWrittenWithGobStillSignsIn: a session cookie written with
// gorilla's default gob encoding under the same keys (by an earlier release)
// keeps its user signed in.
func TestSessionCookieWrittenWithGobStillSignsIn(t *testing.T) {
	e := newEnv(t)
	want := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID,
		Username: "adele@contoso.example", Name: "Adele", Roles: []string{"Reader", "Writer"}}
	values := map[any]any{"acct": want.HomeAccountID, "tid": want.TenantID, "user": want.Username,
		"name": want.Name, "roles": "Reader Writer", "sid": "binding"}
	gob := sessions.NewCookieStore(sessionKeys...) // gorilla's defaults: gob
	v, err := securecookie.EncodeMulti(sessionCookieName, values, gob.Codecs...)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", e.srv.URL+"/", nil)
	r.Header.Set("Cookie", sessionCookieName+"="+v)
	got, ok := e.mw.Account(r)
	if !ok || got.HomeAccountID != want.HomeAccountID || got.Username != want.Username || len(got.Roles) != 2 {
		t.Errorf("Account = %+v, %t; want %+v", got, ok, want)
	}
}

// TestSessionCookieTamperedIsRefused: a session cookie the middleware wrote,
// with any one character changed, signs nobody in.
func TestSessionCookieTamperedIsRefused(t *testing.T) {
	e := newEnv(t)
	acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID, Username: "adele@contoso.example"}
	c := middleware.SessionCookie(e.mw, acct)
	e.mw = e.newMiddleware(t, e.cfg) // no memo of the cookie
	for i := 0; i < len(c.Value); i += 7 {
		b := []byte(c.Value)
		b[i] ^= 1
		r := httptest.NewRequest("GET", e.srv.URL+"/", nil)
		r.Header.Set("Cookie", sessionCookieName+"="+string(b))
		if got, ok := e.mw.Account(r); ok {
			t.Fatalf("byte %d changed: signed in as %q", i, got.HomeAccountID)
		}
	}
	r := httptest.NewRequest("GET", e.srv.URL+"/", nil)
	r.AddCookie(c)
	if got, ok := e.mw.Account(r); !ok || got.HomeAccountID != acct.HomeAccountID {
		t.Errorf("the untouched cookie: Account = %+v, %t", got, ok)
	}
}
