package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/consentry/consentry/middleware"
)

// permissionRow is one line of the Permissions page: a page of the app, the
// permission its route declares, and how far the admin's tenant granted it.
type permissionRow struct {
	pagePermission
	Status string // "granted", "granted to some users" or "missing"
	Users  int    // users who granted it for themselves
}

type permissionsView struct {
	Rows        []permissionRow
	ApproveURLs []string // admin-consent links for exactly the missing permissions
	Unreadable  string   // the application permission the app needs to read grants, when it lacks it
	ConnectURL  string
}

// permissions is an administrator's page: every route's permission and
// whether the admin's tenant granted it to everyone, to some users or not at
// all, read through Graph (mw.ConsentStatus), with one button that approves
// exactly what is missing. Only administrators see it: on the real Entra ID
// the middleware knows them by the ID token's wids claim, which the app
// registration must ask for (the wids optional claim); without it nobody does.
func (s *site) permissions(w http.ResponseWriter, r *http.Request) {
	acct, _ := middleware.AccountFromContext(r.Context()) // Require put it there
	if !s.mw.IsAdmin(r) {
		s.render(w, r, http.StatusForbidden, "error", "Permissions", errorView{Heading: "Administrators only",
			Message: "This page shows what your organization has granted the app; only an administrator may see it " +
				"(on Microsoft Entra ID, the app knows administrators by the wids optional claim of its registration)."})
		return
	}
	v := permissionsView{ConnectURL: s.mw.ConnectURL("/permissions", acct.TenantID)}
	st, err := s.mw.ConsentStatus(r.Context(), acct.TenantID)
	var cse *middleware.ConsentStatusError
	switch {
	case errors.As(err, &cse):
		v.Unreadable = cse.Permission
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		v.ApproveURLs = st.AdminConsentURLs("/permissions")
	}
	for _, p := range appPermissions {
		row := permissionRow{pagePermission: p, Status: "unknown"}
		if st != nil {
			row.Status = "missing"
			row.applyStatus(st)
		}
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, "permissions", "Permissions", v)
}

// applyStatus fills in the row's status from the tenant's consent status.
func (row *permissionRow) applyStatus(st *middleware.ConsentStatus) {
	for _, p := range st.Permissions {
		if !strings.EqualFold(p.Scope, row.Scope) {
			continue
		}
		row.AdminOnly, row.Users = p.AdminOnly, len(p.Users)
		switch p.Consent {
		case middleware.ConsentTenantWide:
			row.Status = "granted"
		case middleware.ConsentSomeUsers:
			row.Status = "granted to some users"
		}
	}
}

// checkRegistration logs, once at startup, the permissions the routes declare
// that the app registration does not list (the middleware logs them as a
// warning); homeTenant is the tenant the app is registered in, "" to skip.
func checkRegistration(ctx context.Context, mw *middleware.Middleware, homeTenant string, log *slog.Logger) {
	if homeTenant == "" || homeTenant == "organizations" || homeTenant == "common" {
		return
	}
	if _, err := mw.UnlistedScopes(ctx, homeTenant); err != nil {
		log.Info("example: could not compare the routes' permissions with the app registration", "err", err)
	}
}
