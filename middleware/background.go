package middleware

import (
	"context"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// AccountToken returns an access token for scopes on behalf of the account
// whose Account.HomeAccountID is accountID, outside any request: a nightly
// job, a queue worker, a webhook acting for a user who is not at the browser.
// It reads the shared token cache (Config.Cache: a Redis-backed one reaches
// the tokens any replica stored) and, when the access token is about to
// expire, redeems the user's refresh token (the middleware always asks for
// offline_access), with the same deduplication, retries and MSAL client pool
// as Require: calls for one account run on their own pooled client, never
// on one shared by another user's call.
//
// It never redirects and never writes anywhere. When the user must come back
// (they never signed in on this cache, signed out, the refresh token expired
// or was revoked, consent was withdrawn, or these scopes were never granted)
// the error is a *ConsentError: errors.Is(err, ErrInteractionRequired)
// holds, plus ErrNotSignedIn when the cache holds no account for accountID
// and ErrConsentRequired when Entra said consent is missing. Its URL is the
// app-relative sign-in link for Scopes (returning to Config.BasePath), to
// send to the user. Faults of Entra or the token store wrap ErrUnavailable;
// retry later.
// After Close it fails with ErrClosed.
//
// Keep the HomeAccountID of AccountFromContext (or the Account given to
// Config.OnSignIn) with the job; it is not a secret, but it names whose
// tokens are used, so never take it from an untrusted request.
func (m *Middleware) AccountToken(ctx context.Context, accountID string, scopes ...string) (Token, error) {
	rt, err := m.tokenRoute(scopes)
	if err != nil {
		return Token{}, err
	}
	acct, err := m.cachedAccount(ctx, accountID)
	if err != nil {
		return Token{}, err
	}
	if acct.HomeAccountID == "" {
		return Token{}, &ConsentError{Scopes: rt.scopes, URL: m.SignInURL(m.cfg.BasePath, rt.scopes...), kind: ErrNotSignedIn,
			cause: fmt.Errorf("%w: no account %q in the token cache", ErrInteractionRequired, accountID)}
	}
	ai, err := m.tokenFor(ctx, acct, rt)
	if err != nil {
		return Token{}, m.tokenError(ctx, acct, rt, m.cfg.BasePath, err)
	}
	return ai.tok, nil
}

// cachedAccount reads the account accountID from the token cache on a
// pooled MSAL client; it is zero when the cache holds no such account.
func (m *Middleware) cachedAccount(ctx context.Context, accountID string) (Account, error) {
	if accountID == "" || len(accountID) > 256 {
		return Account{}, fmt.Errorf("%w: AccountToken needs an Account.HomeAccountID", ErrInvalidRequest)
	}
	ctx, done, err := m.life.enter(ctx)
	if err != nil {
		return Account{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer done()
	var ca confidential.Account
	err = m.clients.with(ctx, func(c confidential.Client) (err error) {
		ca, err = c.Account(ctx, accountID)
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("%w: read account %q from the token cache: %w", ErrUnavailable, accountID, err)
	}
	if ca.IsZero() || ca.HomeAccountID != accountID {
		return Account{}, nil
	}
	return Account{HomeAccountID: ca.HomeAccountID, Username: ca.PreferredUsername, TenantID: ca.Realm, Name: ca.Name}, nil
}
