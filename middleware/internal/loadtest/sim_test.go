//go:build load

package loadtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

// user is one simulated person with their own browser (cookie jar). Each page
// load goes to the other replica than the one before.
type user struct {
	sys       *system
	b         *entratest.Browser
	consented map[string]bool // routes whose consent round trip has completed
	n         int
	id        int
	res       *results
}

func newUser(sys *system, id int, u entratest.User) *user {
	b := sys.idp.NewBrowser(sys.replicas[0].Certificate(), sys.replicas[1].Certificate())
	b.User, b.Consent = u.UPN, entratest.Accept
	return &user{sys: sys, id: id, b: b, consented: map[string]bool{}, res: newResults()}
}

var paths = slices.Sorted(func(yield func(string) bool) {
	for p := range routes {
		if !yield(p) {
			return
		}
	}
})

// browse loads pages until ctx ends: a route it has consented to is a plain
// page load (never redirected); any other goes through sign-in or consent.
func (u *user) browse(ctx context.Context, start time.Time) {
	defer u.b.Client.CloseIdleConnections()
	wait(ctx, time.Duration(u.id)*rampUp/users)
	for ; u.n < maxOpsPerUser && ctx.Err() == nil; u.n++ {
		base := u.sys.replicas[u.n%2].URL
		path := paths[rand.IntN(len(paths))]
		if len(u.consented) == 0 {
			path = "/profile" // sign in first
		}
		at := time.Since(start)
		if u.consented[path] {
			u.page(base+path, at)
		} else {
			u.flow(base, path, at)
		}
		wait(ctx, rand.N(thinkMax)) // the user reads the page
	}
}

// wait pauses for d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// page loads a consented route without following redirects.
func (u *user) page(url string, at time.Duration) {
	t0 := time.Now()
	resp, err := u.b.Client.Get(url)
	d := time.Since(t0)
	if err != nil {
		u.res.add("page", "transport error", at, d)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c == http.StatusOK:
		u.res.add("page", "ok", at, d)
	case c == http.StatusServiceUnavailable:
		u.res.add("page", "503", at, d)
	case c >= 300 && c < 400 || c == http.StatusUnauthorized:
		u.res.add("page", "CONSENT REDIRECT", at, d)
		u.res.note(fmt.Sprintf("at %v %s: %d Location %s", at.Round(time.Millisecond), url, c, resp.Header.Get("Location")))
	default:
		u.res.add("page", fmt.Sprintf("status %d", c), at, d)
	}
}

// flow loads path through sign-in and consent (the browser answers Entra's pages).
func (u *user) flow(base, path string, at time.Duration) {
	t0 := time.Now()
	p, err := u.b.Get(base + path)
	d := time.Since(t0)
	if p != nil {
		for _, s := range p.Trail {
			if s.Kind == "app" && s.Status >= 300 && s.Status < 400 {
				u.res.redirects++
			}
		}
	}
	switch {
	case errors.Is(err, entratest.ErrLoop):
		u.res.add("flow", "redirect loop", at, d)
	case err != nil:
		u.res.add("flow", "error: "+firstWord(err), at, d)
	case p.StatusCode == http.StatusOK && strings.Contains(p.Body, "page "+path):
		u.consented[path] = true
		u.res.add("flow", "ok", at, d)
	case p.StatusCode == http.StatusServiceUnavailable:
		u.res.add("flow", "503", at, d)
	default:
		u.res.add("flow", fmt.Sprintf("status %d", p.StatusCode), at, d)
		u.res.note(fmt.Sprintf("at %v flow %s: %d%s", at.Round(time.Millisecond), path, p.StatusCode, trailOf(p)))
	}
}

func firstWord(err error) string {
	s, _, _ := strings.Cut(err.Error(), ":")
	return s
}

func trailOf(p *entratest.Page) string {
	var b strings.Builder
	for _, s := range p.Trail {
		fmt.Fprintf(&b, "\n  %s %d %s %s", s.Kind, s.Status, s.URL, s.Error)
	}
	return b.String()
}

