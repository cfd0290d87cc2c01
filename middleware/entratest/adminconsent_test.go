package entratest_test

import (
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
