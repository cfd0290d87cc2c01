package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// pagedGraph serves a collection whose every page links to next(r), and
// counts the requests it got.
func pagedGraph(t *testing.T, next func(r *http.Request) string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, `{"value":[{"scope":"User.Read"}],"@odata.nextLink":%q}`, next(r))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestListFollowsNextLinkOnGraphOnly: Graph's @odata.nextLink is followed
// only on Graph's own base URL, so the app's token never goes to another
// host, and a collection that never ends stops at maxGraphPages.
func TestListFollowsNextLinkOnGraphOnly(t *testing.T) {
	var tokens atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			tokens.Add(1)
		}
	}))
	t.Cleanup(elsewhere.Close)
	tests := []struct {
		name  string
		next  func(base string) string
		pages int64
	}{
		{"another host", func(string) string { return elsewhere.URL + "/v1.0/oauth2PermissionGrants" }, 1},
		{"Graph's host as userinfo", func(base string) string {
			return strings.TrimSuffix(base, "/v1.0") + "@" + elsewhere.Listener.Addr().String() + "/v1.0/x"
		}, 1},
		{"off Graph's version path", func(base string) string { return base[:len(base)-len("/v1.0")] + "/beta/x" }, 1},
		{"a collection that never ends", func(base string) string { return base + "/oauth2PermissionGrants?$skiptoken=x" }, maxGraphPages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens.Store(0)
			var base string
			srv, hits := pagedGraph(t, func(*http.Request) string { return tt.next(base) })
			base = srv.URL + "/v1.0"
			g := &graphDirectory{tenant: "t", base: base, token: "app-token", client: srv.Client()}
			got, err := list[permissionGrant](context.Background(), g, "/oauth2PermissionGrants")
			if got != nil || !errors.Is(err, ErrUnavailable) || hits.Load() != tt.pages || tokens.Load() != 0 {
				t.Errorf("got %d grants, %v after %d pages (%d tokens elsewhere); want ErrUnavailable after %d pages, no token elsewhere",
					len(got), err, hits.Load(), tokens.Load(), tt.pages)
			}
		})
	}
}
