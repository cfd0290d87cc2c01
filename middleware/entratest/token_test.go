package entratest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestScopeOptionalAtRedemptionAndRefresh: scope is optional at code
// redemption and at refresh (golang.org/x/oauth2 sends none); without it the
// tokens are for the scopes of the grant
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token).
func TestScopeOptionalAtRedemptionAndRefresh(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid offline_access User.Read")
	form := e.codeForm(code, v, "")
	form.Del("scope")
	st, m := e.postToken(t, e.tenant.ID, form)
	if st != 200 || claimsOf(t, m["access_token"].(string))["scp"] != "User.Read openid" || m["refresh_token"] == nil || m["id_token"] == nil {
		t.Fatalf("redeem without scope: %d %v", st, m)
	}
	rf := e.refreshForm(m["refresh_token"].(string), "")
	rf.Del("scope")
	if st, m = e.postToken(t, e.tenant.ID, rf); st != 200 || claimsOf(t, m["access_token"].(string))["scp"] != "User.Read openid" {
		t.Fatalf("refresh without scope: %d %v", st, m)
	}
}

// TestRequestErrorKeepsCode: a redemption that fails on a request error (a
// missing parameter) leaves the code usable, so x/oauth2's retry is not met
// by AADSTS54005; a grant error (a wrong verifier) uses it up.
func TestRequestErrorKeepsCode(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "User.Read")
	bad := e.codeForm(code, v, "User.Read")
	bad.Del("code_verifier")
	if st, m := e.postToken(t, e.tenant.ID, bad); st != 400 || m["error"] != "invalid_request" {
		t.Fatalf("missing verifier: %d %v", st, m)
	}
	if st, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "User.Read")); st != 200 {
		t.Fatalf("retry after a request error: %d %v", st, m)
	}
	code, _ = e.getCode(t, e.user.UPN, "User.Read")
	e.postToken(t, e.tenant.ID, e.codeForm(code, strings.Repeat("w", 50), "User.Read"))
	if _, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "User.Read")); m["error_codes"].([]any)[0] != float64(54005) {
		t.Fatalf("after a grant error the code must be used up: %v", m)
	}
}

// TestClientInfoOnlyWhenRequested: client_info comes back only for
// client_info=1, which MSAL sends to build its home account id.
func TestClientInfoOnlyWhenRequested(t *testing.T) {
	e := newEnv(t)
	for _, ask := range []bool{false, true} {
		code, v := e.getCode(t, e.user.UPN, "openid User.Read")
		form := e.codeForm(code, v, "openid User.Read")
		if ask {
			form.Set("client_info", "1")
		}
		_, m := e.postToken(t, e.tenant.ID, form)
		if _, got := m["client_info"]; got != ask {
			t.Fatalf("client_info=%v: response %v", ask, m)
		}
	}
}

// TestAccessTokenLifetime: Entra's default access token lifetime is "a
// random value ranging between 60-90 minutes"
// (https://learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes#access-tokens);
// the emulator draws it from its clock and the grant, so a test repeats exactly.
func TestAccessTokenLifetime(t *testing.T) {
	lifetimes := func() []float64 {
		e := newEnv(t)
		var out []float64
		for range 5 {
			_, m := e.postToken(t, e.tenant.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID},
				"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
			out = append(out, m["expires_in"].(float64))
			e.clk.Advance(time.Second)
		}
		return out
	}
	first, again := lifetimes(), lifetimes()
	distinct := map[float64]bool{}
	for i, s := range first {
		if s < 3600 || s > 5400 || s != again[i] {
			t.Fatalf("expires_in %v then %v: want 3600-5400, the same for the same clock", first, again)
		}
		distinct[s] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("expires_in %v: want it to vary", first)
	}
}

// TestTokenClaimsShape: id_tokens carry aio and rh
// (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference);
// an app-only token's oid is a GUID, the service principal's object id
// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
func TestTokenClaimsShape(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid User.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "openid User.Read"))
	id := claimsOf(t, m["id_token"].(string))
	if id["aio"] == nil || id["rh"] == nil || id["ver"] != "2.0" {
		t.Fatalf("id_token %v", id)
	}
	at := claimsOf(t, m["access_token"].(string))
	if at["ver"] != "1.0" || at["appid"] != e.app.ClientID || at["iss"] != "https://sts.windows.net/"+e.tenant.ID+"/" {
		t.Fatalf("Graph access token %v, want v1.0", at)
	}
	_, m = e.postToken(t, e.tenant.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	oid, _ := claimsOf(t, m["access_token"].(string))["oid"].(string)
	if !guid.MatchString(oid) {
		t.Fatalf("app token oid %q is not a GUID", oid)
	}
	if sp := e.srv.ServicePrincipalID(e.tenant.ID, e.app.ClientID); oid != sp {
		t.Errorf("app token oid %q, want the service principal's object id %q that Graph reports", oid, sp)
	}
}

