package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestScriptsGet401JSON(t *testing.T) {
	e := newEnv(t)
	signedIn := e.browser(e.user, entratest.Accept)
	if p := e.get(t, signedIn, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	cases := []struct {
		name   string
		b      *entratest.Browser
		header http.Header
	}{
		{"fetch JSON, not signed in", e.browser(e.user, entratest.Accept), http.Header{"Accept": {"application/json"}}},
		{"XHR, not signed in", e.browser(e.user, entratest.Accept), http.Header{"X-Requested-With": {"XMLHttpRequest"}}},
		{"fetch JSON, needs consent", signedIn, http.Header{"Accept": {"application/json, */*"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/mail?page=2", nil)
			req.Header = c.header
			resp, err := c.b.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error     string   `json:"error"`
				SignInURL string   `json:"signin_url"`
				Scopes    []string `json:"scopes"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q: %v", raw, err)
			}
			if resp.StatusCode != 401 || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			want := "/auth/signin?redirect=%2Fapi%2Fmail%3Fpage%3D2&scope=Mail.Read"
			if body.SignInURL != want || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
				t.Errorf("signin_url %q, WWW-Authenticate %q; want %q", body.SignInURL, resp.Header.Get("WWW-Authenticate"), want)
			}
			if body.Error != "interaction_required" || len(body.Scopes) != 1 || body.Scopes[0] != "Mail.Read" {
				t.Errorf("body %s", raw)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// TestManyUsersFastPath signs in 100 users, then fires their requests at once:
// every one is served from the in-process cache, nothing reaches Entra.
func TestManyUsersFastPath(t *testing.T) {
	e := newEnv(t)
	const n = 100
	browsers := make([]*entratest.Browser, n)
	for i := range browsers {
		u := e.addUser(fmt.Sprintf("user%03d", i))
		browsers[i] = e.browser(u, entratest.Accept)
		if p := e.get(t, browsers[i], "/profile"); p.StatusCode != 200 {
			t.Fatalf("user %d sign-in: %d%s", i, p.StatusCode, trail(p))
		}
	}
	e.idp.ResetCounts()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i, b := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := b.Client.Get(e.srv.URL + "/profile")
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("user=user%03d@", i); resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				errs <- fmt.Errorf("user %d: %d %q", i, resp.StatusCode, body)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := e.entraCalls(); c != 0 {
		t.Errorf("%d calls to Entra, want 0", c)
	}
}

// TestServerFaultGives503NotRedirect: with the token endpoint failing, a
// signed-in user whose token must come from Entra gets a 503 page, never a
// consent redirect, and gets through once Entra recovers.
func TestServerFaultGives503NotRedirect(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t)
			e.idp.SetTokenLifetime(4 * time.Minute) // inside the 5 min refresh window: every request refreshes
			b := e.browser(e.user, entratest.Accept)
			if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
				t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
			}
			e.idp.FailTokenRequests(100, status)
			for _, path := range []string{"/profile", "/mail"} { // refresh; new scope via refresh token
				p := e.get(t, b, path)
				if p.StatusCode != http.StatusServiceUnavailable || len(p.Trail) != 1 {
					t.Errorf("%s: %d, want one 503 response%s", path, p.StatusCode, trail(p))
				}
			}
			if n := e.idp.Count(entratest.EndpointAuthorize); n != 1 {
				t.Errorf("authorize called %d times, want 1 (the sign-in)", n)
			}
			e.idp.FailTokenRequests(0, 0)
			if p := e.get(t, b, "/profile"); p.StatusCode != 200 || len(p.Trail) != 1 {
				t.Errorf("after recovery: %d%s", p.StatusCode, trail(p))
			}
		})
	}
}

// TestReplicas runs two middleware instances sharing keys and a token cache
// behind one address, alternating per request like a load balancer: flows
// started on one finish on the other, and tokens are shared.
func TestReplicas(t *testing.T) {
	e := newEnv(t)
	other := e.newMiddleware(t, e.cfg)
	var mu sync.Mutex
	n := 0
	hA, hB := e.routes(e.mw), e.routes(other)
	lb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		h := hA
		if n%2 == 0 {
			h = hB
		}
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
	e.setHandler(lb)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail?x=1", "/profile", "/mail?x=2"} {
		if p := e.get(t, b, path); p.StatusCode != 200 {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
	}
}

// TestColdReplicaManyUsers: a replica with an empty in-process cache serves
// 50 users at once from the shared token cache. One MSAL client shared by
// concurrent users would miss tokens ("no token found") and send users to
// consent; the pool of clients must not.
func TestColdReplicaManyUsers(t *testing.T) {
	e := newEnv(t)
	const n = 50
	browsers := make([]*entratest.Browser, n)
	for i := range browsers {
		browsers[i] = e.browser(e.addUser(fmt.Sprintf("cold%02d", i)), entratest.Accept)
		if p := e.get(t, browsers[i], "/profile"); p.StatusCode != 200 {
			t.Fatalf("user %d sign-in: %d%s", i, p.StatusCode, trail(p))
		}
	}
	e.setHandler(e.routes(e.newMiddleware(t, e.cfg))) // same keys and cache, cold memory
	e.idp.ResetCounts()
	codes := fireAll(t, e, browsers, "/profile")
	for i, c := range codes {
		if c != 200 {
			t.Errorf("user %d: status %d", i, c)
		}
	}
	if c := e.entraCalls(); c != 0 {
		t.Errorf("%d calls to Entra, want 0 (tokens are in the shared cache)", c)
	}
}

// TestRefreshHerd: concurrent requests of one user whose token must be
// refreshed cause one refresh at Entra.
func TestRefreshHerd(t *testing.T) {
	e := newEnv(t)
	e.idp.SetTokenLifetime(4 * time.Minute) // inside the refresh window: the next request refreshes
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	e.idp.SetTokenLifetime(0)
	e.idp.SetTokenLatency(300 * time.Millisecond) // keep the refresh in flight while the others arrive
	e.idp.ResetCounts()
	same := make([]*entratest.Browser, 20)
	for i := range same {
		same[i] = b
	}
	for i, c := range fireAll(t, e, same, "/profile") {
		if c != 200 {
			t.Errorf("request %d: status %d", i, c)
		}
	}
	if n := e.idp.Count(entratest.EndpointToken); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// fireAll sends GET path for every browser at once (without following
// redirects) and returns the status codes.
func fireAll(t *testing.T, e *env, browsers []*entratest.Browser, path string) []int {
	t.Helper()
	codes := make([]int, len(browsers))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := b.Client.Get(e.srv.URL + path)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	return codes
}
