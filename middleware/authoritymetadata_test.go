package middleware_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestHerdReadsAuthorityMetadataOnce: a herd of refreshes that makes the
// server a client per user asks Entra for the authority's metadata no more:
// the clients made for it share the document the first one read at sign-in.
func TestHerdReadsAuthorityMetadataOnce(t *testing.T) {
	e := newEnv(t)
	const users = 30
	e.idp.SetTokenLifetime(4 * time.Minute) // inside the refresh window: the herd refreshes
	herd := make([]*entratest.Browser, users)
	for i := range herd {
		herd[i] = e.browser(e.addUser(fmt.Sprintf("meta%02d", i)), entratest.Accept)
		if p := e.get(t, herd[i], "/profile"); p.StatusCode != http.StatusOK {
			t.Fatalf("user %d sign-in: %d%s", i, p.StatusCode, trail(p))
		}
	}
	e.idp.SetTokenLifetime(0)
	e.idp.SetTokenLatency(200 * time.Millisecond) // each refresh holds its client: the pool grows to the herd
	e.idp.ResetCounts()
	for i, code := range fireAll(t, e, herd, "/profile") {
		if code != http.StatusOK {
			t.Errorf("user %d: status %d", i, code)
		}
	}
	if n := e.idp.Count(entratest.EndpointToken); n != users {
		t.Errorf("%d token requests, want %d (one refresh per user)", n, users)
	}
	if n := e.idp.Count(entratest.EndpointDiscovery); n != 0 {
		t.Errorf("%d OpenID configuration requests during the herd, want 0", n)
	}
}
