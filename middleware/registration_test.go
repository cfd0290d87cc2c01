package middleware_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestUnlistedScopes: the startup check names the permissions routes declare
// that the registration does not list, logs them, and is quiet once the
// registration lists them; without a read permission it is a typed error.
func TestUnlistedScopes(t *testing.T) {
	e := newEnv(t)
	e.idp.SetRequiredPermissions(e.app.ClientID, []string{"User.Read", "https://graph.microsoft.com/Mail.Read"}, nil)
	mw := e.consentApp(t, map[string][]string{"/profile": {"User.Read"}, "/mail": {"Mail.Read"},
		"/calendar": {"Calendars.Read"}, "/directory": {"User.Read.All"}})
	_, err := mw.UnlistedScopes(context.Background(), e.tenant.ID)
	var cse *middleware.ConsentStatusError
	if !errors.As(err, &cse) || cse.Permission != "Directory.Read.All" {
		t.Fatalf("without a read permission: %v, want a *ConsentStatusError", err)
	}
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "Directory.Read.All")
	got, err := mw.UnlistedScopes(context.Background(), e.tenant.ID)
	if err != nil || !slices.Equal(got, []string{"Calendars.Read", "User.Read.All"}) {
		t.Fatalf("got %q, %v; want Calendars.Read and User.Read.All", got, err)
	}
	if !strings.Contains(e.logs.String(), "scopes=\"Calendars.Read User.Read.All\"") {
		t.Errorf("no warning naming them in the log:\n%s", e.logs)
	}
	e.idp.SetRequiredPermissions(e.app.ClientID, []string{"User.Read", "Mail.Read", "Calendars.Read", "User.Read.All"}, nil)
	if got, err := mw.UnlistedScopes(context.Background(), e.tenant.ID); err != nil || len(got) != 0 {
		t.Errorf("all listed: got %q, %v", got, err)
	}
	other := e.idp.AddTenant(entratest.Tenant{Domain: "fabrikam.example"})
	e.idp.GrantAppRoles(other.ID, e.app.ClientID, "Directory.Read.All")
	if _, err := mw.UnlistedScopes(context.Background(), other.ID); !errors.Is(err, middleware.ErrInvalidRequest) {
		t.Errorf("in a tenant that is not the app's home: %v, want ErrInvalidRequest", err)
	}
}
