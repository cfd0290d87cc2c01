package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// With the emulator's plain-HTTP front channel, every URL the browser is sent
// to (authorize, admin consent, logout) comes from discovery, not from
// Config.Authority (which stays https for MSAL).
func TestFrontChannelURLsComeFromDiscovery(t *testing.T) {
	e := newEnvWith(t, entratest.WithPlainHTTPFrontChannel())
	front := e.idp.FrontChannelURL()
	if !strings.HasPrefix(front, "http://") {
		t.Fatalf("FrontChannelURL %q", front)
	}
	a := e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Accept)
	p := e.get(t, b, "/directory") // sign-in, then the admin-approval page
	var authorize, approval bool
	for _, s := range p.Trail {
		authorize = authorize || strings.HasPrefix(s.URL, front+"/organizations/oauth2/v2.0/authorize")
		approval = approval || s.Kind == "admin_approval" && strings.HasPrefix(s.URL, front)
		if strings.HasPrefix(s.URL, e.idp.URL) && s.Kind != "app" {
			t.Errorf("browser sent to the TLS origin: %s", s.URL)
		}
	}
	if !authorize || !approval || p.StatusCode != http.StatusForbidden {
		t.Fatalf("authorize on the front channel %v, approval %v:%s", authorize, approval, trail(p))
	}

	// The admin link and the connect endpoint go to the front channel's adminconsent.
	for _, path := range []string{strings.TrimPrefix(adminLink(t, p), e.srv.URL), a.mw.ConnectURL("/", e.tenant.ID)} {
		resp, err := b.Client.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || !strings.HasPrefix(loc.String(), front+"/") || !strings.HasSuffix(loc.Path, "/v2.0/adminconsent") {
			t.Errorf("%s redirects to %q", path, resp.Header.Get("Location"))
		}
		if q := loc.Query(); q.Get("client_id") != e.app.ClientID || q.Get("redirect_uri") != e.srv.URL+"/auth/callback" || q.Get("state") == "" {
			t.Errorf("admin consent parameters %v", q)
		}
	}

	// Sign-out ends at the front channel's logout.
	resp, err := b.Client.PostForm(e.srv.URL+a.mw.SignOutURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, front+"/organizations/oauth2/v2.0/logout?post_logout_redirect_uri=") {
		t.Errorf("logout at %q", loc)
	}
}
