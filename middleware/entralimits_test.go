package middleware_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// hugeTokens is a transport that, when on, answers token requests with a
// 64 MiB JSON body (announced in Content-Length with announce), counting
// the bytes anyone read of them.
type hugeTokens struct {
	base     http.RoundTripper
	on       atomic.Bool
	announce bool
	read     atomic.Int64
}

func (h *hugeTokens) RoundTrip(r *http.Request) (*http.Response, error) {
	if !h.on.Load() || !strings.HasSuffix(r.URL.Path, "/token") {
		return h.base.RoundTrip(r)
	}
	body := io.MultiReader(strings.NewReader(`{"access_token":"`), &countingZeros{left: 64 << 20, total: &h.read}, strings.NewReader(`"}`))
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(body), ContentLength: -1, Request: r}
	if h.announce {
		resp.ContentLength = 64 << 20
	}
	return resp, nil
}

// countingZeros is 64 MiB of 'A's, counting what was read into total.
type countingZeros struct {
	left  int64
	total *atomic.Int64
}

func (c *countingZeros) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), c.left)]
	for i := range p {
		p[i] = 'A'
	}
	c.left -= int64(len(p))
	c.total.Add(int64(len(p)))
	return len(p), nil
}

// TestEntraAnswerSizeBounded: a 64 MiB token answer is cut after 1 MiB (or
// refused unread when it announces its length); the refresh fails with 503.
func TestEntraAnswerSizeBounded(t *testing.T) {
	for _, announce := range []bool{false, true} {
		e := newEnv(t)
		huge := &hugeTokens{base: e.idp.Client().Transport, announce: announce}
		b := e.refreshingUser(t, huge)
		huge.on.Store(true)
		if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("announce %v: refresh against a 64 MiB answer: %d, want 503", announce, p.StatusCode)
		}
		if n := huge.read.Load(); n > 3<<20 { // the refresh tries up to three times
			t.Errorf("announce %v: %d bytes of the answers were read, want at most 1 MiB an attempt", announce, n)
		} else if announce && n != 0 {
			t.Errorf("an answer announcing 64 MiB had %d bytes read, want it refused unread", n)
		}
	}
}

// hangingRedemptions is a transport that holds authorization-code
// redemptions until release is closed, counting those it holds.
type hangingRedemptions struct {
	base    http.RoundTripper
	release chan struct{}
	held    atomic.Int32
	arrived chan struct{}
}

func (h *hangingRedemptions) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && strings.HasSuffix(r.URL.Path, "/token") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), "grant_type=authorization_code") {
			h.held.Add(1)
			h.arrived <- struct{}{}
			select {
			case <-h.release:
			case <-r.Context().Done():
			}
			h.held.Add(-1)
		}
	}
	return h.base.RoundTrip(r)
}

// TestHungRedemptionsLeaveClients: while Entra hangs on every code
// redemption, a signed-in user whose token MSAL has cached still gets it:
// redemptions hold at most half of the MSAL clients.
func TestHungRedemptionsLeaveClients(t *testing.T) {
	e := newEnv(t)
	hang := &hangingRedemptions{base: e.idp.Client().Transport, release: make(chan struct{}), arrived: make(chan struct{}, 16)}
	e.cfg.HTTPClient = &http.Client{Transport: hang}
	e.cfg.TokenConcurrency = 4
	a := e.serveApp(t, nil)
	adele := e.browser(e.user, entratest.Accept)
	close(hang.release) // adele's own redemption passes
	if p := e.get(t, adele, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	<-hang.arrived
	hang.release = make(chan struct{})
	callbacks := make(chan struct{}, 16)
	app := e.handlerNow()
	e.setHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/callback" {
			callbacks <- struct{}{}
		}
		app.ServeHTTP(w, r)
	}))
	var wg sync.WaitGroup
	for i := range 8 { // twice as many as there are clients
		b := e.browser(e.addUser(fmt.Sprint("hung", i)), entratest.Accept)
		wg.Go(func() { _, _ = b.Get(e.srv.URL + "/profile") })
	}
	defer func() { close(hang.release); wg.Wait() }()
	for range 8 {
		<-callbacks
	}
	<-hang.arrived
	<-hang.arrived // two redemptions hang at Entra; the others wait for their share
	r := httptest.NewRequest(http.MethodGet, e.srv.URL+"/profile", nil)
	r.AddCookie(e.sessionCookie(t, adele))
	acct, _ := a.mw.Account(r)
	middleware.ForgetTokens(a.mw, acct.HomeAccountID) // MSAL's cache has it; a client must read it
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	if w.Code != http.StatusOK || hang.held.Load() == 0 {
		t.Errorf("signed-in user while redemptions hang: %d with %d redemptions still held, want 200 while they hang", w.Code, hang.held.Load())
	}
}

// handlerNow returns the handler the app server runs.
func (e *env) handlerNow() http.Handler {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.handler
}

// TestClientAnswersNotCut: the cap on Entra's answers is not a cap on the
// app's own API calls through mw.Client: a 3 MiB answer (a file, a photo)
// reaches the handler whole.
func TestClientAnswersNotCut(t *testing.T) {
	e := newEnv(t)
	const size = 3 << 20
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("A"), size))
	}))
	t.Cleanup(api.Close)
	a := e.serveApp(t, nil)
	a.api = api.URL
	b := e.browser(e.user, entratest.Accept)
	p := e.get(t, b, "/me")
	if want := fmt.Sprintf("graph 200 %s", strings.Repeat("A", size)); p.Body != want {
		t.Fatalf("status %d, body of %d bytes starting %.80q, want the API's 3 MiB%s", p.StatusCode, len(p.Body), p.Body, trail(p))
	}
}
