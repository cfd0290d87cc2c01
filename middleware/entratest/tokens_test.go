package entratest_test

import (
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestCustomAPIAudience(t *testing.T) {
	e := newEnv(t)
	// accessTokenAcceptedVersion: null/1 gives v1.0 tokens whose aud is the
	// Application ID URI; 2 gives v2.0 tokens whose aud is the client id
	// (https://learn.microsoft.com/entra/identity-platform/reference-app-manifest#accesstokenacceptedversion-attribute).
	for _, tc := range []struct {
		version       int
		aud, iss, ver string
	}{
		{0, "api://", "https://sts.windows.net/" + e.tenant.ID + "/", "1.0"},
		{2, "", e.srv.URL + "/" + e.tenant.ID + "/v2.0", "2.0"},
	} {
		api := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, DisplayName: "Orders API", AccessTokenVersion: tc.version,
			ExposedScopes: []entratest.Permission{{Value: "Orders.Read", Description: "Read your orders"}}})
		scope := "api://" + api.ClientID + "/Orders.Read"
		code, v := e.getCode(t, e.user.UPN, "openid "+scope)
		st, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, scope+" openid"))
		if st != 200 {
			t.Fatalf("%d %v", st, m)
		}
		c := claimsOf(t, m["access_token"].(string))
		if c["aud"] != tc.aud+api.ClientID || c["iss"] != tc.iss || c["ver"] != tc.ver || c["scp"] != "Orders.Read" || m["scope"] != scope+" openid" {
			t.Fatalf("version %d: custom API token %v, scope %q", tc.version, c, m["scope"])
		}
	}
}
