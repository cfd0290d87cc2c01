package main

import (
	"errors"
	"net/http"

	"github.com/consentry/consentry/middleware"
)

// accountView is the signed-in user as pages show it.
type accountView struct{ Name, Username, TenantName string }

// account returns the signed-in user, or nil: from the context behind Require,
// from the session elsewhere.
func (s *site) account(r *http.Request) *accountView {
	acct, ok := middleware.AccountFromContext(r.Context())
	if !ok {
		acct, ok = s.mw.Account(r)
	}
	if !ok {
		return nil
	}
	v := &accountView{Name: acct.Name, Username: acct.Username, TenantName: tenantName(acct.TenantID)}
	if v.Name == "" {
		v.Name = acct.Username
	}
	return v
}

// tenantName names the emulator's tenants; other tenants show no name.
func tenantName(id string) string {
	for _, t := range exampleDirectory() {
		if t.ID == id {
			return t.DisplayName
		}
	}
	return ""
}

// middlewarePage draws the middleware's own pages in the example's layout: its page
// for "only an administrator can grant this" (pointing to Connect your organization),
// and the middleware's text for the others (a form kept across consent, sign-out
// from another site, ...). Entra ID answers a user who may not consent and leaves
// its "Need admin approval" page exactly as it answers a decline (access_denied,
// AADSTS65004), so a decline that carries an administrator's link gets the admin
// page too, saying that a decline is fine.
func (s *site) middlewarePage(w http.ResponseWriter, r *http.Request, p middleware.Page) {
	v := adminNeededView{Scopes: p.Scopes, Detail: p.Detail}
	for _, l := range p.Links {
		switch l.ID {
		case "retry":
			v.RetryURL = l.URL
		case "admin":
			v.AdminURL = l.URL
		}
	}
	v.Declined = errors.Is(p.Err, middleware.ErrConsentDeclined) && v.AdminURL != "" && v.RetryURL != ""
	if !errors.Is(p.Err, middleware.ErrAdminConsentRequired) && !v.Declined {
		s.render(w, r, p.Status, "builtin", p.Title, p)
		return
	}
	title := "Administrator approval needed"
	if v.Declined {
		title = "Permission not granted"
	}
	s.log.Info("example: administrator approval needed", "path", r.URL.Path, "scopes", v.Scopes, "declined_or_not_allowed", v.Declined)
	s.render(w, r, p.Status, "adminneeded", title, v)
}

type adminNeededView struct {
	Scopes                     []string
	RetryURL, Detail, AdminURL string
	// Declined: Entra said "declined", which is also what a user who may not
	// consent gets; the page covers both.
	Declined bool
}
