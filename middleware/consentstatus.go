package middleware

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// Consent is how far a tenant has granted one delegated permission.
type Consent int

// How far a permission is granted.
const (
	// ConsentMissing: nobody in the tenant granted it; a user who opens a
	// route needing it meets a consent page or "Need admin approval".
	ConsentMissing Consent = iota
	// ConsentSomeUsers: some users granted it for themselves (Principal
	// grants); everyone else still meets a consent page.
	ConsentSomeUsers
	// ConsentTenantWide: an administrator granted it for every user
	// (an AllPrincipals grant).
	ConsentTenantWide
)

// String names c: "missing", "some users" or "tenant-wide".
func (c Consent) String() string {
	return [...]string{"missing", "some users", "tenant-wide"}[c]
}

// PermissionStatus is one delegated permission the routes declare, and how
// far the tenant granted it.
type PermissionStatus struct {
	// Scope is the permission as routes request it: a Graph short name
	// ("Mail.Read") or an API's full name ("api://{id}/access"), spelled as
	// the resource spells it.
	Scope string
	// Resource is the resource's application id (GraphAppID for Graph) and
	// ResourceName its display name.
	Resource, ResourceName string
	Consent                Consent
	// Users are the object ids of the users who granted it for themselves,
	// sorted (ConsentSomeUsers).
	Users []string
	// AdminOnly reports that only an administrator can grant it: the
	// resource's service principal lists it with type "Admin"
	// (https://learn.microsoft.com/graph/api/resources/permissionscope).
	AdminOnly bool
	// Unknown reports that the resource does not expose the permission (or
	// the resource is not in the tenant): nobody can grant it.
	Unknown bool
	id      string // the permission's id at the resource, "" when Unknown
}

// RoleStatus is one Microsoft Graph application permission the app needs
// (Config.ConnectRoles) and whether the tenant granted it (an
// appRoleAssignment to the app's service principal).
type RoleStatus struct {
	Role    string // e.g. "User.Read.All"
	Granted bool
}

// GraphAppID is Microsoft Graph's application id, PermissionStatus.Resource of Graph's permissions.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// ConsentStatus is what a tenant has granted, against the delegated
// permissions every route declared (Require, RequireAdmin).
type ConsentStatus struct {
	TenantID string
	// Permissions are the declared permissions, Graph's first, then by
	// resource and scope.
	Permissions []PermissionStatus
	// Roles are Config.ConnectRoles, the application permissions AppToken
	// callers need, and whether each is granted.
	Roles []RoleStatus
	m     *Middleware
}

// Missing returns the permissions not granted tenant-wide: those an
// administrator's consent would add.
func (s *ConsentStatus) Missing() []PermissionStatus {
	var out []PermissionStatus
	for _, p := range s.Permissions {
		if p.Consent != ConsentTenantWide && !p.Unknown {
			out = append(out, p)
		}
	}
	return out
}

// AdminConsentURLs returns the app-relative links (AuthHandler's admin
// consent endpoint, for this tenant) that ask an administrator to grant
// tenant-wide exactly the Missing permissions, one per resource (a consent
// covers one resource), and come back to returnURL; none when nothing is
// missing.
func (s *ConsentStatus) AdminConsentURLs(returnURL string) []string {
	var out []string
	var scopes []string
	missing := s.Missing()
	for i, p := range missing {
		scopes = append(scopes, p.Scope)
		if i == len(missing)-1 || missing[i+1].Resource != p.Resource {
			out = append(out, s.m.AdminConsentURL(returnURL, scopes...)+"&tenant="+url.QueryEscape(s.TenantID))
			scopes = nil
		}
	}
	return out
}

