package entratest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// The emulator's delegated consent records are Graph's oAuth2PermissionGrant
// objects: one per client, resource and principal (or AllPrincipals), whose
// scope lists the granted permissions space-separated
// (https://learn.microsoft.com/graph/api/resources/oauth2permissiongrant).
// A grant made on the consent page is listed here, and one created or
// deleted through the API changes what the consent page asks.

// grantID is an oAuth2PermissionGrant's id as Graph spells it: the client's
// and the resource's service principal ids (and the user's id for a
// Principal grant), as bytes in Microsoft's GUID byte order, base64url
// encoded (https://learn.microsoft.com/graph/api/oauth2permissiongrant-list
// shows a 43-character AllPrincipals id that decodes so).
func grantID(k grantKey) string {
	b := append(guidBytes(spObjectID(k.tenant, k.client)), guidBytes(spObjectID(k.tenant, k.resource))...)
	if k.principal != "" {
		b = append(b, guidBytes(k.principal)...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// grantJSON is one grant in Graph's shape. Caller holds s.mu.
func grantJSON(k grantKey, scopes []string) map[string]any {
	consent, principal := "AllPrincipals", any(nil)
	if k.principal != "" {
		consent, principal = "Principal", k.principal
	}
	return map[string]any{"id": grantID(k), "clientId": spObjectID(k.tenant, k.client), "consentType": consent,
		"principalId": principal, "resourceId": spObjectID(k.tenant, k.resource), "scope": strings.Join(scopes, " ")}
}

// grantsJSON lists a tenant's grants that match every filter (a property
// name of oAuth2PermissionGrant to its value), sorted by id. Caller holds s.mu.
func (s *Server) grantsJSON(tenantID string, filter map[string]string) []map[string]any {
	tid := strings.ToLower(tenantID)
	out := []map[string]any{}
	for k, v := range s.st.grants {
		if k.tenant != tid || len(v) == 0 {
			continue
		}
		g := grantJSON(k, v)
		if matches(g, filter) {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	return out
}

func matches(obj map[string]any, filter map[string]string) bool {
	for prop, want := range filter {
		got, _ := obj[prop].(string)
		if !strings.EqualFold(got, want) {
			return false
		}
	}
	return true
}

// grantKeyOf finds the grant with Graph id in a tenant. Caller holds s.mu.
func (s *Server) grantKeyOf(tenantID, id string) (grantKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || (len(b) != 32 && len(b) != 48) {
		return grantKey{}, false
	}
	tid := strings.ToLower(tenantID)
	client, ok1 := s.spAppID(tid, guidString(b[0:16]))
	res, ok2 := s.spAppID(tid, guidString(b[16:32]))
	k := grantKey{tenant: tid, client: client, resource: res}
	if len(b) == 48 {
		k.principal = guidString(b[32:48])
	}
	if !ok1 || !ok2 || len(s.st.grants[k]) == 0 {
		return grantKey{}, false
	}
	return k, true
}

// grantRequest is the body of POST /oauth2PermissionGrants
// (https://learn.microsoft.com/graph/api/oauth2permissiongrant-post).
type grantRequest struct {
	ClientID    string  `json:"clientId"`
	ConsentType string  `json:"consentType"`
	PrincipalID *string `json:"principalId"`
	ResourceID  string  `json:"resourceId"`
	Scope       string  `json:"scope"`
}

// createGrant serves POST /oauth2PermissionGrants: 201 with the new grant.
// Messages for a bad body are guessed (Graph documents the 400, not its text);
// a grant that already exists for the client, resource and principal is
// refused with 409, as Graph does (to extend one, PATCH its scope).
func (s *Server) createGrant(w http.ResponseWriter, r *http.Request, c *graphCaller) {
	var req grantRequest
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return
	}
	s.mu.Lock()
	k, msg := s.newGrantKey(c.TenantID, req)
	exists := msg == "" && len(s.st.grants[k]) > 0
	if msg == "" && !exists {
		s.st.grants[k] = s.grantScopes(k.resource, req.Scope)
	}
	g := grantJSON(k, s.st.grants[k])
	s.mu.Unlock()
	switch {
	case msg != "":
		s.graphError(w, r, http.StatusBadRequest, "Request_BadRequest", msg)
	case exists:
		s.graphError(w, r, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
	default:
		g["@odata.context"] = s.GraphURL() + "/$metadata#oauth2PermissionGrants/$entity"
		writeJSON(w, http.StatusCreated, g)
	}
}

// newGrantKey checks a grant request against the tenant's directory.
// Caller holds s.mu.
func (s *Server) newGrantKey(tenantID string, req grantRequest) (grantKey, string) {
	tid := strings.ToLower(tenantID)
	client, ok := s.spAppID(tid, req.ClientID)
	if !ok {
		return grantKey{}, "Invalid value specified for property 'clientId' of resource 'OAuth2PermissionGrant'."
	}
	res, ok := s.spAppID(tid, req.ResourceID)
	if !ok {
		return grantKey{}, "Invalid value specified for property 'resourceId' of resource 'OAuth2PermissionGrant'."
	}
	k := grantKey{tenant: tid, client: client, resource: res}
	switch req.ConsentType {
	case "AllPrincipals":
		if req.PrincipalID != nil && *req.PrincipalID != "" {
			return grantKey{}, "Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'."
		}
	case "Principal":
		u := (*User)(nil)
		if req.PrincipalID != nil {
			u = s.user(*req.PrincipalID)
		}
		if u == nil || !strings.EqualFold(u.TenantID, tid) {
			return grantKey{}, "Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'."
		}
		k.principal = strings.ToLower(u.ObjectID)
	default:
		return grantKey{}, "Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'."
	}
	return k, ""
}

// grantScopes keeps the values of scope that resource exposes, sorted, as
// the emulator's consent records hold them. Caller holds s.mu.
func (s *Server) grantScopes(resourceID, scope string) []string {
	r := s.lookupResource(resourceID)
	var out []string
	if r == nil {
		return nil
	}
	for _, v := range strings.Fields(scope) {
		if p, ok := r.scope(v); ok {
			out = appendUnique(out, p.Value)
		}
	}
	slices.Sort(out)
	return out
}

// deleteGrant serves DELETE /oauth2PermissionGrants/{id}: 204, or 404 with
// Request_ResourceNotFound for an unknown id
// (https://learn.microsoft.com/graph/api/oauth2permissiongrant-delete).
func (s *Server) deleteGrant(w http.ResponseWriter, r *http.Request, c *graphCaller, id string) {
	s.mu.Lock()
	k, ok := s.grantKeyOf(c.TenantID, id)
	if ok {
		delete(s.st.grants, k)
	}
	s.mu.Unlock()
	if !ok {
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
