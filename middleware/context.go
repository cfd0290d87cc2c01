package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Token is the access token a Require-wrapped handler receives for its route's
// scopes. Its String, GoString and LogValue never show the token itself.
type Token struct {
	AccessToken string    // the bearer token; send it, never log it
	ExpiresOn   time.Time // when the token expires
	Scopes      []string  // the route's scopes; shared, do not modify
}

const redacted = "[redacted]"

// String describes t without its secret.
func (t Token) String() string {
	return fmt.Sprintf("Token{Scopes: %v, ExpiresOn: %s, AccessToken: %s}", t.Scopes, t.ExpiresOn.Format(time.RFC3339), redacted)
}

// GoString describes t without its secret for %#v.
func (t Token) GoString() string { return "middleware." + t.String() }

// LogValue implements slog.LogValuer without the secret.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("scopes", strings.Join(t.Scopes, " ")),
		slog.Time("expires_on", t.ExpiresOn),
		slog.String("access_token", redacted))
}

// SetAuthHeader sets r's Authorization header to "Bearer " + the access token.
func (t Token) SetAuthHeader(r *http.Request) {
	r.Header.Set("Authorization", "Bearer "+t.AccessToken)
}

// Account is the signed-in user, as kept in the session.
type Account struct {
	HomeAccountID string // "{object id}.{tenant id}", MSAL's account and cache partition key
	Username      string // preferred_username, usually the UPN
	TenantID      string // the user's tenant (tid)
	Name          string // display name
}

// packed returns a with its four strings in one allocation: one heap object
// for the garbage collector to mark instead of four, for the many accounts
// the in-process caches hold.
func (a Account) packed() Account { _, p := a.packedWith(""); return p }

// packedWith is packed with one more string, returned first, in the same allocation.
func (a Account) packedWith(extra string) (string, Account) {
	s := extra + a.HomeAccountID + a.Username + a.TenantID + a.Name
	cut := func(n int) string { v := s[:n]; s = s[n:]; return v }
	return cut(len(extra)), Account{HomeAccountID: cut(len(a.HomeAccountID)), Username: cut(len(a.Username)),
		TenantID: cut(len(a.TenantID)), Name: cut(len(a.Name))}
}

func (a Account) msal() confidential.Account {
	return confidential.Account{HomeAccountID: a.HomeAccountID, Realm: a.TenantID, PreferredUsername: a.Username}
}

type ctxKey struct{}

// authInfo is what a protected request carries; immutable once built, so the
// in-process token cache can hand the same pointer to every request.
type authInfo struct {
	tok   Token
	acct  *Account // shared by an account's authInfos
	route uint32   // id of tok.Scopes' key (routeIDs)
}

func withAuth(r *http.Request, ai *authInfo) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, ai))
}

// TokenFromContext returns the access token of a request that went through Require.
func TokenFromContext(ctx context.Context) (Token, bool) {
	ai, ok := ctx.Value(ctxKey{}).(*authInfo)
	if !ok {
		return Token{}, false
	}
	return ai.tok, true
}

// AccountFromContext returns the signed-in account of a request that went through Require.
func AccountFromContext(ctx context.Context) (Account, bool) {
	ai, ok := ctx.Value(ctxKey{}).(*authInfo)
	if !ok {
		return Account{}, false
	}
	return *ai.acct, true
}
