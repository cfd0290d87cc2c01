package middleware_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

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
			if allow := w.Header().Get("Allow"); tt.want == http.StatusMethodNotAllowed && !strings.Contains(allow, "GET") {
				t.Errorf("405 with Allow %q, want the methods served", allow)
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

func TestReturnURLsStayOnOrigin(t *testing.T) {
	e := newEnv(t)
	evil := []string{
		"//evil.test", `/\evil.test`, "https://evil.test", "%2F%2Fevil.test", "/%2F%2Fevil.test",
		"/%5Cevil.test", `\\evil.test`, "http:evil.test", "javascript:alert(1)", "///evil.test",
		"/%252F%252Fevil.test", "/\r\nLocation:https://evil.test", " //evil.test",
	}
	for _, r := range evil {
		t.Run(r, func(t *testing.T) {
			b := e.browser(e.user, entratest.Accept)
			p, err := b.Get(e.srv.URL + "/auth/signin?redirect=" + url.QueryEscape(r))
			if err != nil {
				t.Fatalf("%v%s", err, trail(p))
			}
			if p.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400%s", p.StatusCode, trail(p))
			}
			for _, s := range p.Trail {
				if strings.Contains(s.URL, "evil.test") && !strings.HasPrefix(s.URL, e.srv.URL+"/auth/signin?") {
					t.Errorf("left the origin: %s", s.URL)
				}
			}
		})
	}
	t.Run("good path resumes", func(t *testing.T) {
		b := e.browser(e.user, entratest.Accept)
		p := e.get(t, b, "/auth/signin?redirect="+url.QueryEscape("/mail?x=1")+"&scope=Mail.Read")
		if p.StatusCode != 200 || p.URL.Path != "/mail" || p.URL.RawQuery != "x=1" {
			t.Fatalf("resume: %d %s%s", p.StatusCode, p.URL, trail(p))
		}
	})
}
