package entratest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// appToken returns an app-only Graph token for e.app in e.tenant, after
// granting it the application permissions roles.
func appToken(t testing.TB, e *env, roles ...string) string {
	t.Helper()
	e.srv.GrantAppRoles(e.tenant.ID, e.app.ClientID, roles...)
	_, m := e.postToken(t, e.tenant.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	tok, _ := m["access_token"].(string)
	if tok == "" {
		t.Fatalf("no app token: %v", m)
	}
	return tok
}

// grantsOf returns the value of a Graph collection answer.
func valuesOf(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	arr, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", m)
	}
	out := make([]map[string]any, 0, len(arr))
	for _, v := range arr {
		out = append(out, v.(map[string]any))
	}
	return out
}

// consentAs signs upn in for scope through the consent page, accepting it.
func consentAs(t *testing.T, e *env, upn, scope string) []string {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"}, "redirect_uri": {e.redirect},
		"scope": {"openid " + scope}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	page, err := e.browser(upn, entratest.Accept).Get(e.srv.Authority(e.tenant.ID) + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("sign-in of %s for %s: %v %s", upn, scope, err, page.URL)
	}
	return trailKinds(page)
}

// TestDirectoryGrantsAreConsentRecords: a user's consent on the consent page
// and an admin's grant are listed as oAuth2PermissionGrants, addressed by
// the client's service principal id and by its app id, and by $filter.
func TestDirectoryGrantsAreConsentRecords(t *testing.T) {
	e := newEnv(t)
	e.srv.GrantDelegated(e.tenant.ID, e.app.ClientID, "", "User.Read", "Mail.Read")
	consentAs(t, e, e.user.UPN, "Mail.Send")
	tok := appToken(t, e, "Directory.Read.All")
	sp := e.srv.ServicePrincipalID(e.tenant.ID, e.app.ClientID)
	graphSP := e.srv.ServicePrincipalID(e.tenant.ID, entratest.GraphAppID)
	if sp == "" || graphSP == "" || sp == graphSP {
		t.Fatalf("service principal ids %q and %q", sp, graphSP)
	}
	want := map[string]string{"AllPrincipals": "Mail.Read User.Read", "Principal": "Mail.Send"}
	for _, path := range []string{"/servicePrincipals/" + sp + "/oauth2PermissionGrants",
		"/servicePrincipals(appId='" + e.app.ClientID + "')/oauth2PermissionGrants",
		"/oauth2PermissionGrants?$filter=" + url.QueryEscape("clientId eq '"+sp+"'")} {
		status, m, raw := graphCall(t, e, tok, "GET", path, "")
		if status != http.StatusOK || !strings.HasSuffix(str(m["@odata.context"]), "$metadata#oauth2PermissionGrants") {
			t.Fatalf("GET %s: %d %s", path, status, raw)
		}
		grants := valuesOf(t, m)
		if len(grants) != 2 {
			t.Fatalf("GET %s: want 2 grants, got %s", path, raw)
		}
		for _, g := range grants {
			ct := str(g["consentType"])
			if g["clientId"] != sp || g["resourceId"] != graphSP || str(g["scope"]) != want[ct] || str(g["id"]) == "" {
				t.Errorf("GET %s: grant %v, want client %s resource %s scope %q", path, g, sp, graphSP, want[ct])
			}
			if (ct == "Principal") != (g["principalId"] == e.user.ObjectID) || ct == "AllPrincipals" && g["principalId"] != nil {
				t.Errorf("GET %s: grant %v: principalId does not match consentType", path, g)
			}
		}
	}
}

// TestDirectoryNeedsReadPermission: without an application permission that
// Graph documents for reading grants, Graph answers 403
// Authorization_RequestDenied; delegated tokens of non-admins too.
func TestDirectoryNeedsReadPermission(t *testing.T) {
	e := newEnv(t)
	sp := e.srv.ServicePrincipalID(e.tenant.ID, e.app.ClientID)
	paths := []string{"/servicePrincipals/" + sp + "/oauth2PermissionGrants", "/oauth2PermissionGrants",
		"/servicePrincipals/" + sp + "/appRoleAssignments", "/servicePrincipals(appId='" + entratest.GraphAppID + "')"}
	for _, tok := range []string{appToken(t, e, "User.Read.All"), graphToken(t, e, "Directory.Read.All")} {
		for _, p := range paths {
			status, m, raw := graphCall(t, e, tok, "GET", p, "")
			checkGraphError(t, status, m, raw, http.StatusForbidden, "Authorization_RequestDenied")
		}
	}
	for _, role := range []string{"Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All"} {
		e := newEnv(t)
		tok := appToken(t, e, role)
		if status, _, raw := graphCall(t, e, tok, "GET", "/oauth2PermissionGrants", ""); status != http.StatusOK {
			t.Errorf("%s: %d %s", role, status, raw)
		}
	}
}

