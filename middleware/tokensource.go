package middleware

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"
)

// TokenSource returns an oauth2.TokenSource of the user signed in on r, for
// scopes, for code that speaks golang.org/x/oauth2 (oauth2.NewClient,
// oauth2.Transport, client libraries taking a TokenSource). Each Token call
// is Token(r, scopes...): cached in process, refreshed silently, bound to
// r's context. A token that needs the user fails with Token's
// *ConsentError; http.Client wraps it in a *url.Error, errors.As finds it,
// and the handler hands it to Challenge:
//
//	client := oauth2.NewClient(r.Context(), mw.TokenSource(r, "Calendars.Read"))
//	resp, err := client.Get("https://graph.microsoft.com/v1.0/me/events")
//	if mw.Challenge(w, r, err) {
//		return
//	}
func (m *Middleware) TokenSource(r *http.Request, scopes ...string) oauth2.TokenSource {
	return tokenSource(func() (Token, error) { return m.Token(r, scopes...) })
}

// AccountTokenSource is TokenSource for a job acting for the account
// accountID outside any request: each Token call is AccountToken(ctx,
// accountID, scopes...), which never redirects.
func (m *Middleware) AccountTokenSource(ctx context.Context, accountID string, scopes ...string) oauth2.TokenSource {
	return tokenSource(func() (Token, error) { return m.AccountToken(ctx, accountID, scopes...) })
}

// tokenSource adapts a Token getter to oauth2.TokenSource.
type tokenSource func() (Token, error)

// Token implements oauth2.TokenSource.
func (f tokenSource) Token() (*oauth2.Token, error) {
	t, err := f()
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.ExpiresOn}, nil
}
