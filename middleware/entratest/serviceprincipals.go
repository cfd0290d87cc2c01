package entratest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Service principals are the tenant's copies of applications: the client's,
// and each resource's (Microsoft Graph has one in every tenant). Consent
// records refer to them by object id, never by application id
// (https://learn.microsoft.com/graph/api/resources/serviceprincipal).

// spObjectID is the object id of appID's service principal in a tenant: a
// GUID derived from both, so the same tenant and app always get the same id.
func spObjectID(tenantID, appID string) string {
	h := sha256.Sum256([]byte("sp\x00" + strings.ToLower(tenantID) + "\x00" + strings.ToLower(appID)))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// ServicePrincipalID returns the object id of appID's service principal in a
// tenant (Microsoft Graph's for GraphAppID), as Graph's servicePrincipal id,
// oAuth2PermissionGrant clientId and resourceId carry it; "" when the app
// has none there. It does not create one.
func (s *Server) ServicePrincipalID(tenantID, appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasSP(tenantID, appID) {
		return ""
	}
	return spObjectID(tenantID, s.canonicalAppID(appID))
}

// hasSP reports whether appID has a service principal in the tenant. Caller holds s.mu.
func (s *Server) hasSP(tenantID, appID string) bool {
	if strings.EqualFold(appID, GraphAppID) {
		return s.tenant(tenantID) != nil
	}
	return s.st.sps[spKey{strings.ToLower(tenantID), s.canonicalAppID(appID)}]
}

// canonicalAppID spells a registered app's id as registered. Caller holds s.mu.
func (s *Server) canonicalAppID(appID string) string {
	if strings.EqualFold(appID, GraphAppID) {
		return GraphAppID
	}
	if a := s.app(appID); a != nil {
		return a.ClientID
	}
	return appID
}

// spAppID finds the application id of the service principal with object id
// in a tenant. Caller holds s.mu.
func (s *Server) spAppID(tenantID, objectID string) (string, bool) {
	tid := strings.ToLower(tenantID)
	if strings.EqualFold(objectID, spObjectID(tid, GraphAppID)) {
		return GraphAppID, true
	}
	for k := range s.st.sps {
		if k.tenant == tid && strings.EqualFold(objectID, spObjectID(tid, k.client)) {
			return k.client, true
		}
	}
	return "", false
}

// servicePrincipalJSON is Graph's servicePrincipal resource with the
// properties consent tools read: its delegated permissions
// (oauth2PermissionScopes, whose type is "Admin" or "User") and application
// permissions (appRoles)
// (https://learn.microsoft.com/graph/api/resources/serviceprincipal,
// https://learn.microsoft.com/graph/api/resources/permissionscope,
// https://learn.microsoft.com/graph/api/resources/approle). Caller holds s.mu.
func (s *Server) servicePrincipalJSON(tenantID, appID string) map[string]any {
	r := s.lookupResource(appID)
	name, owner, names := "", "", []string{appID}
	scopes, roles := []map[string]any{}, []map[string]any{}
	if r != nil {
		name, names = r.Name, append(names, r.URI)
		for _, p := range r.Scopes.list {
			scopes = append(scopes, permissionScopeJSON(p))
		}
		for _, p := range r.Roles.list {
			roles = append(roles, appRoleJSON(p))
		}
	}
	if a := s.app(appID); a != nil {
		name, owner = a.DisplayName, a.HomeTenantID
	} else if appID == GraphAppID {
		owner = "f8cdef31-a31e-4b4a-93e4-5f571e91255a" // Microsoft Services' tenant
	}
	return map[string]any{
		"id": spObjectID(tenantID, appID), "appId": appID, "displayName": name, "appDisplayName": name,
		"accountEnabled": true, "servicePrincipalType": "Application", "appOwnerOrganizationId": owner,
		"servicePrincipalNames": names, "oauth2PermissionScopes": scopes, "appRoles": roles,
	}
}

func permissionScopeJSON(p Permission) map[string]any {
	typ := "User"
	if p.AdminOnly {
		typ = "Admin"
	}
	return map[string]any{"id": p.ID, "value": p.Value, "type": typ, "isEnabled": true,
		"adminConsentDisplayName": p.Description, "adminConsentDescription": p.Description,
		"userConsentDisplayName": p.Description, "userConsentDescription": p.Description}
}

func appRoleJSON(p Permission) map[string]any {
	return map[string]any{"id": p.ID, "value": p.Value, "isEnabled": true, "origin": "Application",
		"allowedMemberTypes": []string{"Application"}, "displayName": p.Description, "description": p.Description}
}

// appRoleAssignmentsJSON lists the application permissions granted to the
// service principal of clientID in a tenant as Graph's appRoleAssignment
// objects (https://learn.microsoft.com/graph/api/resources/approleassignment).
// Caller holds s.mu.
func (s *Server) appRoleAssignmentsJSON(tenantID, clientID string) []map[string]any {
	tid := strings.ToLower(tenantID)
	out := []map[string]any{}
	for k, values := range s.st.roles {
		r := s.lookupResource(k.resource)
		if k.tenant != tid || k.client != clientID || r == nil {
			continue
		}
		for _, v := range values {
			p, _ := r.role(v)
			out = append(out, map[string]any{
				"id": assignmentID(spObjectID(tid, clientID), p.ID), "appRoleId": p.ID, "deletedDateTime": nil,
				"principalId": spObjectID(tid, clientID), "principalType": "ServicePrincipal",
				"principalDisplayName": s.displayName(clientID), "resourceId": spObjectID(tid, r.ID),
				"resourceDisplayName": r.Name,
			})
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	return out
}

// displayName is an app's display name. Caller holds s.mu.
func (s *Server) displayName(appID string) string {
	if a := s.app(appID); a != nil {
		return a.DisplayName
	}
	return appID
}

// assignmentID is an appRoleAssignment's id: the principal's object id and
// the role id, as bytes, base64url encoded (Graph's ids are opaque).
func assignmentID(principal, roleID string) string {
	return base64.RawURLEncoding.EncodeToString(append(guidBytes(principal), guidBytes(roleID)...))
}

// guidBytes is a GUID in Microsoft's byte order (the first three groups
// little-endian), as Graph's grant ids encode them; nil when id is no GUID.
func guidBytes(id string) []byte {
	var g [16]byte
	var a uint32
	var b, c uint16
	var rest [8]byte
	n, err := fmt.Sscanf(id, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", &a, &b, &c,
		&rest[0], &rest[1], &rest[2], &rest[3], &rest[4], &rest[5], &rest[6], &rest[7])
	if err != nil || n != 11 || len(id) != 36 {
		return nil
	}
	binary.LittleEndian.PutUint32(g[0:4], a)
	binary.LittleEndian.PutUint16(g[4:6], b)
	binary.LittleEndian.PutUint16(g[6:8], c)
	copy(g[8:], rest[:])
	return g[:]
}

// guidString is the inverse of guidBytes for 16 bytes.
func guidString(g []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(g[0:4]),
		binary.LittleEndian.Uint16(g[4:6]), binary.LittleEndian.Uint16(g[6:8]), g[8:10], g[10:16])
}

// applicationJSON is Graph's application resource (the registration, in its
// home tenant) with its requiredResourceAccess: the statically required
// permissions, by resource app id, as {id, type: "Scope"|"Role"}
// (https://learn.microsoft.com/graph/api/resources/application,
// https://learn.microsoft.com/graph/api/resources/requiredresourceaccess).
// Caller holds s.mu.
func (s *Server) applicationJSON(a *App) map[string]any {
	access := map[string][]map[string]string{}
	var order []string
	add := func(res, id, typ string) {
		if _, ok := access[res]; !ok {
			order = append(order, res)
		}
		access[res] = append(access[res], map[string]string{"id": id, "type": typ})
	}
	for _, raw := range a.RequiredScopes {
		if ref, e := s.parseScope(raw); e == nil && !ref.OIDC && ref.Value != ".default" {
			p, _ := s.lookupResource(ref.Resource).scope(ref.Value)
			add(ref.Resource, p.ID, "Scope")
		}
	}
	for _, v := range a.RequiredRoles {
		if p, ok := graphResource.role(v); ok {
			add(GraphAppID, p.ID, "Role")
		}
	}
	rra := []map[string]any{}
	for _, res := range order {
		rra = append(rra, map[string]any{"resourceAppId": res, "resourceAccess": access[res]})
	}
	return map[string]any{"id": spObjectID(a.HomeTenantID, "app\x00"+a.ClientID), "appId": a.ClientID,
		"displayName": a.DisplayName, "requiredResourceAccess": rra,
		"signInAudience": map[bool]string{true: "AzureADMultipleOrgs", false: "AzureADMyOrg"}[a.MultiTenant]}
}
