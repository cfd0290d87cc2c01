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
// and the middleware's text for the others (declined, a form kept across consent,
// sign-out from another site, ...).
func (s *site) middlewarePage(w http.ResponseWriter, r *http.Request, p middleware.Page) {
	if !errors.Is(p.Err, middleware.ErrAdminConsentRequired) {
		s.render(w, r, p.Status, "builtin", p.Title, p)
		return
	}
	v := adminNeededView{Scopes: p.Scopes, Detail: p.Detail}
	for _, l := range p.Links {
		switch l.ID {
		case "retry":
			v.RetryURL = l.URL
		case "admin":
			v.AdminURL = l.URL
		}
	}
	s.log.Info("example: administrator approval needed", "path", r.URL.Path, "scopes", v.Scopes)
	s.render(w, r, p.Status, "adminneeded", "Administrator approval needed", v)
}

type adminNeededView struct {
	Scopes                     []string
	RetryURL, Detail, AdminURL string
}
