package main

import (
	"context"
	"fmt"
	"net/url"
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

// TestBrowserPermissionsPage: Contoso's administrator opens the Permissions
// page: she consented to User.Read for herself at sign-in, nothing else is
// granted. The page says so per route, and its one button asks Entra's admin
// consent for exactly the permissions not granted to everyone; afterwards
// everything is granted. A non-admin may not see the page.
func TestBrowserPermissionsPage(t *testing.T) {
	adele := newBrowser(t, "adele") // skips without Chromium
	a := startExample(t)

	adele.open(a.URL + "/permissions")
	adele.seesEntra("sign-in", "signin")
	adele.click(`button[data-upn="adele@contoso.example"]`)
	adele.seesEntra("consent-user-read", "consent", "User.Read")
	adele.click("#accept") // for herself only
	adele.seesPage("permissions", "permissions", "Profile", "Directory")
	want := map[string]string{"User.Read": "granted to some users (1)", "Mail.Read": "missing", "Mail.Send": "missing", "User.Read.All": "missing"}
	for s, w := range want {
		adele.check("permissions", adele.status(s) == w, "%s: status %q, want %q", s, adele.status(s), w)
	}
	u, err := url.Parse(adele.href("#approve-missing"))
	if err != nil {
		t.Fatal(err)
	}
	asked := strings.Fields(u.Query().Get("scope"))
	adele.check("permissions", len(asked) == 4 && !strings.Contains(u.RawQuery, "default"),
		"the button asks for %q, want exactly User.Read, Mail.Read, Mail.Send and User.Read.All", asked)

	adele.click("#approve-missing")
	adele.seesEntra("admin-consent", "adminconsent", "User.Read", "Mail.Read", "Mail.Send", "User.Read.All")
	if got := adele.consentedScopes(); len(got) != 4 {
		t.Errorf("the admin consent page asks for %v, want the 4 missing permissions only", got)
	}
	adele.click("#accept")
	adele.seesPage("permissions-approved", "permissions")
	for s := range want {
		adele.check("permissions-approved", adele.status(s) == "granted", "%s: status %q, want granted", s, adele.status(s))
	}
	adele.check("permissions-approved", adele.has("#all-granted") && !adele.has("#approve-missing"), "the page still offers to approve something")

	alex := adele.person("alex")
	alex.open(a.URL + "/permissions")
	alex.seesEntra("alex-sign-in", "signin")
	alex.click(`button[data-upn="alex@contoso.example"]`)
	alex.seesPage("alex-permissions", "error", "Administrators only") // User.Read is granted to everyone now: no consent page
}