// results counts outcomes per kind ("page", "flow") and keeps latencies.
type results struct {
	counts    map[string]int // kind + " " + outcome
	lat       map[string][]time.Duration
	redirects int // app 3xx responses inside sign-in and consent flows
	notes     []string
	at503     []time.Duration // when 503s were answered, from the start of the run
}

func newResults() *results {
	return &results{counts: map[string]int{}, lat: map[string][]time.Duration{}}
}

func (r *results) add(kind, outcome string, at, d time.Duration) {
	r.counts[kind+" "+outcome]++
	r.lat[kind] = append(r.lat[kind], d)
	if outcome == "503" {
		r.at503 = append(r.at503, at+d) // when it was answered
	}
}

func (r *results) note(s string) {
	if len(r.notes) < 20 {
		r.notes = append(r.notes, s)
	}
}

func (r *results) merge(o *results) {
	for k, v := range o.counts {
		r.counts[k] += v
	}
	for k, v := range o.lat {
		r.lat[k] = append(r.lat[k], v...)
	}
	r.redirects += o.redirects
	r.at503 = append(r.at503, o.at503...)
	for _, n := range o.notes {
		r.note(n)
	}
}

// report logs the summary recorded in BENCHMARKS.md.
func (r *results) report(t *testing.T, w window, took time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "load: %d users, 2 replicas, %v (Redis down from %v to %v)\n", users, took.Round(time.Millisecond),
		w.down.Round(time.Millisecond), w.up.Round(time.Millisecond))
	keys := make([]string, 0, len(r.counts))
	for k := range r.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-28s %8d\n", k, r.counts[k])
	}
	for _, kind := range []string{"page", "flow"} {
		l := r.lat[kind]
		slices.Sort(l)
		fmt.Fprintf(&b, "  %s requests %d: p50 %v p99 %v max %v\n", kind, len(l), pct(l, 50), pct(l, 99), pct(l, 100))
	}
	fmt.Fprintf(&b, "  requests: %d page loads + %d sign-in/consent flows = %d\n", len(r.lat["page"]), len(r.lat["flow"]),
		len(r.lat["page"])+len(r.lat["flow"]))
	fmt.Fprintf(&b, "  page loads of consented routes redirected to sign-in/consent: %d\n", r.counts["page CONSENT REDIRECT"])
	first, last := span(r.at503)
	fmt.Fprintf(&b, "  503s: first at %v, last at %v\n", first, last)
	fmt.Fprintf(&b, "  redirects inside sign-in/consent flows: %d", r.redirects)
	t.Log(b.String())
	for _, n := range r.notes {
		t.Log(n)
	}
}

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := min(len(l)-1, len(l)*p/100)
	return l[i].Round(100 * time.Microsecond)
}

func span(l []time.Duration) (time.Duration, time.Duration) {
	if len(l) == 0 {
		return 0, 0
	}
	return slices.Min(l).Round(time.Millisecond), slices.Max(l).Round(time.Millisecond)
}

// check fails the test on any consent redirect of a consented route, on any
// outcome other than ok or 503, and on 503s long after Redis came back.
func (r *results) check(t *testing.T, w window) {
	if n := r.counts["page CONSENT REDIRECT"]; n > 0 {
		t.Errorf("%d page loads of consented routes were redirected to sign-in or consent", n)
	}
	for k, n := range r.counts {
		if !strings.HasSuffix(k, " ok") && !strings.HasSuffix(k, " 503") && k != "page CONSENT REDIRECT" {
			t.Errorf("%d × %s", n, k)
		}
	}
	for _, at := range r.at503 {
		if at < w.down || at > w.up+settle {
			t.Errorf("503 at %v, outside the outage %v-%v (+%v)", at.Round(time.Millisecond), w.down, w.up, settle)
			break
		}
	}
	if r.counts["page ok"] == 0 {
		t.Error("no page was served")
	}
}
