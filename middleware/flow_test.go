package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestCallbackOnReplicaBehind: a sign-in started on one replica completes
// when its callback lands on a replica whose clock is four minutes behind.
func TestCallbackOnReplicaBehind(t *testing.T) {
	e := newEnv(t)
	behind := e.cfg
	behind.Now = func() time.Time { return e.clock.Now().Add(-4 * time.Minute) }
	b := e.browser(e.user, entratest.Accept)
	toEntra := startRoundTrip(t, e, b, "/profile")
	e.setHandler(e.routes(e.newMiddleware(t, behind)))
	if p := open(t, b, toEntra); p.StatusCode != http.StatusOK {
		t.Errorf("callback on a replica 4 minutes behind: %d%s", p.StatusCode, trail(p))
	}
}
