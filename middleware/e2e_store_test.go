package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

// flakyStore is a tokencache.Store that can be switched off like a Redis outage.
type flakyStore struct {
	mem  *tokencache.MemoryStore
	down atomic.Bool
}

func (s *flakyStore) err() error {
	if s.down.Load() {
		return fmt.Errorf("flaky: connection refused: %w", tokencache.ErrUnavailable)
	}
	return nil
}

func (s *flakyStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if err := s.err(); err != nil {
		return nil, false, err
	}
	return s.mem.Get(ctx, k)
}

func (s *flakyStore) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.mem.Set(ctx, k, v, ttl)
}

func (s *flakyStore) Delete(ctx context.Context, k string) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.mem.Delete(ctx, k)
}

// TestTokenStoreOutage: with the shared store down, a user whose token is in
// the in-process cache keeps working; a request that needs the store gets 503,
// never a consent redirect; everything works again when the store returns.
func TestTokenStoreOutage(t *testing.T) {
	e := newEnv(t)
	store := &flakyStore{mem: tokencache.NewMemoryStore()}
	cache, err := tokencache.New(store, tokencache.WithKey("k1", []byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	e.mw = e.newMiddleware(t, e.config(t, cache))
	e.setHandler(e.routes(e.mw))
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	store.down.Store(true)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Errorf("cached user during outage: %d%s", p.StatusCode, trail(p))
	}
	for _, tc := range []struct {
		name string
		b    *entratest.Browser
		path string
	}{
		{"new scope of a signed-in user", b, "/mail"},
		{"new user", e.browser(e.addUser("newcomer"), entratest.Accept), "/profile"},
	} {
		p := e.get(t, tc.b, tc.path)
		if p.StatusCode != http.StatusServiceUnavailable || len(p.Trail) != 1 {
			t.Errorf("%s during outage: %d, want a 503 page%s", tc.name, p.StatusCode, trail(p))
		}
	}
	store.down.Store(false)
	if p := e.get(t, b, "/mail"); p.StatusCode != 200 {
		t.Errorf("after the outage: %d%s", p.StatusCode, trail(p))
	}
}

// TestPluggableSessionStore: any gorilla sessions.Store works, here a
// server-side filesystem store (the cookie holds only a session id).
func TestPluggableSessionStore(t *testing.T) {
	e := newEnv(t)
	cfg := e.cfg
	cfg.Sessions = sessions.NewFilesystemStore(t.TempDir(), sessionKeys...)
	e.mw = e.newMiddleware(t, cfg)
	e.setHandler(e.routes(e.mw))
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail?x=1", "/profile"} {
		if p := e.get(t, b, path); p.StatusCode != 200 {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
	}
}
