package entratest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

// getCode walks the authorize flow with a Browser and returns the code and
// its PKCE verifier.
func (e *env) getCode(t testing.TB, upn, scope string) (code, verifier string) {
	t.Helper()
	verifier = "verifier-" + strings.Repeat("x", 40)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"}, "redirect_uri": {e.redirect},
		"scope": {scope}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	page, err := e.browser(upn, entratest.Accept).Get(e.srv.Authority(e.tenant.ID) + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	code = page.URL.Query().Get("code")
	if code == "" {
		t.Fatalf("no code at %s, trail %v", page.URL, trailKinds(page))
	}
	return code, verifier
}

// postToken posts form to the token endpoint of tenant and decodes the JSON.
func (e *env) postToken(t testing.TB, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := e.srv.Client().PostForm(e.srv.Authority(tenant)+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("token response not JSON: %v", err)
	}
	return resp.StatusCode, m
}

func (e *env) codeForm(code, verifier, scope string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {e.app.ClientID}, "client_secret": {secret},
		"code": {code}, "redirect_uri": {e.redirect}, "code_verifier": {verifier}, "scope": {scope}}
}

func (e *env) refreshToken(t *testing.T) string {
	t.Helper()
	code, v := e.getCode(t, e.user.UPN, "openid offline_access User.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "User.Read offline_access openid"))
	rt, _ := m["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", m)
	}
	return rt
}

