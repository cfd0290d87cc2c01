package middleware_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

func TestPostResumeAcrossFirstSignIn(t *testing.T) {
	e := newEnv(t)
	a := e.start5(t, nil)
	b := e.browser(e.user, entratest.Accept)
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"first"}})
	if err != nil || len(steps(p, "signin")) != 1 {
		t.Fatalf("post before sign-in: %v%s", err, trail(p))
	}
	m := actionRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no resume form:%s %s", trail(p), p.Body)
	}
	p, err = b.PostForm(e.srv.URL+html.UnescapeString(m[1]), nil)
	if err != nil || p.StatusCode != 200 || !strings.Contains(p.Body, `subject="first"`) || a.posts.Load() != 1 {
		t.Fatalf("resume after the first sign-in: %v %d %q", err, p.StatusCode, p.Body)
	}
}

// TestTransport checks what the claims-aware transport does with each API answer.
func TestTransport(t *testing.T) {
	claims := `{"access_token":{"acrs":{"essential":true,"value":"c2"}}}`
	var sawAuth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/challenge":
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_claims", claims="`+base64.StdEncoding.EncodeToString([]byte(claims))+`"`)
			w.WriteHeader(401)
		case "/invalid":
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(401)
		case "/garbled":
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_claims", claims="%%%"`)
			w.WriteHeader(401)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	t.Cleanup(api.Close)
	e := newEnv(t)
	a := e.start5(t, nil)
	var got struct {
		status int
		err    error
	}
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(a.mw))
	mux.Handle("GET /call/{path}", a.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := (&http.Client{Transport: a.mw.Transport(r, nil)}).Get(api.URL + "/" + r.PathValue("path"))
		got.status, got.err = 0, err
		if err == nil {
			got.status = resp.StatusCode
			resp.Body.Close()
		}
	})))
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	tests := []struct {
		path      string
		status    int
		challenge bool
	}{
		{"ok", 200, false},
		{"invalid", 401, false},
		{"garbled", 401, false},
		{"challenge", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e.get(t, b, "/call/"+tt.path)
			if got.status != tt.status || !strings.HasPrefix(sawAuth, "Bearer ey") {
				t.Fatalf("status %d (want %d), auth %q, err %v", got.status, tt.status, sawAuth, got.err)
			}
			var ce *middleware.ClaimsChallengeError
			if errors.As(got.err, &ce) != tt.challenge || errors.Is(got.err, middleware.ErrClaimsChallenge) != tt.challenge {
				t.Fatalf("err = %v, want challenge %v", got.err, tt.challenge)
			}
			if tt.challenge && (ce.Claims != claims || ce.Scopes[0] != "User.Read" || !strings.Contains(ce.URL, "claims=")) {
				t.Errorf("challenge = %+v", ce)
			}
		})
	}
}

func TestTransportAndChallengeOutsideRequire(t *testing.T) {
	e := newEnv(t)
	a := e.start5(t, nil)
	r := httptest.NewRequest("GET", "/open", nil)
	_, err := a.mw.Client(r).Get(e.idp.GraphURL() + "/me")
	if !errors.Is(err, middleware.ErrNotSignedIn) {
		t.Errorf("Client outside Require: %v", err)
	}
	w := httptest.NewRecorder()
	if a.mw.Challenge(w, r, errors.New("some other error")) || w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("Challenge answered a non-challenge error")
	}
}