// TestClaimsChallengeAtRefresh: when Conditional Access wants the user back,
// the token endpoint answers interaction_required with the claims to pass to
// the next authorize request and a suberror
// (https://learn.microsoft.com/entra/identity-platform/developer-guide-conditional-access-authentication-context).
// A sign-in that does not pass those claims gets tokens that still fall short,
// so an app that drops them loops; one that passes them is through.
func TestClaimsChallengeAtRefresh(t *testing.T) {
	e := newEnv(t)
	rt := e.refreshToken(t)
	want := e.srv.RequireClaims(e.user.ObjectID)
	st, m := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read"))
	if st != 400 || m["error"] != "interaction_required" || m["claims"] != want || m["suberror"] != "basic_action" {
		t.Fatalf("refresh under a Conditional Access rule: %d %v", st, m)
	}
	for _, pass := range []bool{false, true} {
		q := e.authorizeQuery("openid offline_access User.Read")
		if pass {
			q.Set("claims", m["claims"].(string))
		}
		page, err := e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q))
		if err != nil {
			t.Fatal(err)
		}
		_, tok := e.postToken(t, e.tenant.ID, e.codeForm(page.URL.Query().Get("code"), "", "openid offline_access User.Read"))
		st, _ := e.postToken(t, e.tenant.ID, e.refreshForm(tok["refresh_token"].(string), "User.Read"))
		if want := map[bool]int{false: 400, true: 200}[pass]; st != want {
			t.Fatalf("claims passed %v: refresh %d, want %d", pass, st, want)
		}
	}
}

// TestCrossOriginTokenRequest: a confidential client's token request with an
// Origin header (from a browser) is refused with AADSTS9002326 (error code
// reference: https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
func TestCrossOriginTokenRequest(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.Authority(e.tenant.ID)+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://app.example")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
		Codes []int  `json:"error_codes"`
	}
	if err := jsonDecode(resp, &body); err != nil || resp.StatusCode != 400 || body.Error != "invalid_request" || body.Codes[0] != 9002326 {
		t.Fatalf("got %d %+v %v", resp.StatusCode, body, err)
	}
}

// TestRefreshTokensPerGrant: Entra keeps a used refresh token valid; the
// emulator keeps a grant's newest eight, so memory follows the directory and
// not the number of refreshes, and a busy user never costs another user
// theirs.
func TestRefreshTokensPerGrant(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.admin.UPN, "openid offline_access User.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "openid offline_access User.Read"))
	other, _ := m["refresh_token"].(string)
	first := e.refreshToken(t)
	rt := first
	for i := range 8 {
		st, m := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read offline_access"))
		if st != 200 {
			t.Fatalf("refresh %d: %d %v", i, st, m)
		}
		if i == 0 {
			if st, _ := e.postToken(t, e.tenant.ID, e.refreshForm(first, "User.Read")); st != 200 {
				t.Fatalf("a just-used refresh token: %d, want it still valid", st)
			}
		}
		rt = m["refresh_token"].(string)
	}
	if st, m := e.postToken(t, e.tenant.ID, e.refreshForm(first, "User.Read")); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("a grant's ninth-newest refresh token: %d %v, want invalid_grant", st, m)
	}
	if st, m := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read offline_access")); st != 200 {
		t.Fatalf("the newest refresh token: %d %v", st, m)
	}
	if st, m := e.postToken(t, e.tenant.ID, e.refreshForm(other, "User.Read")); other == "" || st != 200 {
		t.Fatalf("another user's refresh token: %d %v", st, m)
	}
}

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

func TestMSALClientCredentialsRolesAfterAdminConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	client := e.msal(t, e.tenant.ID, nil)
	scopes := []string{"https://graph.microsoft.com/.default"}

	res, err := client.AcquireTokenByCredential(ctx, scopes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := claimsOf(t, res.AccessToken)["roles"]; ok {
		t.Fatal("roles before admin consent")
	}
	if status := graphGet(t, e, res.AccessToken, "/users"); status != http.StatusForbidden {
		t.Fatalf("GET /users without roles = %d", status)
	}

	admin := e.browser(e.admin.UPN, entratest.Accept)
	if _, err := admin.Get(e.srv.Authority(e.tenant.ID) + "/v2.0/adminconsent?client_id=" + e.app.ClientID +
		"&scope=https://graph.microsoft.com/.default&redirect_uri=" + e.redirect); err != nil {
		t.Fatal(err)
	}
	fresh := e.msal(t, e.tenant.ID, nil) // a new client: the old one serves its cached app token
	res, err = fresh.AcquireTokenByCredential(ctx, scopes)
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, res.AccessToken)
	if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "User.Read.All" || claims["idtyp"] != "app" {
		t.Fatalf("app token claims %v", claims)
	}
	if status := graphGet(t, e, res.AccessToken, "/users"); status != http.StatusOK {
		t.Fatalf("GET /users with role = %d", status)
	}
}
