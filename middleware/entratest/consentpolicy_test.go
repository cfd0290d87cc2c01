package entratest_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestUserConsentPolicies: a tenant's user consent setting decides whether a
// non-admin gets the consent page or "Need admin approval", and with which
// code: AADSTS90093 when the tenant's policy keeps the user from granting,
// AADSTS90094 when the permission needs an admin
// (https://learn.microsoft.com/entra/identity/enterprise-apps/configure-user-consent,
// https://learn.microsoft.com/entra/identity/enterprise-apps/application-sign-in-unexpected-user-consent-error).
// Under "verified publishers, selected permissions" (Microsoft's default for
// new tenants) an unverified app from another tenant gets "Need admin
// approval" even for User.Read. Either way, leaving that page sends the app
// what a decline sends: access_denied with AADSTS65004 (field reports:
// https://learn.microsoft.com/en-us/answers/questions/2237594/how-to-handle-admin-consent-in-oauth-flow).
func TestUserConsentPolicies(t *testing.T) {
	tests := []struct {
		name     string
		policy   entratest.UserConsentPolicy
		foreign  bool // the app is registered in another tenant
		verified bool
		scope    string
		page     string // "consent", or the AADSTS code of "Need admin approval"
	}{
		{"all apps: user scope", entratest.UserConsentAllApps, true, false, "Mail.Read", "consent"},
		{"all apps: admin-only scope", entratest.UserConsentAllApps, true, false, "User.Read.All", "AADSTS90094"},
		{"none: user scope", entratest.UserConsentNone, false, true, "User.Read", "AADSTS90093"},
		{"none: admin-only scope", entratest.UserConsentNone, false, true, "User.Read.All", "AADSTS90093"},
		{"verified low: unverified foreign app, User.Read", entratest.UserConsentVerifiedLowImpact, true, false, "User.Read", "AADSTS90093"},
		{"verified low: verified foreign app, User.Read", entratest.UserConsentVerifiedLowImpact, true, true, "User.Read", "consent"},
		{"verified low: verified foreign app, Mail.Read", entratest.UserConsentVerifiedLowImpact, true, true, "Mail.Read", "AADSTS90094"},
		{"verified low: own tenant's app, User.Read", entratest.UserConsentVerifiedLowImpact, false, false, "User.Read", "consent"},
		{"verified low: own tenant's app, Mail.Read", entratest.UserConsentVerifiedLowImpact, false, false, "Mail.Read", "AADSTS90094"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			home := e.tenant.ID
			if tc.foreign {
				home = e.srv.AddTenant(entratest.Tenant{Domain: "isv.example"}).ID
			}
			app := e.srv.AddApp(entratest.App{HomeTenantID: home, MultiTenant: true, VerifiedPublisher: tc.verified,
				Secrets: []string{secret}, RedirectURIs: []string{e.redirect}})
			e.srv.SetUserConsentPolicy(e.tenant.ID, tc.policy)
			q := e.authorizeQuery("openid " + tc.scope)
			q.Set("client_id", app.ClientID)
			page, err := e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q))
			if err != nil {
				t.Fatal(err)
			}
			got := page.URL.Query()
			if tc.page == "consent" {
				if got.Get("code") == "" || !slices.Contains(trailKinds(page), "consent") {
					t.Fatalf("want the consent page and a code, got %s %v", page.URL, trailKinds(page))
				}
				return
			}
			i := slices.Index(trailKinds(page), "admin_approval")
			if i < 0 || page.Trail[i].Error != tc.page {
				t.Fatalf("want Need admin approval with %s, trail %+v", tc.page, page.Trail)
			}
			if got.Get("error") != "access_denied" || !strings.HasPrefix(got.Get("error_description"), "AADSTS65004: ") ||
				got.Get("error_uri") == "" || got.Get("state") != "st-1" {
				t.Fatalf("way back sent %s, want access_denied with AADSTS65004", page.URL)
			}
		})
	}
}

// TestTenantLowImpactClassification: a tenant's own "low" classification
// decides what users may grant under the verified-publishers setting.
func TestTenantLowImpactClassification(t *testing.T) {
	e := newEnv(t)
	own := e.srv.AddTenant(entratest.Tenant{Domain: "lowmail.example", UserConsent: entratest.UserConsentVerifiedLowImpact,
		LowImpact: []string{"User.Read", "https://graph.microsoft.com/Mail.Read"}})
	u := e.srv.AddUser(entratest.User{TenantID: own.ID, UPN: "lee@lowmail.example"})
	app := e.srv.AddApp(entratest.App{HomeTenantID: own.ID, Secrets: []string{secret}, RedirectURIs: []string{e.redirect}})
	for scope, want := range map[string]bool{"Mail.Read": true, "Mail.Send": false} {
		q := e.authorizeQuery("openid " + scope)
		q.Set("client_id", app.ClientID)
		page, err := e.browser(u.UPN, entratest.Accept).Get(e.authorizeURL(own.ID, q))
		if err != nil {
			t.Fatal(err)
		}
		if got := page.URL.Query().Get("code") != ""; got != want {
			t.Fatalf("%s: code %v, want %v (%v)", scope, got, want, trailKinds(page))
		}
	}
}

