package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestOnSignIn: the hook sees the ID token's claims and may refuse the
// sign-in with a page; requests afterwards see the claims the session keeps.
func TestOnSignIn(t *testing.T) {
	e := newEnv(t)
	megan := e.addUser("megan")
	var mu sync.Mutex
	seen := map[string]middleware.Account{}
	cfg := e.cfg
	cfg.OnSignIn = func(_ context.Context, acct middleware.Account) error {
		mu.Lock()
		defer mu.Unlock()
		seen[acct.Username] = acct
		switch acct.ObjectID {
		case megan.ObjectID:
			return &middleware.SignInRefusedError{Reason: "Ask Adele for access to the expenses app."}
		case "":
			return errors.New("no oid")
		}
		return nil
	}
	mw := e.newMiddleware(t, cfg)
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(mw))
	mux.Handle("GET /whoami", mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := middleware.AccountFromContext(r.Context())
		fmt.Fprintf(w, "oid=%s tid=%s groups=%v claims=%v", a.ObjectID, a.TenantID, a.Groups, a.Claims)
	})))
	e.setHandler(mux)

	p := e.get(t, e.browser(e.user, entratest.Accept), "/whoami")
	want := fmt.Sprintf("oid=%s tid=%s groups=[] claims=map[]", e.user.ObjectID, e.tenant.ID)
	if p.StatusCode != http.StatusOK || p.Body != want {
		t.Fatalf("adele: %d %q, want %q", p.StatusCode, p.Body, want)
	}
	mu.Lock()
	a := seen[e.user.UPN]
	mu.Unlock()
	if a.ObjectID != e.user.ObjectID || a.Claims["oid"] != e.user.ObjectID || a.Claims["preferred_username"] != e.user.UPN {
		t.Errorf("OnSignIn got %+v, want the ID token's oid and claims", a)
	}

	b := e.browser(megan, entratest.Accept)
	p = e.get(t, b, "/whoami")
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "Ask Adele for access to the expenses app.") {
		t.Fatalf("megan: %d %s, want 403 with the reason", p.StatusCode, p.Body)
	}
	if acct, ok := e.browserAccount(mw, b); ok {
		t.Errorf("a refused user is signed in as %s", acct.Username)
	}
}

// browserAccount is who mw says is signed in on a request with b's cookies.
func (e *env) browserAccount(mw *middleware.Middleware, b *entratest.Browser) (middleware.Account, bool) {
	u, _ := url.Parse(e.srv.URL)
	r, _ := http.NewRequest("GET", e.srv.URL+"/", nil)
	for _, ck := range b.Client.Jar.Cookies(u) {
		r.AddCookie(ck)
	}
	return mw.Account(r)
}

// TestOnSignInFailure: an error that is not a refusal fails the sign-in
// with 503, signed out, and the same browser signs in once the hook works.
func TestOnSignInFailure(t *testing.T) {
	e := newEnv(t)
	var down atomic.Bool
	down.Store(true)
	cfg := e.cfg
	cfg.OnSignIn = func(context.Context, middleware.Account) error {
		if down.Load() {
			return errors.New("database down")
		}
		return nil
	}
	mw := e.newMiddleware(t, cfg)
	e.setHandler(e.routes(mw))
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", p.StatusCode)
	}
	if acct, ok := e.browserAccount(mw, b); ok {
		t.Errorf("a failed sign-in left %s signed in", acct.Username)
	}
	down.Store(false)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Errorf("trying again once the hook recovers: %d%s", p.StatusCode, trail(p))
	}
}

// TestOnSignInRefusesSignedInUser: a signed-in user whom the hook refuses at
// a later consent round trip is signed out, not left with the old session.
func TestOnSignInRefusesSignedInUser(t *testing.T) {
	e := newEnv(t)
	var refuse atomic.Bool
	cfg := e.cfg
	cfg.OnSignIn = func(context.Context, middleware.Account) error {
		if refuse.Load() {
			return &middleware.SignInRefusedError{Reason: "Your access was removed."}
		}
		return nil
	}
	mw := e.newMiddleware(t, cfg)
	e.setHandler(e.routes(mw))
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("first sign-in: %d %s", p.StatusCode, p.Body)
	}
	refuse.Store(true)
	if p := e.get(t, b, "/calendar"); p.StatusCode != http.StatusForbidden {
		t.Fatalf("refused consent round trip: %d %s, want 403", p.StatusCode, p.Body)
	}
	if acct, ok := e.browserAccount(mw, b); ok {
		t.Errorf("a refused user is still signed in as %s", acct.Username)
	}
}
