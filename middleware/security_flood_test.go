package middleware_test

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

// anonymousPost posts body to /compose from the app's origin without a
// signed-in user (cli has its own cookie jar, or none) and returns the status.
func (e *env) anonymousPost(t *testing.T, cli *http.Client, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/compose", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := cli.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// noRedirects is the app's TLS client, not following redirects.
func (e *env) noRedirects() *http.Client {
	cli := e.srv.Client()
	cli.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return cli
}

// TestAnonymousPostsCannotEvictTokens: anonymous form posts to a Require
// route (each a pending flow and a kept body) do not go into the token
// cache's store, so they cannot push a signed-in user's tokens out of it.
func TestAnonymousPostsCannotEvictTokens(t *testing.T) {
	e := newEnv(t)
	cache, err := tokencache.New(tokencache.NewMemoryStore(tokencache.WithMaxBytes(256 << 10)))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Cache = cache
	e.start5(t, nil)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	body := strings.Repeat("x", middleware.MaxAnonymousResumeBody-100)
	for range 100 { // each from a new browser: 1.6 MB in all
		if s := e.anonymousPost(t, e.noRedirects(), body); s != http.StatusFound {
			t.Fatalf("anonymous post: %d, want 302 to Entra", s)
		}
	}
	e.start5(t, nil) // a restarted replica: only the shared store has the tokens
	e.idp.ResetCounts()
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK || e.entraCalls() != 0 {
		t.Errorf("after the flood: %d with %d calls to Entra (tokens evicted)%s", p.StatusCode, e.entraCalls(), trail(p))
	}
}

// TestAnonymousKeptBodies: without a signed-in user a body is kept only up
// to MaxAnonymousResumeBody, and one browser session holds at most a few
// pending flows and kept bodies in the flow store, however often it posts.
func TestAnonymousKeptBodies(t *testing.T) {
	e := newEnv(t)
	flows := tokencache.NewMemoryStore()
	e.start5(t, func(c *middleware.Config) { c.FlowStore = flows })
	if s := e.anonymousPost(t, e.noRedirects(), strings.Repeat("x", middleware.MaxAnonymousResumeBody+1)); s != http.StatusRequestEntityTooLarge {
		t.Errorf("anonymous post over the limit: %d, want 413", s)
	}
	cli := e.noRedirects()
	cli.Jar, _ = cookiejar.New(nil)
	for range 20 {
		if s := e.anonymousPost(t, cli, "subject=x"); s != http.StatusFound {
			t.Fatalf("anonymous post: %d, want 302", s)
		}
	}
	if n := flows.Len(); n == 0 || n > 2*4+1 { // maxPending flows and kept bodies, one loop counter
		t.Errorf("one session's 20 posts left %d entries in Config.FlowStore", n)
	}
}
