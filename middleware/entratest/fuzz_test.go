package entratest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// fuzzEnv is shared by the iterations of one fuzz target: key generation is
// too slow to repeat per input.
type fuzzEnv struct {
	srv      *entratest.Server
	tenant   entratest.Tenant
	app      entratest.App
	redirect string
	user     entratest.User
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	srv := entratest.NewServer()
	f.Cleanup(srv.Close)
	t := srv.AddTenant(entratest.Tenant{Domain: "contoso.example"})
	u := srv.AddUser(entratest.User{TenantID: t.ID, UPN: "user@contoso.example"})
	srv.AddUser(entratest.User{TenantID: t.ID, UPN: "admin@contoso.example", Admin: true})
	redirect := "https://app.example/cb"
	a := srv.AddApp(entratest.App{ClientID: "11111111-2222-3333-4444-555555555555", HomeTenantID: t.ID,
		Secrets: []string{secret}, RedirectURIs: []string{redirect}, RequiredScopes: []string{"User.Read"}})
	srv.GrantDelegated(t.ID, a.ClientID, u.ObjectID, "User.Read")
	return &fuzzEnv{srv: srv, tenant: t, app: a, redirect: redirect, user: u}
}

// serve runs one request in memory and checks the invariants shared by all
// targets: no 5xx, and a redirect only to the emulator itself or to a
// registered redirect URI.
func (fe *fuzzEnv) serve(t *testing.T, method, path, rawQuery, body string, cookie bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "https://127.0.0.1/", strings.NewReader(body))
	req.URL.Path, req.URL.RawQuery = path, rawQuery
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie {
		req.Header.Set("Cookie", "entratest_session="+url.QueryEscape(rawQuery))
	}
	rec := httptest.NewRecorder()
	fe.srv.Handler().ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s?%s: status %d", method, path, rawQuery, rec.Code)
	}
	if rec.Code >= 300 && rec.Code < 400 {
		fe.checkLocation(t, rec.Header().Get("Location"))
	}
	return rec
}

func (fe *fuzzEnv) checkLocation(t *testing.T, loc string) {
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("bad Location %q", loc)
	}
	if !u.IsAbs() && strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") {
		return // the emulator's own path
	}
	u.RawQuery, u.Fragment = "", ""
	if u.String() != fe.redirect {
		t.Fatalf("redirect to unregistered %q", loc)
	}
}

func segment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '?' || r == '#' || r == '%' || r < 0x21 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "organizations"
	}
	return s
}

func FuzzAuthorize(f *testing.F) {
	fe := newFuzzEnv(f)
	q := url.Values{"client_id": {fe.app.ClientID}, "response_type": {"code"}, "redirect_uri": {fe.redirect}, "scope": {"openid User.Read"}, "state": {"s"}}
	f.Add(fe.tenant.ID, q.Encode(), false)
	q.Set("login_hint", fe.user.UPN)
	f.Add("organizations", q.Encode(), true)
	q.Set("prompt", "none")
	q.Set("claims", `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`)
	f.Add("common", q.Encode(), false)
	f.Add("contoso.example", "client_id="+fe.app.ClientID+"&redirect_uri=https://evil.example/cb&response_type=code&scope=x", false)
	f.Add("organizations", "client_id=%zz&redirect_uri=%00&code_challenge_method=S256&code_challenge=x&prompt=consent", true)
	f.Fuzz(func(t *testing.T, tenant, rawQuery string, cookie bool) {
		rec := fe.serve(t, http.MethodGet, "/"+segment(tenant)+"/oauth2/v2.0/authorize", rawQuery, "", cookie)
		if rec.Code == 200 && !strings.Contains(rec.Body.String(), `id="entratest"`) {
			t.Fatalf("200 without an emulator page")
		}
	})
}

