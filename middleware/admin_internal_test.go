package middleware

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/middleware/internal/flowstore"
)

func testMiddleware(t *testing.T, isAdmin bool) *Middleware {
	t.Helper()
	cred, _ := confidential.NewCredFromSecret("secret")
	m, err := New(Config{Authority: "https://login.microsoftonline.com/organizations", ClientID: "c",
		Credential: cred, RedirectURL: "https://app.example/auth/callback",
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		IsAdmin:     func(*http.Request, Account) bool { return isAdmin }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAdminHelp(t *testing.T) {
	declined := entraerr.Error{Code: "access_denied", Description: "AADSTS65004: User declined"}
	tests := []struct {
		name      string
		flow      flowstore.Flow
		admin     bool
		want      error
		adminLink string
		bare      bool // access_denied without a description
	}{
		{"admin route, non-admin back from approval page", flowstore.Flow{Admin: true, Scopes: []string{"User.Read.All"}, ReturnURL: "/dir"}, false,
			ErrAdminConsentRequired, "https://app.example/auth/adminconsent?redirect=%2Fdir&scope=User.Read.All", false},
		{"admin route, admin declined", flowstore.Flow{Admin: true, Scopes: []string{"User.Read.All"}, ReturnURL: "/dir"}, true,
			ErrConsentDeclined, "https://app.example/auth/adminconsent?redirect=%2Fdir&scope=User.Read.All", false},
		// Entra answers "not allowed to consent" like a decline: the link is there for both.
		{"plain route decline", flowstore.Flow{Scopes: []string{"Mail.Read"}, ReturnURL: "/mail"}, false,
			ErrConsentDeclined, "https://app.example/auth/adminconsent?redirect=%2Fmail&scope=Mail.Read", false},
		{"plain sign-in decline", flowstore.Flow{ReturnURL: "/"}, false, ErrConsentDeclined, "", false},
		// Field reports: sometimes the way back carries no description at all.
		{"plain route, no description", flowstore.Flow{Scopes: []string{"Mail.Read"}, ReturnURL: "/mail"}, false,
			ErrConsentDeclined, "https://app.example/auth/adminconsent?redirect=%2Fmail&scope=Mail.Read", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMiddleware(t, tt.admin)
			r := httptest.NewRequest("GET", "/auth/callback", nil)
			e, code := declined, 65004
			if tt.bare {
				e, code = entraerr.Error{Code: "access_denied", Subcode: "cancel"}, 0
			}
			ce := newConsentError(&e, tt.flow.Scopes, "", nil)
			m.adminHelp(r, m.loadSession(r), ce, &tt.flow)
			if !errors.Is(ce, tt.want) || ce.AdminConsentURL != tt.adminLink || ce.Code != code {
				t.Errorf("got %v (admin link %q)", ce, ce.AdminConsentURL)
			}
		})
	}
}
