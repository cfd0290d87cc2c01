package middleware

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/consentry/consentry/middleware/internal/returnurl"
)

// A script (fetch, XMLHttpRequest, htmx) that needs the user gets 401 rather
// than a redirect it cannot follow. What brings the user back is the page the
// script runs on, not the endpoint it called (whose JSON would be all the
// user sees): htmx names it in HX-Current-URL, fetch and XMLHttpRequest in
// the Referer browsers send with same-origin requests. A script may also set
// the redirect parameter of signin_url itself.

// scriptReturn is where a script's user comes back to after signing in: the
// page the script runs on when it is on the app's origin and under BasePath,
// else the URL the script called. An htmx-boosted request is a navigation:
// its own URL is the page.
func (m *Middleware) scriptReturn(r *http.Request) string {
	if r.Header.Get("HX-Boosted") != "true" {
		for _, h := range []string{"HX-Current-URL", "Referer"} {
			if p, ok := m.pageOf(r.Header.Get(h)); ok {
				return p
			}
		}
	}
	return m.returnURL(r)
}

// pageOf returns the path and query of the absolute URL raw when it is a page
// of this app: on RedirectURL's origin, under BasePath.
func (m *Middleware) pageOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || !m.onOrigin(u) {
		return "", false
	}
	p := u.RequestURI()
	if !returnurl.Valid(p) || m.underBase(p) != p {
		return "", false
	}
	return p, true
}

// standardChallenge adds to a script's 401 what standard clients read:
// RFC 6750's Bearer challenge (section 3: no error code for a request
// without a signed-in user, error="insufficient_scope" with the scopes
// needed for one whose consent is missing), or for a claims request
// (claims, as Conditional Access or a claims challenge asks) Entra's
// error="insufficient_claims" with the claims in base64
// (https://learn.microsoft.com/entra/identity-platform/claims-challenge);
// and for htmx (HX-Request: true) HX-Redirect, which makes htmx load the
// sign-in URL whatever the status
// (https://htmx.org/reference/#response_headers; htmx's handleAjaxResponse
// acts on HX-Redirect before it looks at the status).
func (m *Middleware) standardChallenge(w http.ResponseWriter, r *http.Request, scopes []string, signIn string, reason error, claims string) {
	params := []string{"realm=" + quotedString(m.cfg.redirect.Host)}
	switch {
	case claims != "":
		params = append(params, `error="insufficient_claims"`, "claims="+quotedString(base64.StdEncoding.EncodeToString([]byte(claims))))
	case !errors.Is(reason, ErrNotSignedIn):
		params = append(params, `error="insufficient_scope"`)
	}
	params = append(params, "scope="+quotedString(strings.Join(scopes, " ")))
	w.Header().Add("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", signIn)
	}
}

// quotedString writes s as an HTTP quoted-string (RFC 9110 section 5.6.4,
// https://www.rfc-editor.org/rfc/rfc9110#section-5.6.4): a quote or a
// backslash escaped with a backslash, other bytes as they are (UTF-8 is
// obs-text), control characters other than tab left out (a quoted-string
// cannot hold them).
// Go's %q would write "\u200b" for U+200B, which a client reads as "u200b".
func quotedString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case (c < 0x20 && c != '\t') || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// isHTMX reports whether r was sent by htmx (HX-Request: true), boosted
// navigations included: htmx loads them with XMLHttpRequest, which cannot
// follow a redirect to Entra's pages.
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
