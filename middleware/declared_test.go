package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestOnlyDeclaredScopesCanBeRequested: the sign-in and admin-consent
// endpoints send Entra only scopes some route declared (however spelled);
// any other scope in the query is a 400 page, not a consent prompt.
func TestOnlyDeclaredScopesCanBeRequested(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, nil) // routes declare User.Read, Mail.Read, Calendars.Read, Mail.Send; User.Read.All admin
	tests := []struct {
		endpoint, scope string
		want            int
	}{
		{"signin", "Mail.Read", http.StatusFound},
		{"signin", "https://graph.microsoft.com/mail.read Mail.Send", http.StatusFound},
		{"signin", "Directory.ReadWrite.All", http.StatusBadRequest},
		{"signin", "Mail.Read Mail.ReadWrite", http.StatusBadRequest},
		{"signin", "api://other-app/access_as_user", http.StatusBadRequest},
		{"adminconsent", "User.Read.All", http.StatusFound},
		{"adminconsent", "Directory.ReadWrite.All", http.StatusBadRequest},
		{"adminconsent", "https://graph.microsoft.com/Application.ReadWrite.All", http.StatusBadRequest},
	}
	e.mu.Lock()
	h := e.handler
	e.mu.Unlock()
	for _, tc := range tests {
		t.Run(tc.endpoint+" "+tc.scope, func(t *testing.T) {
			u := e.srv.URL + "/auth/" + tc.endpoint + "?" + url.Values{"redirect": {"/"}, "scope": {tc.scope}}.Encode()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
			loc := w.Header().Get("Location")
			if w.Code != tc.want {
				t.Fatalf("%d, want %d (Location %q)", w.Code, tc.want, loc)
			}
			if tc.want == http.StatusFound && !strings.HasPrefix(loc, e.idp.URL+"/") {
				t.Errorf("Location %q, want Entra at %s", loc, e.idp.URL)
			}
			if tc.want == http.StatusFound && tc.endpoint == "signin" {
				l, _ := url.Parse(loc)
				sent := strings.ToLower(l.Query().Get("scope"))
				for _, s := range strings.Fields(strings.ToLower(tc.scope)) {
					if !strings.Contains(sent, strings.TrimPrefix(s, "https://graph.microsoft.com/")) {
						t.Errorf("scope sent to Entra %q, want it to ask for %s", sent, s)
					}
				}
			}
		})
	}
}