func FuzzToken(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Add(fe.tenant.ID, "grant_type=client_credentials&client_id="+fe.app.ClientID+"&client_secret="+secret+"&scope=https://graph.microsoft.com/.default")
	f.Add("organizations", "grant_type=authorization_code&client_id="+fe.app.ClientID+"&client_secret="+secret+"&code=1.Aabc&redirect_uri=https://app.example/cb&scope=User.Read")
	f.Add("common", "grant_type=refresh_token&client_id="+fe.app.ClientID+"&client_secret="+secret+"&refresh_token=x&scope=openid+offline_access+User.Read&claims={")
	f.Add("contoso.example", "grant_type=client_credentials&client_id=%ZZ&scope=api://x/.default")
	f.Fuzz(func(t *testing.T, tenant, body string) {
		rec := fe.serve(t, http.MethodPost, "/"+segment(tenant)+"/oauth2/v2.0/token", "", body, false)
		var m map[string]any
		if rec.Code != 404 && json.Unmarshal(rec.Body.Bytes(), &m) != nil {
			t.Fatalf("token response is not JSON: %q", rec.Body.String())
		}
		if rec.Code != 200 && rec.Code != 404 && m["error"] == nil {
			t.Fatalf("error without error field: %d %v", rec.Code, m)
		}
	})
}

func FuzzAdminConsent(f *testing.F) {
	fe := newFuzzEnv(f)
	q := url.Values{"client_id": {fe.app.ClientID}, "redirect_uri": {fe.redirect}, "scope": {"https://graph.microsoft.com/.default"}, "state": {"s"}}
	f.Add(fe.tenant.ID, q.Encode(), false)
	f.Add("organizations", q.Encode()+"&prompt=login", true)
	f.Add("common", "client_id="+fe.app.ClientID+"&redirect_uri=https://app.example/cb&scope=", false)
	f.Add("organizations", "client_id="+fe.app.ClientID+"&redirect_uri=https://app.example/cb/../x&scope=User.Read", false)
	f.Fuzz(func(t *testing.T, tenant, rawQuery string, cookie bool) {
		fe.serve(t, http.MethodGet, "/"+segment(tenant)+"/v2.0/adminconsent", rawQuery, "", cookie)
	})
}

// FuzzForms posts arbitrary bodies to the emulator's page forms.
func FuzzForms(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Add("signin", "flow=abc&upn=user@contoso.example")
	f.Add("consent", "flow=abc&action=accept&consent_org=on")
	f.Fuzz(func(t *testing.T, which, body string) {
		path := "/_entratest/consent"
		if strings.HasPrefix(which, "s") {
			path = "/_entratest/signin"
		}
		fe.serve(t, http.MethodPost, path, "", body, true)
		fe.serve(t, http.MethodGet, "/_entratest/back", body, "", true)
	})
}

// graphFuzzEnv holds the tokens FuzzGraph sends: one of a user granted
// Mail.Send, Mail.Read and User.Read, and one of the app with User.Read.All
// and Directory.ReadWrite.All.
type graphFuzzEnv struct {
	*env
	user, app string
}

func newGraphFuzzEnv(f *testing.F) *graphFuzzEnv {
	e := newEnv(f)
	fe := &graphFuzzEnv{env: e, user: graphToken(f, e, "Mail.Send Mail.Read User.Read")}
	e.srv.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All", "Directory.ReadWrite.All")
	_, m := e.postToken(f, e.tenant.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	fe.app, _ = m["access_token"].(string)
	if fe.app == "" {
		f.Fatalf("no app token: %v", m)
	}
	return fe
}

// authorization is the Authorization header of token mode mode: the user's
// token, the app's, garbage with or without "Bearer ", a tampered user token
// or none.
func (fe *graphFuzzEnv) authorization(mode uint8, garbage string) string {
	switch mode % 6 {
	case 0:
		return "Bearer " + fe.user
	case 1:
		return "Bearer " + fe.app
	case 2:
		return "Bearer " + garbage
	case 3:
		return garbage
	case 4:
		return "Bearer " + fe.user[:len(fe.user)/2] + garbage + fe.user[len(fe.user)/2:]
	}
	return ""
}

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions}

