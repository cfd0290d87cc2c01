package middleware

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// tenantRecord is what the middleware knows about a customer tenant.
type tenantRecord struct {
	Onboarded   bool      `json:"o,omitempty"`  // its admin went through the connect endpoint
	AdminScopes []string  `json:"as,omitempty"` // scope keys an admin granted through the middleware
	Updated     time.Time `json:"t"`
}

// connect serves GET /auth/connect?redirect=/path[&tenant=id].
func (m *Middleware) connect(w http.ResponseWriter, r *http.Request) {
	ret, tenant, ok := m.adminParams(w, r)
	if !ok {
		return
	}
	if tenant != "" {
		if err := m.tenantAllowed(tenant, ret); err != nil {
			m.fail(w, r, err)
			return
		}
	}
	fr := flowRequest{scopes: m.cfg.ConnectScopes, returnURL: ret, kind: flowstore.KindConnect, tenant: tenant}
	m.startFlow(w, r, m.loadSession(r), fr)
}

// Onboarded reports whether tenantID's administrator completed the connect
// endpoint (ConnectURL).
func (m *Middleware) Onboarded(ctx context.Context, tenantID string) (bool, error) {
	rec, err := m.tenantRecord(ctx, tenantID)
	return rec.Onboarded, err
}

func (m *Middleware) tenantRecord(ctx context.Context, tenantID string) (tenantRecord, error) {
	var rec tenantRecord
	if _, err := m.tenants.Get(ctx, strings.ToLower(tenantID), &rec); err != nil {
		return rec, fmt.Errorf("%w: read tenant %s: %w", ErrUnavailable, tenantID, err)
	}
	return rec, nil
}

// tenantGranted reports whether an admin of tenantID granted the scope set
// key through the middleware (admin consent or connect).
func (m *Middleware) tenantGranted(ctx context.Context, tenantID, key string) (bool, error) {
	rec, err := m.tenantRecord(ctx, tenantID)
	return slices.Contains(rec.AdminScopes, key), err
}

// recordTenant notes a completed admin consent the back channel confirmed;
// the scope set is recorded only when scopesOK. For a connect flow the tenant
// becomes onboarded and, the first time, the app-only tokens cached for it
// are dropped, so AppToken sees the new application permissions at once.
// Later connect callbacks drop nothing: anyone can send one naming an
// onboarded tenant, and AppToken refetches a cached token lacking a role it
// is asked for anyway. Concurrent updates of one tenant may lose a scope
// key, which only costs an admin a round trip.
func (m *Middleware) recordTenant(ctx context.Context, tenantID string, f *flowstore.Flow, scopesOK bool) error {
	rec, err := m.tenantRecord(ctx, tenantID)
	if err != nil {
		return err
	}
	if key := scope.Key(f.Scopes); scopesOK && !slices.Contains(rec.AdminScopes, key) {
		rec.AdminScopes = append(rec.AdminScopes, key)
	}
	firstConnect := f.Kind == flowstore.KindConnect && !rec.Onboarded
	if f.Kind == flowstore.KindConnect {
		rec.Onboarded = true
	}
	rec.Updated = m.cfg.Now()
	if err := m.tenants.Put(ctx, strings.ToLower(tenantID), rec, 0); err != nil {
		return fmt.Errorf("%w: record tenant %s: %w", ErrUnavailable, tenantID, err)
	}
	if firstConnect {
		if err := m.cache.Remove(ctx, m.appPartition(tenantID)); err != nil {
			m.log.WarnContext(ctx, "middleware: drop cached app tokens", "tenant", tenantID, "err", err)
		}
	}
	return nil
}

// listed reports whether tenantID is in Config.AllowedTenants.
func (m *Middleware) listed(tenantID string) bool {
	return slices.ContainsFunc(m.cfg.AllowedTenants, func(t string) bool { return strings.EqualFold(t, tenantID) })
}

// tenantAllowed applies Config.AllowedTenants.
func (m *Middleware) tenantAllowed(tenantID, ret string) error {
	if len(m.cfg.AllowedTenants) == 0 || m.listed(tenantID) {
		return nil
	}
	return &ConsentError{TenantID: tenantID, URL: m.SignInURL(ret), kind: ErrTenantNotAllowed,
		Description: "tenant " + tenantID + " is not among the organizations this app serves"}
}

// tenantGate decides whether a user of tenantID may sign in: allow-list,
// then onboarding when Config.RequireOnboarding is set.
func (m *Middleware) tenantGate(ctx context.Context, tenantID string, f *flowstore.Flow) error {
	if err := m.tenantAllowed(tenantID, f.ReturnURL); err != nil {
		return err
	}
	if !m.cfg.RequireOnboarding || m.listed(tenantID) {
		return nil
	}
	ok, err := m.Onboarded(ctx, tenantID)
	if err != nil || ok {
		return err
	}
	return &ConsentError{TenantID: tenantID, Scopes: m.cfg.ConnectScopes, URL: m.SignInURL(f.ReturnURL),
		AdminConsentURL: m.absolute(m.ConnectURL(f.ReturnURL, tenantID)), kind: ErrTenantNotOnboarded}
}

// refuse ends a sign-in the tenant gate or Config.OnSignIn refused: the
// tokens MSAL just cached for the user are removed and the user stays, or
// (refused at a consent round trip) becomes, signed out.
func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, sess *session, acct Account, err error) {
	if rerr := m.cache.Remove(r.Context(), acct.HomeAccountID); rerr != nil {
		m.log.ErrorContext(r.Context(), "middleware: drop tokens of a refused tenant", "account", acct.HomeAccountID, "err", rerr)
	}
	m.dropAccount(acct.HomeAccountID)
	m.signOutRefused(r, sess, acct)
	if serr := sess.save(w, r); serr != nil {
		m.log.WarnContext(r.Context(), "middleware: save session", "err", serr)
	}
	m.fail(w, r, err)
}
