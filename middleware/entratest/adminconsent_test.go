package entratest_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestAdminConsentEndpoint(t *testing.T) {
	const state = "a b&c=d/é"
	tests := []struct {
		name     string
		upn      string
		action   entratest.ConsentAction
		tenant   string
		edit     func(e *env, q url.Values)
		wantPage string // AADSTS code of a 400 page; "" = redirect to the app
		wantQ    map[string]string
		wantDesc string
	}{
		{"approve", "admin@contoso.example", entratest.Accept, "", func(e *env, q url.Values) {},
			"", map[string]string{"admin_consent": "True", "scope": "https://graph.microsoft.com/.default", "state": state}, ""},
		{"decline", "admin@contoso.example", entratest.Decline, "", func(e *env, q url.Values) {},
			"", map[string]string{"error": "access_denied", "error_subcode": "cancel", "admin_consent": "True", "tenant": "", "state": state}, "AADSTS65004: "},
		{"non-admin", "user@contoso.example", entratest.Accept, "", func(e *env, q url.Values) {},
			"", map[string]string{"error": "access_denied", "admin_consent": "True", "state": state}, "AADSTS65004: "},
		{"missing scope", "admin@contoso.example", entratest.Accept, "", func(e *env, q url.Values) { q.Del("scope") },
			"", map[string]string{"error": "invalid_request", "admin_consent": "True", "state": state}, "AADSTS900144: "},
		{"unregistered redirect", "admin@contoso.example", entratest.Accept, "", func(e *env, q url.Values) { q.Set("redirect_uri", "https://evil.example/") },
			"AADSTS50011", nil, ""},
		{"unknown client", "admin@contoso.example", entratest.Accept, "", func(e *env, q url.Values) { q.Set("client_id", "nope") },
			"AADSTS700016", nil, ""},
		{"admin of another tenant", "boss@fabrikam.example", entratest.Accept, "contoso.example", func(e *env, q url.Values) {},
			"AADSTS50020", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			other := e.srv.AddTenant(entratest.Tenant{Domain: "fabrikam.example"})
			e.srv.AddUser(entratest.User{TenantID: other.ID, UPN: "boss@fabrikam.example", Admin: true})
			q := url.Values{"client_id": {e.app.ClientID}, "redirect_uri": {e.redirect}, "state": {state},
				"scope": {"https://graph.microsoft.com/.default"}}
			tc.edit(e, q)
			tenant := tc.tenant
			if tenant == "" {
				tenant = e.tenant.ID
			}
			page, err := e.browser(tc.upn, tc.action).Get(e.srv.Authority(tenant) + "/v2.0/adminconsent?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantPage != "" {
				if last := page.Trail[len(page.Trail)-1]; page.StatusCode != 400 || last.Error != tc.wantPage {
					t.Fatalf("want page %s, got %d %+v", tc.wantPage, page.StatusCode, page.Trail)
				}
				return
			}
			got := page.URL.Query()
			if !strings.HasPrefix(page.URL.String(), e.redirect) || !strings.HasPrefix(got.Get("error_description"), tc.wantDesc) {
				t.Fatalf("landed on %s", page.URL)
			}
			for k, v := range tc.wantQ {
				if got.Get(k) != v {
					t.Fatalf("%s = %q, want %q (%s)", k, got.Get(k), v, page.URL)
				}
			}
		})
	}
}

func TestAdminConsentDefaultGrantsRequiredScopesAndRoles(t *testing.T) {
	e := newEnv(t)
	q := url.Values{"client_id": {e.app.ClientID}, "redirect_uri": {e.redirect}, "scope": {"https://graph.microsoft.com/.default"}}
	page, err := e.browser(e.admin.UPN, entratest.Accept).Get(e.srv.Authority(e.tenant.ID) + "/v2.0/adminconsent?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(page.Trail, func(s entratest.Step) bool { return s.Kind == "adminconsent" })
	if i < 0 || !slices.Equal(page.Trail[i].Scopes, []string{"User.Read"}) || !slices.Equal(page.Trail[i].Roles, []string{"User.Read.All"}) {
		t.Fatalf("admin consent page: %+v", page.Trail)
	}
	if g := e.srv.Grants(e.tenant.ID, e.app.ClientID); len(g) != 1 || g[0].PrincipalID != "" {
		t.Fatalf("grants %+v", g)
	}
	if r := e.srv.AppRoles(e.tenant.ID, e.app.ClientID); !slices.Equal(r, []string{"User.Read.All"}) {
		t.Fatalf("roles %v", r)
	}
}

// TestAdminConsentRefusesCommon: the admin consent doc says "Do not use
// common" (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent).
func TestAdminConsentRefusesCommon(t *testing.T) {
	e := newMultiTenantEnv(t)
	q := url.Values{"client_id": {e.app.ClientID}, "redirect_uri": {e.redirect}, "scope": {"https://graph.microsoft.com/.default"}}
	page, err := e.browser(e.admin.UPN, entratest.Accept).Get(e.srv.Authority("common") + "/v2.0/adminconsent?" + q.Encode())
	if err != nil || page.StatusCode != 400 || page.Trail[len(page.Trail)-1].Kind != "error" {
		t.Fatalf("common admin consent: %v %d %v", err, page.StatusCode, trailKinds(page))
	}
}

func TestAdminConsentForOrganizationCoversOtherUsers(t *testing.T) {
	e := newEnv(t)
	page, err := e.browser(e.admin.UPN, entratest.AcceptForOrganization).Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid Mail.Read")))
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("admin flow: %v %s", err, page.URL)
	}
	g := e.srv.Grants(e.tenant.ID, e.app.ClientID)
	if len(g) != 1 || g[0].PrincipalID != "" || !slices.Equal(g[0].Scopes, []string{"Mail.Read"}) {
		t.Fatalf("grants %+v, want one AllPrincipals Mail.Read", g)
	}
	page, err = e.browser(e.user.UPN, entratest.Decline).Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid Mail.Read")))
	if err != nil || page.URL.Query().Get("code") == "" || slices.Contains(trailKinds(page), "consent") {
		t.Fatalf("user after org consent should see no consent page: %v", trailKinds(page))
	}
}

