package entratest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Graph's directory routes the emulator serves, with the application (or
// delegated) permissions Graph documents for each; a token without one gets
// 403 Authorization_RequestDenied:
//   - GET /servicePrincipals(appId='{appId}') and /servicePrincipals/{id}
//     (https://learn.microsoft.com/graph/api/serviceprincipal-get);
//   - GET .../oauth2PermissionGrants of a service principal
//     (https://learn.microsoft.com/graph/api/serviceprincipal-list-oauth2permissiongrants)
//     and GET /oauth2PermissionGrants?$filter=clientId eq '{id}'
//     (https://learn.microsoft.com/graph/api/oauth2permissiongrant-list):
//     Directory.Read.All, DelegatedPermissionGrant.ReadWrite.All, Directory.ReadWrite.All;
//   - GET .../appRoleAssignments of a service principal
//     (https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments);
//   - POST /oauth2PermissionGrants and DELETE /oauth2PermissionGrants/{id}
//     (https://learn.microsoft.com/graph/api/oauth2permissiongrant-post):
//     DelegatedPermissionGrant.ReadWrite.All, Directory.ReadWrite.All;
//   - GET /applications(appId='{appId}') in the app's home tenant
//     (https://learn.microsoft.com/graph/api/application-get).
var (
	needReadApps    = graphNeed{Scopes: appReaders, Roles: appReaders}
	needReadGrants  = graphNeed{Scopes: grantReaders, Roles: grantReaders}
	needWriteGrants = graphNeed{Scopes: grantWriters, Roles: grantWriters}
	appReaders      = []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"}
	grantReaders    = []string{"Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"}
	grantWriters    = []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"}
)

// directoryRoutes are the directory routes by method, lower-case entity
// set, key and navigation property.
var directoryRoutes = map[string]graphNeed{
	"GET serviceprincipals/{key}": needReadApps, "GET applications/{key}": needReadApps,
	"GET serviceprincipals/{key}/approleassignments":     needReadApps,
	"GET serviceprincipals/{key}/oauth2permissiongrants": needReadGrants,
	"GET oauth2permissiongrants":                         needReadGrants,
	"POST oauth2permissiongrants":                        needWriteGrants,
	"DELETE oauth2permissiongrants/{key}":                needWriteGrants,
}

// spSegment matches a service principal addressed by application id.
var spSegment = regexp.MustCompile(`^(?i)(servicePrincipals|applications)\(appId='([^']*)'\)$`)

// dirTarget is a parsed directory path: the entity set, the object's key
// (an application id when byAppID), and the navigation property after it.
type dirTarget struct {
	set, key, nav string
	byAppID       bool
}

// parseDirPath parses the path after /v1.0/; ok is false for other routes.
func parseDirPath(p string) (dirTarget, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var t dirTarget
	if m := spSegment.FindStringSubmatch(segs[0]); m != nil {
		t.set, t.key, t.byAppID, segs = strings.ToLower(m[1]), m[2], true, segs[1:]
	} else if len(segs) >= 2 && (strings.EqualFold(segs[0], "servicePrincipals") || strings.EqualFold(segs[0], "oauth2PermissionGrants")) {
		t.set, t.key, segs = strings.ToLower(segs[0]), segs[1], segs[2:]
	} else if len(segs) == 1 && strings.EqualFold(segs[0], "oauth2PermissionGrants") {
		return dirTarget{set: "oauth2permissiongrants"}, true
	} else {
		return dirTarget{}, false
	}
	if len(segs) > 1 || t.set == "oauth2permissiongrants" && len(segs) > 0 || t.set == "applications" && len(segs) > 0 {
		return dirTarget{}, false
	}
	if len(segs) == 1 {
		t.nav = strings.ToLower(segs[0])
	}
	return t, true
}