// TestPromptAdminConsent: prompt=admin_consent on /authorize lets an admin
// grant the requested permissions for the whole tenant (v1 consent
// framework, still honoured: https://learn.microsoft.com/entra/identity-platform/howto-convert-app-to-be-multi-tenant);
// a non-admin gets "Need admin approval".
func TestPromptAdminConsent(t *testing.T) {
	e := newEnv(t)
	q := e.authorizeQuery("openid Mail.Read")
	q.Set("prompt", "admin_consent")
	page, err := e.browser(e.admin.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("admin: %v %s", err, page.URL)
	}
	if g := e.srv.Grants(e.tenant.ID, e.app.ClientID); len(g) != 1 || g[0].PrincipalID != "" || !slices.Contains(g[0].Scopes, "Mail.Read") {
		t.Fatalf("grants %+v, want an AllPrincipals grant of Mail.Read", g)
	}
	page, err = e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil || !slices.Contains(trailKinds(page), "admin_approval") || page.URL.Query().Get("error") != "access_denied" {
		t.Fatalf("non-admin: %v %v %s", err, trailKinds(page), page.URL)
	}
	// Even when the app asks for nothing beyond sign-in.
	bare := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, Secrets: []string{secret}, RedirectURIs: []string{e.redirect}})
	q = e.authorizeQuery("openid profile")
	q.Set("client_id", bare.ClientID)
	q.Set("prompt", "admin_consent")
	page, err = e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil || !slices.Contains(trailKinds(page), "admin_approval") || page.URL.Query().Get("code") != "" {
		t.Fatalf("non-admin, sign-in scopes only: %v %v %s", err, trailKinds(page), page.URL)
	}
}

// TestConsentToAPIWithoutServicePrincipal: a multi-tenant app asking a user of
// another tenant for a custom API that has no service principal there gets
// AADSTS650052
// (https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/error-code-aadsts650052-app-needs-access-service).
func TestConsentToAPIWithoutServicePrincipal(t *testing.T) {
	e := newMultiTenantEnv(t)
	api := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, ExposedScopes: []entratest.Permission{{Value: "Orders.Read"}}})
	other := e.srv.AddTenant(entratest.Tenant{Domain: "fabrikam.example"})
	fred := e.srv.AddUser(entratest.User{TenantID: other.ID, UPN: "fred@fabrikam.example"})
	q := e.authorizeQuery("openid api://" + api.ClientID + "/Orders.Read")
	page, err := e.browser(fred.UPN, entratest.Accept).Get(e.authorizeURL("organizations", q))
	if err != nil {
		t.Fatal(err)
	}
	if got := page.URL.Query(); got.Get("error") != "invalid_client" || !strings.HasPrefix(got.Get("error_description"), "AADSTS650052: ") {
		t.Fatalf("landed on %s", page.URL)
	}
}

// TestConsentToOwnAPIFromAnotherTenant: a multi-tenant app asking a user of
// another tenant for the scopes it exposes itself gets the consent page and a
// code, not AADSTS650052: consent creates the app's service principal there,
// and that is the API's
// (https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/error-code-aadsts650052-app-needs-access-service).
func TestConsentToOwnAPIFromAnotherTenant(t *testing.T) {
	e := newEnv(t)
	app := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, MultiTenant: true, Secrets: []string{secret},
		RedirectURIs: []string{e.redirect}, ExposedScopes: []entratest.Permission{{Value: "access_as_user"}}})
	other := e.srv.AddTenant(entratest.Tenant{Domain: "fabrikam.example"})
	fred := e.srv.AddUser(entratest.User{TenantID: other.ID, UPN: "fred@fabrikam.example"})
	q := e.authorizeQuery("openid api://" + app.ClientID + "/access_as_user")
	q.Set("client_id", app.ClientID)
	page, err := e.browser(fred.UPN, entratest.Accept).Get(e.authorizeURL("organizations", q))
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Query().Get("code") == "" || !slices.Contains(trailKinds(page), "consent") {
		t.Fatalf("landed on %s after %v, want the consent page and a code", page.URL, trailKinds(page))
	}
}

// TestConsentPolicyPageNamesTenant: the policy page reads "An administrator
// of <tenantDisplayName> has set a policy that prevents you from granting
// <name of app> the permissions it is requesting"
// (https://learn.microsoft.com/entra/identity/enterprise-apps/application-sign-in-unexpected-user-consent-error).
func TestConsentPolicyPageNamesTenant(t *testing.T) {
	e := newEnv(t)
	e.srv.SetUserConsentPolicy(e.tenant.ID, entratest.UserConsentNone)
	q := e.authorizeQuery("openid User.Read")
	q.Set("login_hint", e.user.UPN)
	resp, err := e.srv.Client().Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := "An administrator of " + e.tenant.DisplayName + " has set a policy"
	if resp.StatusCode != 200 || e.tenant.DisplayName == "" || !strings.Contains(string(body), want) {
		t.Fatalf("%d: page lacks %q:\n%s", resp.StatusCode, want, body)
	}
}
