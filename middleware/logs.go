package middleware

import (
	"github.com/consentry/consentry/middleware/internal/scope"
)

// What the middleware logs about routine round trips. A first visit (not
// signed in) and a page that needs consent are the normal path of an app
// with incremental consent: they are logged at DEBUG, with why the user is
// needed in a few words (the OAuth error and AADSTS number), never Entra's
// raw answer. Scope sets are logged by their canonical key (lower case,
// sorted), the same on every line.

// logScopes is how log lines name a scope set.
func logScopes(scopes []string) string { return scope.Key(scopes) }

// needUserAttrs says why a silent token needed the user: the OAuth error
// and AADSTS number of Entra's answer, or MSAL's own short message (no
// token in the cache, a scope missing).
func needUserAttrs(se *silentError) []any {
	if se.entra != nil {
		return []any{"error", se.entra.Code, "aadsts", se.entra.AADSTS()}
	}
	msg := se.err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "..."
	}
	return []any{"reason", msg}
}
