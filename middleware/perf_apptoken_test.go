package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestAppTokenRetriesEntraFaults: a client-credentials request that meets a
// 5xx or a timeout is tried again with backoff, like a silent refresh.
func TestAppTokenRetriesEntraFaults(t *testing.T) {
	cases := []struct {
		name      string
		fail      int
		status    int
		latency   time.Duration
		wantErr   bool
		wantCalls int
	}{
		{"one 500, then ok", 1, 500, 0, false, 2},
		{"two 503, then ok", 2, 503, 0, false, 3},
		{"504 for ever", 100, 504, 0, true, 3},
		{"timeouts", 0, 0, time.Minute, true, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All")
			var s sleeps
			middleware.SetRetry(e.mw, s.sleep, 200*time.Millisecond)
			e.idp.FailTokenRequests(c.fail, c.status)
			e.idp.SetTokenLatency(c.latency)
			e.idp.ResetCounts()
			_, err := e.mw.AppToken(context.Background(), e.tenant.ID, "", "User.Read.All")
			if (err != nil) != c.wantErr || (err != nil && !errors.Is(err, middleware.ErrUnavailable)) {
				t.Fatalf("AppToken: %v, want error %v (ErrUnavailable)", err, c.wantErr)
			}
			if n := e.idp.Count(entratest.EndpointToken); n != c.wantCalls && (c.latency == 0 || n > c.wantCalls) {
				t.Errorf("%d token requests, want %d", n, c.wantCalls)
			}
			checkBackoffs(t, s.list(), c.wantCalls-1)
		})
	}
}

// TestCallsAfterCloseFail: after Close, AppToken and the calls of Client and
// Transport fail with ErrClosed, and the API is never reached.
func TestCallsAfterCloseFail(t *testing.T) {
	e := newEnv(t)
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All")
	var hits atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(api.Close)
	acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID, Username: "adele@contoso.example"}
	middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: "seeded", ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
	r := httptest.NewRequest("GET", e.srv.URL+"/x", nil)
	r.AddCookie(middleware.SessionCookie(e.mw, acct))
	var client *http.Client
	var transport http.RoundTripper
	e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, transport = e.mw.Client(r), e.mw.Transport(r, nil)
	})).ServeHTTP(httptest.NewRecorder(), r)
	if err := e.mw.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"AppToken": func() error {
			_, err := e.mw.AppToken(context.Background(), e.tenant.ID, "", "User.Read.All")
			return err
		},
		"Client": func() error { _, err := client.Get(api.URL); return err },
		"Transport": func() error {
			_, err := transport.RoundTrip(httptest.NewRequest("GET", api.URL, nil))
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, middleware.ErrClosed) || !errors.Is(err, middleware.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrClosed and ErrUnavailable", name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the API was called %d times after Close", n)
	}
}
