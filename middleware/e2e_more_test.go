package middleware_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestSignOutForgetsUserAndTokens(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	appURL, _ := url.Parse(e.srv.URL)
	oldCookies := b.Client.Jar.Cookies(appURL)

	p, err := b.PostForm(e.srv.URL+"/auth/signout", nil)
	if err != nil {
		t.Fatalf("sign-out: %v%s", err, trail(p))
	}
	var logout *url.URL
	for _, s := range p.Trail {
		if u, _ := url.Parse(s.URL); strings.HasSuffix(u.Path, "/oauth2/v2.0/logout") {
			logout = u
		}
	}
	if logout == nil || logout.Query().Get("post_logout_redirect_uri") != e.srv.URL+"/" {
		t.Fatalf("no Entra logout with post_logout_redirect_uri:%s", trail(p))
	}
	for _, c := range b.Client.Jar.Cookies(appURL) {
		if c.Name == sessionCookieName {
			t.Errorf("session cookie still set after sign-out")
		}
	}
	// Replaying the old session cookie: neither the in-process cache nor the
	// token cache partition has a token left, so the user must sign in again.
	replay := e.browser(e.user, entratest.Accept)
	replay.Client.Jar.SetCookies(appURL, oldCookies)
	resp, err := replay.Client.Get(e.srv.URL + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idp.URL) {
		t.Errorf("old cookie after sign-out: %d %q, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAdminOnlyScopeForNonAdmin(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.Handle("GET /directory", e.mw.Require("User.Read.All")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("directory"))
	})))
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	p := e.get(t, b, "/directory")
	if len(steps(p, "admin_approval")) != 1 {
		t.Fatalf("no admin approval page:%s", trail(p))
	}
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "administrator") {
		t.Errorf("want the admin-approval page, got %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != 1 {
		t.Errorf("authorize called %d times (loop?)", n)
	}
}

func TestGraphAndOwnAPISideBySide(t *testing.T) {
	e := newEnv(t)
	api := e.idp.AddApp(entratest.App{DisplayName: "Orders API", HomeTenantID: e.tenant.ID,
		ExposedScopes: []entratest.Permission{{Value: "Orders.Read", Description: "Read your orders"}}})
	scope := "api://" + api.ClientID + "/Orders.Read"
	var seen []string
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.Handle("GET /orders", e.mw.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("orders"))
	})))
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/orders", "/profile", "/orders"} {
		p := e.get(t, b, path)
		if p.StatusCode != 200 {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
		for _, c := range steps(p, "consent") {
			seen = append(seen, c.Scopes...)
		}
	}
	if !slices.Contains(seen, scope) || !slices.Contains(seen, "User.Read") || len(seen) != 2 {
		t.Errorf("consented to %v, want User.Read then %s once each", seen, scope)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t)
	var tokens []string
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	e.setHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := r.URL.Query().Get("code"); c != "" {
			tokens = append(tokens, c)
		}
		mux.ServeHTTP(w, r)
	}))
	mux.Handle("GET /peek", e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middlewareToken(r)
		tokens = append(tokens, tok)
	})))
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/peek")
	e.get(t, b, "/mail")
	if len(tokens) < 2 {
		t.Fatalf("captured %d secrets", len(tokens))
	}
	logs := e.logs.String()
	for _, s := range append(tokens, testSecret) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("logs contain a secret (%d chars)", len(s))
		}
	}
	if !strings.Contains(logs, "signed in") {
		t.Errorf("logs lack the sign-in event: %s", logs)
	}
}

// TestDeclinePageShowsEntraDetails: with a valid state, the page shows Entra's
// first description line and a retry link for the same scopes and return URL.
func TestDeclinePageShowsEntraDetails(t *testing.T) {
	e := newEnv(t)
	p := e.get(t, e.browser(e.user, entratest.Decline), "/mail?folder=x")
	for _, want := range []string{"AADSTS65004", "Mail.Read", `href="/auth/signin?redirect=%2Fmail%3Ffolder%3Dx&amp;scope=Mail.Read"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("page lacks %q: %s", want, p.Body)
		}
	}
}

func TestAccountOnOpenPagesAndPlainSignIn(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		acct, ok := e.mw.Account(r)
		w.Write([]byte(fmt.Sprintf("signed-in=%v user=%s name=%s", ok, acct.Username, acct.Name)))
	})
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/whoami"); p.Body != "signed-in=false user= name=" {
		t.Errorf("before sign-in: %q", p.Body)
	}
	p := e.get(t, b, e.mw.SignInURL("/whoami")) // no scopes: sign in only
	if p.StatusCode != 200 || p.Body != "signed-in=true user=adele@contoso.example name=adele" {
		t.Fatalf("after sign-in: %d %q%s\n%s", p.StatusCode, p.Body, trail(p), e.logs)
	}
	if p, _ := b.PostForm(e.srv.URL+e.mw.SignOutURL(), nil); p == nil || steps(p, "signedout") == nil && len(p.Trail) < 2 {
		t.Fatalf("sign-out%s", trail(p))
	}
	if p := e.get(t, b, "/whoami"); p.Body != "signed-in=false user= name=" {
		t.Errorf("after sign-out: %q", p.Body)
	}
}
