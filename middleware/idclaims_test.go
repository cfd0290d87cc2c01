package middleware

import (
	"encoding/base64"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestWithIDClaims: Account takes oid, tid, email, roles, groups and wids
// from the ID token, with every claim in Claims; the session keeps all but
// groups and claims.
func TestWithIDClaims(t *testing.T) {
	payload := `{"oid":"o1","tid":"t1","email":"a@contoso.example","roles":["Expenses.Approve"],` +
		`"groups":["g1","g2"],"wids":["62e90394-69f5-4237-9190-012177145e10"],"xms_pl":"fr"}`
	raw := "e30." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
	a, err := withIDClaims(Account{HomeAccountID: "o1.t1", Username: "a"}, raw)
	if err != nil {
		t.Fatal(err)
	}
	if a.ObjectID != "o1" || a.TenantID != "t1" || a.Email != "a@contoso.example" ||
		!slices.Equal(a.Roles, []string{"Expenses.Approve"}) || !slices.Equal(a.Groups, []string{"g1", "g2"}) ||
		len(a.WIDs) != 1 || a.Claims["xms_pl"] != "fr" {
		t.Fatalf("account %+v", a)
	}
	if _, err := withIDClaims(Account{}, "not a jwt"); err == nil {
		t.Error("a malformed ID token was accepted")
	}

	m := testMiddleware(t, false)
	r := httptest.NewRequest("GET", "https://app.example/", nil)
	w := httptest.NewRecorder()
	s := m.loadSession(r)
	s.signIn(a.forSession())
	if err := s.save(w, r); err != nil {
		t.Fatal(err)
	}
	r.AddCookie(w.Result().Cookies()[0])
	got := m.loadSession(r).account
	if got.ObjectID != "o1" || got.Email != a.Email || !slices.Equal(got.Roles, a.Roles) || !slices.Equal(got.WIDs, a.WIDs) ||
		got.Groups != nil || got.Claims != nil {
		t.Errorf("session account %+v", got)
	}
	if p := got.packed(); !slices.Equal(p.Roles, a.Roles) || p.ObjectID != "o1" {
		t.Errorf("packed account lost claims: %+v", p)
	}
}
