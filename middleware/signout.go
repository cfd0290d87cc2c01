package middleware

import (
	"net/http"
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

// confirmSignOut answers a sign-out request from elsewhere with a page whose
// button posts the sign-out from this origin: 200 for a GET (a link someone
// followed), 403 for a POST from another site.
func (m *Middleware) confirmSignOut(w http.ResponseWriter, r *http.Request) {
	m.log.WarnContext(r.Context(), "middleware: sign-out not from this site: asking the user",
		"method", r.Method, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	status := http.StatusOK
	if r.Method != http.MethodGet {
		status = http.StatusForbidden
	}
	m.cfg.RenderPage(w, r, m.signOutPage(status))
}