func (e *env) refreshForm(rt, scope string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {e.app.ClientID}, "client_secret": {secret},
		"refresh_token": {rt}, "scope": {scope}}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name     string
		tenant   string // "" = the env tenant
		form     func(t *testing.T, e *env) url.Values
		status   int
		err      string
		code     float64
		suberror string
	}{
		{"unknown client", "", func(t *testing.T, e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {"11111111-1111-1111-1111-111111111111"}, "scope": {"https://graph.microsoft.com/.default"}}
		}, 400, "unauthorized_client", 700016, ""},
		{"bad secret", "", func(t *testing.T, e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID}, "client_secret": {"nope"}, "scope": {"https://graph.microsoft.com/.default"}}
		}, 401, "invalid_client", 7000215, ""},
		{"no secret", "", func(t *testing.T, e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID}, "scope": {"https://graph.microsoft.com/.default"}}
		}, 401, "invalid_client", 7000218, ""},
		// AADSTS700025 (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
		{"public client sends a secret", "", func(t *testing.T, e *env) url.Values {
			pub := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, PublicClient: true, RedirectURIs: []string{e.redirect}})
			return url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ClientID}, "client_secret": {"x"}, "refresh_token": {"1.Rx"}}
		}, 401, "invalid_client", 700025, ""},
		{"single-tenant app at organizations", "organizations", func(t *testing.T, e *env) url.Values {
			return e.refreshForm(e.refreshToken(t), "User.Read")
		}, 400, "invalid_request", 50194, ""},
		{"code reused", "", func(t *testing.T, e *env) url.Values {
			code, v := e.getCode(t, e.user.UPN, "User.Read")
			if st, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "User.Read")); st != 200 {
				t.Fatalf("first redemption: %v", m)
			}
			return e.codeForm(code, v, "User.Read")
		}, 400, "invalid_grant", 54005, ""},
		{"code expired", "", func(t *testing.T, e *env) url.Values {
			code, v := e.getCode(t, e.user.UPN, "User.Read")
			e.clk.Advance(11 * time.Minute)
			return e.codeForm(code, v, "User.Read")
		}, 400, "invalid_grant", 70008, ""},
		{"code unknown", "", func(t *testing.T, e *env) url.Values { return e.codeForm("garbage", "v", "User.Read") }, 400, "invalid_grant", 9002313, ""},
		{"pkce mismatch", "", func(t *testing.T, e *env) url.Values {
			code, _ := e.getCode(t, e.user.UPN, "User.Read")
			return e.codeForm(code, strings.Repeat("w", 50), "User.Read")
		}, 400, "invalid_grant", 501481, ""},
		{"pkce verifier missing", "", func(t *testing.T, e *env) url.Values {
			code, _ := e.getCode(t, e.user.UPN, "User.Read")
			f := e.codeForm(code, "", "User.Read")
			f.Del("code_verifier")
			return f
		}, 400, "invalid_request", 900144, ""},
		{"redirect uri differs", "", func(t *testing.T, e *env) url.Values {
			code, v := e.getCode(t, e.user.UPN, "User.Read")
			f := e.codeForm(code, v, "User.Read")
			f.Set("redirect_uri", e.redirect+"/other")
			return f
		}, 400, "invalid_grant", 500112, ""},
		{"code of another client", "", func(t *testing.T, e *env) url.Values {
			code, v := e.getCode(t, e.user.UPN, "User.Read")
			other := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, Secrets: []string{"x"}})
			f := e.codeForm(code, v, "User.Read")
			f.Set("client_id", other.ClientID)
			f.Set("client_secret", "x")
			return f
		}, 400, "invalid_grant", 70000, ""},
		{"bad refresh token", "", func(t *testing.T, e *env) url.Values { return e.refreshForm("1.Rnot-a-token", "User.Read") }, 400, "invalid_grant", 70000, ""},
		{"refresh token expired", "", func(t *testing.T, e *env) url.Values {
			rt := e.refreshToken(t)
			e.clk.Advance(91 * 24 * time.Hour)
			return e.refreshForm(rt, "User.Read")
		}, 400, "invalid_grant", 70008, ""},
		{"refresh for ungranted scope", "", func(t *testing.T, e *env) url.Values {
			return e.refreshForm(e.refreshToken(t), "Mail.Read offline_access")
		}, 400, "invalid_grant", 65001, "consent_required"},
		{"refresh with unmet claims challenge", "", func(t *testing.T, e *env) url.Values {
			f := e.refreshForm(e.refreshToken(t), "User.Read")
			f.Set("claims", `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`)
			return f
		}, 400, "interaction_required", 50076, "basic_action"},
		{"two resources", "", func(t *testing.T, e *env) url.Values {
			api := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, ExposedScopes: []entratest.Permission{{Value: "read", Description: "Read"}}})
			return e.refreshForm(e.refreshToken(t), "User.Read api://"+api.ClientID+"/read")
		}, 400, "invalid_scope", 28000, ""},
		{"scope not on resource", "", func(t *testing.T, e *env) url.Values {
			return e.refreshForm(e.refreshToken(t), "api://"+e.app.ClientID+"/nope")
		}, 400, "invalid_client", 650053, ""},
		{"client credentials without .default", "", func(t *testing.T, e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID}, "client_secret": {secret}, "scope": {"User.Read"}}
		}, 400, "invalid_scope", 1002012, ""},
		{"client credentials at organizations", "organizations", func(t *testing.T, e *env) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}}
		}, 400, "invalid_request", 50059, ""},
		{"unsupported grant", "", func(t *testing.T, e *env) url.Values {
			return url.Values{"grant_type": {"password"}, "client_id": {e.app.ClientID}, "client_secret": {secret}}
		}, 400, "unsupported_grant_type", 70003, ""},
		{"missing grant type", "", func(t *testing.T, e *env) url.Values { return url.Values{} }, 400, "invalid_request", 900144, ""},
		{"unknown tenant", "nowhere.example", func(t *testing.T, e *env) url.Values { return url.Values{} }, 400, "invalid_request", 90002, ""},
		{"injected 503", "", func(t *testing.T, e *env) url.Values {
			e.srv.FailTokenRequests(1, 503)
			return url.Values{}
		}, 503, "temporarily_unavailable", 50000, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tenant := tc.tenant
			if tenant == "" {
				tenant = e.tenant.ID
			}
			status, body := e.postToken(t, tenant, tc.form(t, e))
			codes, _ := body["error_codes"].([]any)
			desc, _ := body["error_description"].(string)
			if status != tc.status || body["error"] != tc.err || !slices.Contains(codes, any(tc.code)) {
				t.Fatalf("got %d %v, want %d %s %v", status, body, tc.status, tc.err, tc.code)
			}
			if sub, _ := body["suberror"].(string); sub != tc.suberror {
				t.Fatalf("suberror = %q, want %q", sub, tc.suberror)
			}
			for _, k := range []string{"trace_id", "correlation_id", "timestamp"} {
				if body[k] == "" || body[k] == nil {
					t.Fatalf("missing %s in %v", k, body)
				}
			}
			if !strings.Contains(desc, "\r\nTrace ID: ") || !strings.Contains(desc, "\r\nCorrelation ID: ") || !strings.Contains(desc, "\r\nTimestamp: ") {
				t.Fatalf("description shape: %q", desc)
			}
		})
	}
}

func TestTokenGETIsRejected(t *testing.T) {
	e := newEnv(t)
	resp, err := e.srv.Client().Get(e.srv.Authority(e.tenant.ID) + "/oauth2/v2.0/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET token = %d", resp.StatusCode)
	}
}
