package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
)

// testSite is the example's site with its middleware, on an in-process
// emulator, for a public URL of the given scheme.
func testSite(t *testing.T, publicURL string) *site {
	t.Helper()
	return testSiteWith(t, publicURL, nil)
}

// testSiteWith is testSite with the identity changed by edit (nil: as is).
func testSiteWith(t *testing.T, publicURL string, edit func(*identity)) *site {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := &config{EmulatorAddr: "127.0.0.1:0"}
	idp, err := newIdentity(cfg, publicURL+"/auth/callback", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	if edit != nil {
		edit(idp)
	}
	s, err := newSite(idp, publicURL, log)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Authority: idp.Authority, ClientID: idp.ClientID,
		Credential: idp.Credential, RedirectURL: publicURL + "/auth/callback", SessionKeys: cfg.sessionKeys(),
		HTTPClient: idp.HTTPClient, DisableInstanceDiscovery: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mw.Close() })
	s.mw = mw
	return s
}

// composePage runs the compose form handler for target with cookies.
func composePage(s *site, target string, cookies ...*http.Cookie) (*httptest.ResponseRecorder, string) {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	s.composeForm(w, r)
	return w, w.Body.String()
}

// TestComposeSentNoticeIsOneTime: the "Sent ... to ..." notice shows only
// after this browser's send, once; a crafted /compose?sent=...&subject=...
// link shows none.
func TestComposeSentNoticeIsOneTime(t *testing.T) {
	s := testSite(t, "http://127.0.0.1:8080")
	if _, body := composePage(s, "/compose?sent=boss@contoso.example&subject=I+resign"); strings.Contains(body, `id="sent"`) {
		t.Errorf("a crafted link shows a sent notice:\n%s", body)
	}

	w := httptest.NewRecorder()
	s.flash.put(w, "/compose", sentView{To: "megan@contoso.example", Subject: "Lunch"})
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Path != "/compose" || !cookies[0].HttpOnly || strings.Contains(cookies[0].Value, "megan") {
		t.Fatalf("flash cookie %+v", cookies)
	}
	rec, body := composePage(s, "/compose", cookies...)
	if !strings.Contains(body, `id="sent"`) || !strings.Contains(body, "Sent “Lunch” to megan@contoso.example") {
		t.Errorf("after a send the notice is missing:\n%s", body)
	}
	if c := rec.Result().Cookies(); len(c) == 0 || c[len(c)-1].Name != flashCookie || c[len(c)-1].MaxAge >= 0 {
		t.Errorf("the flash cookie is not expired after use: %+v", c)
	}
	if _, body := composePage(s, "/compose", cookies...); strings.Contains(body, `id="sent"`) {
		t.Errorf("the notice shows a second time:\n%s", body)
	}
	forged := &http.Cookie{Name: flashCookie, Value: "made-up"}
	if _, body := composePage(s, "/compose", forged); strings.Contains(body, `id="sent"`) {
		t.Errorf("a made-up flash cookie shows a notice:\n%s", body)
	}
}

// TestCookiesSecureFollowPublicURL: behind a TLS proxy the app serves plain
// HTTP, yet its cookies must be Secure when browsers reach it over https.
func TestCookiesSecureFollowPublicURL(t *testing.T) {
	for _, tt := range []struct {
		public string
		secure bool
	}{
		{"https://app.example", true},
		{"http://127.0.0.1:8080", false},
	} {
		t.Run(tt.public, func(t *testing.T) {
			s := testSite(t, tt.public)
			rec, _ := composePage(s, "/compose") // plain HTTP: r.TLS is nil
			fw := httptest.NewRecorder()
			s.flash.put(fw, "/compose", sentView{To: "a@b.example", Subject: "s"})
			cookies := append(rec.Result().Cookies(), fw.Result().Cookies()...)
			names := map[string]bool{}
			for _, c := range cookies {
				names[c.Name] = true
				if c.Secure != tt.secure {
					t.Errorf("cookie %s: Secure=%v, want %v", c.Name, c.Secure, tt.secure)
				}
			}
			if !names[csrfCookie] || !names[flashCookie] {
				t.Errorf("cookies %v, want %s and %s", names, csrfCookie, flashCookie)
			}
		})
	}
}

// TestMiddlewarePagesInTheLayout: the middleware's pages appear in the
// example's layout; the resume page may load its script from the app's
// origin, the other pages no script at all.
func TestMiddlewarePagesInTheLayout(t *testing.T) {
	s := testSite(t, "http://127.0.0.1:8080")
	for _, tc := range []struct {
		page middleware.Page
		want []string
		csp  string
	}{
		{middleware.Page{Status: http.StatusForbidden, Title: "The permissions were not granted", Err: middleware.ErrConsentDeclined,
			Links: []middleware.Link{{ID: "retry", Label: "Try again", URL: "/auth/signin?redirect=%2Fmail"}}},
			[]string{`<a id="retry-link" href="/auth/signin?redirect=%2Fmail">Try again</a>`}, "script-src 'none'"},
		// Entra answers a user who may not consent like a decline: with the
		// administrator's link, the page offers both ways on.
		{middleware.Page{Status: http.StatusForbidden, Title: "The permissions were not granted", Err: middleware.ErrConsentDeclined,
			Scopes: []string{"Mail.Read"}, Links: []middleware.Link{{ID: "retry", URL: "/auth/signin?redirect=%2Fmail"},
				{ID: "admin", URL: "http://127.0.0.1:8080/auth/adminconsent?scope=Mail.Read"}}},
			[]string{"You declined it, or in your organization only", `id="retry"`,
				`id="admin-link">http://127.0.0.1:8080/auth/adminconsent?scope=Mail.Read`}, "script-src 'none'"},
		{middleware.Page{Status: http.StatusOK, Title: "Almost done", Script: "/auth/resume.js",
			Form: &middleware.Form{ID: "consentry-resume", Method: "post", Action: "/compose?consentry_resume=x", Button: "Continue"}},
			[]string{`<form id="consentry-resume" method="post" action="/compose?consentry_resume=x">`}, "script-src 'self'"},
		{middleware.Page{Status: http.StatusForbidden, Title: "Your administrator must approve this app", Err: middleware.ErrAdminConsentRequired,
			Links: []middleware.Link{{ID: "admin", URL: "http://127.0.0.1:8080/auth/adminconsent?scope=User.Read.All"}}},
			[]string{`id="admin-link">http://127.0.0.1:8080/auth/adminconsent?scope=User.Read.All`}, "script-src 'none'"},
	} {
		w := httptest.NewRecorder()
		s.middlewarePage(w, httptest.NewRequest(http.MethodGet, "/x", nil), tc.page)
		body := w.Body.String()
		if w.Code != tc.page.Status || !strings.Contains(body, `class="brand"`) {
			t.Errorf("%s: %d, not in the layout:\n%s", tc.page.Title, w.Code, body)
		}
		for _, want := range tc.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s: want %q in the page:\n%s", tc.page.Title, want, body)
			}
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, tc.csp) {
			t.Errorf("%s: CSP %q, want %q", tc.page.Title, csp, tc.csp)
		}
	}
}
