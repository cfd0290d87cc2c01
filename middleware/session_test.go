package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

func TestAccountOnOpenPagesAndPlainSignIn(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		acct, ok := e.mw.Account(r)
		w.Write([]byte(fmt.Sprintf("signed-in=%v user=%s name=%s", ok, acct.Username, acct.Name)))
	})
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/whoami"); p.Body != "signed-in=false user= name=" {
		t.Errorf("before sign-in: %q", p.Body)
	}
	p := e.get(t, b, e.mw.SignInURL("/whoami")) // no scopes: sign in only
	if p.StatusCode != 200 || p.Body != "signed-in=true user=adele@contoso.example name=adele" {
		t.Fatalf("after sign-in: %d %q%s\n%s", p.StatusCode, p.Body, trail(p), e.logs)
	}
	if p, _ := b.PostForm(e.srv.URL+e.mw.SignOutURL(), nil); p == nil || steps(p, "signedout") == nil && len(p.Trail) < 2 {
		t.Fatalf("sign-out%s", trail(p))
	}
	if p := e.get(t, b, "/whoami"); p.Body != "signed-in=false user= name=" {
		t.Errorf("after sign-out: %q", p.Body)
	}
}

// TestPluggableSessionStore: any gorilla sessions.Store works, here a
// server-side filesystem store (the cookie holds only a session id).
func TestPluggableSessionStore(t *testing.T) {
	e := newEnv(t)
	cfg := e.cfg
	cfg.Sessions = sessions.NewFilesystemStore(t.TempDir(), sessionKeys...)
	e.mw = e.newMiddleware(t, cfg)
	e.setHandler(e.routes(e.mw))
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail?x=1", "/profile"} {
		if p := e.get(t, b, path); p.StatusCode != 200 {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
	}
}

// TestServerSideSessionGetsNewIDAtSignIn: with a server-side session store a
// session id planted in the victim's browser before sign-in (session
// fixation) is not signed in afterwards.
func TestServerSideSessionGetsNewIDAtSignIn(t *testing.T) {
	e := newEnv(t)
	fs := sessions.NewFilesystemStore(t.TempDir(), sessionKeys...)
	fs.Options.Secure = true
	e.serveApp(t, func(c *middleware.Config) { c.Sessions = fs })
	atk := e.browser(e.addUser("mallory"), entratest.Accept)
	atk.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := atk.Client.Get(e.srv.URL + "/profile") // a pre-sign-in session with a pending flow
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	planted := e.sessionCookie(t, atk)

	v := e.browser(e.user, entratest.Accept)
	u, _ := url.Parse(e.srv.URL)
	v.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "consentry", Value: planted.Value, Path: "/"}})
	if p := e.get(t, v, "/profile"); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "user="+e.user.UPN) {
		t.Fatalf("victim sign-in: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if e.sessionCookie(t, v).Value == planted.Value {
		t.Error("the session cookie did not change at sign-in")
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/profile", nil)
	req.AddCookie(&http.Cookie{Name: "consentry", Value: planted.Value})
	resp, err = e.noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), e.user.UPN) {
		t.Errorf("the planted session id is signed in as the victim: %d %s", resp.StatusCode, body)
	}
}
