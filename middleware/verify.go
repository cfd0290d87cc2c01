package middleware

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/protocol"
)

// An admin-consent callback (admin_consent=True&tenant=...) is a front-channel
// answer: anyone who started a flow in their own browser can craft it with
// any tenant. It is only a hint; verifyAdminConsent checks it with Entra on
// the back channel before anything is recorded.

// verifyAdminConsent checks the tenant an admin-consent or connect callback
// names. A signed-in user must belong to it. Entra must then issue the app an
// app-only token for it (client credentials): the app must be in the tenant
// (not AADSTS700016, 7000229 or 65001) and, for a connect flow, the token
// must carry Config.ConnectRoles. It returns whether the flow's scope set may
// be recorded as granted tenant-wide (see adminScopesVerified).
func (m *Middleware) verifyAdminConsent(ctx context.Context, sess *session, tenant string, f *flowstore.Flow) (bool, error) {
	if a := sess.account; a.HomeAccountID != "" && !strings.EqualFold(a.TenantID, tenant) {
		return false, fmt.Errorf("%w: the admin-consent callback names tenant %s, but the signed-in user belongs to tenant %s",
			ErrInvalidRequest, tenant, a.TenantID)
	}
	var roles []string
	if f.Kind == flowstore.KindConnect {
		roles = m.cfg.ConnectRoles
	}
	if err := m.verifyAppToken(ctx, tenant, appScope(f.Scopes), roles); err != nil {
		return false, fmt.Errorf("middleware: Entra does not confirm the admin consent of tenant %s: %w", tenant, err)
	}
	return f.Kind == flowstore.KindConnect || m.adminScopesVerified(ctx, sess, tenant, f), nil
}

// verifyAppToken checks that Entra issues the app a token for tenant and
// scope carrying roles. Anyone can send a callback naming any tenant, so it
// costs at most one request to the token endpoint and evicts nothing that
// still serves: a cached token with the roles answers at once (the tenant's
// other cached app tokens stay), no attempt is retried (a flood of forged
// callbacks must not get the app throttled), and only a cached token lacking
// a role (issued before the consent; appToken drops it) is asked for anew.
func (m *Middleware) verifyAppToken(ctx context.Context, tenant, scope string, roles []string) error {
	if !m.tenantRation.allow(tenant, m.cfg.Now()) {
		return errTenantRationed(tenant)
	}
	once := &retryPolicy{attempts: 1, timeout: m.cfg.perf.retry.timeout}
	_, cached, err := m.appToken(ctx, tenant, scope, once, roles)
	var ace *AppConsentError
	if cached && errors.As(err, &ace) && ace.Code == 0 {
		_, _, err = m.appToken(ctx, tenant, scope, once, roles)
	}
	return err
}

// appScope is the "/.default" scope of the resource of scopes.
func appScope(scopes []string) string {
	res := protocol.GraphResource
	if len(scopes) > 0 {
		res = protocol.Resource(scopes[0])
	}
	return strings.TrimSuffix(res, "/") + "/.default"
}

// adminScopesVerified reports whether the delegated scopes of an admin-consent
// flow are confirmed by Entra: the signed-in admin of tenant gets a token for
// them without interaction (a refresh at the token endpoint). Without a
// signed-in user of the tenant, nothing confirms them and the scope set is not
// recorded: the next admin who needs it goes through admin consent once more.
func (m *Middleware) adminScopesVerified(ctx context.Context, sess *session, tenant string, f *flowstore.Flow) bool {
	acct := sess.account
	if acct.HomeAccountID == "" || !strings.EqualFold(acct.TenantID, tenant) || len(f.Scopes) == 0 {
		return false
	}
	err := m.clients.with(ctx, func(c confidential.Client) error {
		_, err := c.AcquireTokenSilent(ctx, f.Scopes, confidential.WithSilentAccount(acct.msal()))
		return err
	})
	if err != nil {
		m.log.InfoContext(ctx, "middleware: admin consent not confirmed by a token; scopes not recorded",
			"tenant", tenant, "scopes", strings.Join(f.Scopes, " "), "err", err)
	}
	return err == nil
}

// consentRefused reports whether err, from verifyAdminConsent, is Entra
// (or the session) refusing the callback rather than a fault.
func consentRefused(err error) bool {
	return errors.Is(err, ErrAppConsentRequired) || errors.Is(err, ErrInvalidRequest)
}
