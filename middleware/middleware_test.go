package middleware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware"
)

func validConfig(t *testing.T) middleware.Config {
	t.Helper()
	cred, err := confidential.NewCredFromSecret("secret")
	if err != nil {
		t.Fatal(err)
	}
	return middleware.Config{
		Authority: "https://login.microsoftonline.com/organizations", ClientID: "11111111-2222-3333-4444-555555555555",
		Credential: cred, RedirectURL: "https://app.example/auth/callback", SessionKeys: sessionKeys,
		Logger: slog.New(slog.DiscardHandler),
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*middleware.Config)
		want   string // part of the error; "" = valid
	}{
		{"valid", func(*middleware.Config) {}, ""},
		{"localhost http", func(c *middleware.Config) { c.RedirectURL = "http://localhost:8080/auth/callback" }, ""},
		{"loopback http", func(c *middleware.Config) { c.RedirectURL = "http://127.0.0.1:8080/auth/callback" }, ""},
		{"hash key only", func(c *middleware.Config) { c.SessionKeys = sessionKeys[:1] }, ""},
		{"no authority", func(c *middleware.Config) { c.Authority = "" }, "Config.Authority is empty"},
		{"onboarding without roles", func(c *middleware.Config) { c.RequireOnboarding = true }, "RequireOnboarding needs Config.ConnectRoles"},
		{"onboarding with roles", func(c *middleware.Config) { c.RequireOnboarding, c.ConnectRoles = true, []string{"User.Read.All"} }, ""},
		{"http authority", func(c *middleware.Config) { c.Authority = "http://login.microsoftonline.com/x" }, "must use https"},
		{"authority without tenant", func(c *middleware.Config) { c.Authority = "https://login.microsoftonline.com" }, "one tenant path segment"},
		{"authority two segments", func(c *middleware.Config) { c.Authority = "https://login.microsoftonline.com/a/b" }, "one tenant path segment"},
		{"relative authority", func(c *middleware.Config) { c.Authority = "login.microsoftonline.com/x" }, "not an absolute URL"},
		{"no client id", func(c *middleware.Config) { c.ClientID = " " }, "Config.ClientID is empty"},
		{"no credential", func(c *middleware.Config) { c.Credential = confidential.Credential{} }, "Config.Credential is empty"},
		{"no redirect", func(c *middleware.Config) { c.RedirectURL = "" }, "Config.RedirectURL"},
		{"relative redirect", func(c *middleware.Config) { c.RedirectURL = "/auth/callback" }, "absolute URL"},
		{"http redirect", func(c *middleware.Config) { c.RedirectURL = "http://app.example/auth/callback" }, "must use https"},
		{"redirect without path", func(c *middleware.Config) { c.RedirectURL = "https://app.example" }, "needs a path"},
		{"redirect with query", func(c *middleware.Config) { c.RedirectURL = "https://app.example/cb?x=1" }, "query"},
		{"redirect path collides", func(c *middleware.Config) { c.RedirectURL = "https://app.example/auth/signin" }, "collides"},
		{"no session keys", func(c *middleware.Config) { c.SessionKeys = nil }, "Config.SessionKeys is empty"},
		{"short hash key", func(c *middleware.Config) { c.SessionKeys = [][]byte{[]byte("short")} }, "SessionKeys[0]"},
		{"bad block key", func(c *middleware.Config) { c.SessionKeys = [][]byte{sessionKeys[0], []byte("12345")} }, "SessionKeys[1]"},
		{"bad logout URL", func(c *middleware.Config) { c.PostLogoutRedirectURL = "/home" }, "PostLogoutRedirectURL"},
		{"negative size", func(c *middleware.Config) { c.TokenCacheSize = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig(t)
			tt.mutate(&cfg)
			_, err := middleware.New(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New error = %v, want it to mention %q", err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "middleware: "):
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestRequirePanicsOnProgrammerError(t *testing.T) {
	mw, err := middleware.New(validConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, scopes := range [][]string{nil, {""}, {"Mail.Read Mail.Send"}, {"openid"}, {"User.Read", "api://x/y"}} {
		t.Run(fmt.Sprint(scopes), func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.HasPrefix(msg, "middleware: Require: ") {
					t.Errorf("recover() = %v, want a middleware: Require panic", r)
				}
			}()
			mw.Require(scopes...)
		})
	}
	// Graph and another resource side by side on different routes are fine.
	mw.Require("User.Read", "https://graph.microsoft.com/Mail.Read")
	mw.Require("api://11111111-2222-3333-4444-555555555555/access_as_user")
}

func TestScriptWithoutSessionGets401(t *testing.T) {
	mw, err := middleware.New(validConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := mw.Require("Mail.Read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	for _, path := range []string{"/mail?x=1", "//evil.test"} {
		r := httptest.NewRequest("GET", "https://app.example/", nil)
		r.URL.Path, r.RequestURI = path, path
		r.URL.RawQuery = strings.TrimPrefix(strings.TrimPrefix(path, "/mail"), "?")
		if path == "//evil.test" {
			r.URL.RawQuery = ""
		}
		r.Header.Set("X-Requested-With", "XMLHttpRequest")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		u, _ := body["signin_url"].(string)
		if w.Code != 401 || called || !strings.HasPrefix(u, "/auth/signin?redirect=%2F") {
			t.Fatalf("%s: %d %v %s", path, w.Code, called, w.Body)
		}
		if strings.Contains(u, "evil") {
			t.Errorf("signin_url %q carries the evil path", u)
		}
	}
}

func TestAuthHandlerBadInput(t *testing.T) {
	var logs bytes.Buffer
	cfg := validConfig(t)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := mw.AuthHandler()
	tests := []struct {
		method, target string
		want           int
	}{
		{"GET", "/auth/unknown", 404},
		{"DELETE", "/auth/callback", 405},
		{"PUT", "/auth/signin", 405},
		{"GET", "/auth/callback", 400},
		{"GET", "/auth/callback?state=", 400},
		{"GET", "/auth/callback?state=x&code=y", 400},
		{"GET", "/auth/callback?state=%zz", 400},
		{"GET", "/auth/callback?error=access_denied&error_description=AADSTS65004%3A+declined", 403},
		{"GET", "/auth/callback?error=weird", 400},
		{"GET", "/auth/callback?error=temporarily_unavailable", 503},
		{"GET", "/auth/signin?redirect=//evil.test", 400},
		{"GET", "/auth/signin?redirect=/x&scope=openid", 400},
		{"GET", "/auth/signin?redirect=/x&scope=User.Read+api://a/b", 400},
		{"POST", "/auth/callback?state=" + strings.Repeat("a", 10000), 400},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, "https://app.example"+tt.target, nil))
			if w.Code != tt.want {
				t.Errorf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if w.Header().Get("Location") != "" {
				t.Errorf("redirected to %q", w.Header().Get("Location"))
			}
		})
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("bad input not logged: %s", logs.String())
	}
}

func TestDeclinedPageWithoutStateShowsNoFreeText(t *testing.T) {
	mw, _ := middleware.New(validConfig(t))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://app.example/auth/callback?error=access_denied&error_subcode=cancel&error_description=AADSTS65004%3A+Call+555-EVIL.%0D%0ATrace+ID%3A+1", nil)
	mw.AuthHandler().ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != http.StatusForbidden || !strings.Contains(body, "You declined") || !strings.Contains(body, "try again") {
		t.Errorf("page: %d %s", w.Code, body)
	}
	if strings.Contains(body, "555-EVIL") {
		t.Error("page reflects the description of an unauthenticated callback")
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	tok := middleware.Token{AccessToken: "eyJ.secret.token", ExpiresOn: time.Unix(1e9, 0), Scopes: []string{"Mail.Read"}}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", tok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", tok)
	out := fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok) + logs.String()
	if strings.Contains(out, "secret") {
		t.Errorf("token printed: %s", out)
	}
	if !strings.Contains(out, "Mail.Read") || !strings.Contains(out, "redacted") {
		t.Errorf("token description lacks scopes or redaction: %s", out)
	}
}

func TestConsentErrorIsAndAs(t *testing.T) {
	var got error
	cfg := validConfig(t)
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, status int, err error) {
		got = err
		w.WriteHeader(status)
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://app.example/auth/callback?error=access_denied&error_description=AADSTS90094%3A+Admin+approval", nil)
	mw.AuthHandler().ServeHTTP(httptest.NewRecorder(), r)
	var ce *middleware.ConsentError
	if !errors.As(got, &ce) || ce.Code != 90094 || ce.ErrorCode != "access_denied" {
		t.Fatalf("err = %v", got)
	}
	if !errors.Is(got, middleware.ErrAdminConsentRequired) || !strings.HasPrefix(got.Error(), "middleware: ") {
		t.Errorf("errors.Is admin consent: %v", got)
	}
}