func TestNonAdminIsNotOfferedOrganizationConsent(t *testing.T) {
	e := newEnv(t)
	_, err := e.browser(e.user.UPN, entratest.AcceptForOrganization).Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid Mail.Read")))
	if err == nil {
		t.Fatal("want an error: non-admins have no organization checkbox")
	}
}

func TestLogoutClearsSessionAndRedirectsOnlyToRegisteredOrigins(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user.UPN, entratest.Accept)
	if _, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid User.Read"))); err != nil {
		t.Fatal(err)
	}
	page, err := b.Get(e.srv.Authority(e.tenant.ID) + "/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape(e.appSrv.URL+"/bye"))
	if err != nil || !strings.HasPrefix(page.URL.String(), e.appSrv.URL+"/bye") {
		t.Fatalf("logout: %v %v", err, page.URL)
	}
	q := e.authorizeQuery("openid User.Read")
	q.Set("prompt", "none")
	page, err = b.Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil || page.URL.Query().Get("error") != "login_required" {
		t.Fatalf("after logout: %v %v", err, page.URL)
	}
	for _, target := range []string{"https://evil.example/", "//evil.example", "javascript:alert(1)"} {
		resp := noFollow(t, e, e.srv.Authority(e.tenant.ID)+"/oauth2/v2.0/logout?post_logout_redirect_uri="+url.QueryEscape(target))
		if resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
			t.Errorf("logout to %q: %d %q", target, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestMSALAdminOnlyScopeNeedsAdminConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	client := e.msal(t, e.tenant.ID, &memCache{})
	b := e.browser(e.user.UPN, entratest.Accept)

	_, err := e.signIn(t, client, b, []string{"User.Read.All"}, nil)
	if err == nil {
		t.Fatal("non-admin got a code for User.Read.All")
	}
	page, _ := b.Get(mustAuthURL(t, e, client, []string{"User.Read.All"}))
	q := page.URL.Query()
	// The page shows AADSTS90094; the way back sends what a decline sends.
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004:") || q.Get("state") != "st-1" {
		t.Fatalf("back from admin approval: %s", page.URL)
	}
	if !slices.Contains(trailKinds(page), "admin_approval") {
		t.Fatalf("trail %v", trailKinds(page))
	}

	admin := e.browser(e.admin.UPN, entratest.Accept)
	ac, err := admin.Get(e.srv.Authority(e.tenant.ID) + "/v2.0/adminconsent?client_id=" + e.app.ClientID +
		"&scope=https://graph.microsoft.com/User.Read.All&redirect_uri=" + e.redirect + "&state=ac-1")
	if err != nil {
		t.Fatal(err)
	}
	if q := ac.URL.Query(); q.Get("admin_consent") != "True" || q.Get("tenant") != e.tenant.ID || q.Get("state") != "ac-1" ||
		q.Get("scope") != "https://graph.microsoft.com/User.Read.All" {
		t.Fatalf("admin consent redirect: %s", ac.URL)
	}

	res, err := e.signIn(t, client, e.browser(e.user.UPN, entratest.Accept), []string{"User.Read.All"}, nil)
	if err != nil {
		t.Fatalf("after admin consent: %v", err)
	}
	if got := claimsOf(t, res.AccessToken); got["scp"] != "User.Read.All openid profile" || got["iss"] != "https://sts.windows.net/"+e.tenant.ID+"/" {
		t.Fatalf("claims %v", got)
	}
	if _, err := client.AcquireTokenSilent(ctx, []string{"User.Read.All"}, confidentialAccount(res)); err != nil {
		t.Fatalf("silent: %v", err)
	}
}
