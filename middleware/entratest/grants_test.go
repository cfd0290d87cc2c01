package entratest_test

import (
	"testing"
)

func TestRevokeDelegatedRequiresConsentAgain(t *testing.T) {
	e := newEnv(t)
	rt := e.refreshToken(t)
	if st, _ := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read")); st != 200 {
		t.Fatal("refresh before revoke")
	}
	e.srv.RevokeDelegated(e.tenant.ID, e.app.ClientID, e.user.ObjectID, "User.Read")
	if st, m := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read")); st != 400 || m["suberror"] != "consent_required" {
		t.Fatalf("after revoke: %d %v", st, m)
	}
	if st, _ := e.postToken(t, e.tenant.ID, e.refreshForm(rt, "User.Read")); st != 400 {
		t.Fatal("old refresh token must stay valid but consent is gone")
	}
}
