package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// consentApp serves env's middleware (reading Graph at the emulator) with
// one GET route per scope set, at the path given, showing "page {path}".
func (e *env) consentApp(t *testing.T, routes map[string][]string) *middleware.Middleware {
	t.Helper()
	cfg := e.cfg
	cfg.GraphURL = e.idp.URL
	cfg.IsAdmin = func(_ *http.Request, a middleware.Account) bool { return e.isAdmin(a.Username) }
	mw := e.newMiddleware(t, cfg)
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })
	for path, scopes := range routes {
		mux.Handle("GET "+path, mw.Require(scopes...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "page "+r.URL.Path)
		})))
	}
	e.setHandler(mux)
	return mw
}

// statusByScope indexes a status by scope.
func statusByScope(t *testing.T, st *middleware.ConsentStatus) map[string]middleware.PermissionStatus {
	t.Helper()
	out := map[string]middleware.PermissionStatus{}
	for _, p := range st.Permissions {
		out[p.Scope] = p
	}
	return out
}

// TestConsentStatusScopeDrift: an admin granted User.Read and Mail.Read for
// everyone and one user consented to Mail.Send; the app then adds a route
// for Calendars.Read. The status says so, the admin link asks for exactly
// Calendars.Read and Mail.Send, and once the admin follows it everything is
// granted tenant-wide: a user who never consented opens the new route with
// no consent page.
func TestConsentStatusScopeDrift(t *testing.T) {
	e := newEnv(t)
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, middleware.ReadGrantsPermission)
	e.idp.GrantDelegated(e.tenant.ID, e.app.ClientID, "", "User.Read", "Mail.Read")
	routes := map[string][]string{"/profile": {"User.Read"}, "/mail": {"Mail.Read"}, "/send": {"Mail.Send"}}
	e.consentApp(t, routes)
	if p := e.get(t, e.browser(e.user, entratest.Accept), "/send"); p.StatusCode != 200 || len(steps(p, "consent")) != 1 {
		t.Fatalf("the user's own consent to Mail.Send: %d%s", p.StatusCode, trail(p))
	}
	routes["/calendar"] = []string{"Calendars.Read"} // the next deploy
	mw := e.consentApp(t, routes)

	st, err := mw.ConsentStatus(context.Background(), e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := statusByScope(t, st)
	want := map[string]middleware.Consent{"User.Read": middleware.ConsentTenantWide, "Mail.Read": middleware.ConsentTenantWide,
		"Mail.Send": middleware.ConsentSomeUsers, "Calendars.Read": middleware.ConsentMissing}
	for s, c := range want {
		if p := got[s]; p.Consent != c || p.Resource != middleware.GraphAppID || p.AdminOnly || p.Unknown {
			t.Errorf("%s: %+v, want %v", s, p, c)
		}
	}
	if len(got) != len(want) || !slices.Equal(got["Mail.Send"].Users, []string{e.user.ObjectID}) {
		t.Errorf("status %+v; want Mail.Send granted by %s only", st.Permissions, e.user.ObjectID)
	}
	links := st.AdminConsentURLs("/")
	if len(links) != 1 {
		t.Fatalf("admin consent links %q, want one", links)
	}
	u, _ := url.Parse(links[0])
	if s := strings.Fields(u.Query().Get("scope")); !sameSet(s, []string{"Calendars.Read", "Mail.Send"}) || u.Query().Get("tenant") != e.tenant.ID {
		t.Errorf("admin link %s asks for %q in %q, want Calendars.Read and Mail.Send in %s", links[0], s, u.Query().Get("tenant"), e.tenant.ID)
	}

	admin := e.browser(e.addAdmin("ada"), entratest.Accept)
	if p := e.get(t, admin, links[0]); p.StatusCode != 200 || p.Body != "home" || len(steps(p, "adminconsent")) != 1 {
		t.Fatalf("admin following the link: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if st, err = mw.ConsentStatus(context.Background(), e.tenant.ID); err != nil {
		t.Fatal(err)
	}
	if m := st.Missing(); len(m) != 0 || len(st.AdminConsentURLs("/")) != 0 {
		t.Errorf("after admin consent, still missing %+v", m)
	}
	p := e.get(t, e.browser(e.addUser("newcomer"), entratest.Decline), "/calendar")
	if p.StatusCode != 200 || p.Body != "page /calendar" || len(steps(p, "consent")) != 0 {
		t.Errorf("a user who never consented: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestConsentStatusPaging: with more users' grants than fit on one of
// Graph's pages, every user is counted.
func TestConsentStatusPaging(t *testing.T) {
	e := newEnv(t)
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, middleware.ReadGrantsPermission)
	e.idp.SetGraphPageSize(2)
	var want []string
	for i := range 7 {
		u := e.addUser(fmt.Sprintf("user%d", i))
		e.idp.GrantDelegated(e.tenant.ID, e.app.ClientID, u.ObjectID, "Mail.Read")
		want = append(want, u.ObjectID)
	}
	mw := e.consentApp(t, map[string][]string{"/mail": {"Mail.Read"}, "/directory": {"User.Read.All"}})
	st, err := mw.ConsentStatus(context.Background(), e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := statusByScope(t, st)
	slices.Sort(want)
	if p := got["Mail.Read"]; p.Consent != middleware.ConsentSomeUsers || !slices.Equal(p.Users, want) {
		t.Errorf("Mail.Read: %+v, want granted by the 7 users %v", p, want)
	}
	if p := got["User.Read.All"]; p.Consent != middleware.ConsentMissing || !p.AdminOnly {
		t.Errorf("User.Read.All: %+v, want missing and admin-only", p)
	}
}

// TestConsentStatusWithoutReadPermission: an app the tenant did not grant
// Directory.Read.All gets a *ConsentStatusError naming it, and the status
// once an admin grants it (the role-less cached app token is not reused).
func TestConsentStatusWithoutReadPermission(t *testing.T) {
	e := newEnv(t)
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All")
	mw := e.consentApp(t, map[string][]string{"/mail": {"Mail.Read"}})
	_, err := mw.ConsentStatus(context.Background(), e.tenant.ID)
	var cse *middleware.ConsentStatusError
	if !errors.As(err, &cse) || !errors.Is(err, middleware.ErrGrantsUnreadable) ||
		cse.Permission != "Directory.Read.All" || cse.TenantID != e.tenant.ID || cse.Code != "Authorization_RequestDenied" {
		t.Fatalf("got %v (%#v), want a *ConsentStatusError naming Directory.Read.All", err, cse)
	}
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "Directory.Read.All")
	st, err := mw.ConsentStatus(context.Background(), e.tenant.ID)
	if err != nil {
		t.Fatalf("after the grant: %v", err)
	}
	if p := statusByScope(t, st)["Mail.Read"]; p.Consent != middleware.ConsentMissing || p.Resource != middleware.GraphAppID {
		t.Errorf("after the grant, Mail.Read: %+v, want reported missing (status %+v)", p, st.Permissions)
	}
}

// TestConsentStatusRoles: the application permissions of Config.ConnectRoles
// are reported granted when the tenant assigned them to the app.
func TestConsentStatusRoles(t *testing.T) {
	e := newEnv(t)
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, middleware.ReadGrantsPermission, "User.Read.All")
	e.cfg.ConnectRoles = []string{"User.Read.All", "Mail.Read"}
	mw := e.consentApp(t, map[string][]string{"/profile": {"User.Read"}})
	st, err := mw.ConsentStatus(context.Background(), e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []middleware.RoleStatus{{Role: "User.Read.All", Granted: true}, {Role: "Mail.Read", Granted: false}}
	if !slices.Equal(st.Roles, want) {
		t.Errorf("roles %+v, want %+v", st.Roles, want)
	}
}

// TestConsentStatusSeveralResources: the app's own API beside Graph. A
// grant of the API's User.Read does not count for Graph's User.Read (grants
// name their resource's service principal), the API's scope is reported
// under its application id, and a scope of an API known by another
// identifier URI is Unknown, not a failure: Graph answers 400 to an appId
// that is not a GUID.
func TestConsentStatusSeveralResources(t *testing.T) {
	e := newEnv(t)
	api := e.idp.AddApp(entratest.App{DisplayName: "Orders API", HomeTenantID: e.tenant.ID,
		ExposedScopes: []entratest.Permission{{Value: "Orders.Read"}, {Value: "User.Read"}}})
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, middleware.ReadGrantsPermission)
	e.idp.GrantDelegated(e.tenant.ID, e.app.ClientID, "", "api://"+api.ClientID+"/User.Read", "api://"+api.ClientID+"/Orders.Read")
	orders := "api://" + api.ClientID + "/Orders.Read"
	mw := e.consentApp(t, map[string][]string{"/profile": {"User.Read"}, "/orders": {orders},
		"/legacy": {"api://orders.contoso.example/Orders.Write"}})
	st, err := mw.ConsentStatus(context.Background(), e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := statusByScope(t, st)
	if p := got["User.Read"]; p.Consent != middleware.ConsentMissing || p.Resource != middleware.GraphAppID || p.Unknown {
		t.Errorf("Graph's User.Read: %+v, want missing (only the API's User.Read is granted)", p)
	}
	if p := got[orders]; p.Consent != middleware.ConsentTenantWide || p.Resource != api.ClientID || p.ResourceName != "Orders API" {
		t.Errorf("%s: %+v, want granted tenant-wide", orders, p)
	}
	if p := got["api://orders.contoso.example/orders.write"]; !p.Unknown || p.Consent != middleware.ConsentMissing {
		t.Errorf("a scope of an API named by another identifier URI: %+v, want Unknown (status %+v)", p, st.Permissions)
	}
	links := st.AdminConsentURLs("/")
	if len(links) != 1 || !strings.Contains(links[0], "scope=User.Read&") {
		t.Errorf("admin links %q, want one asking for Graph's User.Read only", links)
	}
}
