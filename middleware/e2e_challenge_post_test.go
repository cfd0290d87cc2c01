package middleware_test

import (
	"encoding/base64"
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
