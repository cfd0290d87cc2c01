package middleware

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/returnurl"
)

// TestReturnURLStaysOnTheApp: whatever the request line and headers say
// (an absolute-form request URI naming another host, a path that starts
// with //, X-Forwarded-Prefix or X-Forwarded-Host, a Referer of another
// site), the way back after sign-in is a path on the app's own origin,
// under BasePath.
func TestReturnURLStaysOnTheApp(t *testing.T) {
	cred, _ := confidential.NewCredFromSecret("secret")
	m, err := New(Config{Authority: "https://login.microsoftonline.com/organizations", ClientID: "c",
		Credential: cred, RedirectURL: "https://app.example/app/auth/callback",
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, target, path string // path: r.URL.Path as the app's router leaves it
		header             map[string]string
		want               string
	}{
		{"absolute-form", "http://evil.example/app/mail?x=1", "/app/mail", nil, "/app/mail?x=1"},
		{"absolute-form, stripped", "http://evil.example/app/mail?x=1", "/mail", nil, "/app/mail?x=1"},
		{"network-path", "//evil.example/mail", "/mail", nil, "/app//evil.example/mail"},
		{"forwarded prefix and host", "/app/mail", "/app/mail",
			map[string]string{"X-Forwarded-Prefix": "//evil.example/", "X-Forwarded-Host": "evil.example"}, "/app/mail"},
		{"script, referer of another site", "/app/api", "/app/api",
			map[string]string{"Accept": "application/json", "Referer": "https://evil.example/app/page"}, "/app/api"},
		{"script, referer of another scheme", "/app/api", "/app/api",
			map[string]string{"Accept": "application/json", "Referer": "http://app.example/app/page"}, "/app/api"},
		{"htmx, current url of another site", "/app/api", "/app/api",
			map[string]string{"HX-Request": "true", "HX-Current-URL": "https://app.example.evil.example/app/page"}, "/app/api"},
		{"script, referer outside the base path", "/app/api", "/app/api",
			map[string]string{"Accept": "application/json", "Referer": "https://app.example/other/page"}, "/app/api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://app.example/", nil)
			r.RequestURI, r.URL.Path = tc.target, tc.path
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			got := m.returnURL(r)
			if isScript(r) {
				got = m.scriptReturn(r)
			}
			if got != tc.want || !returnurl.Valid(got) || !strings.HasPrefix(got, m.cfg.BasePath) {
				t.Errorf("return URL %q, want %q", got, tc.want)
			}
		})
	}
}
