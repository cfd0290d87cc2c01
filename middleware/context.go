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

// Account is the signed-in user, from the ID token of their sign-in. The
// session cookie keeps every field but Groups and Claims, which can be large
// (a user in 200 groups has a groups claim of some 7.5 KB, past a cookie's
// 4 KB): they are set only in the Account given to Config.OnSignIn, where
// the app records what it needs.
type Account struct {
	HomeAccountID string // "{object id}.{tenant id}", MSAL's account and cache partition key; AccountToken takes it
	Username      string // preferred_username, usually the UPN; may change, never authorize with it
	TenantID      string // the user's tenant (tid)
	Name          string // display name
	ObjectID      string // the user's object id in TenantID (oid): the stable key of the app's own user record
	// Email is the email claim: sent only when the app registration asks for
	// it (optional claim) and the user has one; unverified unless the
	// tenant verifies it. "" otherwise.
	Email string
	// Roles are the app roles assigned to the user (roles claim): the app's
	// own permissions, defined in its registration.
	Roles []string
	// WIDs are the directory role template ids the user holds (wids claim),
	// sent when the registration asks for them (groupMembershipClaims
	// "DirectoryRole" or "All", or the wids optional claim).
	WIDs []string
	// Groups are the object ids of the user's groups (groups claim), sent
	// when the registration asks for them; Entra leaves them out past 200
	// and says so in _claim_names (an overage: ask Graph). Set only for
	// Config.OnSignIn.
	Groups []string
	// Claims are all the ID token's claims, decoded from JSON. Set only for
	// Config.OnSignIn.
	Claims map[string]any
}

// packed returns a with its four strings in one allocation: one heap object
// for the garbage collector to mark instead of four, for the many accounts
// the in-process caches hold.
func (a Account) packed() Account { _, p := a.packedWith(""); return p }

// packedWith is packed with one more string, returned first, in the same allocation.
func (a Account) packedWith(extra string) (string, Account) {
	s := extra + a.HomeAccountID + a.Username + a.TenantID + a.Name
	cut := func(n int) string { v := s[:n]; s = s[n:]; return v }
	e, p := cut(len(extra)), a
	p.HomeAccountID, p.Username, p.TenantID, p.Name = cut(len(a.HomeAccountID)), cut(len(a.Username)), cut(len(a.TenantID)), cut(len(a.Name))
	return e, p
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
