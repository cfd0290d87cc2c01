package middleware

import "net/http"

// reauth is a round trip to Entra that a handler asks for through
// Challenge: a claims challenge, or consent for a token Token could not get.
type reauth struct {
	scopes []string
	claims string                  // claims request to carry, optional
	url    func(ret string) string // the sign-in URL that returns to ret
	reason error                   // why, for the script's answer
}

// challengeToken answers a request whose Token call needs the user; it
// returns false, writing nothing, for any other error.
func (m *Middleware) challengeToken(w http.ResponseWriter, r *http.Request, err error) bool {
	ce, ok := needsInteraction(err)
	if !ok {
		return false
	}
	m.log.InfoContext(r.Context(), "middleware: token needs consent", "path", r.URL.Path, "scopes", logScopes(ce.Scopes))
	m.reauthorize(w, r, reauth{scopes: ce.Scopes, reason: err,
		url: func(ret string) string { return m.SignInURL(ret, ce.Scopes...) }})
	return true
}

// reauthorize sends a browser through Entra for ra and back to r (a form
// post recorded by Require is kept and posted again), or answers a script
// with 401 and JSON.
func (m *Middleware) reauthorize(w http.ResponseWriter, r *http.Request, ra reauth) {
	if isScript(r) {
		m.scriptChallenge(w, r, ra.scopes, ra.url(m.scriptReturn(r)), ra.reason, ra.claims)
		return
	}
	fr := flowRequest{scopes: ra.scopes, returnURL: m.returnURL(r), claims: ra.claims}
	if needsKeeping(r) {
		if kerr := m.keepable(r); kerr != nil {
			m.fail(w, r, kerr)
			return
		}
		k, kerr := m.keptForChallenge(r)
		if kerr != nil {
			m.fail(w, r, m.formNotKept(r, ra, kerr))
			return
		}
		fr.keep = k
	}
	m.startFlow(w, r, m.loadSession(r), fr)
}
