package entratest_test

import (
	"net/url"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestMultiTenantAndForeignUsers(t *testing.T) {
	e := newEnv(t)
	other := e.srv.AddTenant(entratest.Tenant{Domain: "fabrikam.example"})
	fred := e.srv.AddUser(entratest.User{TenantID: other.ID, UPN: "fred@fabrikam.example"})
	page, err := e.browser(fred.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid User.Read")))
	if err != nil || page.StatusCode != 400 || page.Trail[len(page.Trail)-1].Error != "AADSTS50020" {
		t.Fatalf("foreign user on single-tenant app: %v %+v", err, page.Trail)
	}
	multi := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, MultiTenant: true, Secrets: []string{secret}, RedirectURIs: []string{e.redirect}})
	q := e.authorizeQuery("openid User.Read")
	q.Set("client_id", multi.ClientID)
	page, err = e.browser(fred.UPN, entratest.Accept).Get(e.authorizeURL("organizations", q))
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("foreign user on multi-tenant app: %v %v", err, trailKinds(page))
	}
	if g := e.srv.Grants(other.ID, multi.ClientID); len(g) != 1 || g[0].PrincipalID != fred.ObjectID {
		t.Fatalf("grant in the user's tenant: %+v", g)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {multi.ClientID}, "client_secret": {secret},
		"code": {page.URL.Query().Get("code")}, "redirect_uri": {e.redirect}, "scope": {"openid User.Read"}}
	st, m := e.postToken(t, "organizations", form)
	if st != 200 || claimsOf(t, m["access_token"].(string))["tid"] != other.ID ||
		claimsOf(t, m["id_token"].(string))["iss"] != e.srv.URL+"/"+other.ID+"/v2.0" {
		t.Fatalf("token for foreign user: %d %v", st, m)
	}
}
