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
// page for everything else.
func (s *site) errorHandler(w http.ResponseWriter, r *http.Request, status int, err error) {
	if !errors.Is(err, middleware.ErrAdminConsentRequired) {
		middleware.DefaultErrorHandler(w, r, status, err)
		return
	}
	v := adminNeededView{}
	var ce *middleware.ConsentError
	if errors.As(err, &ce) {
		v.Scopes, v.RetryURL, v.Detail, v.AdminURL = ce.Scopes, ce.URL, ce.Description, ce.AdminConsentURL
	}
	s.log.Info("example: administrator approval needed", "path", r.URL.Path, "scopes", v.Scopes)
	s.render(w, r, status, "adminneeded", "Administrator approval needed", v)
}

type adminNeededView struct {
	Scopes                     []string
	RetryURL, Detail, AdminURL string
}
