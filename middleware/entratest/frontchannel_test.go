package entratest_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// discovery fetches the tenant's OpenID configuration over the back channel.
func discovery(t *testing.T, e *env, tenant string) map[string]any {
	t.Helper()
	m := map[string]any{}
	getJSON(t, e, e.srv.Authority(tenant)+"/v2.0/.well-known/openid-configuration", &m)
	return m
}

func TestFrontChannelDefaultIsURL(t *testing.T) {
	e := newEnv(t)
	if e.srv.FrontChannelURL() != e.srv.URL {
		t.Fatalf("FrontChannelURL %q != URL %q", e.srv.FrontChannelURL(), e.srv.URL)
	}
	d := discovery(t, e, e.tenant.ID)
	if d["authorization_endpoint"] != e.srv.Authority(e.tenant.ID)+"/oauth2/v2.0/authorize" ||
		d["end_session_endpoint"] != e.srv.Authority(e.tenant.ID)+"/oauth2/v2.0/logout" {
		t.Fatalf("discovery %v", d)
	}
	b := e.browser(e.user.UPN, entratest.Accept)
	page, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid User.Read")))
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("flow: %v %v", err, trailKinds(page))
	}
	resp := noFollow(t, e, e.authorizeURL(e.tenant.ID, loginHinted(e)))
	if c := sessionCookieOf(resp); c == nil || c.Name != "entratest_session" || !c.Secure || c.SameSite != http.SameSiteNoneMode {
		t.Fatalf("TLS session cookie %+v", c)
	}
}

func TestFrontChannelAddrNeedsPlainOption(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "WithPlainHTTPFrontChannel") {
			t.Fatalf("recover() = %v", r)
		}
	}()
	entratest.NewServer(entratest.WithFrontChannelAddr("127.0.0.1:0")).Close()
}

func TestFrontChannelFixedAddr(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := entratest.NewServer(entratest.WithPlainHTTPFrontChannel(), entratest.WithFrontChannelAddr(addr))
	defer srv.Close()
	if srv.FrontChannelURL() != "http://"+addr {
		t.Fatalf("FrontChannelURL %q, want http://%s", srv.FrontChannelURL(), addr)
	}
}

func TestPlainFrontChannelServesOnlyBrowserPages(t *testing.T) {
	e := newMultiTenantEnv(t, entratest.WithPlainHTTPFrontChannel())
	front := e.srv.FrontChannelURL()
	if !strings.HasPrefix(front, "http://127.0.0.1:") || !strings.HasPrefix(e.srv.URL, "https://") {
		t.Fatalf("FrontChannelURL %q, URL %q", front, e.srv.URL)
	}
	d := discovery(t, e, "organizations")
	if d["authorization_endpoint"] != front+"/organizations/oauth2/v2.0/authorize" ||
		d["end_session_endpoint"] != front+"/organizations/oauth2/v2.0/logout" ||
		d["token_endpoint"] != e.srv.Authority("organizations")+"/oauth2/v2.0/token" ||
		d["jwks_uri"] != e.srv.Authority("organizations")+"/discovery/v2.0/keys" {
		t.Fatalf("discovery %v", d)
	}
	for _, p := range []string{"/organizations/v2.0/.well-known/openid-configuration", "/organizations/discovery/v2.0/keys", "/v1.0/me"} {
		if resp := noFollow(t, e, front+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the front channel = %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err := e.srv.Client().PostForm(front+"/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("token on the front channel = %d, want 404", resp.StatusCode)
	}
}

func TestPlainFrontChannelSessionCookie(t *testing.T) {
	e := newMultiTenantEnv(t, entratest.WithPlainHTTPFrontChannel())
	resp := noFollow(t, e, e.srv.FrontChannelURL()+"/"+e.tenant.ID+"/oauth2/v2.0/authorize?"+loginHinted(e).Encode())
	c := sessionCookieOf(resp)
	if c == nil || c.Name != "entratest_session_http" || c.Secure || c.SameSite != http.SameSiteLaxMode || !c.HttpOnly {
		t.Fatalf("plain session cookie %+v (Set-Cookie %q)", c, resp.Header.Values("Set-Cookie"))
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, e.redirect+"?") {
		t.Fatalf("Location %q", loc)
	}
}

// loginHinted is an authorize request that signs the env's user in without a page.
func loginHinted(e *env) url.Values {
	q := e.authorizeQuery("openid")
	q.Set("login_hint", e.user.UPN)
	return q
}

func sessionCookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "entratest_session") {
			return c
		}
	}
	return nil
}

