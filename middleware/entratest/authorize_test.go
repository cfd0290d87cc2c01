package entratest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// authorizeQuery is a valid authorize request for the env's app.
func (e *env) authorizeQuery(scope string) url.Values {
	return url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"}, "redirect_uri": {e.redirect},
		"scope": {scope}, "state": {"st-1"}}
}

func (e *env) authorizeURL(tenant string, q url.Values) string {
	return e.srv.Authority(tenant) + "/oauth2/v2.0/authorize?" + q.Encode()
}

// noFollow fetches u once with the emulator's client, without following redirects.
func noFollow(t *testing.T, e *env, u string) *http.Response {
	t.Helper()
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAuthorizeErrorPagesNeverRedirect(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
		edit   func(e *env, q url.Values)
		code   string
	}{
		{"unregistered redirect uri", "", func(e *env, q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, "AADSTS50011"},
		{"redirect uri prefix trick", "", func(e *env, q url.Values) { q.Set("redirect_uri", e.redirect+".evil.example") }, "AADSTS50011"},
		{"missing redirect uri", "", func(e *env, q url.Values) { q.Del("redirect_uri") }, "AADSTS900144"},
		{"unknown client", "", func(e *env, q url.Values) { q.Set("client_id", "22222222-2222-2222-2222-222222222222") }, "AADSTS700016"},
		{"missing client", "", func(e *env, q url.Values) { q.Del("client_id") }, "AADSTS900144"},
		{"unknown tenant", "nowhere.example", func(e *env, q url.Values) {}, "AADSTS90002"},
		{"single-tenant app in other tenant", "other.example", func(e *env, q url.Values) {}, "AADSTS700016"},
		{"unknown response_mode", "", func(e *env, q url.Values) { q.Set("response_mode", "web_message") }, "AADSTS90014"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.AddTenant(entratest.Tenant{Domain: "other.example"})
			tenant := tc.tenant
			if tenant == "" {
				tenant = e.tenant.ID
			}
			q := e.authorizeQuery("User.Read")
			tc.edit(e, q)
			page, err := e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(tenant, q))
			if err != nil {
				t.Fatal(err)
			}
			last := page.Trail[len(page.Trail)-1]
			if page.StatusCode != http.StatusBadRequest || last.Kind != "error" || last.Error != tc.code || len(page.Trail) != 1 {
				t.Fatalf("got %d %+v, want a 400 error page %s", page.StatusCode, page.Trail, tc.code)
			}
			if !strings.Contains(page.Body, tc.code+":") || !strings.Contains(page.Body, "<!DOCTYPE html>") {
				t.Fatalf("page does not show %s", tc.code)
			}
		})
	}
}

func TestAuthorizeErrorRedirects(t *testing.T) {
	tests := []struct {
		name   string
		upn    string
		action entratest.ConsentAction
		setup  func(e *env, q url.Values)
		err    string
		code   string
	}{
		{"prompt none without session", "", entratest.Accept, func(e *env, q url.Values) { q.Set("prompt", "none") }, "login_required", "AADSTS50058"},
		{"decline", "user@contoso.example", entratest.Decline, func(e *env, q url.Values) {}, "access_denied", "AADSTS65004"},
		{"admin-only scope as user", "user@contoso.example", entratest.Accept, func(e *env, q url.Values) { q.Set("scope", "openid Directory.Read.All") }, "access_denied", "AADSTS65004"},
		{"user consent disabled", "user@contoso.example", entratest.Accept, func(e *env, q url.Values) { e.srv.SetUserConsent(e.tenant.ID, false) }, "access_denied", "AADSTS65004"},
		{"missing response_type", "", entratest.Accept, func(e *env, q url.Values) { q.Del("response_type") }, "invalid_request", "AADSTS900144"},
		{"default of an unlisted resource", "", entratest.Accept, func(e *env, q url.Values) {
			api := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, ExposedScopes: []entratest.Permission{{Value: "x"}}})
			q.Set("scope", "openid api://"+api.ClientID+"/.default")
		}, "invalid_client", "AADSTS650057"},
		{"unknown scope", "", entratest.Accept, func(e *env, q url.Values) { q.Set("scope", "Nope.Nope") }, "invalid_client", "AADSTS650053"},
		{"unknown resource", "", entratest.Accept, func(e *env, q url.Values) { q.Set("scope", "api://nothing/x") }, "invalid_resource", "AADSTS500011"},
		{"response type token", "", entratest.Accept, func(e *env, q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type", "AADSTS900021"},
		{"bad prompt", "", entratest.Accept, func(e *env, q url.Values) { q.Set("prompt", "always") }, "invalid_request", "AADSTS90014"},
		{"pkce plain too short", "", entratest.Accept, func(e *env, q url.Values) { q.Set("code_challenge", "short") }, "invalid_request", "AADSTS90014"},
		{"claims not json", "", entratest.Accept, func(e *env, q url.Values) { q.Set("claims", "{") }, "invalid_request", "AADSTS90014"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			q := e.authorizeQuery("openid User.Read")
			tc.setup(e, q)
			page, err := e.browser(tc.upn, tc.action).Get(e.authorizeURL(e.tenant.ID, q))
			if err != nil {
				t.Fatal(err)
			}
			got := page.URL.Query()
			if !strings.HasPrefix(page.URL.String(), e.redirect) || got.Get("error") != tc.err ||
				!strings.HasPrefix(got.Get("error_description"), tc.code+": ") || got.Get("state") != "st-1" || got.Get("code") != "" {
				t.Fatalf("landed on %s, trail %v", page.URL, trailKinds(page))
			}
		})
	}
}

