package middleware

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// signOut forgets the user here (session, in-process tokens) and in the token
// cache (their partition), then sends the browser to Entra's logout. Only a
// same-origin request may do it (sameOrigin): another site's link, image or
// form must not sign the user out (logout CSRF); it gets a page with a
// sign-out button instead.
func (m *Middleware) signOut(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(r) {
		m.confirmSignOut(w, r)
		return
	}
	sess := m.loadSession(r)
	if id := sess.account.HomeAccountID; id != "" {
		m.dropAccount(id)
		if err := m.cache.Remove(r.Context(), id); err != nil {
			m.log.ErrorContext(r.Context(), "middleware: sign-out could not remove cached tokens", "account", id, "err", err)
		}
		if err := m.revokeSession(r.Context(), sess.sid); err != nil {
			m.log.ErrorContext(r.Context(), "middleware: sign-out", "account", id, "err", err)
		}
		m.log.InfoContext(r.Context(), "middleware: signed out", "account", id)
	}
	if c, err := r.Cookie(m.cfg.SessionName); err == nil && m.memo != nil {
		m.memo.Remove(c.Value, 0)
	}
	if err := sess.destroy(w, r); err != nil {
		m.log.WarnContext(r.Context(), "middleware: clear session", "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, m.logoutURL(r.Context()), http.StatusSeeOther)
}

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
	return err == nil && ref.Host != "" && strings.EqualFold(ref.Scheme+"://"+ref.Host, m.origin())
}

// origin is RedirectURL's origin, e.g. "https://app.example".
func (m *Middleware) origin() string { return m.cfg.redirect.Scheme + "://" + m.cfg.redirect.Host }

// confirmSignOut answers a sign-out request from elsewhere with a page whose
// button posts the sign-out from this origin: 200 for a GET (a link someone
// followed), 403 for a POST from another site.
func (m *Middleware) confirmSignOut(w http.ResponseWriter, r *http.Request) {
	m.log.WarnContext(r.Context(), "middleware: sign-out not from this site: asking the user",
		"method", r.Method, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	status := http.StatusOK
	if r.Method != http.MethodGet {
		status = http.StatusForbidden
	}
	w.WriteHeader(status)
	_ = signOutTmpl.Execute(w, m.cfg.authPaths.signOut)
}

var signOutTmpl = template.Must(template.New("signout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign out?</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}</style></head>
<body><h1>Sign out?</h1><p>Do you want to sign out of this app?</p>
<form method="post" action="{{.}}"><button type="submit" id="sign-out">Sign out</button></form>
<p><a href="/">No, back to the home page</a></p>
</body></html>
`))
