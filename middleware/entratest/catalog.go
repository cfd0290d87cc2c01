package entratest

import (
	_ "embed"
	"slices"
	"strings"
)

// GraphAppID is the application id of Microsoft Graph, the aud of Graph access tokens.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// graphURI is Microsoft Graph's identifier URI, the prefix of its long scope names.
const graphURI = "https://graph.microsoft.com"

// graphPermissionsTSV is Microsoft Graph's published permission list:
// every delegated permission (with whether it needs an admin) and every
// application permission, with ids and display names
// (https://learn.microsoft.com/graph/permissions-reference).
//
//go:embed graph_permissions.tsv
var graphPermissionsTSV string

// graphScopes and graphRoles are the Graph catalog, loaded once.
var graphScopes, graphRoles = loadGraphPermissions(graphPermissionsTSV)

// loadGraphPermissions parses the catalog: "#" comment lines, then
// kind, id, value, admin (1 or 0) and display name, tab separated.
func loadGraphPermissions(tsv string) (scopes, roles *catalog) {
	scopes, roles = newCatalog(), newCatalog()
	for _, line := range strings.Split(tsv, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 5 || strings.HasPrefix(line, "#") {
			continue
		}
		p := Permission{ID: f[1], Value: f[2], AdminOnly: f[3] == "1", Description: f[4]}
		if f[0] == "application" {
			roles.add(p)
		} else {
			scopes.add(p)
		}
	}
	return scopes, roles
}

// catalog is a resource's permissions, found by value in O(1).
type catalog struct {
	list  []Permission
	index map[string]int // lower-case value -> position in list
}

func newCatalog(ps ...Permission) *catalog {
	c := &catalog{index: map[string]int{}}
	for _, p := range ps {
		c.add(p)
	}
	return c
}

func (c *catalog) add(p Permission) {
	c.index[strings.ToLower(p.Value)] = len(c.list)
	c.list = append(c.list, p)
}

func (c *catalog) find(v string) (Permission, bool) {
	i, ok := c.index[strings.ToLower(v)]
	if !ok {
		return Permission{}, false
	}
	return c.list[i], true
}

// oidcScopes are the OpenID Connect scopes. The emulator treats them as always
// granted (Entra lists them on consent pages as "Sign you in" and "Maintain
// access"; we do not model their consent: a simplification).
var oidcScopes = map[string]string{
	"openid": "openid", "profile": "profile", "email": "email", "offline_access": "offline_access",
}

// resource is an API that scopes are requested for: Graph or an app exposing scopes.
type resource struct {
	ID     string // application id, the token's aud
	URI    string // identifier URI prefix for long scope names
	Name   string
	Scopes *catalog
	Roles  *catalog
}

func (r *resource) scope(v string) (Permission, bool) { return r.Scopes.find(v) }

func (r *resource) role(v string) (Permission, bool) { return r.Roles.find(v) }

// graphResource is Microsoft Graph as a resource.
var graphResource = &resource{ID: GraphAppID, URI: graphURI, Name: "Microsoft Graph", Scopes: graphScopes, Roles: graphRoles}

// scopeRef is one parsed entry of a scope parameter.
type scopeRef struct {
	Raw      string // as requested
	OIDC     bool   // openid, profile, email, offline_access
	Resource string // resource app id, "" for OIDC scopes
	Value    string // canonical short value, or ".default"
	Long     bool   // requested with the resource prefix
}

// lookupResource returns the resource with the given app id or identifier URI.
// Caller holds s.mu.
func (s *Server) lookupResource(id string) *resource {
	id = strings.TrimSuffix(id, "/")
	if strings.EqualFold(id, GraphAppID) || strings.EqualFold(id, graphURI) {
		return graphResource
	}
	cid := strings.TrimPrefix(strings.ToLower(id), "api://")
	a := s.app(cid)
	if a == nil {
		return nil
	}
	return &resource{ID: a.ClientID, URI: "api://" + a.ClientID, Name: a.DisplayName, Scopes: newCatalog(a.ExposedScopes...), Roles: newCatalog()}
}

// parseScope resolves one requested scope. Caller holds s.mu.
func (s *Server) parseScope(raw string) (scopeRef, *entraError) {
	if v, ok := oidcScopes[strings.ToLower(raw)]; ok {
		return scopeRef{Raw: raw, OIDC: true, Value: v}, nil
	}
	res, value, long := graphURI, raw, false
	if i := strings.LastIndex(raw, "/"); i >= 0 {
		res, value, long = raw[:i], raw[i+1:], true
	}
	if value == "" || len(raw) > 512 {
		return scopeRef{}, errInvalidScope(raw)
	}
	r := s.lookupResource(res)
	if r == nil {
		return scopeRef{}, errResourceNotFound(res)
	}
	ref := scopeRef{Raw: raw, Resource: r.ID, Value: ".default", Long: long}
	if value == ".default" {
		return ref, nil
	}
	p, ok := r.scope(value)
	if !ok {
		return scopeRef{}, errScopeNotOnResource(raw, r)
	}
	ref.Value = p.Value
	return ref, nil
}

// parseScopes splits a space-separated scope parameter.
func (s *Server) parseScopes(param string) ([]scopeRef, *entraError) {
	fields := strings.Fields(param)
	if len(fields) == 0 {
		return nil, errMissingParam("scope")
	}
	if len(fields) > 64 {
		return nil, errInvalidScope(param)
	}
	out := make([]scopeRef, 0, len(fields))
	for _, f := range fields {
		ref, e := s.parseScope(f)
		if e != nil {
			return nil, e
		}
		out = append(out, ref)
	}
	return out, nil
}

// resourcesOf returns the distinct resources of the non-OIDC refs, in order.
func resourcesOf(refs []scopeRef) []string {
	var out []string
	for _, r := range refs {
		if !r.OIDC && !slices.Contains(out, r.Resource) {
			out = append(out, r.Resource)
		}
	}
	return out
}

// hasOIDC reports whether refs contain the given OIDC scope.
func hasOIDC(refs []scopeRef, v string) bool {
	return slices.ContainsFunc(refs, func(r scopeRef) bool { return r.OIDC && r.Value == v })
}

// requiredFor returns the app's statically required scopes for one resource.
// Caller holds s.mu.
func (s *Server) requiredFor(a *App, resourceID string) []string {
	var out []string
	for _, raw := range a.RequiredScopes {
		ref, e := s.parseScope(raw)
		if e == nil && !ref.OIDC && ref.Resource == resourceID && ref.Value != ".default" {
			out = appendUnique(out, ref.Value)
		}
	}
	return out
}

// wanted expands refs for one resource into concrete scope values: .default
// becomes the app's statically required scopes for that resource.
// Caller holds s.mu.
func (s *Server) wanted(a *App, refs []scopeRef, resourceID string) []string {
	var out []string
	for _, r := range refs {
		if r.OIDC || r.Resource != resourceID {
			continue
		}
		if r.Value == ".default" {
			out = appendUnique(out, s.requiredFor(a, resourceID)...)
			continue
		}
		out = appendUnique(out, r.Value)
	}
	return out
}

func appendUnique(dst []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.ContainsFunc(dst, func(d string) bool { return strings.EqualFold(d, v) }) {
			dst = append(dst, v)
		}
	}
	return dst
}
