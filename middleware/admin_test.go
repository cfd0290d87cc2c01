package middleware_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestScopeDriftAsksOnlyForTheNewScope(t *testing.T) {
	e := newEnv(t)
	e.idp.SetRequiredPermissions(e.app.ClientID, []string{"User.Read"}, nil)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 || len(steps(p, "consent")) != 1 {
		t.Fatalf("first visit: %d%s", p.StatusCode, trail(p))
	}
	// The developer adds a Mail.Read route (and the permission to the registration).
	e.idp.SetRequiredPermissions(e.app.ClientID, []string{"User.Read", "Mail.Read"}, nil)
	p := e.get(t, b, "/mail")
	consents := steps(p, "consent")
	if p.StatusCode != 200 || len(consents) != 1 || !slices.Equal(consents[0].Scopes, []string{"Mail.Read"}) {
		t.Fatalf("drift: want one consent page for Mail.Read only:%s", trail(p))
	}
	if len(steps(p, "signin")) != 0 {
		t.Errorf("drift asked to sign in again:%s", trail(p))
	}
	e.idp.ResetCounts()
	for _, path := range []string{"/profile", "/mail", "/profile"} {
		if p := e.get(t, b, path); p.StatusCode != 200 || len(p.Trail) != 1 {
			t.Fatalf("%s after drift: %d%s", path, p.StatusCode, trail(p))
		}
	}
	if n := e.entraCalls(); n != 0 {
		t.Errorf("nothing should be asked again, Entra saw %d calls", n)
	}
}

func TestAdminOnlyScopeApprovedByAdminForEveryone(t *testing.T) {
	e := newEnv(t)
	e.start5(t, nil)
	admin, bob := e.addAdmin("alex"), e.addUser("bob")

	// A non-admin gets the approval page with a working admin link, once.
	p := e.get(t, e.browser(e.user, entratest.Accept), "/directory")
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "administrator must approve") ||
		!strings.Contains(p.Body, "User.Read.All") || len(steps(p, "admin_approval")) != 1 {
		t.Fatalf("non-admin: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	link := adminLink(t, p)
	if !strings.HasPrefix(link, e.srv.URL+"/auth/adminconsent?") || !strings.Contains(link, "User.Read.All") {
		t.Fatalf("admin link %q", link)
	}

	// The admin opens it in their browser: admin consent, then the page.
	ab := e.browser(admin, entratest.Accept)
	p = open(t, ab, link)
	if p.StatusCode != 200 || !strings.Contains(p.Body, "directory for "+admin.UPN) || len(steps(p, "adminconsent")) != 1 {
		t.Fatalf("admin: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if len(steps(p, "consent")) != 0 {
		t.Errorf("admin saw a user consent page after admin consent:%s", trail(p))
	}

	// The same non-admin, and a second user of the tenant: no consent page.
	for _, u := range []entratest.User{e.user, bob} {
		p := e.get(t, e.browser(u, entratest.Accept), "/directory")
		if p.StatusCode != 200 || !strings.Contains(p.Body, "directory for "+u.UPN) {
			t.Fatalf("%s after approval: %d %s%s", u.UPN, p.StatusCode, p.Body, trail(p))
		}
		if n := len(steps(p, "consent")) + len(steps(p, "admin_approval")); n != 0 {
			t.Errorf("%s saw %d consent pages after admin approval:%s", u.UPN, n, trail(p))
		}
	}
}

func TestSignedInAdminGoesStraightToAdminConsent(t *testing.T) {
	e := newEnv(t)
	e.start5(t, nil)
	admin := e.addAdmin("alex")
	b := e.browser(admin, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	p := e.get(t, b, "/directory")
	if p.StatusCode != 200 || len(steps(p, "adminconsent")) != 1 || len(steps(p, "consent")) != 0 {
		t.Fatalf("admin on an admin route: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	grants := e.idp.Grants(e.tenant.ID, e.app.ClientID)
	if !slices.ContainsFunc(grants, func(g entratest.Grant) bool {
		return g.PrincipalID == "" && slices.Contains(g.Scopes, "User.Read.All")
	}) {
		t.Errorf("no tenant-wide grant of User.Read.All: %+v", grants)
	}
	// Once granted through the middleware, the admin is not sent to admin consent again.
	e.idp.ResetCounts()
	p = e.get(t, e.browser(admin, entratest.Accept), "/directory")
	if p.StatusCode != 200 || e.idp.Count(entratest.EndpointAdminConsent) != 0 {
		t.Errorf("second visit: %d, %d admin consents%s", p.StatusCode, e.idp.Count(entratest.EndpointAdminConsent), trail(p))
	}
}

func TestUserConsentDisabledSendsEveryScopeToAdmin(t *testing.T) {
	e := newEnv(t)
	e.start5(t, nil)
	e.idp.SetUserConsent(e.tenant.ID, false)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail"} {
		p := e.get(t, b, path)
		if p.StatusCode != http.StatusForbidden || len(steps(p, "admin_approval")) != 1 || len(steps(p, "consent")) != 0 {
			t.Fatalf("%s: want the admin path, got %d%s", path, p.StatusCode, trail(p))
		}
		if link := adminLink(t, p); !strings.Contains(link, "redirect=%2F"+path[1:]) {
			t.Errorf("%s: admin link %q", path, link)
		}
	}
	// An admin approves /mail's permission; the user then gets the page.
	p := e.get(t, b, "/mail")
	ab := e.browser(e.addAdmin("alex"), entratest.Accept)
	if p := open(t, ab, adminLink(t, p)); p.StatusCode != 200 {
		t.Fatalf("admin approval: %d%s", p.StatusCode, trail(p))
	}
	if p := e.get(t, b, "/mail"); p.StatusCode != 200 || len(steps(p, "admin_approval")) != 0 {
		t.Fatalf("after approval: %d%s", p.StatusCode, trail(p))
	}
}

// TestAdminConsentLinkEndsOnAPage: an admin who declines, and a non-admin
// who opens the admin-consent link, both end on a clear page, no loop.
func TestAdminConsentLinkEndsOnAPage(t *testing.T) {
	tests := []struct {
		name      string
		opener    func(e *env) *entratest.Browser
		want      string
		authorize int // -1: not checked
	}{
		{"admin declines", func(e *env) *entratest.Browser { return e.browser(e.addAdmin("alex"), entratest.Decline) }, "You declined", 0},
		{"non-admin opens the link", func(e *env) *entratest.Browser { return e.browser(e.addUser("bob"), entratest.Accept) },
			"Only an administrator can approve this", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.start5(t, nil)
			p := e.get(t, e.browser(e.user, entratest.Accept), "/directory")
			link := adminLink(t, p)
			e.idp.ResetCounts()
			p = open(t, tc.opener(e), link)
			if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, tc.want) {
				t.Fatalf("%d %s%s", p.StatusCode, p.Body, trail(p))
			}
			got := e.counts(entratest.EndpointAdminConsent, entratest.EndpointAuthorize)
			if got[0] != 1 || (tc.authorize >= 0 && got[1] != tc.authorize) {
				t.Errorf("admin consent/authorize calls %v, want [1 %d] (no loop)", got, tc.authorize)
			}
		})
	}
}