func TestPromptNoneWithSessionButMissingConsent(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user.UPN, entratest.Accept)
	if _, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid User.Read"))); err != nil {
		t.Fatal(err)
	}
	q := e.authorizeQuery("openid Mail.Read")
	q.Set("prompt", "none")
	page, err := b.Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil {
		t.Fatal(err)
	}
	if got := page.URL.Query(); got.Get("error") != "consent_required" || !strings.HasPrefix(got.Get("error_description"), "AADSTS65001: ") {
		t.Fatalf("got %s", page.URL)
	}
	q.Set("scope", "openid User.Read")
	page, err = b.Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("prompt=none with session and consent: %v %v", err, page.URL)
	}
}

func TestPrompts(t *testing.T) {
	tests := []struct {
		name   string
		prompt string
		want   []string // step kinds of the second authorize
	}{
		{"session skips sign-in and consent", "", []string{"redirect", "app"}},
		{"login forces sign-in", "login", []string{"signin", "redirect", "app"}},
		{"select_account shows picker", "select_account", []string{"signin", "redirect", "app"}},
		{"consent forces consent", "consent", []string{"consent", "redirect", "app"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.browser(e.user.UPN, entratest.Accept)
			first, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid User.Read")))
			if err != nil || strings.Join(trailKinds(first), ",") != "signin,consent,redirect,app" {
				t.Fatalf("first: %v %v", err, trailKinds(first))
			}
			q := e.authorizeQuery("openid User.Read")
			q.Set("prompt", tc.prompt)
			page, err := b.Get(e.authorizeURL(e.tenant.ID, q))
			if err != nil || strings.Join(trailKinds(page), ",") != strings.Join(tc.want, ",") || page.URL.Query().Get("code") == "" {
				t.Fatalf("second: %v %v at %s", err, trailKinds(page), page.URL)
			}
		})
	}
}

// TestSingleTenantAppAtCommonAuthorities: a single-tenant app must use its
// tenant's authority; at organizations or common Entra redirects
// invalid_request with AADSTS50194 (field report:
// https://learn.microsoft.com/en-us/answers/a/982308).
func TestSingleTenantAppAtCommonAuthorities(t *testing.T) {
	for _, tenant := range []string{"organizations", "common"} {
		e := newEnv(t)
		page, err := e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(tenant, e.authorizeQuery("openid User.Read")))
		if err != nil {
			t.Fatal(err)
		}
		got := page.URL.Query()
		if got.Get("error") != "invalid_request" || !strings.HasPrefix(got.Get("error_description"), "AADSTS50194: ") || got.Get("code") != "" {
			t.Fatalf("%s: landed on %s", tenant, page.URL)
		}
	}
}

// TestAccountPicker: with several accounts signed in and neither login_hint
// nor prompt saying which, Entra shows its account picker instead of picking
// one; with prompt=none it answers interaction_required, AADSTS16000
// (https://learn.microsoft.com/entra/identity-platform/msal-js-sso#without-user-hint).
func TestAccountPicker(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.admin.UPN, entratest.Accept)
	if _, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid User.Read"))); err != nil {
		t.Fatal(err)
	}
	b.User = e.user.UPN
	q := e.authorizeQuery("openid User.Read")
	q.Set("prompt", "login")
	if _, err := b.Get(e.authorizeURL(e.tenant.ID, q)); err != nil {
		t.Fatal(err)
	}
	page, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid User.Read")))
	if err != nil || trailKinds(page)[0] != "signin" {
		t.Fatalf("two accounts, no hint: want the picker first, got %v %v", err, trailKinds(page))
	}
	q = e.authorizeQuery("openid User.Read")
	q.Set("prompt", "none")
	page, err = b.Get(e.authorizeURL(e.tenant.ID, q))
	if got := page.URL.Query(); err != nil || got.Get("error") != "interaction_required" || !strings.HasPrefix(got.Get("error_description"), "AADSTS16000: ") {
		t.Fatalf("prompt=none with two accounts: %v %s", err, page.URL)
	}
	q.Set("login_hint", e.admin.UPN)
	page, err = b.Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("prompt=none with login_hint: %v %s", err, page.URL)
	}
}

// TestResponseModes: the auth code flow documents response_mode query,
// fragment and form_post
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code).
func TestResponseModes(t *testing.T) {
	e := newEnv(t)
	q := e.authorizeQuery("openid User.Read")
	q.Set("response_mode", "fragment")
	page, err := e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil {
		t.Fatal(err)
	}
	frag, _ := url.ParseQuery(page.URL.Fragment)
	redirect := page.Trail[len(page.Trail)-2]
	if redirect.Kind != "redirect" || frag.Get("code") == "" || frag.Get("state") != "st-1" || page.URL.Query().Get("code") != "" {
		t.Fatalf("fragment: landed on %s", page.URL)
	}
	q.Set("response_mode", "form_post")
	var posted url.Values
	e.appSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			posted = r.PostForm
		}
	})
	if _, err := e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q)); err != nil {
		t.Fatal(err)
	}
	if posted.Get("code") == "" || posted.Get("state") != "st-1" {
		t.Fatalf("form_post: app got %v", posted)
	}
	if st, m := e.postToken(t, e.tenant.ID, e.codeForm(posted.Get("code"), "", "User.Read")); st != 200 {
		t.Fatalf("redeem the posted code: %d %v", st, m)
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