// TestDirectoryPaging: a collection longer than a page comes in pages linked
// by @odata.nextLink, each object once; $top and the emulator's page cap
// both shorten pages.
func TestDirectoryPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		u := e.srv.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: fmt.Sprintf("u%d@contoso.example", i)})
		e.srv.GrantDelegated(e.tenant.ID, e.app.ClientID, u.ObjectID, "Mail.Read")
	}
	tok := appToken(t, e, "Directory.Read.All")
	for _, c := range []struct {
		cap   int
		query string
		pages int
	}{{0, "", 1}, {3, "", 3}, {0, "?$top=2", 4}, {3, "?$top=2", 4}, {2, "?$top=5", 4}} {
		e.srv.SetGraphPageSize(c.cap)
		var ids []string
		next, pages := e.srv.GraphURL()+"/servicePrincipals(appId='"+e.app.ClientID+"')/oauth2PermissionGrants"+c.query, 0
		for next != "" {
			status, m, raw := graphCall(t, e, tok, "GET", strings.TrimPrefix(next, e.srv.GraphURL()), "")
			if status != http.StatusOK {
				t.Fatalf("cap %d %s page %d: %d %s", c.cap, c.query, pages, status, raw)
			}
			for _, g := range valuesOf(t, m) {
				ids = append(ids, str(g["id"]))
			}
			next, pages = str(m["@odata.nextLink"]), pages+1
		}
		slices.Sort(ids)
		if pages != c.pages || len(ids) != 7 || len(slices.Compact(ids)) != 7 {
			t.Errorf("cap %d %s: %d pages, ids %v; want %d pages of 7 distinct grants", c.cap, c.query, pages, ids, c.pages)
		}
	}
	status, m, raw := graphCall(t, e, tok, "GET", "/oauth2PermissionGrants?$top=1000", "")
	checkGraphError(t, status, m, raw, http.StatusBadRequest, "Request_UnsupportedQuery")
}

// TestDirectoryGrantAPIChangesConsent: a grant created through Graph spares
// the user the consent page; deleting it brings the page back.
func TestDirectoryGrantAPIChangesConsent(t *testing.T) {
	e := newEnv(t)
	tok := appToken(t, e, "DelegatedPermissionGrant.ReadWrite.All")
	sp := e.srv.ServicePrincipalID(e.tenant.ID, e.app.ClientID)
	graphSP := e.srv.ServicePrincipalID(e.tenant.ID, entratest.GraphAppID)
	body := fmt.Sprintf(`{"clientId":%q,"consentType":"Principal","principalId":%q,"resourceId":%q,"scope":"Mail.Read User.Read"}`, sp, e.user.ObjectID, graphSP)
	status, g, raw := graphCall(t, e, tok, "POST", "/oauth2PermissionGrants", body)
	if status != http.StatusCreated || g["scope"] != "Mail.Read User.Read" || g["principalId"] != e.user.ObjectID {
		t.Fatalf("POST: %d %s", status, raw)
	}
	status, m, raw := graphCall(t, e, tok, "POST", "/oauth2PermissionGrants", body)
	checkGraphError(t, status, m, raw, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue")
	if kinds := consentAs(t, e, e.user.UPN, "Mail.Read"); slices.Contains(kinds, "consent") {
		t.Errorf("granted through the API, the user still saw a consent page: %v", kinds)
	}
	if status, _, raw := graphCall(t, e, tok, "DELETE", "/oauth2PermissionGrants/"+str(g["id"]), ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, raw)
	}
	status, m, raw = graphCall(t, e, tok, "DELETE", "/oauth2PermissionGrants/"+str(g["id"]), "")
	checkGraphError(t, status, m, raw, http.StatusNotFound, "Request_ResourceNotFound")
	if kinds := consentAs(t, e, e.user.UPN, "Mail.Read"); !slices.Contains(kinds, "consent") {
		t.Errorf("grant deleted through the API, yet no consent page: %v", kinds)
	}
	status, m, raw = graphCall(t, e, tok, "POST", "/oauth2PermissionGrants", strings.Replace(body, `"Principal"`, `"Someone"`, 1))
	checkGraphError(t, status, m, raw, http.StatusBadRequest, "Request_BadRequest")
}

