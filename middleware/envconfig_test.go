package middleware_test

import (
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
)

// clearAzureEnv unsets every variable ConfigFromEnv reads, for this test.
func clearAzureEnv(t *testing.T) {
	for _, k := range []string{middleware.EnvTenantID, middleware.EnvClientID, middleware.EnvClientSecret,
		middleware.EnvCertificatePath, middleware.EnvCertificatePassword, middleware.EnvFederatedTokenFile, middleware.EnvAuthorityHost} {
		t.Setenv(k, "")
	}
}

// TestConfigFromEnvMissing: the error names every missing variable.
func TestConfigFromEnvMissing(t *testing.T) {
	clearAzureEnv(t)
	_, err := middleware.ConfigFromEnv(middleware.Config{})
	for _, want := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	t.Setenv(middleware.EnvTenantID, "contoso.example")
	t.Setenv(middleware.EnvClientID, "00001111-aaaa-2222-bbbb-3333cccc4444")
	t.Setenv(middleware.EnvCertificatePath, "/no/such/file.pem")
	if _, err := middleware.ConfigFromEnv(middleware.Config{}); err == nil || !strings.Contains(err.Error(), "/no/such/file.pem") {
		t.Errorf("unreadable certificate: %v, want an error naming the file", err)
	}
}

// TestConfigFromEnvClouds: the authority follows AZURE_AUTHORITY_HOST, and
// GraphURL that cloud's Graph; fields already set are kept.
func TestConfigFromEnvClouds(t *testing.T) {
	for _, tc := range []struct{ host, authority, graph string }{
		{"", "https://login.microsoftonline.com/organizations", "https://graph.microsoft.com"},
		{"https://login.microsoftonline.us/", "https://login.microsoftonline.us/organizations", "https://graph.microsoft.us"},
		{"https://login.chinacloudapi.cn", "https://login.chinacloudapi.cn/organizations", "https://microsoftgraph.chinacloudapi.cn"},
	} {
		clearAzureEnv(t)
		t.Setenv(middleware.EnvTenantID, "organizations")
		t.Setenv(middleware.EnvClientID, "00001111-aaaa-2222-bbbb-3333cccc4444")
		t.Setenv(middleware.EnvClientSecret, "s3cret")
		t.Setenv(middleware.EnvAuthorityHost, tc.host)
		cfg, err := middleware.ConfigFromEnv(middleware.Config{RedirectURL: "https://app.example/auth/callback",
			SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
		if err != nil || cfg.Authority != tc.authority {
			t.Fatalf("host %q: %v, authority %q, want %q", tc.host, err, cfg.Authority, tc.authority)
		}
		mw, err := middleware.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if g := mw.GraphURL(); g != tc.graph {
			t.Errorf("host %q: GraphURL %q, want %q", tc.host, g, tc.graph)
		}
	}
	kept, err := middleware.ConfigFromEnv(middleware.Config{Authority: "https://login.microsoftonline.com/contoso.example", ClientID: "mine"})
	if err != nil || kept.Authority != "https://login.microsoftonline.com/contoso.example" || kept.ClientID != "mine" {
		t.Errorf("set fields: %v %q %q", err, kept.Authority, kept.ClientID)
	}
}

// TestConfigFromEnvRefusesUnsafeAuthority: secrets and client assertions go
// to the authority, so AZURE_AUTHORITY_HOST must be an https host, and
// AZURE_TENANT_ID one path segment.
func TestConfigFromEnvRefusesUnsafeAuthority(t *testing.T) {
	for _, tc := range []struct{ host, tenant string }{
		{"http://login.microsoftonline.com", "organizations"},
		{"login.microsoftonline.us", "organizations"},
		{"https://login.microsoftonline.com@evil.example", "organizations"},
		{"https://evil.example/login.microsoftonline.com", "organizations"},
		{"https://login.microsoftonline.com?x=1", "organizations"},
		{"", "contoso.example/../evil"},
		{"", ".."},
	} {
		clearAzureEnv(t)
		t.Setenv(middleware.EnvTenantID, tc.tenant)
		t.Setenv(middleware.EnvClientID, "00001111-aaaa-2222-bbbb-3333cccc4444")
		t.Setenv(middleware.EnvClientSecret, "s3cret")
		t.Setenv(middleware.EnvAuthorityHost, tc.host)
		if cfg, err := middleware.ConfigFromEnv(middleware.Config{}); err == nil {
			t.Errorf("host %q tenant %q: authority %q, want an error", tc.host, tc.tenant, cfg.Authority)
		}
	}
}
