package middleware_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// authorizeClaims returns the claims parameters of the authorize requests in p's trail.
func authorizeClaims(p *entratest.Page) []string {
	var out []string
	for _, s := range p.Trail {
		if u, err := url.Parse(s.URL); err == nil && strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") {
			out = append(out, u.Query().Get("claims"))
		}
	}
	return out
}

func TestClaimsChallengeRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, func(c *middleware.Config) { c.ClientCapabilities = []string{"cp1"} })
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/me"); p.StatusCode != 200 || !strings.Contains(p.Body, "graph 200") {
		t.Fatalf("before the rule: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	e.idp.RequireClaims(e.user.ObjectID) // Conditional Access on Graph for this user
	e.idp.ResetCounts()
	p := e.get(t, b, "/me")
	if p.StatusCode != 200 || !strings.Contains(p.Body, "graph 200") {
		t.Fatalf("after the challenge: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	claims := authorizeClaims(p)
	if len(claims) != 1 || !strings.Contains(claims[0], `"acrs"`) || !strings.Contains(claims[0], `"cp1"`) {
		t.Fatalf("authorize claims %q, want one round trip with acrs and cp1", claims)
	}
	if n := len(steps(p, "signin")) + len(steps(p, "consent")); n != 0 {
		t.Errorf("the claims round trip showed %d pages:%s", n, trail(p))
	}
	// The new token satisfies the rule from the fast path on.
	e.idp.ResetCounts()
	if p := e.get(t, b, "/me"); p.StatusCode != 200 || e.idp.Count(entratest.EndpointAuthorize) != 0 {
		t.Fatalf("next visit: %d%s", p.StatusCode, trail(p))
	}
}

func TestClaimsChallengeRepeatingIsStoppedByLoopGuard(t *testing.T) {
	e := newEnv(t)
	claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"acrs":{"essential":true,"value":"c9"}}}`))
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", error="insufficient_claims", claims="`+claims+`"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(api.Close)
	a := e.serveApp(t, nil)
	a.api = api.URL
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/profile") // signed in with User.Read; the counter is per signed-in session
	e.idp.ResetCounts()
	p := e.get(t, b, "/me")
	if p.StatusCode != http.StatusLoopDetected || !strings.Contains(p.Body, "keeps failing") {
		t.Fatalf("want the loop page, got %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != middleware.DefaultMaxAttempts {
		t.Errorf("authorize called %d times, want %d", n, middleware.DefaultMaxAttempts)
	}
	// Reloading does not start again within FlowTTL; after it, one more try is allowed.
	e.idp.ResetCounts()
	if p := e.get(t, b, "/me"); p.StatusCode != http.StatusLoopDetected || e.idp.Count(entratest.EndpointAuthorize) != 0 {
		t.Errorf("reload: %d, %d authorize calls%s", p.StatusCode, e.idp.Count(entratest.EndpointAuthorize), trail(p))
	}
	e.clock.Advance(middleware.FlowTTL + 1)
	e.idp.ResetCounts()
	if p := e.get(t, b, "/me"); p.StatusCode != http.StatusLoopDetected || e.idp.Count(entratest.EndpointAuthorize) != middleware.DefaultMaxAttempts {
		t.Errorf("after FlowTTL: %d, %d authorize calls%s", p.StatusCode, e.idp.Count(entratest.EndpointAuthorize), trail(p))
	}
}

// TestChallengeOnPostKeepsTheForm: a form post whose handler meets a claims
// challenge completes after the new sign-in with its original body, once;
// a body larger than MaxResumeBody ends on a page saying to send it again.
func TestChallengeOnPostKeepsTheForm(t *testing.T) {
	tests := []struct {
		name    string
		maxBody int64
		subject string
		want    int    // status after the claims round trip
		body    string // in the final page
	}{
		{"kept", 0, "quarterly numbers", http.StatusOK, `sent #1 subject="quarterly numbers"`},
		{"too large", 16, "a subject longer than sixteen bytes", http.StatusRequestEntityTooLarge, "send the form again"},
		{"over MaxChallengeBody", 0, strings.Repeat("s", middleware.MaxChallengeBody), http.StatusRequestEntityTooLarge, "send the form again"},
		{"never kept", -1, "hello", http.StatusUnauthorized, "send the form again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var challenged, sent atomic.Int32
			claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`))
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if challenged.Add(1) == 1 {
					w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_claims", claims="`+claims+`"`)
					w.WriteHeader(http.StatusUnauthorized)
				}
			}))
			t.Cleanup(api.Close)
			cfg := e.cfg
			cfg.MaxResumeBody = tc.maxBody
			mw := e.newMiddleware(t, cfg)
			mux := http.NewServeMux()
			mux.Handle("/", e.routes(mw))
			mux.Handle("POST /send", mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				subject := r.FormValue("subject")
				resp, err := mw.Client(r).Get(api.URL)
				if err != nil {
					if mw.Challenge(w, r, err) {
						return
					}
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				resp.Body.Close()
				fmt.Fprintf(w, "sent #%d subject=%q", sent.Add(1), subject)
			})))
			e.setHandler(mux)
			b := e.browser(e.user, entratest.Accept)
			if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
				t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
			}
			p, err := b.PostForm(e.srv.URL+"/send", url.Values{"subject": {tc.subject}})
			if err != nil {
				t.Fatalf("post: %v%s", err, trail(p))
			}
			if m := actionRE.FindStringSubmatch(p.Body); m != nil { // the resume page re-posts the kept form
				if p, err = b.PostForm(e.srv.URL+html.UnescapeString(m[1]), nil); err != nil {
					t.Fatalf("resume: %v", err)
				}
			}
			if p.StatusCode != tc.want || !strings.Contains(p.Body, tc.body) {
				t.Fatalf("status %d, want %d with %q: %s%s", p.StatusCode, tc.want, tc.body, p.Body, trail(p))
			}
			if tc.want == http.StatusOK && sent.Load() != 1 {
				t.Errorf("sent %d times", sent.Load())
			}
			if tc.want != http.StatusOK && !strings.Contains(p.Body, "claims=") {
				t.Errorf("the page has no sign-in link carrying the claims: %s", p.Body)
			}
		})
	}
}