// ConsentStatus reads through Microsoft Graph, with the app's own token
// (AppToken), what tenantID has granted the app: for each delegated
// permission the routes declared, whether it is granted tenant-wide, to some
// users only, or not at all, and whether it needs an administrator. It makes
// one request for the app's grants (following Graph's paging) and one per
// resource. With Config.ConnectRoles it also says which of those
// application permissions the tenant granted (appRoleAssignments).
//
// The app needs the application permission ReadGrantsPermission
// (Directory.Read.All) in the tenant: without it Graph answers 403 and the
// error is a *ConsentStatusError (errors.Is ErrGrantsUnreadable) naming the
// permission; an app the tenant never admitted gets AppToken's
// *AppConsentError. Other failures wrap ErrUnavailable.
//
// Resources are found by application id: Graph and "api://{application id}"
// scopes; other identifier URIs are reported Unknown.
func (m *Middleware) ConsentStatus(ctx context.Context, tenantID string) (*ConsentStatus, error) {
	g, err := m.directory(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	st := &ConsentStatus{TenantID: tenantID, m: m}
	var grants []permissionGrant
	var roles []appRoleAssignment
	switch client, err := g.servicePrincipal(ctx, m.cfg.ClientID); {
	case errors.Is(err, errGraphNotFound): // not in the tenant: nothing granted
	case err != nil:
		return nil, err
	default:
		if grants, err = g.grants(ctx, client.ID); err == nil && len(m.cfg.ConnectRoles) > 0 {
			roles, err = g.roleAssignments(ctx, client.ID)
		}
		if err != nil {
			return nil, err
		}
	}
	if st.Roles, err = g.roleStatus(ctx, m.cfg.ConnectRoles, roles); err != nil {
		return nil, err
	}
	for _, res := range declaredByResource(m.routeScopes()) {
		ps, err := g.resourceStatus(ctx, res.appID, res.scopes, grants)
		if err != nil {
			return nil, err
		}
		st.Permissions = append(st.Permissions, ps...)
	}
	return st, nil
}

// declaredResource is one resource's declared scopes, canonical.
type declaredResource struct {
	appID  string
	scopes []string
}

// declaredByResource groups canonical scopes by resource application id, Graph first.
func declaredByResource(scopes []string) []declaredResource {
	var out []declaredResource
	for _, s := range scopes {
		appID := resourceAppID(scope.Resource(s))
		i := slices.IndexFunc(out, func(d declaredResource) bool { return d.appID == appID })
		if i < 0 {
			out, i = append(out, declaredResource{appID: appID}), len(out)
		}
		out[i].scopes = append(out[i].scopes, s)
	}
	order := func(d declaredResource) string { // Graph first
		if d.appID == GraphAppID {
			return ""
		}
		return d.appID
	}
	slices.SortFunc(out, func(a, b declaredResource) int { return strings.Compare(order(a), order(b)) })
	return out
}

// resourceAppID is the application id of a resource named by scope.Resource.
func resourceAppID(res string) string {
	if res == scope.GraphResource {
		return GraphAppID
	}
	return strings.TrimPrefix(res, "api://")
}

// resourceStatus is the status of one resource's declared scopes (canonical)
// against the client's grants.
func (g *graphDirectory) resourceStatus(ctx context.Context, appID string, scopes []string, grants []permissionGrant) ([]PermissionStatus, error) {
	// A resource not in the tenant, or named by an identifier URI other than
	// its application id (Graph answers 400 to an appId that is no GUID):
	// its scopes are Unknown.
	sp := &servicePrincipal{AppID: appID}
	if protocol.IsGUID(appID) {
		found, err := g.servicePrincipal(ctx, appID)
		if err != nil && !errors.Is(err, errGraphNotFound) {
			return nil, err
		}
		if err == nil {
			sp = found
		}
	}
	out := make([]PermissionStatus, 0, len(scopes))
	for _, c := range scopes {
		out = append(out, permissionStatus(sp, c, grants))
	}
	return out, nil
}

// permissionStatus is the status of the canonical scope c of resource sp.
func permissionStatus(sp *servicePrincipal, c string, grants []permissionGrant) PermissionStatus {
	value := c[strings.LastIndex(c, "/")+1:]
	p := PermissionStatus{Scope: c, Resource: sp.AppID, ResourceName: sp.DisplayName, Unknown: true}
	for _, s := range sp.Scopes {
		if strings.EqualFold(s.Value, value) {
			value, p.Unknown, p.AdminOnly, p.id = s.Value, false, s.Type == "Admin", s.ID
		}
	}
	switch {
	case p.Unknown: // c as declared, canonical
	case sp.AppID == GraphAppID:
		p.Scope = value
	default:
		p.Scope = "api://" + sp.AppID + "/" + value
	}
	for _, gr := range grants {
		if sp.ID == "" || gr.ResourceID != sp.ID || !slices.ContainsFunc(strings.Fields(gr.Scope), func(v string) bool { return strings.EqualFold(v, value) }) {
			continue
		}
		if gr.ConsentType == "AllPrincipals" {
			p.Consent = ConsentTenantWide
		} else if p.Consent == ConsentMissing || p.Consent == ConsentSomeUsers {
			p.Consent, p.Users = ConsentSomeUsers, append(p.Users, gr.PrincipalID)
		}
	}
	if p.Consent == ConsentTenantWide {
		p.Users = nil
	}
	slices.Sort(p.Users)
	return p
}

// roleStatus says which of the Graph application permissions want the
// assignments grant.
func (g *graphDirectory) roleStatus(ctx context.Context, want []string, assigned []appRoleAssignment) ([]RoleStatus, error) {
	if len(want) == 0 {
		return nil, nil
	}
	graph, err := g.servicePrincipal(ctx, GraphAppID)
	if err != nil {
		return nil, err
	}
	out := make([]RoleStatus, 0, len(want))
	for _, w := range want {
		rs := RoleStatus{Role: w}
		for _, r := range graph.AppRoles {
			if strings.EqualFold(r.Value, w) {
				rs.Granted = slices.ContainsFunc(assigned, func(a appRoleAssignment) bool {
					return a.ResourceID == graph.ID && strings.EqualFold(a.AppRoleID, r.ID)
				})
			}
		}
		out = append(out, rs)
	}
	return out, nil
}

// routeScopes returns every scope the routes declared (Require,
// RequireAdmin), canonical (scope.Canonical), sorted and unique.
func (m *Middleware) routeScopes() []string {
	m.routes.mu.Lock()
	defer m.routes.mu.Unlock()
	var out []string
	for key := range m.routes.ids {
		out = append(out, strings.Fields(key)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
