package middleware_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// app5 is the test app of issue 5's features on top of env's routes.
type app5 struct {
	mw    *middleware.Middleware
	posts atomic.Int32 // runs of the POST /compose handler
	// api is what GET /me calls with mw.Client; default the emulator's Graph /me.
	api string
}

// isAdmin answers Config.IsAdmin from the emulator's directory (the emulator
// sends no wids claim).
func (e *env) isAdmin(upn string) bool {
	for _, t := range e.idp.Tenants() {
		for _, u := range e.idp.Users(t.ID) {
			if strings.EqualFold(u.UPN, upn) {
				return u.Admin
			}
		}
	}
	return false
}

// start5 builds a middleware from e.cfg changed by mutate and serves env's
// routes plus /directory (RequireAdmin User.Read.All), /me (Graph through
// mw.Client, claims challenges through mw.Challenge) and POST /compose.
func (e *env) start5(t *testing.T, mutate func(*middleware.Config)) *app5 {
	t.Helper()
	cfg := e.cfg
	cfg.IsAdmin = func(_ *http.Request, a middleware.Account) bool { return e.isAdmin(a.Username) }
	if mutate != nil {
		mutate(&cfg)
	}
	a := &app5{mw: e.newMiddleware(t, cfg), api: e.idp.GraphURL() + "/me"}
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(a.mw))
	mux.Handle("GET /directory", a.mw.RequireAdmin("User.Read.All")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct, _ := middleware.AccountFromContext(r.Context())
		fmt.Fprintf(w, "directory for %s", acct.Username)
	})))
	mux.Handle("GET /me", a.mw.Require("User.Read")(http.HandlerFunc(a.me)))
	mux.Handle("POST /compose", a.mw.Require("Mail.Send")(http.HandlerFunc(a.compose)))
	e.setHandler(mux)
	return a
}

func (a *app5) me(w http.ResponseWriter, r *http.Request) {
	resp, err := a.mw.Client(r).Get(a.api)
	if err != nil {
		if a.mw.Challenge(w, r, err) {
			return
		}
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(w, "graph %d %s", resp.StatusCode, body)
}

func (a *app5) compose(w http.ResponseWriter, r *http.Request) {
	n := a.posts.Add(1)
	fmt.Fprintf(w, "sent #%d method=%s subject=%q to=%q query=%s", n, r.Method, r.FormValue("subject"), r.FormValue("to"), r.URL.RawQuery)
}

var (
	adminLinkRE = regexp.MustCompile(`id="admin-link" href="([^"]+)"`)
	actionRE    = regexp.MustCompile(`<form id="consentry-resume" method="post" action="([^"]+)"`)
)

// adminLink returns the administrator link of an app error page.
func adminLink(t *testing.T, p *entratest.Page) string {
	t.Helper()
	m := adminLinkRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no admin link on the page: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	return html.UnescapeString(m[1])
}

// counts returns how often each endpoint was called.
func (e *env) counts(eps ...entratest.Endpoint) []int {
	out := make([]int, len(eps))
	for i, ep := range eps {
		out[i] = e.idp.Count(ep)
	}
	return out
}

// open loads an absolute URL with b and fails the test on a browser error.
func open(t *testing.T, b *entratest.Browser, u string) *entratest.Page {
	t.Helper()
	p, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v%s", u, err, trail(p))
	}
	return p
}

func (e *env) addAdmin(name string) entratest.User {
	return e.idp.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: name + "@contoso.example", DisplayName: name, Admin: true})
}