// FuzzGraph sends arbitrary methods, paths, queries and bodies to the
// Graph-like API with valid and garbage tokens: never a 5xx, and every 4xx
// carries Graph's error JSON, {"error":{"code","message","innerError"}}.
func FuzzGraph(f *testing.F) {
	fe := newGraphFuzzEnv(f)
	send := `{"message":{"subject":"Hi","body":{"contentType":"Text","content":"Hello"},` +
		`"toRecipients":[{"emailAddress":{"address":"admin@contoso.example"}}]},"saveToSentItems":false}`
	f.Add(uint8(0), "", uint8(1), "me/sendMail", "", send, "")
	f.Add(uint8(0), "", uint8(1), "me/sendMail", "", `{"message":{"toRecipients":[{"emailAddress":{"address":" "}}]}}`, "")
	f.Add(uint8(0), "", uint8(1), "me/sendMail", "", `{"message":null}`, "")
	f.Add(uint8(0), "", uint8(1), "me/sendMail", "", `{"message":{"ccRecipients":[{}],"body":{"contentType":"html","content":"<p>x"}}}`, "")
	f.Add(uint8(0), "", uint8(0), "me/messages", "$top=1&$select=subject", "", "00000000-0000-0000-0000-000000000000")
	f.Add(uint8(0), "", uint8(0), "me", "", "", "")
	f.Add(uint8(0), "", uint8(0), "me/events", "", "", "")
	f.Add(uint8(0), "", uint8(0), "users", "$filter=x", "", "")
	f.Add(uint8(1), "", uint8(0), "users", "", "", "")
	f.Add(uint8(1), "", uint8(0), "me", "", "", "")
	f.Add(uint8(0), "", uint8(2), "me/../users/", "", "", "")
	f.Add(uint8(2), "eyJhbGciOiJSUzI1NiJ9.e30.AAAA", uint8(0), "me", "", "", "")
	f.Add(uint8(3), "Basic dXNlcjpwYXNz", uint8(0), "me", "", "", "")
	f.Add(uint8(4), "x", uint8(1), "me/sendMail", "", send, "")
	f.Add(uint8(5), "", uint8(5), "me/messages", "", "", "")
	f.Add(uint8(1), "", uint8(0), "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", "", "", "")
	f.Add(uint8(1), "", uint8(0), "oauth2PermissionGrants", "$filter=clientId eq 'x' and consentType eq 'Principal'&$top=1", "", "")
	f.Add(uint8(1), "", uint8(0), "oauth2PermissionGrants", "$skiptoken=MQ&$top=1", "", "")
	f.Add(uint8(1), "", uint8(1), "oauth2PermissionGrants", "", `{"clientId":"x","consentType":"AllPrincipals","resourceId":"y","scope":"Mail.Read"}`, "")
	f.Add(uint8(1), "", uint8(4), "oauth2PermissionGrants/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", "", "")
	f.Add(uint8(1), "", uint8(0), "servicePrincipals/x/appRoleAssignments", "", "", "")
	f.Add(uint8(1), "", uint8(0), "applications(appId='x')", "", "", "")
	f.Fuzz(func(t *testing.T, mode uint8, garbage string, method uint8, path, query, body, clientReqID string) {
		req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1/", strings.NewReader(body))
		req.Method = fuzzMethods[int(method)%len(fuzzMethods)]
		req.URL.Path, req.URL.RawQuery = "/v1.0/"+path, query
		if a := fe.authorization(mode, garbage); a != "" {
			req.Header.Set("Authorization", a)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if clientReqID != "" {
			req.Header.Set("client-request-id", clientReqID)
		}
		rec := httptest.NewRecorder()
		fe.srv.Handler().ServeHTTP(rec, req)
		checkGraphAnswer(t, req, rec)
	})
}

// checkGraphAnswer checks FuzzGraph's invariants on one answer.
func checkGraphAnswer(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	what := req.Method + " " + req.URL.String()
	switch {
	case rec.Code >= 500:
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body)
	case rec.Code >= 400:
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s: %d with Content-Type %q: %q", what, rec.Code, ct, rec.Body)
		}
		var e struct {
			Error *struct {
				Code       string            `json:"code"`
				Message    *string           `json:"message"`
				InnerError map[string]string `json:"innerError"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Code == "" ||
			e.Error.Message == nil || e.Error.InnerError["request-id"] == "" || e.Error.InnerError["date"] == "" {
			t.Fatalf("%s: %d without Graph's error JSON: %q", what, rec.Code, rec.Body)
		}
	case rec.Code >= 300:
		t.Fatalf("%s: redirect %d to %q", what, rec.Code, rec.Header().Get("Location"))
	case rec.Code == http.StatusOK && !json.Valid(rec.Body.Bytes()):
		t.Fatalf("%s: 200 without JSON: %q", what, rec.Body)
	}
}
