package azcred

import (
	"context"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/consentry/consentry/middleware"
)

// ForRequest returns a credential for the user signed in on r: GetToken is
// mw.Token(r, scopes...), on r's context. Use it inside the handler that
// serves r, and hand the errors of the SDK calls it makes to mw.Challenge.
func ForRequest(mw *middleware.Middleware, r *http.Request) azcore.TokenCredential {
	return credential(func(_ context.Context, scopes []string) (middleware.Token, error) {
		return mw.Token(r, scopes...)
	})
}

// ForAccount returns a credential for the account accountID (an
// Account.HomeAccountID) outside any request: GetToken is
// mw.AccountToken(ctx, accountID, scopes...), which never redirects.
func ForAccount(mw *middleware.Middleware, accountID string) azcore.TokenCredential {
	return credential(func(ctx context.Context, scopes []string) (middleware.Token, error) {
		return mw.AccountToken(ctx, accountID, scopes...)
	})
}

// credential adapts a token getter to azcore.TokenCredential.
type credential func(ctx context.Context, scopes []string) (middleware.Token, error)

// GetToken implements azcore.TokenCredential. A request carrying claims (an
// API's claims challenge, which the SDK passes on) cannot be met without the
// user: it fails with a *middleware.ClaimsChallengeError for mw.Challenge.
// TenantID and EnableCAE are ignored: the user's tenant and
// Config.ClientCapabilities decide.
func (c credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if opts.Claims != "" {
		return azcore.AccessToken{}, &middleware.ClaimsChallengeError{Claims: opts.Claims, Scopes: opts.Scopes,
			Status: http.StatusUnauthorized}
	}
	t, err := c(ctx, opts.Scopes)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: t.AccessToken, ExpiresOn: t.ExpiresOn, RefreshOn: t.ExpiresOn.Add(-middleware.RefreshMargin)}, nil
}
