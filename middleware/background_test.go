package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
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

// TestAccountTokenConcurrentAccounts: jobs for several accounts at once,
// each refreshing, get each their own user's token (MSAL clients are pooled
// per call, never shared between two users' reads).
func TestAccountTokenConcurrentAccounts(t *testing.T) {
	e := newEnv(t)
	e.idp.SetTokenLifetime(4 * time.Minute) // every call refreshes
	users := []entratest.User{e.user, e.addUser("megan"), e.addUser("lynne"), e.addUser("diego")}
	ids := make([]string, len(users))
	e.serveWhoami(func(a middleware.Account) string { return a.HomeAccountID })
	for i, u := range users {
		p := e.get(t, e.browser(u, entratest.Accept), "/whoami")
		if p.StatusCode != http.StatusOK {
			t.Fatalf("sign-in %s: %d%s", u.UPN, p.StatusCode, trail(p))
		}
		ids[i] = p.Body
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(users))
	for range 8 {
		for i, u := range users {
			wg.Go(func() {
				tok, err := e.mw.AccountToken(context.Background(), ids[i], "User.Read")
				if err == nil && claim(tok.AccessToken, "oid") != u.ObjectID {
					err = fmt.Errorf("%s got a token for %s", u.UPN, claim(tok.AccessToken, "oid"))
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
