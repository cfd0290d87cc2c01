package middleware_test

import (
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestDeclinePageShowsEntraDetails: with a valid state, the page shows Entra's
// first description line and a retry link for the same scopes and return URL.
func TestDeclinePageShowsEntraDetails(t *testing.T) {
	e := newEnv(t)
	p := e.get(t, e.browser(e.user, entratest.Decline), "/mail?folder=x")
	for _, want := range []string{"AADSTS65004", "Mail.Read", `href="/auth/signin?redirect=%2Fmail%3Ffolder%3Dx&amp;scope=Mail.Read"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("page lacks %q: %s", want, p.Body)
		}
	}
}
