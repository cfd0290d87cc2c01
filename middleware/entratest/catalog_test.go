package entratest_test

import (
	"slices"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestGraphPermissionCatalog: the emulator knows Microsoft Graph's published
// permissions (https://learn.microsoft.com/graph/permissions-reference), so a
// real app's scopes (Sites.Read.All, Files.ReadWrite, Chat.Read, ...) get
// consent pages, and admin-only ones go to an admin.
func TestGraphPermissionCatalog(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid Sites.Read.All Files.ReadWrite Calendars.ReadWrite Chat.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "Sites.Read.All Files.ReadWrite Calendars.ReadWrite Chat.Read"))
	if st := claimsOf(t, m["access_token"].(string))["scp"]; st != "Calendars.ReadWrite Chat.Read Files.ReadWrite Sites.Read.All" {
		t.Fatalf("scp %v", st)
	}
	q := e.authorizeQuery("openid Group.Read.All")
	page, err := e.browser(e.user.UPN, entratest.Accept).Get(e.authorizeURL(e.tenant.ID, q))
	if err != nil || !slices.Contains(trailKinds(page), "admin_approval") {
		t.Fatalf("Group.Read.All needs an admin: %v %v", err, trailKinds(page))
	}
	e.srv.GrantAppRoles(e.tenant.ID, e.app.ClientID, "Sites.Read.All")
	if got := e.srv.AppRoles(e.tenant.ID, e.app.ClientID); !slices.Equal(got, []string{"Sites.Read.All"}) {
		t.Fatalf("application permission Sites.Read.All: %v", got)
	}
}
