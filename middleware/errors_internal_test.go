package middleware

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/consentry/consentry/middleware/internal/entraerr"
)

func TestKindOfAdminAndDeclineShapes(t *testing.T) {
	tests := []struct {
		name string
		e    entraerr.Error
		want error
	}{
		{"90094 in description (emulator back link)", entraerr.Error{Code: "access_denied", Subcode: "cancel", Description: "AADSTS90094: needs admin\r\nTrace ID: x"}, ErrAdminConsentRequired},
		{"90094 in error_codes", entraerr.Error{Code: "invalid_grant", Codes: []int{90094}}, ErrAdminConsentRequired},
		{"90093 non-admin at adminconsent", entraerr.Error{Code: "access_denied", Description: "AADSTS90093: Calling principal cannot consent"}, ErrAdminConsentRequired},
		{"risky app 900941", entraerr.Error{Code: "access_denied", Codes: []int{900941}}, ErrAdminConsentRequired},
		{"second code in description", entraerr.Error{Code: "access_denied", Description: "AADSTS65004: declined. AADSTS90095: request access"}, ErrAdminConsentRequired},
		{"suberror", entraerr.Error{Code: "consent_required", Subcode: "admin_consent_required"}, ErrAdminConsentRequired},
		{"decline 65004", entraerr.Error{Code: "access_denied", Subcode: "cancel", Description: "AADSTS65004: User declined"}, ErrConsentDeclined},
		{"admin consent docs: permission_denied", entraerr.Error{Code: "permission_denied", Description: "The admin canceled the request"}, ErrConsentDeclined},
		{"field report: back from Need admin approval, no description", entraerr.Error{Code: "access_denied", Subcode: "cancel"}, ErrConsentDeclined},
		{"consent_required", entraerr.Error{Code: "consent_required", Description: "AADSTS65001: not consented"}, ErrConsentRequired},
		{"prompt=none, several accounts: 16000", entraerr.Error{Code: "interaction_required", Description: "AADSTS16000: pick an account"}, ErrInteractionRequired},
		{"prompt=none, nobody signed in", entraerr.Error{Code: "login_required", Description: "AADSTS50058: no user"}, ErrInteractionRequired},
		{"server_error", entraerr.Error{Code: "server_error"}, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindOf(&tt.e); got != tt.want {
				t.Errorf("kindOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("x: %w", ErrLoopDetected), http.StatusLoopDetected},
		{fmt.Errorf("x: %w", ErrRequestTooLarge), http.StatusRequestEntityTooLarge},
		{errResumeGone, http.StatusGone},
		{&ConsentError{kind: ErrTenantNotAllowed}, http.StatusForbidden},
		{&ConsentError{kind: ErrTenantNotOnboarded}, http.StatusForbidden},
		{&AppConsentError{TenantID: "t"}, http.StatusForbidden},
		{&ClaimsChallengeError{}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if got := statusOf(tt.err); got != tt.want {
			t.Errorf("statusOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
