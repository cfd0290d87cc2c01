package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestSwitchAccount: SignInURL signs the same account in again (login_hint);
// SwitchAccountURL shows Entra's account picker, and the other account
// signs in without a sign-out.
func TestSwitchAccount(t *testing.T) {
	e := newEnv(t)
	megan := e.addUser("megan")
	e.serveWhoami(func(a middleware.Account) string { return a.Username })
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/whoami"); p.Body != e.user.UPN {
		t.Fatalf("first sign-in: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	b.User = megan.UPN
	if p := e.get(t, b, e.mw.SignInURL("/whoami")); p.Body != e.user.UPN || len(steps(p, "signin")) != 0 {
		t.Fatalf("SignInURL: %q, want %s again without a sign-in page%s", p.Body, e.user.UPN, trail(p))
	}
	p := e.get(t, b, e.mw.SwitchAccountURL("/whoami"))
	if p.Body != megan.UPN || len(steps(p, "signin")) != 1 {
		t.Fatalf("SwitchAccountURL: %q, want %s after the account picker%s", p.Body, megan.UPN, trail(p))
	}
}

// TestSignInPromptParameter: the sign-in endpoint takes prompt=select_account
// and refuses any other prompt.
func TestSignInPromptParameter(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		prompt string
		want   int
	}{{"select_account", http.StatusFound}, {"none", http.StatusBadRequest}, {"consent", http.StatusBadRequest}} {
		w := httptest.NewRecorder()
		e.mw.AuthHandler().ServeHTTP(w, httptest.NewRequest("GET", e.srv.URL+"/auth/signin?redirect=/&prompt="+tc.prompt, nil))
		if w.Code != tc.want {
			t.Errorf("prompt=%s: %d, want %d", tc.prompt, w.Code, tc.want)
		}
	}
}
