package entratest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/consentry/consentry/middleware/entratest"
)

// entraErrorBody is the token endpoint's error JSON as apps parse it.
type entraErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	SubError    string `json:"suberror"`
	TraceID     string `json:"trace_id"`
	Correlation string `json:"correlation_id"`
	Timestamp   string `json:"timestamp"`
}

func callErrBody(t *testing.T, err error) entraErrorBody {
	t.Helper()
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		t.Fatalf("want msal CallErr, got %T: %v", err, err)
	}
	b, _ := io.ReadAll(ce.Resp.Body)
	var body entraErrorBody
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return body
}

func TestMSALAuthCodeSilentRefreshAndIncrementalConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := &memCache{}
	client := e.msal(t, e.tenant.ID, c)
	b := e.browser(e.user.UPN, entratest.Accept)

	res, err := e.signIn(t, client, b, []string{"User.Read"}, nil)
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode: %v", err)
	}
	at := claimsOf(t, res.AccessToken)
	if at["aud"] != entratest.GraphAppID || at["scp"] != "User.Read openid profile" || at["tid"] != e.tenant.ID || at["oid"] != e.user.ObjectID {
		t.Fatalf("access token claims = %v", at)
	}
	if res.IDToken.Oid != e.user.ObjectID || res.Account.HomeAccountID != e.user.ObjectID+"."+e.tenant.ID {
		t.Fatalf("id token oid %q, home account %q", res.IDToken.Oid, res.Account.HomeAccountID)
	}
	if g := e.srv.Grants(e.tenant.ID, e.app.ClientID); len(g) != 1 || g[0].PrincipalID != e.user.ObjectID {
		t.Fatalf("grants = %+v", g)
	}

	tokenCalls := e.srv.Count(entratest.EndpointToken)
	silent, err := client.AcquireTokenSilent(ctx, []string{"User.Read"}, confidentialAccount(res))
	if err != nil || silent.AccessToken != res.AccessToken || e.srv.Count(entratest.EndpointToken) != tokenCalls {
		t.Fatalf("silent from cache: err %v, same token %v, token calls %d->%d", err, silent.AccessToken == res.AccessToken, tokenCalls, e.srv.Count(entratest.EndpointToken))
	}

	e.clk.Advance(2 * time.Hour)
	c.expireAccessTokens(t)
	refreshed, err := client.AcquireTokenSilent(ctx, []string{"User.Read"}, confidentialAccount(res))
	if err != nil || refreshed.AccessToken == res.AccessToken || e.srv.Count(entratest.EndpointToken) != tokenCalls+1 {
		t.Fatalf("silent by refresh token: %v", err)
	}
	if exp := int64(claimsOf(t, refreshed.AccessToken)["exp"].(float64)); exp < e.clk.Now().Add(time.Hour).Unix() || exp > e.clk.Now().Add(90*time.Minute).Unix() {
		t.Fatalf("refreshed exp %d not 60-90 minutes after the injected clock", exp)
	}

	_, err = client.AcquireTokenSilent(ctx, []string{"Mail.Read"}, confidentialAccount(res))
	body := callErrBody(t, err)
	if body.Error != "invalid_grant" || !slices.Contains(body.Codes, 65001) || body.SubError != "consent_required" ||
		!strings.HasPrefix(body.Description, "AADSTS65001: ") || !strings.Contains(body.Description, "\r\nTrace ID: ") {
		t.Fatalf("silent Mail.Read: %+v", body)
	}

	page, err := b.Get(mustAuthURL(t, e, client, []string{"Mail.Read"}))
	if err != nil {
		t.Fatal(err)
	}
	if kinds := trailKinds(page); !slices.Contains(kinds, "consent") || slices.Contains(kinds, "signin") {
		t.Fatalf("second authorize should skip sign-in and show consent: %v", kinds)
	}
	if st := consentStep(page); !slices.Equal(st.Scopes, []string{"Mail.Read"}) {
		t.Fatalf("consent page listed %v, want only the missing Mail.Read", st.Scopes)
	}
	mail, err := client.AcquireTokenSilent(ctx, []string{"Mail.Read"}, confidentialAccount(res))
	if err != nil || !strings.Contains(claimsOf(t, mail.AccessToken)["scp"].(string), "Mail.Read") {
		t.Fatalf("Mail.Read after consent: %v", err)
	}
}

func TestMSALAdminOnlyScopeNeedsAdminConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	client := e.msal(t, e.tenant.ID, &memCache{})
	b := e.browser(e.user.UPN, entratest.Accept)

	_, err := e.signIn(t, client, b, []string{"User.Read.All"}, nil)
	if err == nil {
		t.Fatal("non-admin got a code for User.Read.All")
	}
	page, _ := b.Get(mustAuthURL(t, e, client, []string{"User.Read.All"}))
	q := page.URL.Query()
	// The page shows AADSTS90094; the way back sends what a decline sends.
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004:") || q.Get("state") != "st-1" {
		t.Fatalf("back from admin approval: %s", page.URL)
	}
	if !slices.Contains(trailKinds(page), "admin_approval") {
		t.Fatalf("trail %v", trailKinds(page))
	}

	admin := e.browser(e.admin.UPN, entratest.Accept)
	ac, err := admin.Get(e.srv.Authority(e.tenant.ID) + "/v2.0/adminconsent?client_id=" + e.app.ClientID +
		"&scope=https://graph.microsoft.com/User.Read.All&redirect_uri=" + e.redirect + "&state=ac-1")
	if err != nil {
		t.Fatal(err)
	}
	if q := ac.URL.Query(); q.Get("admin_consent") != "True" || q.Get("tenant") != e.tenant.ID || q.Get("state") != "ac-1" ||
		q.Get("scope") != "https://graph.microsoft.com/User.Read.All" {
		t.Fatalf("admin consent redirect: %s", ac.URL)
	}

	res, err := e.signIn(t, client, e.browser(e.user.UPN, entratest.Accept), []string{"User.Read.All"}, nil)
	if err != nil {
		t.Fatalf("after admin consent: %v", err)
	}
	if got := claimsOf(t, res.AccessToken); got["scp"] != "User.Read.All openid profile" || got["iss"] != "https://sts.windows.net/"+e.tenant.ID+"/" {
		t.Fatalf("claims %v", got)
	}
	if _, err := client.AcquireTokenSilent(ctx, []string{"User.Read.All"}, confidentialAccount(res)); err != nil {
		t.Fatalf("silent: %v", err)
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

func graphGet(t *testing.T, e *env, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.GraphURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func mustAuthURL(t *testing.T, e *env, client confidential.Client, scopes []string) string {
	t.Helper()
	u, _ := e.authURL(t, client, scopes, nil)
	return u
}

func confidentialAccount(r confidential.AuthResult) confidential.AcquireSilentOption {
	return confidential.WithSilentAccount(r.Account)
}

func trailKinds(p *entratest.Page) []string {
	var out []string
	for _, s := range p.Trail {
		out = append(out, s.Kind)
	}
	return out
}

func consentStep(p *entratest.Page) entratest.Step {
	for _, s := range p.Trail {
		if s.Kind == "consent" {
			return s
		}
	}
	return entratest.Step{}
}
