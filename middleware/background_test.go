package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// signedInAccount signs e.user in through a browser that then goes away,
// consenting to User.Read, and returns the account id a job would keep.
func signedInAccount(t *testing.T, e *env) string {
	t.Helper()
	e.serveWhoami(func(a middleware.Account) string { return a.HomeAccountID })
	p := e.get(t, e.browser(e.user, entratest.Accept), "/whoami")
	if p.StatusCode != http.StatusOK || p.Body == "" {
		t.Fatalf("sign-in: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	return p.Body
}

// graphMe calls the emulator's Graph /me with tok and returns the status.
func graphMe(t *testing.T, e *env, tok middleware.Token) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.idp.GraphURL()+"/me", nil)
	tok.SetAuthHeader(req)
	resp, err := e.idp.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAccountTokenInBackground: with the browser gone, a job gets a fresh
// token by the refresh token once the access token is about to expire, and
// after the user's consent is revoked gets a *ConsentError, never a redirect.
func TestAccountTokenInBackground(t *testing.T) {
	e := newEnv(t)
	// Access tokens of 4 minutes are inside RefreshMargin (and MSAL's own
	// 5-minute margin) from the start: every job run needs a refresh.
	e.idp.SetTokenLifetime(4 * time.Minute)
	id := signedInAccount(t, e)
	ctx := context.Background()
	for run := range 2 {
		before := e.idp.Count(entratest.EndpointToken)
		tok, err := e.mw.AccountToken(ctx, id, "User.Read")
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if n := e.idp.Count(entratest.EndpointToken) - before; n != 1 {
			t.Errorf("run %d: %d token requests, want 1 (a refresh)", run, n)
		}
		if s := graphMe(t, e, tok); s != http.StatusOK {
			t.Errorf("run %d: Graph /me answered %d", run, s)
		}
	}
	if _, err := e.mw.AccountToken(ctx, id, "Mail.Read"); !errors.Is(err, middleware.ErrConsentRequired) {
		t.Errorf("a scope never granted: %v, want ErrConsentRequired", err)
	}
	e.idp.RevokeDelegated(e.tenant.ID, e.app.ClientID, e.user.ObjectID)
	_, err := e.mw.AccountToken(ctx, id, "User.Read")
	var ce *middleware.ConsentError
	if !errors.As(err, &ce) || !errors.Is(err, middleware.ErrInteractionRequired) || ce.Code != 65001 {
		t.Fatalf("after revocation: %v, want a *ConsentError (AADSTS65001) wrapping ErrInteractionRequired", err)
	}
	if want := e.mw.SignInURL("/", "User.Read"); ce.URL != want {
		t.Errorf("URL %q, want %q", ce.URL, want)
	}
}

// TestAccountTokenUnknownAccount: an account the cache never saw, or one
// signed out, needs the user to sign in; bad input is a request error.
func TestAccountTokenUnknownAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.mw.AccountToken(ctx, "no-such-oid.no-such-tid", "User.Read"); !errors.Is(err, middleware.ErrNotSignedIn) ||
		!errors.Is(err, middleware.ErrInteractionRequired) {
		t.Errorf("unknown account: %v, want ErrNotSignedIn and ErrInteractionRequired", err)
	}
	if _, err := e.mw.AccountToken(ctx, "", "User.Read"); !errors.Is(err, middleware.ErrInvalidRequest) {
		t.Errorf("empty id: %v, want ErrInvalidRequest", err)
	}
	id := signedInAccount(t, e)
	if _, err := e.mw.AccountToken(ctx, id, "User.Read"); err != nil {
		t.Fatalf("signed in: %v", err)
	}
	if _, err := e.mw.AccountToken(ctx, id); !errors.Is(err, middleware.ErrInvalidRequest) {
		t.Errorf("no scopes: %v, want ErrInvalidRequest", err)
	}
}
