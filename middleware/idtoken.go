package middleware

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/consentry/consentry/middleware/internal/flowstore"
)

// The ID token of a redeemed code is verified with go-oidc against the
// authority's OpenID configuration, as the Microsoft identity platform
// documents (https://learn.microsoft.com/entra/identity-platform/id-tokens#validate-tokens):
// signature by a key of jwks_uri, aud the app's client id, exp, nbf and iat
// within clockSkew of Config.Now (checked here, with the tenant), and iss the configuration's issuer, whose
// {tenantid} placeholder (multi-tenant authorities: organizations, common)
// is the token's tid. Then the nonce must be the flow's, and the home
// account that MSAL takes from client_info (which is not signed) must be the
// token's user: uid is oid when utid is tid, and for a user signed in to
// another tenant (a guest) the idp claim must name the home tenant utid.

// clockSkew is how far the clocks of Entra and of replicas may disagree.
const clockSkew = flowstore.ClockSkew

// idClaims are the claims checked beyond what go-oidc verifies.
type idClaims struct {
	Issuer    string `json:"iss"`
	TenantID  string `json:"tid"`
	ObjectID  string `json:"oid"`
	IDP       string `json:"idp"`
	Expiry    int64  `json:"exp"`
	NotBefore int64  `json:"nbf"`
	IssuedAt  int64  `json:"iat"`
	Nonce     string `json:"nonce"`
}

// idVerifier is the verifier of the authority's ID tokens, built on first use.
type idVerifier struct {
	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	issuer   string // the configuration's issuer, maybe with {tenantid}
}

var errIDToken = errors.New("middleware: the ID token is not valid for this app")

// verifyIDToken checks raw, the ID token of a redemption for the flow with
// nonce, and that homeAccountID ("uid.utid" from client_info) is its user.
func (m *Middleware) verifyIDToken(ctx context.Context, raw, nonce, homeAccountID string) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout) // discovery and JWKS may hang
	defer cancel()
	v, issuer, err := m.idVerifier(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return fmt.Errorf("%w: %w: %w", ErrSignInFailed, errIDToken, err)
	}
	var c idClaims
	if err := tok.Claims(&c); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrSignInFailed, errIDToken, err)
	}
	if err := c.check(issuer, nonce, homeAccountID, m.cfg.Now()); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrSignInFailed, errIDToken, err)
	}
	return nil
}

// check applies the checks go-oidc leaves to the caller.
func (c *idClaims) check(issuer, nonce, homeAccountID string, now time.Time) error {
	uid, utid, _ := strings.Cut(homeAccountID, ".")
	switch {
	case c.TenantID == "" || c.Issuer != strings.ReplaceAll(issuer, "{tenantid}", c.TenantID):
		return fmt.Errorf("issuer %q is not %q for tenant %q", c.Issuer, issuer, c.TenantID)
	case c.Expiry == 0 || !time.Unix(c.Expiry, 0).After(now.Add(-clockSkew)):
		return fmt.Errorf("expired (exp %d, now %d)", c.Expiry, now.Unix())
	case time.Unix(c.NotBefore, 0).After(now.Add(clockSkew)) || time.Unix(c.IssuedAt, 0).After(now.Add(clockSkew)):
		return fmt.Errorf("not valid yet (nbf %d, iat %d, now %d)", c.NotBefore, c.IssuedAt, now.Unix())
	case nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1:
		return fmt.Errorf("nonce does not match the sign-in's")
	case strings.EqualFold(utid, c.TenantID) && !strings.EqualFold(uid, c.ObjectID):
		return fmt.Errorf("client_info names user %s, the ID token %s", uid, c.ObjectID)
	case !strings.EqualFold(utid, c.TenantID) && !idpNamesTenant(c.IDP, utid):
		return fmt.Errorf("client_info names home tenant %s, the ID token tenant %s and identity provider %q", utid, c.TenantID, c.IDP)
	}
	return nil
}

// consumersTenant is the tenant of personal Microsoft accounts.
const consumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// idpNamesTenant reports whether idp, a guest's identity provider claim,
// names the tenant utid: https://sts.windows.net/{utid}/, or "live.com" for
// a personal account (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference).
func idpNamesTenant(idp, utid string) bool {
	if utid == "" {
		return false
	}
	if strings.EqualFold(idp, "live.com") {
		return strings.EqualFold(utid, consumersTenant)
	}
	u, err := url.Parse(idp)
	if err != nil || u.Scheme != "https" {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return strings.EqualFold(first, utid)
}

// idVerifier returns the ID token verifier, reading the authority's OpenID
// configuration the first time (again after a failure).
func (m *Middleware) idVerifier(ctx context.Context) (*oidc.IDTokenVerifier, string, error) {
	m.ids.mu.Lock()
	defer m.ids.mu.Unlock()
	if m.ids.verifier != nil {
		return m.ids.verifier, m.ids.issuer, nil
	}
	// Discovery at {authority}/v2.0 names an issuer with {tenantid} for
	// multi-tenant authorities: check reads it; go-oidc must not compare.
	octx := oidc.InsecureIssuerURLContext(oidc.ClientContext(ctx, m.cfg.HTTPClient), "")
	p, err := oidc.NewProvider(octx, m.cfg.Authority+"/v2.0")
	if err != nil {
		return nil, "", fmt.Errorf("middleware: read the authority's OpenID configuration: %w", err)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := p.Claims(&doc); err != nil || doc.Issuer == "" {
		return nil, "", fmt.Errorf("middleware: the authority's OpenID configuration names no issuer")
	}
	// go-oidc fetches keys with this context, not the request's, and later
	// verifications wait for a fetch under way: without a timeout of its
	// own, one hung fetch would fail every sign-in until a restart.
	keyClient := *m.cfg.HTTPClient
	keyClient.Timeout = m.keyFetchTimeout
	if keyClient.Timeout <= 0 {
		keyClient.Timeout = attemptTimeout
	}
	keys := oidc.ClientContext(context.Background(), &keyClient) // outlives this request
	m.ids.verifier = p.VerifierContext(keys, &oidc.Config{
		ClientID: m.cfg.ClientID,
		// check compares iss with the token's tenant, and the times with clockSkew.
		SkipIssuerCheck: true, SkipExpiryCheck: true,
	})
	m.ids.issuer = doc.Issuer
	return m.ids.verifier, m.ids.issuer, nil
}
