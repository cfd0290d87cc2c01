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

// errorHandler shows the example's page when only an administrator can grant a
// permission (pointing to Connect your organization), and the middleware's default
// page for everything else. Entra ID answers a user who may not consent and leaves
// its "Need admin approval" page exactly as it answers a decline (access_denied,
// AADSTS65004), so a decline that carries an administrator's link gets the same
// page, saying that a decline is fine too.
func (s *site) errorHandler(w http.ResponseWriter, r *http.Request, status int, err error) {
	var ce *middleware.ConsentError
	errors.As(err, &ce)
	declined := errors.Is(err, middleware.ErrConsentDeclined) && ce != nil && ce.AdminConsentURL != "" && ce.URL != ""
	if !errors.Is(err, middleware.ErrAdminConsentRequired) && !declined {
		middleware.DefaultErrorHandler(w, r, status, err)
		return
	}
	v := adminNeededView{Declined: declined}
	if ce != nil {
		v.Scopes, v.RetryURL, v.Detail, v.AdminURL = ce.Scopes, ce.URL, ce.Description, ce.AdminConsentURL
	}
	title := "Administrator approval needed"
	if declined {
		title = "Permission not granted"
	}
	s.log.Info("example: administrator approval needed", "path", r.URL.Path, "scopes", v.Scopes, "declined_or_not_allowed", declined)
	s.render(w, r, status, "adminneeded", title, v)
}

type adminNeededView struct {
	Scopes                     []string
	RetryURL, Detail, AdminURL string
	// Declined: Entra said "declined", which is also what a user who may not
	// consent gets; the page covers both.
	Declined bool
}