func TestClaimsChallengeForScriptIs401JSON(t *testing.T) {
	e := newEnv(t)
	e.start5(t, nil)
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/me")
	e.idp.RequireClaims(e.user.ObjectID)
	req, _ := http.NewRequest("GET", e.srv.URL+"/me", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		SignInURL string `json:"signin_url"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	if resp.StatusCode != 401 || !strings.Contains(body.SignInURL, "claims=") {
		t.Fatalf("script: %d %s", resp.StatusCode, raw)
	}
	// Following signin_url in the browser satisfies the rule.
	if p := e.get(t, b, body.SignInURL); p.StatusCode != 200 || !strings.Contains(p.Body, "graph 200") {
		t.Fatalf("signin_url: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
}

func TestAppTokenErrors(t *testing.T) {
	e := newEnv(t)
	a := e.start5(t, nil)
	ctx := context.Background()
	for _, tc := range []struct{ tenant, scope string }{{"", ""}, {"a/b", ""}, {e.tenant.ID, "User.Read"}} {
		if _, err := a.mw.AppToken(ctx, tc.tenant, tc.scope); !errors.Is(err, middleware.ErrInvalidRequest) {
			t.Errorf("AppToken(%q, %q) = %v", tc.tenant, tc.scope, err)
		}
	}
	// The home tenant has the app but no role assigned: a token without roles.
	_, err := a.mw.AppToken(ctx, e.tenant.ID, "", "User.Read.All")
	var ace *middleware.AppConsentError
	if !errors.As(err, &ace) || errors.Is(err, middleware.ErrTenantNotOnboarded) || ace.Roles[0] != "User.Read.All" {
		t.Fatalf("no roles: %v", err)
	}
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All")
	if _, err := a.mw.AppToken(ctx, e.tenant.ID, "", "User.Read.All"); err != nil {
		t.Fatalf("after the grant (cached role-less token dropped): %v", err)
	}
	// A tenant the app was never added to: not onboarded (AADSTS700016).
	other := e.idp.AddTenant(entratest.Tenant{Domain: "other.example"})
	_, err = a.mw.AppToken(ctx, other.ID, "")
	if !errors.As(err, &ace) || !errors.Is(err, middleware.ErrTenantNotOnboarded) || ace.Code == 0 {
		t.Fatalf("foreign tenant: %v", err)
	}
}

func TestNewValidatesIssue5Fields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*middleware.Config)
		want   string
	}{
		{"negative MaxAttempts", func(c *middleware.Config) { c.MaxAttempts = -1 }, "MaxAttempts"},
		{"empty tenant", func(c *middleware.Config) { c.AllowedTenants = []string{""} }, "AllowedTenants[0]"},
		{"bad connect scope", func(c *middleware.Config) { c.ConnectScopes = []string{"openid"} }, "ConnectScopes"},
		{"callback on connect", func(c *middleware.Config) { c.RedirectURL = "https://app.example/auth/connect" }, "collides"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig(t)
			tt.mutate(&cfg)
			if _, err := middleware.New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestAppConsentErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &middleware.AppConsentError{TenantID: "t", Code: 700016, ConnectURL: "https://app/auth/connect"})
	if !errors.Is(err, middleware.ErrAppConsentRequired) || !errors.Is(err, middleware.ErrTenantNotOnboarded) ||
		!strings.HasPrefix(err.Error(), "wrapped: middleware:") {
		t.Errorf("%v", err)
	}
	if errors.Is(&middleware.AppConsentError{TenantID: "t", Roles: []string{"x"}}, middleware.ErrTenantNotOnboarded) {
		t.Error("missing roles reported as not onboarded")
	}
}

func TestDecliningAgainAndAgainIsStoppedByLoopGuard(t *testing.T) {
	e := newEnv(t)
	e.start5(t, nil)
	b := e.browser(e.user, entratest.Decline)
	for i := range middleware.DefaultMaxAttempts {
		if p := e.get(t, b, "/mail"); p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "You declined") {
			t.Fatalf("attempt %d: %d%s", i+1, p.StatusCode, trail(p))
		}
	}
	e.idp.ResetCounts()
	p := e.get(t, b, "/mail")
	if p.StatusCode != http.StatusLoopDetected || e.idp.Count(entratest.EndpointAuthorize) != 0 {
		t.Fatalf("after %d declines: %d, %d authorize calls%s", middleware.DefaultMaxAttempts, p.StatusCode,
			e.idp.Count(entratest.EndpointAuthorize), trail(p))
	}
	// Another route is not affected.
	if p := e.get(t, b, "/calendar"); p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "You declined") {
		t.Errorf("other route: %d%s", p.StatusCode, trail(p))
	}
}
