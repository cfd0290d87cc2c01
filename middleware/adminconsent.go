package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/returnurl"
)

// RequireAdmin is Require for scopes only an administrator can grant (e.g.
// "User.Read.All"). A signed-in admin (Config.IsAdmin) who needs them goes
// straight to Entra's admin-consent endpoint and grants them for the whole
// organization, unless the tenant already did so through this middleware;
// then the request resumes. Anyone else goes to Entra's authorize endpoint as
// with Require (an admin may have granted the scopes another way): if Entra
// answers that an admin must approve (AADSTS90094 and kin), the user gets
// the "your administrator must approve" page (403, ErrAdminConsentRequired)
// with a link to pass to an admin (ConsentError.AdminConsentURL) and a way
// to try again. Routes wrapped by Require get the same page from the same
// Entra answer; RequireAdmin only saves admins a round trip.
func (m *Middleware) RequireAdmin(scopes ...string) func(http.Handler) http.Handler {
	clean, key, err := protocol.Route(scopes)
	if err != nil {
		panic("middleware: RequireAdmin: " + err.Error())
	}
	rt := &route{scopes: clean, key: key, id: m.routes.id(key), admin: true}
	m.declared.add(clean)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("middleware: RequireAdmin(...) applied to a nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serveRoute(w, r, rt, next)
		})
	}
}

// interactive sends a browser to Entra for rt: admin consent for an admin on
// an admin route, else authorize; a form post is kept to complete afterwards.
func (m *Middleware) interactive(w http.ResponseWriter, r *http.Request, rt *route, ret string) {
	sess := m.loadSession(r)
	fr := flowRequest{scopes: rt.scopes, returnURL: ret, admin: rt.admin}
	if needsKeeping(r) {
		m.boundBodyRead(w)
		k, err := m.readKept(r, sess)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		fr.keep = k
	}
	if rt.admin && sess.account.HomeAccountID != "" && m.isAdmin(r, sess) {
		granted, err := m.tenantGranted(r.Context(), sess.account.TenantID, rt.key)
		if err != nil {
			m.log.WarnContext(r.Context(), "middleware: tenant record unreadable, trying authorize", "err", err)
		}
		if err == nil && !granted {
			fr.kind = flowstore.KindAdminConsent
		}
	}
	m.startFlow(w, r, sess, fr)
}

// isAdmin reports whether the session's user can grant admin consent.
func (m *Middleware) isAdmin(r *http.Request, sess *session) bool {
	if m.cfg.IsAdmin != nil {
		return m.cfg.IsAdmin(r, sess.account)
	}
	return sess.admin
}

// AdminConsentURL returns the app-relative URL of AuthHandler's admin-consent
// endpoint for scopes, returning to returnURL afterwards. Whoever opens it
// signs in at Entra; an administrator approves the scopes for the whole
// organization, anyone else gets a page saying an administrator is needed.
// Its state is bound to the browser that opens it, so the link can be passed
// on (ConsentError.AdminConsentURL is its absolute form).
func (m *Middleware) AdminConsentURL(returnURL string, scopes ...string) string {
	v := url.Values{"redirect": {returnURL}, "scope": {strings.Join(scopes, " ")}}
	return m.cfg.authPaths.adminConsent + "?" + v.Encode()
}

// absolute makes an app-relative URL absolute on RedirectURL's origin.
func (m *Middleware) absolute(rel string) string {
	return m.cfg.redirect.Scheme + "://" + m.cfg.redirect.Host + rel
}

// adminConsentStart serves GET /auth/adminconsent?redirect=&scope=[&tenant=].
func (m *Middleware) adminConsentStart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ret, tenant, ok := m.adminParams(w, r)
	if !ok {
		return
	}
	scopes, _, err := protocol.Route(strings.Fields(q.Get("scope")))
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
		ret = "/"
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

// adminConsentEndpoint builds {front-channel authority}/v2.0/adminconsent.
func (m *Middleware) adminConsentEndpoint(ctx context.Context, tenant string, f *flowstore.Flow) (string, error) {
	auth, err := m.frontAuthority(ctx, tenant)
	if err != nil {
		return "", err
	}
	scopes := make([]string, len(f.Scopes))
	for i, s := range f.Scopes {
		scopes[i] = fullScope(s)
	}
	v := url.Values{"client_id": {m.cfg.ClientID}, "scope": {strings.Join(scopes, " ")},
		"redirect_uri": {m.cfg.RedirectURL}, "state": {f.State}}
	return auth + "/v2.0/adminconsent?" + v.Encode(), nil
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
	scopesOK, err := m.verifyAdminConsent(ctx, sess, tenant, f) // verify.go: back channel
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
		"scopes", strings.Join(f.Scopes, " "), "flow", flowstore.ID(f.State))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", returnurl.Or(f.ReturnURL, "/"))
	w.WriteHeader(http.StatusSeeOther)
}

// adminHelp fills in the admin link of a consent error from flow f. On a
// RequireAdmin route, a non-admin's access_denied is taken as "an admin must
// approve": real Entra is reported to send the same AADSTS65004 as a decline
// (or no description) when a user leaves its "Need admin approval" page.
func (m *Middleware) adminHelp(r *http.Request, sess *session, ce *ConsentError, f *flowstore.Flow) {
	ce.adminFlow = f.Kind != ""
	if f.Admin && f.Kind == "" && ce.kind == ErrConsentDeclined && !m.isAdmin(r, sess) {
		ce.kind = ErrAdminConsentRequired
	}
	if !slices.Contains([]error{ErrAdminConsentRequired, ErrTenantNotOnboarded}, ce.kind) {
		return
	}
	if f.Kind == flowstore.KindConnect {
		ce.AdminConsentURL = m.absolute(m.ConnectURL(f.ReturnURL, f.Tenant))
		return
	}
	ce.AdminConsentURL = m.absolute(m.AdminConsentURL(f.ReturnURL, f.Scopes...))
}

// adminRetryURL starts an admin-consent or connect flow like f again.
func (m *Middleware) adminRetryURL(f *flowstore.Flow) string {
	if f.Kind == flowstore.KindConnect {
		return m.ConnectURL(f.ReturnURL, f.Tenant)
	}
	return m.AdminConsentURL(f.ReturnURL, f.Scopes...)
}
