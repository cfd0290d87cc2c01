package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// status reads the Permissions page's status cell of scope.
func (b *browser) status(scope string) string {
	return b.text(`#permissions tr[data-scope="` + scope + `"] .status`)
}

// href reads the href attribute of the element sel.
func (b *browser) href(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	h, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("document.querySelector(%q).getAttribute('href')", sel)))
	if err != nil {
		b.t.Fatalf("reading the href of %s: %v", sel, err)
	}
	return h
}

// TestBrowserPermissionsPage: in Contoso the administrator consented to
// User.Read for everyone when she signed in, and Alex to Mail.Read for
// himself. Her Permissions page says so per route, and its one button asks
// Entra's admin consent for exactly the permissions not granted to everyone
// (not User.Read); afterwards everything is granted. A non-admin may not see
// the page.
func TestBrowserPermissionsPage(t *testing.T) {
	adele := newBrowser(t, "adele") // skips without Chromium
	a := startExample(t)

	adele.open(a.URL + "/profile")
	adele.signsInAs("sign-in", "adele@contoso.example")
	adele.seesEntra("consent-user-read", "consent", "User.Read")
	adele.run("tick consent for the organization", chromedp.Click(chromedp.CSS("#consent_org"), chromedp.NodeVisible))
	adele.shot("consent-for-organization")
	adele.click("#accept")
	adele.seesPage("profile", "profile")

	alex := adele.person("alex")
	alex.open(a.URL + "/mail")
	alex.signsInAs("alex-sign-in", "alex@contoso.example")
	alex.seesEntra("alex-consent-mail-read", "consent", "Mail.Read")
	alex.click("#accept")
	alex.seesPage("alex-mail", "mail")

	adele.click(`nav a[href="/permissions"]`)
	adele.seesPage("permissions", "permissions", "Profile", "Directory")
	want := map[string]string{"User.Read": "granted", "Mail.Read": "granted to some users (1)", "Mail.Send": "missing", "User.Read.All": "missing"}
	for s, w := range want {
		adele.check("permissions", adele.status(s) == w, "%s: status %q, want %q", s, adele.status(s), w)
	}
	u, err := url.Parse(adele.href("#approve-missing"))
	if err != nil {
		t.Fatal(err)
	}
	asked := strings.Fields(u.Query().Get("scope"))
	slices.Sort(asked)
	adele.check("permissions", slices.Equal(asked, []string{"Mail.Read", "Mail.Send", "User.Read.All"}),
		"the button asks for %q, want exactly Mail.Read, Mail.Send and User.Read.All", asked)

	adele.click("#approve-missing")
	adele.seesEntra("admin-consent", "adminconsent", "Mail.Read", "Mail.Send", "User.Read.All")
	if got := adele.consentedScopes(); len(got) != 3 {
		t.Errorf("the admin consent page asks for %v, want the 3 missing permissions only", got)
	}
	adele.click("#accept")
	adele.seesPage("permissions-approved", "permissions")
	for s := range want {
		adele.check("permissions-approved", adele.status(s) == "granted", "%s: status %q, want granted", s, adele.status(s))
	}
	adele.check("permissions-approved", adele.has("#all-granted") && !adele.has("#approve-missing"), "the page still offers to approve something")

	alex.click(`nav a[href="/permissions"]`)
	alex.seesPage("alex-permissions", "error", "Administrators only")
}

// TestPermissionsPageOnlyForAdministrators: where the identity provider does
// not say who is an administrator (the real Entra ID has no IsAdmin), the
// Permissions page is not shown to someone the middleware does not know as
// one: 403 "Administrators only", and no read of the tenant's grants.
func TestPermissionsPageOnlyForAdministrators(t *testing.T) {
	s := testSiteWith(t, "http://127.0.0.1:8080", func(i *identity) { i.IsAdmin = nil })
	w := httptest.NewRecorder()
	s.permissions(w, httptest.NewRequest(http.MethodGet, "/permissions", nil))
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Administrators only") {
		t.Errorf("got %d %.300q, want 403 Administrators only", w.Code, w.Body.String())
	}
}
