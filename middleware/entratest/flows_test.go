package entratest_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

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

func TestScopeDriftAndDefault(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user.UPN, entratest.Accept)
	page, _ := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid https://graph.microsoft.com/.default")))
	if st := consentStep(page); !slices.Equal(st.Scopes, []string{"User.Read"}) {
		t.Fatalf(".default consent listed %v", st.Scopes)
	}
	e.srv.SetRequiredPermissions(e.app.ClientID, []string{"User.Read", "Calendars.Read"}, nil)
	page, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid https://graph.microsoft.com/.default")))
	if st := consentStep(page); err != nil || !slices.Equal(st.Scopes, []string{"Calendars.Read"}) || page.URL.Query().Get("code") == "" {
		t.Fatalf("after drift consent listed %v, landed %s: %v", st.Scopes, page.URL, err)
	}
}

func TestRevokeDelegatedRequiresConsentAgain(t *testing.T) {
	e := newEnv(t)
	rt := e.refreshToken(t)
	if st, _ := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read")); st != 200 {
		t.Fatal("refresh before revoke")
	}
	e.srv.RevokeDelegated(e.tenant.ID, e.app.ClientID, e.user.ObjectID, "User.Read")
	if st, m := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read")); st != 400 || m["suberror"] != "consent_required" {
		t.Fatalf("after revoke: %d %v", st, m)
	}
	if st, _ := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read")); st != 400 {
		t.Fatal("old refresh token must stay valid but consent is gone")
	}
}

func TestLoginHintAndDomainHint(t *testing.T) {
	e := newMultiTenantEnv(t)
	other := e.srv.AddTenant(entratest.Tenant{Domain: "fabrikam.example"})
	e.srv.AddUser(entratest.User{TenantID: other.ID, UPN: "fred@fabrikam.example"})
	q := e.authorizeQuery("openid User.Read")
	q.Set("login_hint", e.user.UPN)
	page, err := e.browser("", entratest.Accept).Get(e.authorizeURL("organizations", q))
	if err != nil || slices.Contains(trailKinds(page), "signin") {
		t.Fatalf("login_hint should skip sign-in: %v %v", err, trailKinds(page))
	}
	q = e.authorizeQuery("openid User.Read")
	q.Set("domain_hint", "fabrikam.example")
	q.Set("prompt", "select_account")
	resp := noFollow(t, e, e.authorizeURL("organizations", q))
	if resp.StatusCode != 200 {
		t.Fatalf("picker status %d", resp.StatusCode)
	}
	page, _ = e.srv.NewBrowser().Get(e.authorizeURL("organizations", q))
	if strings.Contains(page.Body, e.user.UPN) || !strings.Contains(page.Body, "fred@fabrikam.example") {
		t.Fatal("domain_hint should restrict the picker to fabrikam users")
	}
}

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

func TestCustomAPIAudience(t *testing.T) {
	e := newEnv(t)
	// accessTokenAcceptedVersion: null/1 gives v1.0 tokens whose aud is the
	// Application ID URI; 2 gives v2.0 tokens whose aud is the client id
	// (https://learn.microsoft.com/entra/identity-platform/reference-app-manifest#accesstokenacceptedversion-attribute).
	for _, tc := range []struct {
		version       int
		aud, iss, ver string
	}{
		{0, "api://", "https://sts.windows.net/" + e.tenant.ID + "/", "1.0"},
		{2, "", e.srv.URL + "/" + e.tenant.ID + "/v2.0", "2.0"},
	} {
		api := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, DisplayName: "Orders API", AccessTokenVersion: tc.version,
			ExposedScopes: []entratest.Permission{{Value: "Orders.Read", Description: "Read your orders"}}})
		scope := "api://" + api.ClientID + "/Orders.Read"
		code, v := e.getCode(t, e.user.UPN, "openid "+scope)
		st, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, scope+" openid"))
		if st != 200 {
			t.Fatalf("%d %v", st, m)
		}
		c := claimsOf(t, m["access_token"].(string))
		if c["aud"] != tc.aud+api.ClientID || c["iss"] != tc.iss || c["ver"] != tc.ver || c["scp"] != "Orders.Read" || m["scope"] != scope+" openid" {
			t.Fatalf("version %d: custom API token %v, scope %q", tc.version, c, m["scope"])
		}
	}
}

// TestClaimsChallengeWithGraph: a client that declared cp1 (MSAL's client
// capabilities, sent as xms_cc in the claims parameter) gets Graph's claims
// challenge, and the challenge's claims at authorize get a token that passes.
func TestClaimsChallengeWithGraph(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid User.Read")
	form := e.codeForm(code, v, "User.Read")
	form.Set("claims", cp1Claims)
	_, m := e.postToken(t, e.tenant.ID, form)
	challenge := e.srv.RequireClaims(e.user.ObjectID)
	req, _ := http.NewRequest(http.MethodGet, e.srv.GraphURL()+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+m["access_token"].(string))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(h, `error="insufficient_claims"`) {
		t.Fatalf("want claims challenge, got %d %q", resp.StatusCode, h)
	}
	q := e.authorizeQuery("openid User.Read")
	q.Set("claims", challenge)
	b := e.browser(e.user.UPN, entratest.Accept)
	page, err := b.Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil {
		t.Fatal(err)
	}
	st, m := e.postToken(t, e.tenant.ID, e.codeForm(page.URL.Query().Get("code"), "", "User.Read"))
	if st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	if status := graphGet(t, e, m["access_token"].(string), "/me"); status != 200 {
		t.Fatalf("GET /me with acrs = %d", status)
	}
	e.srv.ClearClaims(e.user.ObjectID)
}

func TestGraphChecksScopesAndExpiry(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid User.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "User.Read"))
	tok := m["access_token"].(string)
	tests := []struct {
		path string
		want int
	}{{"/me", 200}, {"/me/messages", 403}, {"/me/events", 403}, {"/users", 403}}
	for _, tc := range tests {
		if got := graphGet(t, e, tok, tc.path); got != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.path, got, tc.want)
		}
	}
	if got := graphGet(t, e, tok+"x", "/me"); got != 401 {
		t.Errorf("tampered token = %d", got)
	}
	e.clk.Advance(91 * time.Minute) // past Entra's longest default lifetime
	if got := graphGet(t, e, tok, "/me"); got != 401 {
		t.Errorf("expired token = %d", got)
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

func TestBrowserStopsLoops(t *testing.T) {
	e := newEnv(t)
	var loop *httptest.Server
	loop = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	}))
	defer loop.Close()
	_, err := e.srv.NewBrowser(loop.Certificate()).Get(loop.URL)
	if !errors.Is(err, entratest.ErrLoop) {
		t.Fatalf("err = %v, want ErrLoop", err)
	}
}

func TestCountsAndDiscovery(t *testing.T) {
	e := newEnv(t)
	for _, tenant := range []string{e.tenant.ID, e.tenant.Domain, "organizations", "common"} {
		resp, err := e.srv.Client().Get(e.srv.Authority(tenant) + "/v2.0/.well-known/openid-configuration")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("discovery %s: %v", tenant, err)
		}
		resp.Body.Close()
	}
	if n := e.srv.Count(entratest.EndpointDiscovery); n != 4 {
		t.Fatalf("discovery count %d", n)
	}
	e.srv.ResetCounts()
	if n := e.srv.Count(entratest.EndpointDiscovery); n != 0 {
		t.Fatalf("after reset %d", n)
	}
}
