package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/middleware/internal/flowstore"
)

// TestForeignCallbackLeavesVictimFlow: another browser that learned a
// victim's state (from a log, a shared screen, a Referer) and opens the
// callback with it is refused, and the victim's pending sign-in is left
// untouched: the victim's own callback still completes. The attacker's
// browser has a binding id of its own, or a forged flow cookie named after
// the victim's flow; neither proves the flow.
func TestForeignCallbackLeavesVictimFlow(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env, atk *entratest.Browser, state string)
	}{
		{"attacker with a binding id", func(t *testing.T, e *env, atk *entratest.Browser, _ string) {
			startFlow(t, e, atk, "/profile")
		}},
		{"attacker with a forged flow cookie", func(t *testing.T, e *env, atk *entratest.Browser, state string) {
			u, _ := url.Parse(e.srv.URL)
			atk.Client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName + "_f_" + flowstore.ID(state), Value: "forged", Path: "/"}})
		}},
		{"signed-in attacker", func(t *testing.T, e *env, atk *entratest.Browser, _ string) {
			if p := e.get(t, atk, "/profile"); p.StatusCode != http.StatusOK {
				t.Fatalf("attacker sign-in: %d%s", p.StatusCode, trail(p))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			victim := e.browser(e.user, entratest.Accept)
			atk := e.browser(e.addUser("mallory"), entratest.Accept)
			authURL := startFlow(t, e, victim, "/profile")
			u, _ := url.Parse(authURL)
			state := u.Query().Get("state")
			if state == "" {
				t.Fatalf("no state in %s", authURL)
			}
			tt.setup(t, e, atk, state)
			expect400(t, e.get(t, atk, "/auth/callback?code=junk&state="+url.QueryEscape(state)))
			p := open(t, victim, authURL)
			if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "page /profile") || !strings.Contains(p.Body, "user="+e.user.UPN) {
				t.Errorf("victim's round trip after the foreign callback: %d %s%s", p.StatusCode, p.Body, trail(p))
			}
		})
	}
}