func TestPlainFrontChannelMSALAndBrowserFlow(t *testing.T) {
	e := newMultiTenantEnv(t, entratest.WithPlainHTTPFrontChannel())
	client := e.msal(t, "organizations", &memCache{})
	u, err := client.AuthCodeURL(context.Background(), e.app.ClientID, e.redirect, []string{"Mail.Read"})
	if err != nil || !strings.HasPrefix(u, e.srv.FrontChannelURL()+"/organizations/oauth2/v2.0/authorize?") {
		t.Fatalf("AuthCodeURL %q: %v", u, err)
	}
	b := e.browser(e.user.UPN, entratest.Accept)
	res, err := e.signIn(t, client, b, []string{"Mail.Read"}, nil)
	if err != nil || res.IDToken.Oid != e.user.ObjectID {
		t.Fatalf("AcquireTokenByAuthCode: %v", err)
	}
	page, err := b.Get(mustAuthURL(t, e, client, []string{"Calendars.Read"}))
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("second flow: %v %v", err, trailKinds(page))
	}
	if kinds := trailKinds(page); slices.Contains(kinds, "signin") || !slices.Contains(kinds, "consent") {
		t.Fatalf("the plain session cookie should skip sign-in: %v", kinds)
	}
	for _, st := range page.Trail {
		if st.Kind != "app" && !strings.HasPrefix(st.URL, e.srv.FrontChannelURL()+"/") {
			t.Errorf("emulator step %s at %s, want the front channel", st.Kind, st.URL)
		}
	}
	if _, err := client.AcquireTokenSilent(context.Background(), []string{"Calendars.Read"}, confidentialAccount(res)); err != nil {
		t.Fatalf("silent Calendars.Read: %v", err)
	}
}

func TestPlainFrontChannelAdminApprovalAndAdminConsent(t *testing.T) {
	e := newMultiTenantEnv(t, entratest.WithPlainHTTPFrontChannel())
	front := e.srv.FrontChannelURL()
	page, err := e.browser(e.user.UPN, entratest.Accept).Get(front + "/" + e.tenant.ID + "/oauth2/v2.0/authorize?" + e.authorizeQuery("openid User.Read.All").Encode())
	if err != nil || !slices.Contains(trailKinds(page), "admin_approval") || page.URL.Query().Get("error") != "access_denied" ||
		page.URL.Query().Has("admin_consent") {
		t.Fatalf("admin approval: %v %v %s", err, trailKinds(page), page.URL)
	}
	q := url.Values{"client_id": {e.app.ClientID}, "scope": {"https://graph.microsoft.com/User.Read.All"},
		"redirect_uri": {e.redirect}, "state": {"ac-1"}}
	page, err = e.browser(e.admin.UPN, entratest.Accept).Get(front + "/organizations/v2.0/adminconsent?" + q.Encode())
	if err != nil || page.URL.Query().Get("admin_consent") != "True" || page.URL.Query().Get("state") != "ac-1" {
		t.Fatalf("admin consent: %v %v %s", err, trailKinds(page), page.URL)
	}
}

func TestPlainFrontChannelLogout(t *testing.T) {
	e := newMultiTenantEnv(t, entratest.WithPlainHTTPFrontChannel())
	plainApp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plainApp.Close()
	e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, RedirectURIs: []string{plainApp.URL + "/auth/callback"}})
	front := e.srv.FrontChannelURL() + "/" + e.tenant.ID
	for _, logout := range []string{front + "/oauth2/v2.0/logout", e.srv.Authority(e.tenant.ID) + "/oauth2/v2.0/logout"} {
		b := e.browser(e.user.UPN, entratest.Accept)
		if _, err := b.Get(front + "/oauth2/v2.0/authorize?" + e.authorizeQuery("openid").Encode()); err != nil {
			t.Fatal(err)
		}
		page, err := b.Get(logout + "?post_logout_redirect_uri=" + url.QueryEscape(plainApp.URL+"/bye"))
		if err != nil || !strings.HasPrefix(page.URL.String(), plainApp.URL+"/bye") {
			t.Fatalf("logout at %s: %v %v", logout, err, page.URL)
		}
		q := e.authorizeQuery("openid")
		q.Set("prompt", "none")
		if page, err = b.Get(front + "/oauth2/v2.0/authorize?" + q.Encode()); err != nil || page.URL.Query().Get("error") != "login_required" {
			t.Fatalf("after logout at %s: %v %v", logout, err, page.URL)
		}
	}
	resp := noFollow(t, e, front+"/oauth2/v2.0/logout?post_logout_redirect_uri="+url.QueryEscape("http://evil.example/"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Fatalf("logout to an unregistered origin: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
