package entratest_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestScopeDriftAndDefault(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user.UPN, entratest.Accept)
	page, _ := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid https://graph.microsoft.com/.default")))
	if st := consentStep(page); !slices.Equal(st.Scopes, []string{"User.Read"}) {
		t.Fatalf(".default consent listed %v", st.Scopes)
	}
	e.srv.SetRequiredPermissions(e.app.ClientID, []string{"User.Read", "Calendars.Read"}, nil)
	page, err := b.Get(e.authorizeURL(e.tenant.ID, e.authorizeQuery("openid https://graph.microsoft.com/.default")))
	if st := consentStep(page); err != nil || !slices.Equal(st.Scopes, []string{"Calendars.Read"}) || page.URL.Query().Get("code") == "" {
		t.Fatalf("after drift consent listed %v, landed %s: %v", st.Scopes, page.URL, err)
	}
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
