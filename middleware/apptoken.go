package middleware

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// AppConsentError says that a tenant has not granted the app the application
// permissions an app-only token needs. errors.Is(err, ErrAppConsentRequired)
// holds, and errors.Is(err, ErrTenantNotOnboarded) too when the app is not in
// the tenant at all (no admin ever connected it).
type AppConsentError struct {
	TenantID   string
	Roles      []string // the roles asked for and missing from the token (all of them when no token)
	ConnectURL string   // absolute app URL the tenant's admin opens to grant them (ConnectURL)
	Code       int      // AADSTS number when Entra refused the token, e.g. 700016
	cause      error
}

// Error says which tenant has not granted which application permissions.
func (e *AppConsentError) Error() string {
	msg := fmt.Sprintf("middleware: tenant %s has not granted the app", e.TenantID)
	if len(e.Roles) > 0 {
		msg += " the application permissions " + strings.Join(e.Roles, " ")
	}
	if e.Code != 0 {
		msg += fmt.Sprintf(" (AADSTS%d)", e.Code)
	}
	return msg + ": an admin should open " + e.ConnectURL
}

// Unwrap returns ErrAppConsentRequired (and ErrTenantNotOnboarded, the cause).
func (e *AppConsentError) Unwrap() []error {
	errs := []error{ErrAppConsentRequired}
	if e.Code != 0 {
		errs = append(errs, ErrTenantNotOnboarded)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// AppToken returns an app-only access token (client credentials) for tenantID
// and scope ("" means "https://graph.microsoft.com/.default"; it must end with
// "/.default"). roles are the application permissions the caller needs: if
// the token's roles claim lacks one, or Entra has no trace of the app in the
// tenant, the error is an *AppConsentError whose ConnectURL the tenant's admin
// opens. Entra issues a token without roles to an app nobody granted any, so
// naming the roles is how "not consented" is detected (read from the token's
// roles claim; a token that is not a readable JWT then gives
// ErrInvalidRequest). MSAL caches the token
// per tenant. A client-credentials request is idempotent, so a 5xx answer or
// a timeout at the token endpoint is retried like a silent refresh (three
// tries, 10 s each, backoff 100 ms then 400 ms, never past ctx's deadline). After Close, and on other failures, the
// error wraps ErrUnavailable (and ErrClosed after Close).
func (m *Middleware) AppToken(ctx context.Context, tenantID, scope string, roles ...string) (Token, error) {
	tok, _, err := m.appToken(ctx, tenantID, scope, &m.retry, roles)
	return tok, err
}

// appToken is AppToken, for the scope want, with the retry policy p. cached reports whether MSAL
// served the token (kept or, when roles were missing, dropped) from its cache.
func (m *Middleware) appToken(ctx context.Context, tenantID, want string, p *retryPolicy, roles []string) (tok Token, cached bool, err error) {
	if want == "" {
		want = scope.AppDefault(nil)
	}
	if !validTenant(tenantID) || !strings.HasSuffix(want, "/.default") {
		return Token{}, false, fmt.Errorf("%w: AppToken needs a tenant id and a scope ending in /.default, got %q and %q", ErrInvalidRequest, tenantID, want)
	}
	ar, err := m.acquireAppToken(ctx, tenantID, want, p)
	if err != nil {
		return Token{}, false, m.appTokenError(tenantID, roles, err)
	}
	cached = ar.Metadata.TokenSource == confidential.TokenSourceCache
	miss, err := missingRoles(roles, ar.AccessToken)
	if err != nil {
		return Token{}, cached, fmt.Errorf("%w: AppToken for %s: %w; call it without roles and let the API refuse a missing permission", ErrInvalidRequest, want, err)
	}
	if len(miss) > 0 {
		// Drop the cached role-less token so a grant shows up on the next call.
		if rerr := m.cache.Remove(ctx, m.appPartition(tenantID)); rerr != nil {
			m.log.WarnContext(ctx, "middleware: drop cached app token", "tenant", tenantID, "err", rerr)
		}
		return Token{}, cached, &AppConsentError{TenantID: tenantID, Roles: miss, ConnectURL: m.absolute(m.ConnectURL("/", tenantID))}
	}
	return Token{AccessToken: ar.AccessToken, ExpiresOn: ar.ExpiresOn, Scopes: []string{want}}, cached, nil
}

// acquireAppToken runs the client-credentials request under the retry policy
// p; Close cancels it and waits for it.
func (m *Middleware) acquireAppToken(ctx context.Context, tenantID, scope string, p *retryPolicy) (confidential.AuthResult, error) {
	var ar confidential.AuthResult
	ctx, done, err := m.life.enter(ctx)
	if err != nil {
		return ar, err
	}
	defer done()
	err = p.do(ctx, func(ctx context.Context, timeout time.Duration) error {
		return m.clients.withTimeout(ctx, timeout, func(ctx context.Context, c confidential.Client) (err error) {
			ar, err = c.AcquireTokenByCredential(ctx, []string{scope}, confidential.WithTenantID(tenantID))
			return err
		})
	})
	return ar, err
}

func (m *Middleware) appTokenError(tenantID string, roles []string, err error) error {
	if _, e := entraerr.Classify(err); e != nil {
		if n, ok := e.NotInTenant(); ok {
			return &AppConsentError{TenantID: tenantID, Roles: roles, Code: n, cause: err,
				ConnectURL: m.absolute(m.ConnectURL("/", tenantID))}
		}
	}
	return fmt.Errorf("%w: app token for tenant %s: %w", ErrUnavailable, tenantID, err)
}

// appPartition is MSAL's token cache partition of app-only tokens for a tenant.
func (m *Middleware) appPartition(tenantID string) string {
	return m.cfg.ClientID + "_" + tenantID + "_AppTokenCache"
}

// missingRoles returns the roles of want that the app-only access token raw
// lacks. It is the one place the middleware reads an access token, and only
// for the caller who named roles: the token is the app's own, got with its
// own client credentials a moment ago over TLS from the token endpoint, and
// the check is of the app's own application permissions, which Entra lists
// in the token's documented roles claim, whatever the token's version (v1.0
// tokens, as Microsoft Graph's are, carry it the same way)
// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference#payload-claims).
// Only the payload is decoded: the signature is not checked (Graph's tokens
// carry a header nonce that makes them unverifiable outside Graph) and no
// other claim is used; the API stays the judge of the token. A token that is
// not a readable JWT (an API may encrypt its tokens) is an error, never
// "no roles".
func missingRoles(want []string, raw string) ([]string, error) {
	if len(want) == 0 {
		return nil, nil
	}
	have, err := protocol.Roles(raw)
	if err != nil {
		return nil, fmt.Errorf("its token is not a JWT whose roles can be read: %w", err)
	}
	var out []string
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			out = append(out, w)
		}
	}
	return out, nil
}
