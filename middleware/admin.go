package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/returnurl"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// adminConsentStart serves GET /auth/adminconsent?redirect=&scope=[&tenant=].
func (m *Middleware) adminConsentStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ret, tenant, ok := m.adminParams(w, r)
	if !ok {
		return
	}
	scopes, _, err := scope.Route(strings.Fields(q.Get("scope")))
	if err != nil {
		m.fail(w, r, fmt.Errorf("%w: scope parameter: %s", ErrInvalidRequest, err))
		return
	}
	if err := m.declared.check(scopes); err != nil {
		m.fail(w, r, fmt.Errorf("%w: scope parameter: %w", ErrInvalidRequest, err))
		return
	}
	fr := flowRequest{scopes: scopes, returnURL: ret, kind: flowstore.KindAdminConsent, tenant: tenant}
	m.startFlow(w, r, m.loadSession(r), fr)
}

// adminParams reads and checks the redirect and tenant parameters.
func (m *Middleware) adminParams(w http.ResponseWriter, r *http.Request) (ret, tenant string, ok bool) {
	q := r.URL.Query()
	ret, tenant = q.Get("redirect"), q.Get("tenant")
	if ret == "" {
		ret = m.cfg.BasePath
	}
	if !returnurl.Valid(ret) {
		m.fail(w, r, fmt.Errorf("%w: the redirect parameter must be a path on this site, such as /", ErrInvalidRequest))
		return "", "", false
	}
	if tenant != "" && !validTenant(tenant) {
		m.fail(w, r, fmt.Errorf("%w: the tenant parameter must be a tenant id or domain", ErrInvalidRequest))
		return "", "", false
	}
	return ret, tenant, true
}

// validTenant accepts tenant ids and domain names.
func validTenant(t string) bool {
	if t == "" || len(t) > 256 {
		return false
	}
	for _, c := range t {
		if !(c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// adminCallback finishes an admin-consent or connect flow Entra approved
// (admin_consent=True&tenant=...&scope=...): once the back channel confirms
// it (verifyAdminConsent), it records the tenant and resumes at the flow's
// return URL.
func (m *Middleware) adminCallback(w http.ResponseWriter, r *http.Request, sess *session, f *flowstore.Flow) {
	ctx := r.Context()
	tenant := r.Form.Get("tenant")
	switch {
	case !strings.EqualFold(r.Form.Get("admin_consent"), "true"):
		m.fail(w, r, fmt.Errorf("%w: the admin-consent callback carries neither admin_consent=True nor an error", ErrInvalidRequest))
		return
	case !validTenant(tenant) || (protocol.IsGUID(f.Tenant) && !strings.EqualFold(f.Tenant, tenant)):
		m.fail(w, r, fmt.Errorf("%w: the admin-consent callback names tenant %q, not the one asked", ErrInvalidRequest, tenant))
		return
	}
	if err := m.tenantAllowed(tenant, f.ReturnURL); err != nil {
		m.fail(w, r, err)
		return
	}
	scopesOK, err := m.verifyAdminConsent(ctx, sess, tenant, f) // back channel
	if err != nil {
		m.log.WarnContext(ctx, "middleware: admin-consent callback not confirmed", "tenant", tenant,
			"kind", f.Kind, "refused", consentRefused(err), "err", err)
		m.fail(w, r, err)
		return
	}
	if err := m.recordTenant(ctx, tenant, f, scopesOK); err != nil {
		m.fail(w, r, err)
		return
	}
	if err := sess.save(w, r); err != nil {
		m.log.WarnContext(ctx, "middleware: save session", "err", err)
	}
	m.flowSucceeded(ctx, f)
	m.log.InfoContext(ctx, "middleware: admin consent granted", "kind", f.Kind, "tenant", tenant,
		"scopes", logScopes(f.Scopes), "flow", flowstore.ID(f.State))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", returnurl.Or(f.ReturnURL, "/"))
	w.WriteHeader(http.StatusSeeOther)
}

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
	if err := m.verifyAppToken(ctx, tenant, scope.AppDefault(f.Scopes), roles); err != nil {
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
	once := &retryPolicy{attempts: 1, timeout: m.retry.timeout}
	_, cached, err := m.appToken(ctx, tenant, scope, once, roles)
	var ace *AppConsentError
	if cached && errors.As(err, &ace) && ace.Code == 0 {
		_, _, err = m.appToken(ctx, tenant, scope, once, roles)
	}
	return err
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
			"tenant", tenant, "scopes", logScopes(f.Scopes), "err", err)
	}
	return err == nil
}

// consentRefused reports whether err, from verifyAdminConsent, is Entra
// (or the session) refusing the callback rather than a fault.
func consentRefused(err error) bool {
	return errors.Is(err, ErrAppConsentRequired) || errors.Is(err, ErrInvalidRequest)
}

// adminHelp fills in the admin link of a consent error from flow f. Entra
// answers a user who leaves its "Need admin approval" page ("Return to the
// application without granting consent") with access_denied and AADSTS65004
// (sometimes no description), exactly what a decline sends
// (https://learn.microsoft.com/en-us/answers/questions/2237594/how-to-handle-admin-consent-in-oauth-flow,
// https://github.com/MicrosoftDocs/azure-docs/issues/41053). So every decline
// carries the link an administrator opens to approve the flow's scopes; on a
// RequireAdmin route a non-admin's decline is taken as "an admin must approve".
func (m *Middleware) adminHelp(r *http.Request, sess *session, ce *ConsentError, f *flowstore.Flow) {
	ce.adminFlow = f.Kind != ""
	if f.Admin && f.Kind == "" && ce.kind == ErrConsentDeclined && !m.isAdmin(r, sess) {
		ce.kind = ErrAdminConsentRequired
	}
	switch {
	case !slices.Contains([]error{ErrAdminConsentRequired, ErrTenantNotOnboarded, ErrConsentDeclined}, ce.kind):
	case f.Kind == flowstore.KindConnect:
		ce.AdminConsentURL = m.absolute(m.ConnectURL(f.ReturnURL, f.Tenant))
	case ce.kind != ErrConsentDeclined || len(f.Scopes) > 0: // a plain sign-in has no scopes to approve
		ce.AdminConsentURL = m.absolute(m.AdminConsentURL(f.ReturnURL, f.Scopes...))
	}
}

// adminRetryURL starts an admin-consent or connect flow like f again.
func (m *Middleware) adminRetryURL(f *flowstore.Flow) string {
	if f.Kind == flowstore.KindConnect {
		return m.ConnectURL(f.ReturnURL, f.Tenant)
	}
	return m.AdminConsentURL(f.ReturnURL, f.Scopes...)
}