// TestTransport checks what the claims-aware transport does with each API answer.
func TestTransport(t *testing.T) {
	claims := `{"access_token":{"acrs":{"essential":true,"value":"c2"}}}`
	var sawAuth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/challenge":
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_claims", claims="`+base64.StdEncoding.EncodeToString([]byte(claims))+`"`)
			w.WriteHeader(401)
		case "/invalid":
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(401)
		case "/garbled":
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_claims", claims="%%%"`)
			w.WriteHeader(401)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	t.Cleanup(api.Close)
	e := newEnv(t)
	a := e.serveApp(t, nil)
	var got struct {
		status int
		err    error
	}
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(a.mw))
	mux.Handle("GET /call/{path}", a.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := (&http.Client{Transport: a.mw.Transport(r, nil)}).Get(api.URL + "/" + r.PathValue("path"))
		got.status, got.err = 0, err
		if err == nil {
			got.status = resp.StatusCode
			resp.Body.Close()
		}
	})))
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	tests := []struct {
		path      string
		status    int
		challenge bool
	}{
		{"ok", 200, false},
		{"invalid", 401, false},
		{"garbled", 401, false},
		{"challenge", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e.get(t, b, "/call/"+tt.path)
			if got.status != tt.status || !strings.HasPrefix(sawAuth, "Bearer ey") {
				t.Fatalf("status %d (want %d), auth %q, err %v", got.status, tt.status, sawAuth, got.err)
			}
			var ce *middleware.ClaimsChallengeError
			if errors.As(got.err, &ce) != tt.challenge || errors.Is(got.err, middleware.ErrClaimsChallenge) != tt.challenge {
				t.Fatalf("err = %v, want challenge %v", got.err, tt.challenge)
			}
			if tt.challenge && (ce.Claims != claims || ce.Scopes[0] != "User.Read" || !strings.Contains(ce.URL, "claims=")) {
				t.Errorf("challenge = %+v", ce)
			}
		})
	}
}

func TestTransportAndChallengeOutsideRequire(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	r := httptest.NewRequest("GET", "/open", nil)
	_, err := a.mw.Client(r).Get(e.idp.GraphURL() + "/me")
	if !errors.Is(err, middleware.ErrNotSignedIn) {
		t.Errorf("Client outside Require: %v", err)
	}
	w := httptest.NewRecorder()
	if a.mw.Challenge(w, r, errors.New("some other error")) || w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("Challenge answered a non-challenge error")
	}
}

func TestClaimsChallengeForScriptIs401JSON(t *testing.T) {
	e := newEnv(t)
	// Graph sends claims challenges only to clients that declared cp1.
	e.serveApp(t, func(c *middleware.Config) { c.ClientCapabilities = []string{"cp1"} })
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/me")
	e.idp.RequireClaims(e.user.ObjectID)
	status, signIn, raw := e.scriptGet(t, b, "/me")
	if status != 401 || !strings.Contains(signIn, "claims=") {
		t.Fatalf("script: %d %s", status, raw)
	}
	// Following signin_url in the browser satisfies the rule.
	if p := e.get(t, b, signIn); p.StatusCode != 200 || !strings.Contains(p.Body, "graph 200") {
		t.Fatalf("signin_url: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
}