// serveDirectory answers the directory routes and reports whether path was one.
func (s *Server) serveDirectory(w http.ResponseWriter, r *http.Request, c *graphCaller, path string) bool {
	t, ok := parseDirPath(path)
	if !ok {
		return false
	}
	route := r.Method + " " + t.set
	if t.key != "" {
		route += "/{key}"
	}
	if t.nav != "" {
		route += "/" + t.nav
	}
	need, ok := directoryRoutes[route]
	switch {
	case !ok:
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '"+path+"'.")
	case (!c.allowed(need) || c.User != nil && !c.User.Admin) && !ownObject(r, c, t):
		s.graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	default:
		s.serveDirectoryRoute(w, r, c, t)
	}
	return true
}

// ownObject reports whether an app-only caller reads its own service
// principal or application, which it may without any permission
// (https://learn.microsoft.com/graph/api/serviceprincipal-get,
// https://learn.microsoft.com/graph/api/application-get).
func ownObject(r *http.Request, c *graphCaller, t dirTarget) bool {
	if c.User != nil || r.Method != http.MethodGet || t.nav != "" {
		return false
	}
	if t.byAppID {
		return strings.EqualFold(t.key, c.AppID)
	}
	return t.set == "serviceprincipals" && strings.EqualFold(t.key, spObjectID(c.TenantID, c.AppID))
}

// serveDirectoryRoute serves an authorized directory request.
func (s *Server) serveDirectoryRoute(w http.ResponseWriter, r *http.Request, c *graphCaller, t dirTarget) {
	switch {
	case t.set != "oauth2permissiongrants" && t.byAppID && !isGUID(t.key):
		s.graphError(w, r, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for object reference property 'appId'. Please ensure that this value has an appropriate syntax and length.")
	case t.set != "oauth2permissiongrants" && !isGUID(t.key):
		s.graphError(w, r, http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '"+t.key+"'.")
	case t.set == "oauth2permissiongrants" && r.Method == http.MethodPost:
		s.createGrant(w, r, c)
	case t.set == "oauth2permissiongrants" && r.Method == http.MethodDelete:
		s.deleteGrant(w, r, c, t.key)
	case t.set == "oauth2permissiongrants":
		filter, ok := parseFilter(r.URL.Query().Get("$filter"))
		if !ok {
			s.graphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property of resource 'OAuth2PermissionGrant'.")
			return
		}
		s.mu.Lock()
		list := s.grantsJSON(c.TenantID, filter)
		s.mu.Unlock()
		s.writePage(w, r, "oauth2PermissionGrants", list)
	case t.set == "applications":
		s.serveApplication(w, r, c, t.key)
	default:
		s.serveServicePrincipal(w, r, c, t)
	}
}

// isGUID reports whether key is a GUID: Graph answers 400 Request_BadRequest,
// not 404, to a service principal or application addressed by anything else
// (the message for an appId as quoted in
// https://github.com/microsoftgraph/msgraph-sdk-python/issues/408).
func isGUID(key string) bool {
	return len(key) == 36 && isGUIDish(key) && key[8] == '-' && key[13] == '-' && key[18] == '-' && key[23] == '-'
}

// serveServicePrincipal serves a service principal and its grants and assignments.
func (s *Server) serveServicePrincipal(w http.ResponseWriter, r *http.Request, c *graphCaller, t dirTarget) {
	s.mu.Lock()
	appID, ok := t.key, false
	if t.byAppID {
		appID, ok = s.canonicalAppID(t.key), s.hasSP(c.TenantID, t.key)
	} else {
		appID, ok = s.spAppID(c.TenantID, t.key)
	}
	var body any
	switch {
	case !ok:
	case t.nav == "":
		body = s.servicePrincipalJSON(c.TenantID, appID)
	case t.nav == "oauth2permissiongrants":
		body = s.grantsJSON(c.TenantID, map[string]string{"clientId": spObjectID(c.TenantID, appID)})
	default:
		body = s.appRoleAssignmentsJSON(c.TenantID, appID)
	}
	s.mu.Unlock()
	switch list, isList := body.([]map[string]any); {
	case !ok:
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+t.key+"' does not exist or one of its queried reference-property objects are not present.")
	case isList && t.nav == "oauth2permissiongrants":
		s.writePage(w, r, "oauth2PermissionGrants", list)
	case isList:
		s.writePage(w, r, "servicePrincipals('"+spObjectID(c.TenantID, appID)+"')/appRoleAssignments", list)
	default:
		sp := body.(map[string]any)
		sp["@odata.context"] = s.GraphURL() + "/$metadata#servicePrincipals/$entity"
		writeJSON(w, http.StatusOK, sp)
	}
}

// serveApplication serves an app registration, found only in its home tenant.
func (s *Server) serveApplication(w http.ResponseWriter, r *http.Request, c *graphCaller, appID string) {
	s.mu.Lock()
	a := s.app(appID)
	var body map[string]any
	if a != nil && strings.EqualFold(a.HomeTenantID, c.TenantID) {
		body = s.applicationJSON(a)
	}
	s.mu.Unlock()
	if body == nil {
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+appID+"' does not exist or one of its queried reference-property objects are not present.")
		return
	}
	body["@odata.context"] = s.GraphURL() + "/$metadata#applications/$entity"
	writeJSON(w, http.StatusOK, body)
}

