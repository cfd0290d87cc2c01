package tokencache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/consentry/consentry/tokencache/internal/msalcache"
)

// Authority is an Entra ID authority as MSAL keys the tokens it caches: the
// host is the entries' environment, the tenant their realm.
type Authority struct {
	Host   string // lower case, with the port if any, e.g. "login.microsoftonline.com"
	Tenant string // lower case first path segment, e.g. "organizations" or a tenant id
}

// ParseAuthority reads the authority URL given to confidential.New the way
// MSAL does (lower case; host and first path segment). It fails for URLs
// MSAL refuses and for ADFS and dSTS authorities, whose tokens AccessToken
// does not read.
func ParseAuthority(authority string) (Authority, error) {
	canonical := authority
	if !strings.HasSuffix(canonical, "/") {
		canonical += "/"
	}
	u, err := url.Parse(strings.ToLower(canonical))
	if err != nil || u.Scheme != "https" {
		return Authority{}, fmt.Errorf("tokencache: authority %q: use the https URL given to MSAL, e.g. https://login.microsoftonline.com/organizations", authority)
	}
	parts := strings.Split(u.EscapedPath(), "/")
	if len(parts) < 3 || parts[1] == "" {
		return Authority{}, fmt.Errorf("tokencache: authority %q has no tenant: use https://login.microsoftonline.com/{tenant}", authority)
	}
	if parts[1] == "adfs" || parts[1] == "dstsv2" {
		return Authority{}, fmt.Errorf("tokencache: authority %q: only Entra ID authorities are supported", authority)
	}
	return Authority{Host: u.Host, Tenant: parts[1]}, nil
}

// TokenQuery names a user's access token the way an MSAL confidential client
// built with Authority and ClientID asks for it in AcquireTokenSilent(ctx,
// Scopes, WithSilentAccount(account)) with account.HomeAccountID
// HomeAccountID, without WithTenantID, WithClaims, WithAuthenticationScheme
// or cache key components.
type TokenQuery struct {
	Authority     Authority
	ClientID      string
	HomeAccountID string
	Scopes        []string
}

// CachedToken is an access token read from the cache, with the fields of
// MSAL's AuthResult that describe it. AccessToken is a string of its own,
// sharing no memory with the document it was read from: keeping it keeps
// nothing else alive.
type CachedToken struct {
	AccessToken   string
	ExpiresOn     time.Time
	RefreshOn     time.Time // MSAL's AuthResult.Metadata.RefreshOn; zero if none
	GrantedScopes []string
}

// AccessToken returns the access token MSAL's AcquireTokenSilent would return
// from the cache for q, reading it with one Store Get, without loading the
// partition into MSAL. ok=false means it cannot answer with certainty: no
// usable token (MSAL would refresh), a token MSAL would refresh proactively
// (refresh_on passed) or that expires within MSAL's 5-minute margin (plus 30
// seconds), or a document shape it does not read. The caller then asks
// MSAL, which gives the same answer as before. When several cached tokens
// match (Entra grants every consented scope of a resource, so the tokens of
// a user's scope sets often all match), MSAL returns one of them at random
// if all are usable; AccessToken then returns the one expiring last, and
// nothing if any is not usable. Errors are ErrUnavailable from the store
// and a *BlobError for an entry that cannot be opened, a corrupt one
// (BlobError.Corrupt) included: Replace loads that one as empty, so a caller
// that falls back to MSAL gets the sign-in that replaces it.
//
// Expiry is judged by the real clock, as MSAL judges it, and by the Cache's
// clock (WithClock): a token is returned only if both find it usable. The
// authority's host must be among its own aliases in
// MSAL's instance discovery, as Entra ID's hosts are (and any host with
// instance discovery disabled); tokens cached under another alias are
// left to MSAL.
func (c *Cache) AccessToken(ctx context.Context, q TokenQuery) (CachedToken, bool, error) {
	if q.HomeAccountID == "" || len(q.Scopes) == 0 {
		return CachedToken{}, false, errors.New("tokencache: access token: the query needs a home account id and scopes")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	sc := getScratch()
	defer putScratch(sc)
	plain, _, err := c.load(ctx, q.HomeAccountID, sc)
	if err != nil || plain == nil {
		return CachedToken{}, false, err
	}
	t, ok := msalcache.Find(plain, msalcache.Query{HomeAccountID: q.HomeAccountID, Environment: q.Authority.Host,
		Realm: q.Authority.Tenant, ClientID: q.ClientID, Scopes: q.Scopes}, msalcache.Between(c.cfg.now(), time.Now()))
	if !ok {
		return CachedToken{}, false, nil
	}
	return CachedToken{AccessToken: t.AccessToken, ExpiresOn: t.ExpiresOn, RefreshOn: t.RefreshOn, GrantedScopes: t.GrantedScopes}, true, nil
}
