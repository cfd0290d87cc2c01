package entratest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestClaimsChallengeWithGraph: a client that declared cp1 (MSAL's client
// capabilities, sent as xms_cc in the claims parameter) gets Graph's claims
// challenge, and the challenge's claims at authorize get a token that passes.
func TestClaimsChallengeWithGraph(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid User.Read")
	form := e.codeForm(code, v, "User.Read")
	form.Set("claims", cp1Claims)
	_, m := e.postToken(t, e.tenant.ID, form)
	challenge := e.srv.RequireClaims(e.user.ObjectID)
	req, _ := http.NewRequest(http.MethodGet, e.srv.GraphURL()+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+m["access_token"].(string))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(h, `error="insufficient_claims"`) {
		t.Fatalf("want claims challenge, got %d %q", resp.StatusCode, h)
	}
	q := e.authorizeQuery("openid User.Read")
	q.Set("claims", challenge)
	b := e.browser(e.user.UPN, entratest.Accept)
	page, err := b.Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil {
		t.Fatal(err)
	}
	st, m := e.postToken(t, e.tenant.ID, e.codeForm(page.URL.Query().Get("code"), "", "User.Read"))
	if st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	if status := graphGet(t, e, m["access_token"].(string), "/me"); status != 200 {
		t.Fatalf("GET /me with acrs = %d", status)
	}
	e.srv.ClearClaims(e.user.ObjectID)
}
