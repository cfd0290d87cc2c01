package middleware_test

import (
	"crypto/rand"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// appSessions is an app's own server-side session: a cookie "appsid" naming
// an entry of a map. It keeps the middleware's values through
// middleware.AppSession.
type appSessions struct {
	mu   sync.Mutex
	byID map[string]map[string]string
}

var _ middleware.AppSession = (*appSessions)(nil)

func (s *appSessions) Load(r *http.Request) (map[string]string, error) {
	c, err := r.Cookie("appsid")
	if err != nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.byID[c.Value]), nil
}

func (s *appSessions) Save(w http.ResponseWriter, r *http.Request, v map[string]string, renew bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := ""
	if c, err := r.Cookie("appsid"); err == nil {
		id = c.Value
	}
	if id == "" || renew {
		delete(s.byID, id)
		id = rand.Text()
		http.SetCookie(w, &http.Cookie{Name: "appsid", Value: id, Path: "/", HttpOnly: true, Secure: true})
	}
	s.byID[id] = maps.Clone(v)
	return nil
}

// ids returns the session ids in use.
func (s *appSessions) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.byID))
}

func cookieValue(b *entratest.Browser, rawURL, name string) string {
	u, _ := url.Parse(rawURL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestAppSessionKeepsTheAccount: with Config.AppSession the middleware keeps
// who is signed in in the app's own session, not a cookie of its own; a
// sign-in gives the session a new id (an id planted before is worth
// nothing) and sign-out empties it.
func TestAppSessionKeepsTheAccount(t *testing.T) {
	e := newEnv(t)
	store := &appSessions{byID: map[string]map[string]string{}}
	cfg := e.cfg
	cfg.AppSession = store
	a := &testApp{mw: e.newMiddleware(t, cfg)}
	e.setHandler(e.routes(a.mw))
	b := e.browser(e.user, entratest.Accept)

	planted := "planted-by-an-attacker"
	store.byID[planted] = map[string]string{}
	b.Client.Jar.SetCookies(mustURL(t, e.srv.URL), []*http.Cookie{{Name: "appsid", Value: planted, Path: "/"}})
	if p := e.get(t, b, "/mail?x=1"); p.StatusCode != 200 || !strings.Contains(p.Body, "user="+e.user.UPN) {
		t.Fatalf("sign-in: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	id := cookieValue(b, e.srv.URL, "appsid")
	if id == "" || id == planted || store.byID[planted] != nil {
		t.Errorf("the planted session id survived sign-in: cookie %q, sessions %v", id, store.ids())
	}
	if store.byID[id]["acct"] == "" || cookieValue(b, e.srv.URL, middleware.DefaultSessionName) != "" {
		t.Errorf("the account is not in the app's session (%v), or the middleware set its own cookie", store.byID[id])
	}
	if acct, ok := a.mw.Account(requestWithCookie(e.srv.URL, "appsid", id)); !ok || acct.Username != e.user.UPN {
		t.Errorf("Account(r) = %v %v", acct, ok)
	}
	if p, err := b.PostForm(e.srv.URL+"/auth/signout", nil); err != nil || len(p.Trail) < 2 {
		t.Fatalf("sign-out: %v%s", err, trail(p))
	}
	if after := cookieValue(b, e.srv.URL, "appsid"); after == id || len(store.byID[after]) != 0 {
		t.Errorf("after sign-out: session %q holds %v", after, store.byID[after])
	}
}

func requestWithCookie(base, name, value string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	r.AddCookie(&http.Cookie{Name: name, Value: value})
	return r
}

func TestAppSessionExcludesSessions(t *testing.T) {
	e := newEnv(t)
	cfg := e.cfg
	cfg.AppSession = &appSessions{}
	cfg.Sessions = sessions.NewCookieStore(sessionKeys...)
	if _, err := middleware.New(cfg); err == nil || !strings.Contains(err.Error(), "AppSession") {
		t.Errorf("New with Sessions and AppSession: %v", err)
	}
}

// failingSession is an app's session store that fails to load, handing back
// what it read before the failure.
type failingSession struct{ partial map[string]string }

func (s failingSession) Load(*http.Request) (map[string]string, error) {
	return s.partial, errors.New("store unreachable")
}

func (failingSession) Save(http.ResponseWriter, *http.Request, map[string]string, bool) error {
	return nil
}

// TestAppSessionLoadErrorIsSignedOut: a Load that fails means nobody is
// signed in, even when it returns values with its error.
func TestAppSessionLoadErrorIsSignedOut(t *testing.T) {
	e := newEnv(t)
	cfg := e.cfg
	cfg.AppSession = failingSession{partial: map[string]string{"acct": "someone.tenant", "user": "someone@example.com"}}
	mw := e.newMiddleware(t, cfg)
	if acct, ok := mw.Account(requestWithCookie(e.srv.URL, "appsid", "x")); ok {
		t.Errorf("Account(r) = %v, signed in from a session that failed to load", acct)
	}
}
