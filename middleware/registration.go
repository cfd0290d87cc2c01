package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// application is the part of Graph's application resource (the app
// registration) the middleware reads: its required permissions
// (https://learn.microsoft.com/graph/api/resources/requiredresourceaccess).
type application struct {
	RequiredResourceAccess []struct {
		ResourceAppID  string `json:"resourceAppId"`
		ResourceAccess []struct {
			ID   string `json:"id"`
			Type string `json:"type"` // "Scope" (delegated) or "Role" (application)
		} `json:"resourceAccess"`
	} `json:"requiredResourceAccess"`
}

// listedScopes returns the lower-case ids of the delegated permissions the
// registration lists for the resource appID.
func (a *application) listedScopes(appID string) map[string]bool {
	listed := map[string]bool{}
	for _, rra := range a.RequiredResourceAccess {
		for _, ra := range rra.ResourceAccess {
			if strings.EqualFold(rra.ResourceAppID, appID) && ra.Type == "Scope" {
				listed[strings.ToLower(ra.ID)] = true
			}
		}
	}
	return listed
}

// UnlistedScopes is a check to run once at startup: it returns the
// delegated permissions the routes declare (Require, RequireAdmin) that the
// app registration's required permissions (API permissions,
// requiredResourceAccess) do not list, and logs them in one warning.
// Such permissions can only be granted dynamically, route by route: an
// administrator's consent to "/.default" (ConnectURL's default) does not
// cover them, so users of tenants that disallow user consent are stuck.
// Add them to the registration, or grant them with ConsentStatus's links.
//
// It reads the registration through Microsoft Graph in the app's home
// tenant, homeTenantID (the registration exists only there), with an
// app-only token: GET /applications(appId='{ClientID}'), then each
// resource's service principal to name the permission ids. It needs
// ReadGrantsPermission (Directory.Read.All) or Application.Read.All in
// the home tenant; without it the error is a *ConsentStatusError.
func (m *Middleware) UnlistedScopes(ctx context.Context, homeTenantID string) ([]string, error) {
	g, err := m.directory(ctx, homeTenantID)
	if err != nil {
		return nil, err
	}
	var app application
	err = g.get(ctx, g.base+"/applications(appId='"+url.PathEscape(m.cfg.ClientID)+"')", &app)
	if errors.Is(err, errGraphNotFound) {
		return nil, fmt.Errorf("%w: the app registration %s is not in tenant %s: pass the tenant the app is registered in", ErrInvalidRequest, m.cfg.ClientID, homeTenantID)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, res := range declaredByResource(m.routeScopes()) {
		listed := app.listedScopes(res.appID)
		ps, err := g.resourceStatus(ctx, res.appID, res.scopes, nil)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !listed[strings.ToLower(p.id)] {
				out = append(out, p.Scope)
			}
		}
	}
	if len(out) > 0 {
		m.log.WarnContext(ctx, "middleware: routes declare permissions the app registration does not list: only users' own consent or an admin link for exactly them grants these (admin consent to /.default does not); add them to the registration's API permissions",
			"scopes", strings.Join(out, " "))
	}
	return out, nil
}
