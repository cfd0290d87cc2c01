package entratest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

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
