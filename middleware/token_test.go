package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// tokenApp is env's app registered again with an API of its own
// (api://{id}/access_as_user), so one page can call Graph and the app's API.
type tokenApp struct {
	mw        *middleware.Middleware
	apiScope  string
	runs      atomic.Int32 // handler runs, whatever their outcome
	completed atomic.Int32 // runs that had every token they asked for
}

func (e *env) startTokenApp(t *testing.T) *tokenApp {
	t.Helper()
	reg := e.idp.AddApp(entratest.App{DisplayName: "Consentry Two APIs", HomeTenantID: e.tenant.ID, MultiTenant: true,
		Secrets: []string{testSecret}, RedirectURIs: []string{e.srv.URL + "/auth/callback"},
		ExposedScopes: []entratest.Permission{{Value: "access_as_user", Description: "Use the app's API as you"}}})
	cfg := e.cfg
	cfg.ClientID = reg.ClientID
	a := &tokenApp{mw: e.newMiddleware(t, cfg), apiScope: "api://" + reg.ClientID + "/access_as_user"}
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(a.mw))
	mux.HandleFunc("GET /dashboard", a.dashboard)
	mux.Handle("POST /calendar/sync", a.mw.Require("User.Read")(http.HandlerFunc(a.sync)))
	e.setHandler(mux)
	return a
}

