package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
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
	if raw == "" || err != nil || !strings.EqualFold(u.Scheme+"://"+u.Host, m.origin()) {
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
// needed for one whose consent is missing), and for htmx (HX-Request: true)
// HX-Redirect, which makes htmx load the sign-in URL whatever the status
// (https://htmx.org/reference/#response_headers; htmx's handleAjaxResponse
// acts on HX-Redirect before it looks at the status).
func (m *Middleware) standardChallenge(w http.ResponseWriter, r *http.Request, scopes []string, signIn string, reason error) {
	params := []string{"realm=" + strconv.Quote(m.cfg.redirect.Host)}
	if !errors.Is(reason, ErrNotSignedIn) {
		params = append(params, `error="insufficient_scope"`)
	}
	params = append(params, "scope="+strconv.Quote(strings.Join(scopes, " ")))
	w.Header().Add("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", signIn)
	}
}

// isHTMX reports whether r was sent by htmx (HX-Request: true), boosted
// navigations included: htmx loads them with XMLHttpRequest, which cannot
// follow a redirect to Entra's pages.
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
