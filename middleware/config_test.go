package middleware_test

import (
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware"
)

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

func TestNewValidatesTenantAndLoopFields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*middleware.Config)
		want   string
	}{
		{"negative MaxAttempts", func(c *middleware.Config) { c.MaxAttempts = -1 }, "MaxAttempts"},
		{"empty tenant", func(c *middleware.Config) { c.AllowedTenants = []string{""} }, "AllowedTenants[0]"},
		{"bad connect scope", func(c *middleware.Config) { c.ConnectScopes = []string{"openid"} }, "ConnectScopes"},
		{"callback on connect", func(c *middleware.Config) { c.RedirectURL = "https://app.example/auth/connect" }, "collides"},
		{"braces in callback path", func(c *middleware.Config) { c.RedirectURL = "https://app.example/{x}/callback" }, "clean path"},
		{"escaped slash in callback path", func(c *middleware.Config) { c.RedirectURL = "https://app.example/a%2fb/callback" }, "clean path"},
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
