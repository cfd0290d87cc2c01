package entraerr

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Kind says who can fix a failed silent token acquisition.
type Kind int

const (
	// Unavailable: a fault on the server side (Entra 5xx or timeout, token store
	// unreachable, misconfiguration). Retrying later may help; the user cannot.
	Unavailable Kind = iota
	// NeedsUser: only an interactive round trip to Entra can fix it (no token,
	// consent or MFA missing, refresh token expired or revoked).
	NeedsUser
	// Canceled: the caller went away.
	Canceled
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case NeedsUser:
		return "needs_user"
	case Canceled:
		return "canceled"
	}
	return "unavailable"
}

// interactive lists OAuth error codes, suberrors and AADSTS numbers that mean
// "send the user to Entra". invalid_grant covers expired, revoked and
// consent-lacking refresh tokens.
var (
	interactiveCodes = map[string]bool{
		"invalid_grant": true, "interaction_required": true, "consent_required": true,
		"login_required": true,
	}
	interactiveSub = map[string]bool{
		"consent_required": true, "basic_action": true, "additional_action": true,
		"message_only": true, "user_password_expired": true, "bad_token": true, "token_expired": true,
	}
	interactiveAADSTS = map[int]bool{
		65001: true, 50076: true, 50079: true, 70000: true, 50058: true, 50078: true,
		50173: true, 700082: true, 70008: true, 50158: true, 16000: true, 50132: true,
	}
)

// MSAL Go reports these conditions only as plain error strings; they are the one
// place where we must match text. They mean the cache holds nothing usable for the
// account (no refresh token) or the token endpoint left out a requested scope.
var needsUserText = []string{"no token found", "declined scopes are present"}

// Classify decides who can fix err, the error of an MSAL AcquireTokenSilent call,
// and returns the parsed Entra error when there is one. Anything not known to
// need the user is Unavailable: a consent redirect for a server fault would loop.
func Classify(err error) (Kind, *Error) {
	if errors.Is(err, context.Canceled) {
		return Canceled, nil
	}
	if e, ok := FromCallErr(err); ok {
		return classifyEntra(e), e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Unavailable, nil
	}
	msg := err.Error()
	for _, s := range needsUserText {
		if strings.Contains(msg, s) {
			return NeedsUser, nil
		}
	}
	return Unavailable, nil
}

func classifyEntra(e *Error) Kind {
	if e.Status >= 500 || e.Status == 429 || e.Status == 0 {
		return Unavailable
	}
	if interactiveCodes[e.Code] || interactiveSub[e.Subcode] {
		return NeedsUser
	}
	for _, c := range e.Codes {
		if interactiveAADSTS[c] {
			return NeedsUser
		}
	}
	if interactiveAADSTS[e.AADSTS()] {
		return NeedsUser
	}
	return Unavailable // invalid_client, unauthorized_client, invalid_request: app misconfiguration
}

// Meaning says what an Entra error answer (an error redirect to the
// callback, or a token endpoint refusal of an authorization code) means
// for the user.
type Meaning int

const (
	// SignInFailed: an error the user cannot fix by consenting (an invalid
	// code, a misconfigured app). The zero value: anything not listed below.
	SignInFailed Meaning = iota
	// AdminConsentRequired: only an administrator can grant the permissions.
	AdminConsentRequired
	// ConsentDeclined: the user (or admin) declined the permissions.
	ConsentDeclined
	// ConsentRequired: the permissions were not granted yet.
	ConsentRequired
	// InteractionRequired: the user must sign in again (MFA, expired session).
	InteractionRequired
	// ServiceUnavailable: a fault of Entra; retrying later may help.
	ServiceUnavailable
)

// adminAADSTS lists the AADSTS numbers that mean "only an admin can grant
// this": 90093 (the signed-in user lacks the rights to consent), 90094
// (admin consent required), 90095 (admin consent workflow: request access),
// 90099 (app not authorized in the tenant), 900941 and 900981 (admin consent
// required for a risky app).
var adminAADSTS = []int{90093, 90094, 90095, 90099, 900941, 900981}

// Meaning classifies e. An admin code may come in error_codes or only in
// error_description (redirects), and a description may name several codes.
func (e *Error) Meaning() Meaning {
	switch {
	case e.anyCode(adminAADSTS) || e.Subcode == "admin_consent_required" || e.Code == "admin_consent_required":
		return AdminConsentRequired
	case e.Code == "access_denied" || e.Code == "permission_denied" || e.HasCode(65004):
		return ConsentDeclined
	case e.Code == "consent_required" || e.HasCode(65001) || e.Subcode == "consent_required":
		return ConsentRequired
	case e.Code == "interaction_required" || e.Code == "login_required":
		return InteractionRequired
	case e.Code == "temporarily_unavailable" || e.Code == "server_error" || e.Status >= 500:
		return ServiceUnavailable
	}
	return SignInFailed
}

// anyCode reports whether e carries one of codes, in error_codes or as
// "AADSTS<n>:" anywhere in its description.
func (e *Error) anyCode(codes []int) bool {
	for _, n := range codes {
		if e.HasCode(n) || strings.Contains(e.Description, "AADSTS"+strconv.Itoa(n)+":") {
			return true
		}
	}
	return false
}

// notInTenant lists the AADSTS numbers of a client-credentials request for
// a tenant without the app: 700016 (application not found in the
// directory), 7000229 (no service principal), 65001 (not consented).
var notInTenant = []int{700016, 7000229, 65001}

// NotInTenant returns the AADSTS number saying that the app is not in the
// tenant a client-credentials request named, if e carries one.
func (e *Error) NotInTenant() (int, bool) {
	for _, n := range notInTenant {
		if e.HasCode(n) {
			return n, true
		}
	}
	return 0, false
}
