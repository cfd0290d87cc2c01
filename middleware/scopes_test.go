package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
)

// TestGraphScopeSpellingsShareOneToken: a token cached for "User.Read" serves
// a route declared with Graph's full URI or app id, without asking Entra.
func TestGraphScopeSpellingsShareOneToken(t *testing.T) {
	for _, scope := range []string{"User.Read", "https://graph.microsoft.com/User.Read",
		"HTTPS://GRAPH.MICROSOFT.COM/user.read", "00000003-0000-0000-c000-000000000000/User.Read"} {
		t.Run(scope, func(t *testing.T) {
			e := newEnv(t)
			acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID, Username: "adele@contoso.example"}
			middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: "seeded", ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
			r := httptest.NewRequest("GET", e.srv.URL+"/x", nil)
			r.AddCookie(middleware.SessionCookie(e.mw, acct))
			e.idp.ResetCounts()
			w := httptest.NewRecorder()
			e.mw.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tok, _ := middlewareToken(r); tok != "seeded" {
					t.Errorf("token %q, want the seeded one", tok)
				}
			})).ServeHTTP(w, r)
			if w.Code != http.StatusOK || e.entraCalls() != 0 {
				t.Errorf("status %d, %d calls to Entra, want 200 and none", w.Code, e.entraCalls())
			}
		})
	}
}