// dashboard needs two tokens: Graph's and the app's own API's.
func (a *tokenApp) dashboard(w http.ResponseWriter, r *http.Request) {
	a.runs.Add(1)
	var auds []string
	for _, scope := range []string{"User.Read", a.apiScope} {
		tok, err := a.mw.Token(r, scope)
		if a.mw.Challenge(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		auds = append(auds, claim(tok.AccessToken, "aud"))
	}
	a.completed.Add(1)
	fmt.Fprintf(w, "dashboard audiences=%s", strings.Join(auds, ","))
}

// sync is a button's form post that needs Calendars.Read only when clicked.
func (a *tokenApp) sync(w http.ResponseWriter, r *http.Request) {
	a.runs.Add(1)
	tok, err := a.mw.Token(r, "Calendars.Read")
	if a.mw.Challenge(w, r, err) {
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	a.completed.Add(1)
	fmt.Fprintf(w, "synced calendar=%q scopes=%s", r.FormValue("calendar"), strings.Join(tok.Scopes, ","))
}

// claim returns a string claim of a JWT access token (a test reads the
// emulator's tokens; apps must treat Graph's tokens as opaque).
func claim(raw, name string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "not-a-jwt"
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	v, _ := c[name].(string)
	return v
}

// TestTokenTwoResourcesOnOnePage: a page calling Graph and the app's own API
// gets, on a first visit, sign-in with consent to User.Read, then consent to
// the API's scope alone, then runs to the end once with both tokens.
func TestTokenTwoResourcesOnOnePage(t *testing.T) {
	e := newEnv(t)
	a := e.startTokenApp(t)
	b := e.browser(e.user, entratest.Accept)
	p := e.get(t, b, "/dashboard")
	// A token's audience is its resource's app id or App ID URI, by the
	// token version the resource accepts.
	api := strings.TrimSuffix(a.apiScope, "/access_as_user")
	auds, ok := strings.CutPrefix(p.Body, "dashboard audiences=")
	graphAud, apiAud, _ := strings.Cut(auds, ",")
	if p.StatusCode != http.StatusOK || !ok || (graphAud != entratest.GraphAppID && graphAud != "https://graph.microsoft.com") ||
		(apiAud != api && apiAud != strings.TrimPrefix(api, "api://")) {
		t.Fatalf("status %d %q, want a Graph token and one for %s%s", p.StatusCode, p.Body, api, trail(p))
	}
	consents := steps(p, "consent")
	if len(consents) != 2 || !slices.Equal(consents[0].Scopes, []string{"User.Read"}) ||
		!slices.Equal(consents[1].Scopes, []string{a.apiScope}) {
		t.Errorf("consent pages %v, want User.Read then %s alone%s", consents, a.apiScope, trail(p))
	}
	if a.runs.Load() != 3 || a.completed.Load() != 1 {
		t.Errorf("handler ran %d times, completed %d; want 3 runs (two consents) and 1 completion", a.runs.Load(), a.completed.Load())
	}
	before := e.idp.Count(entratest.EndpointToken)
	if p = e.get(t, b, "/dashboard"); p.StatusCode != http.StatusOK || len(p.Trail) != 1 {
		t.Fatalf("second visit: %d%s", p.StatusCode, trail(p))
	}
	if n := e.idp.Count(entratest.EndpointToken) - before; n != 0 {
		t.Errorf("second visit made %d token requests, want 0 (in-process cache)", n)
	}
}

// TestTokenOnClickKeepsThePost: a form post that needs Calendars.Read only
// when sent asks for consent to it then, and completes once with its body.
func TestTokenOnClickKeepsThePost(t *testing.T) {
	e := newEnv(t)
	a := e.startTokenApp(t)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK || len(steps(p, "consent")) != 1 ||
		!slices.Equal(steps(p, "consent")[0].Scopes, []string{"User.Read"}) {
		t.Fatalf("sign-in asked for more than User.Read: %d%s", p.StatusCode, trail(p))
	}
	p, err := b.PostForm(e.srv.URL+"/calendar/sync", url.Values{"calendar": {"Team"}})
	if err != nil {
		t.Fatalf("post: %v%s", err, trail(p))
	}
	if c := steps(p, "consent"); len(c) != 1 || !slices.Equal(c[0].Scopes, []string{"Calendars.Read"}) {
		t.Fatalf("consent pages %v, want Calendars.Read alone%s", c, trail(p))
	}
	m := actionRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no resume page: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if p, err = b.PostForm(e.srv.URL+html.UnescapeString(m[1]), nil); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if want := `synced calendar="Team" scopes=Calendars.Read`; p.StatusCode != http.StatusOK || p.Body != want {
		t.Fatalf("status %d %q, want %q", p.StatusCode, p.Body, want)
	}
	if a.completed.Load() != 1 {
		t.Errorf("completed %d times, want 1", a.completed.Load())
	}
}

// TestTokenErrors: Token's errors say what the caller branches on, and
// Challenge answers scripts with the 401 JSON Require sends.
func TestTokenErrors(t *testing.T) {
	e := newEnv(t)
	a := e.startTokenApp(t)
	r := httptest.NewRequest("GET", e.srv.URL+"/dashboard?x=1", nil)
	_, err := a.mw.Token(r, "User.Read")
	var ce *middleware.ConsentError
	if !errors.Is(err, middleware.ErrNotSignedIn) || !errors.Is(err, middleware.ErrInteractionRequired) || !errors.As(err, &ce) {
		t.Fatalf("anonymous Token: %v, want a *ConsentError wrapping ErrNotSignedIn and ErrInteractionRequired", err)
	}
	if want := a.mw.SignInURL("/dashboard?x=1", "User.Read"); ce.URL != want {
		t.Errorf("URL %q, want %q", ce.URL, want)
	}
	_, bad := a.mw.Token(r, "User.Read", a.apiScope)
	if !errors.Is(bad, middleware.ErrInvalidRequest) || a.mw.Challenge(httptest.NewRecorder(), r, bad) {
		t.Errorf("two resources: %v, want ErrInvalidRequest, which Challenge leaves alone", bad)
	}
	r.Header.Set("Accept", "application/json")
	_, err = a.mw.Token(r, "Calendars.Read")
	if w := httptest.NewRecorder(); !a.mw.Challenge(w, r, fmt.Errorf("wrapped: %w", err)) || w.Code != http.StatusUnauthorized ||
		!strings.Contains(w.Body.String(), `"scopes":["Calendars.Read"]`) {
		t.Errorf("script: %d %s, want 401 JSON naming Calendars.Read", w.Code, w.Body)
	}
	// A scope only Token asks for (no route declares it): its sign-in link works.
	_, err = a.mw.Token(r, a.apiScope)
	if !errors.As(err, &ce) {
		t.Fatalf("api scope: %v", err)
	}
	w := httptest.NewRecorder()
	a.mw.AuthHandler().ServeHTTP(w, httptest.NewRequest("GET", e.srv.URL+ce.URL, nil))
	if w.Code != http.StatusFound {
		t.Errorf("the sign-in link for %s answered %d, want 302 to Entra: %s", a.apiScope, w.Code, w.Body)
	}
	if a.mw.Challenge(httptest.NewRecorder(), r, errors.New("other")) {
		t.Error("Challenge took an unrelated error")
	}
	if err := a.mw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.mw.Token(r, "User.Read"); !errors.Is(err, middleware.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestTokenScopeSetsBounded: scopes that reach Token from requests by mistake
// cannot grow memory without end, nor declare any scope for the sign-in links.
func TestTokenScopeSetsBounded(t *testing.T) {
	e := newEnv(t)
	a := e.startTokenApp(t)
	r := httptest.NewRequest("GET", e.srv.URL+"/dashboard", nil)
	for i := range 1024 {
		if _, err := a.mw.Token(r, fmt.Sprintf("api://app/s%d", i)); errors.Is(err, middleware.ErrInvalidRequest) {
			t.Fatalf("scope set %d: %v, want it accepted", i, err)
		}
	}
	_, err := a.mw.Token(r, "Mail.Send")
	if !errors.Is(err, middleware.ErrInvalidRequest) {
		t.Fatalf("scope set 1025: %v, want ErrInvalidRequest", err)
	}
	w := httptest.NewRecorder()
	a.mw.AuthHandler().ServeHTTP(w, httptest.NewRequest("GET", e.srv.URL+a.mw.SignInURL("/", "Mail.Send"), nil))
	if w.Code == http.StatusFound {
		t.Errorf("the sign-in link for an undeclared scope redirected to Entra; want it refused")
	}
	if _, err := a.mw.Token(r, "api://app/s7"); errors.Is(err, middleware.ErrInvalidRequest) {
		t.Errorf("a remembered scope set: %v, want it still served", err)
	}
}

// TestTokenOneArgumentPerScope: scopes joined in one argument are refused,
// even when the same scopes passed one per argument were asked for before.
func TestTokenOneArgumentPerScope(t *testing.T) {
	e := newEnv(t)
	a := e.startTokenApp(t)
	r := httptest.NewRequest("GET", e.srv.URL+"/dashboard", nil)
	if _, err := a.mw.Token(r, "User.Read", "Mail.Read"); errors.Is(err, middleware.ErrInvalidRequest) {
		t.Fatalf("two scopes: %v", err)
	}
	if _, err := a.mw.Token(r, "User.Read Mail.Read"); !errors.Is(err, middleware.ErrInvalidRequest) {
		t.Errorf("scopes in one argument: %v, want ErrInvalidRequest", err)
	}
}
