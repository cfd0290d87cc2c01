package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The middleware reads a tenant's consent records through Microsoft Graph
// with the app's own (app-only) token: service principals, delegated
// permission grants and the app registration. One application permission
// covers every read: Directory.Read.All
// (https://learn.microsoft.com/graph/api/serviceprincipal-list-oauth2permissiongrants,
// https://learn.microsoft.com/graph/api/serviceprincipal-get,
// https://learn.microsoft.com/graph/api/application-get).

// ReadGrantsPermission is the Microsoft Graph application permission
// ConsentStatus and UnlistedScopes need in the tenant they read: the least
// privileged one Graph documents for listing delegated permission grants.
const ReadGrantsPermission = "Directory.Read.All"

// DefaultGraphURL is Microsoft Graph's base URL, Config.GraphURL's default.
const DefaultGraphURL = "https://graph.microsoft.com"

// maxGraphPages bounds how many pages one collection read follows.
const maxGraphPages = 1000

// ErrGrantsUnreadable: Graph refused to show the app a tenant's consent
// records because the app lacks ReadGrantsPermission there; the error is a
// *ConsentStatusError.
var ErrGrantsUnreadable = errors.New("middleware: the app may not read the tenant's consent grants")

// ConsentStatusError says that Graph refused to show a tenant's consent
// records, and which application permission the tenant must grant the app.
// errors.Is(err, ErrGrantsUnreadable) holds.
type ConsentStatusError struct {
	TenantID string
	// Permission is the Microsoft Graph application permission to grant:
	// ReadGrantsPermission.
	Permission string
	// Code and Message are Graph's error, e.g. "Authorization_RequestDenied".
	Code, Message string
}

// Error says which tenant must grant which application permission.
func (e *ConsentStatusError) Error() string {
	return fmt.Sprintf("middleware: Graph refused to show tenant %s's consent records (%s): an administrator of the tenant must grant the app the Microsoft Graph application permission %s (list it in the app registration and grant admin consent)",
		e.TenantID, e.Code, e.Permission)
}

// Unwrap returns ErrGrantsUnreadable.
func (e *ConsentStatusError) Unwrap() error { return ErrGrantsUnreadable }

// graphDirectory reads one tenant's directory through Graph with an app-only token.
type graphDirectory struct {
	m      *Middleware
	tenant string
	base   string // Graph's base URL with /v1.0
	token  string
	client *http.Client
}

// directory gets an app-only Graph token for tenantID.
func (m *Middleware) directory(ctx context.Context, tenantID string) (*graphDirectory, error) {
	tok, err := m.AppToken(ctx, tenantID, "")
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(m.cfg.GraphURL, "/")
	if base == "" {
		base = DefaultGraphURL
	}
	c := m.cfg.HTTPClient
	if c == nil {
		c = http.DefaultClient
	}
	return &graphDirectory{m: m, tenant: tenantID, base: base + "/v1.0", token: tok.AccessToken, client: c}, nil
}

// graphError is Graph's error JSON (https://learn.microsoft.com/graph/errors).
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errGraphNotFound is Graph's 404: the object does not exist in the tenant.
var errGraphNotFound = errors.New("middleware: Graph: not found")

// get reads the Graph URL u (absolute, on Graph's origin) into v.
func (g *graphDirectory) get(ctx context.Context, u string, v any) error {
	if !strings.HasPrefix(u, g.base+"/") {
		return fmt.Errorf("%w: Graph sent a link off its own origin: %q", ErrUnavailable, u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: Graph request: %w", ErrInvalidRequest, err)
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: Graph: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 16<<20)
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(body).Decode(v); err != nil {
			return fmt.Errorf("%w: Graph answered JSON the middleware cannot read: %w", ErrUnavailable, err)
		}
		return nil
	}
	return g.failed(ctx, resp.StatusCode, body)
}

// failed turns a Graph error answer into the middleware's error: 403 is a
// missing permission (*ConsentStatusError), anything else but 404 wraps
// ErrUnavailable. A 401 or 403 also drops the cached app token, so that the
// next call gets a new one, with a permission granted since.
func (g *graphDirectory) failed(ctx context.Context, status int, body io.Reader) error {
	var ge graphError
	_ = json.NewDecoder(body).Decode(&ge)
	if status == http.StatusNotFound {
		return errGraphNotFound
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		if err := g.m.cache.Remove(ctx, g.m.appPartition(g.tenant)); err != nil {
			g.m.log.WarnContext(ctx, "middleware: drop cached app token", "tenant", g.tenant, "err", err)
		}
	}
	if status == http.StatusForbidden {
		return &ConsentStatusError{TenantID: g.tenant, Permission: ReadGrantsPermission, Code: ge.Error.Code, Message: ge.Error.Message}
	}
	return fmt.Errorf("%w: Graph answered %d %s: %s", ErrUnavailable, status, ge.Error.Code, ge.Error.Message)
}

// list reads every page of the Graph collection at path (relative to
// /v1.0), following @odata.nextLink (https://learn.microsoft.com/graph/paging).
func list[T any](ctx context.Context, g *graphDirectory, path string) ([]T, error) {
	var out []T
	next := g.base + path
	for range maxGraphPages {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := g.get(ctx, next, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		if next = page.NextLink; next == "" {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: Graph's collection %s has more than %d pages", ErrUnavailable, path, maxGraphPages)
}

// servicePrincipal is the part of Graph's servicePrincipal the middleware reads.
type servicePrincipal struct {
	ID          string `json:"id"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	Scopes      []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
		Type  string `json:"type"` // "Admin" or "User"
	} `json:"oauth2PermissionScopes"`
	AppRoles []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	} `json:"appRoles"`
}

// servicePrincipal reads the service principal of appID in the tenant;
// errGraphNotFound when there is none.
func (g *graphDirectory) servicePrincipal(ctx context.Context, appID string) (*servicePrincipal, error) {
	var sp servicePrincipal
	if err := g.get(ctx, g.base+"/servicePrincipals(appId='"+url.PathEscape(appID)+"')", &sp); err != nil {
		return nil, err
	}
	return &sp, nil
}

// permissionGrant is Graph's oAuth2PermissionGrant
// (https://learn.microsoft.com/graph/api/resources/oauth2permissiongrant).
type permissionGrant struct {
	ConsentType string `json:"consentType"` // "AllPrincipals" or "Principal"
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"` // space-separated
}

// grants lists the delegated permission grants of the client service
// principal clientSP.
func (g *graphDirectory) grants(ctx context.Context, clientSP string) ([]permissionGrant, error) {
	return list[permissionGrant](ctx, g, "/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+clientSP+"'"))
}

// appRoleAssignment is Graph's appRoleAssignment: an application permission
// granted to a service principal
// (https://learn.microsoft.com/graph/api/resources/approleassignment).
type appRoleAssignment struct {
	AppRoleID  string `json:"appRoleId"`
	ResourceID string `json:"resourceId"`
}

// roleAssignments lists the application permissions granted to the service
// principal sp (https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments).
func (g *graphDirectory) roleAssignments(ctx context.Context, sp string) ([]appRoleAssignment, error) {
	return list[appRoleAssignment](ctx, g, "/servicePrincipals/"+url.PathEscape(sp)+"/appRoleAssignments")
}