// TestDirectoryServicePrincipalShapes: Graph's service principal lists its
// delegated permissions with type Admin or User, the app's application
// permissions are appRoleAssignments, and its registration lists the
// required permissions by id.
func TestDirectoryServicePrincipalShapes(t *testing.T) {
	e := newEnv(t)
	tok := appToken(t, e, "Directory.Read.All")
	status, sp, raw := graphCall(t, e, tok, "GET", "/servicePrincipals(appId='"+entratest.GraphAppID+"')", "")
	if status != http.StatusOK || sp["appId"] != entratest.GraphAppID || sp["id"] != e.srv.ServicePrincipalID(e.tenant.ID, entratest.GraphAppID) {
		t.Fatalf("Graph's service principal: %d %.300s", status, raw)
	}
	types := map[string]string{}
	for _, s := range sp["oauth2PermissionScopes"].([]any) {
		m := s.(map[string]any)
		types[str(m["value"])] = str(m["type"])
	}
	if types["Mail.Send"] != "User" || types["User.Read.All"] != "Admin" {
		t.Errorf("permission types: Mail.Send %q, User.Read.All %q", types["Mail.Send"], types["User.Read.All"])
	}
	status, m, raw := graphCall(t, e, tok, "GET", "/servicePrincipals/"+e.srv.ServicePrincipalID(e.tenant.ID, e.app.ClientID)+"/appRoleAssignments", "")
	as := valuesOf(t, m)
	if status != http.StatusOK || len(as) != 1 || as[0]["appRoleId"] != "7ab1d382-f21e-4acd-a863-ba3e13f7da61" ||
		as[0]["resourceId"] != sp["id"] || as[0]["principalType"] != "ServicePrincipal" {
		t.Errorf("appRoleAssignments: %d %s", status, raw)
	}
	status, app, raw := graphCall(t, e, tok, "GET", "/applications(appId='"+e.app.ClientID+"')", "")
	rra, _ := app["requiredResourceAccess"].([]any)
	if status != http.StatusOK || len(rra) != 1 || !strings.Contains(raw, `"type":"Scope"`) || !strings.Contains(raw, `"type":"Role"`) {
		t.Errorf("application: %d %s", status, raw)
	}
	status, m, raw = graphCall(t, e, tok, "GET", "/servicePrincipals(appId='00000000-0000-0000-0000-000000000000')", "")
	checkGraphError(t, status, m, raw, http.StatusNotFound, "Request_ResourceNotFound")
	for _, path := range []string{"/servicePrincipals(appId='orders.contoso.example')", "/servicePrincipals/orders/appRoleAssignments",
		"/applications(appId='orders.contoso.example')"} {
		status, m, raw = graphCall(t, e, tok, "GET", path, "")
		checkGraphError(t, status, m, raw, http.StatusBadRequest, "Request_BadRequest") // not a GUID
	}
}

// TestDirectoryOwnObjectsNeedNoPermission: an app reads its own service
// principal and registration without any application permission, as Graph
// documents; anything else of the directory needs one.
func TestDirectoryOwnObjectsNeedNoPermission(t *testing.T) {
	e := newEnv(t)
	tok := appToken(t, e)
	sp := e.srv.ServicePrincipalID(e.tenant.ID, e.app.ClientID)
	for _, path := range []string{"/servicePrincipals(appId='" + e.app.ClientID + "')", "/servicePrincipals/" + sp,
		"/applications(appId='" + e.app.ClientID + "')"} {
		if status, _, raw := graphCall(t, e, tok, "GET", path, ""); status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, status, raw)
		}
	}
	for _, path := range []string{"/servicePrincipals(appId='" + entratest.GraphAppID + "')", "/servicePrincipals/" + sp + "/oauth2PermissionGrants",
		"/servicePrincipals/" + sp + "/appRoleAssignments"} {
		status, m, raw := graphCall(t, e, tok, "GET", path, "")
		checkGraphError(t, status, m, raw, http.StatusForbidden, "Authorization_RequestDenied")
	}
}