// filterClause matches one "property eq 'value'" clause of $filter.
var filterClause = regexp.MustCompile(`^(?i)\s*(clientId|resourceId|principalId|consentType)\s+eq\s+'([^']*)'\s*$`)

var filterAnd = regexp.MustCompile(`(?i)\s+and\s+`)

// grantProps spell oAuth2PermissionGrant's filterable properties by their lower-case names.
var grantProps = map[string]string{"clientid": "clientId", "resourceid": "resourceId", "principalid": "principalId", "consenttype": "consentType"}

// parseFilter reads the $filter Graph supports on oauth2PermissionGrants:
// eq clauses on clientId, resourceId, principalId or consentType, joined by
// "and". ok is false for anything else.
func parseFilter(f string) (map[string]string, bool) {
	out := map[string]string{}
	if strings.TrimSpace(f) == "" {
		return out, true
	}
	for _, clause := range filterAnd.Split(f, -1) {
		m := filterClause.FindStringSubmatch(clause)
		if m == nil {
			return nil, false
		}
		out[grantProps[strings.ToLower(m[1])]] = m[2]
	}
	return out, true
}

// writePage writes one page of a collection: $top objects (Graph's default
// page of directory objects is 100, at most 999), no more than the page size
// a test set with SetGraphPageSize, and an @odata.nextLink carrying the
// query and a $skiptoken when more follow
// (https://learn.microsoft.com/graph/paging). The skip token is the offset,
// base64url encoded: opaque to callers, as Graph's are.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, context string, list []map[string]any) {
	q := r.URL.Query()
	size := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			s.graphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
			return
		}
		size = n
	}
	s.mu.Lock()
	if s.st.graphPage > 0 && s.st.graphPage < size {
		size = s.st.graphPage
	}
	s.mu.Unlock()
	from := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err == nil {
			from, err = strconv.Atoi(string(b))
		}
		if err != nil || from < 0 || from > len(list) {
			s.graphError(w, r, http.StatusBadRequest, "Request_BadRequest", "Invalid paging token.")
			return
		}
	}
	to := min(from+size, len(list))
	body := map[string]any{"@odata.context": s.GraphURL() + "/$metadata#" + context, "value": list[from:to]}
	if to < len(list) {
		q.Set("$skiptoken", b64([]byte(strconv.Itoa(to))))
		body["@odata.nextLink"] = s.URL + r.URL.Path + "?" + (&url.URL{RawQuery: q.Encode()}).RawQuery
	}
	writeJSON(w, http.StatusOK, body)
}

// SetGraphPageSize caps the number of objects per page of the directory
// collections (grants, app role assignments) below Graph's $top, so tests
// can page with few objects; 0 restores Graph's paging.
func (s *Server) SetGraphPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.graphPage = n
}
