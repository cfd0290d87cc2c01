package middleware

import (
	"net/http"
	"net/url"
	"strings"
)

// sameOrigin reports whether r comes from a page of this app (or from the
// user typing the URL): Sec-Fetch-Site same-origin or none, else an Origin
// or, lacking both, a Referer on RedirectURL's origin. A request with none of
// these headers is not trusted.
func (m *Middleware) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false // same-site, cross-site
	}
	if o := r.Header.Get("Origin"); o != "" {
		return o == m.origin()
	}
	ref, err := url.Parse(r.Header.Get("Referer"))
	return err == nil && ref.Host != "" && m.onOrigin(ref)
}

// origin is RedirectURL's origin, e.g. "https://app.example".
func (m *Middleware) origin() string { return m.cfg.redirect.Scheme + "://" + m.cfg.redirect.Host }

// onOrigin reports whether the URL u is on RedirectURL's origin (scheme and
// host compared case-insensitively).
func (m *Middleware) onOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme+"://"+u.Host, m.origin())
}

// absolute makes an app-relative URL absolute on RedirectURL's origin.
func (m *Middleware) absolute(rel string) string { return m.origin() + rel }

// isScript reports whether r comes from a script rather than a page
// navigation: XMLHttpRequest's marker, htmx's HX-Request, fetch()'s Fetch metadata
// (Sec-Fetch-Dest empty, or a Sec-Fetch-Mode other than navigate), or an
// Accept asking for JSON but not HTML.
func isScript(r *http.Request) bool {
	if r.Header.Get("X-Requested-With") == "XMLHttpRequest" || r.Header.Get("Sec-Fetch-Dest") == "empty" || isHTMX(r) {
		return true
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" {
		return true
	}
	a := r.Header.Get("Accept")
	a = strings.ToLower(a)
	return strings.Contains(a, "json") && !strings.Contains(a, "text/html")
}
