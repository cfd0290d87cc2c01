package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/consentry/consentry/middleware/internal/entraerr"
)

// Sentinel errors, passed (wrapped) to Config.ErrorHandler. Branch on them with errors.Is.
var (
	// ErrNotSignedIn: the request has no signed-in account.
	ErrNotSignedIn = errors.New("middleware: not signed in")
	// ErrInteractionRequired: a token cannot be had silently; the user must go
	// through Entra (sign in again, consent, MFA).
	ErrInteractionRequired = errors.New("middleware: sign-in or consent required")
	// ErrConsentDeclined: the user declined the permissions (access_denied, AADSTS65004).
	ErrConsentDeclined = errors.New("middleware: the user declined consent")
	// ErrAdminConsentRequired: only an administrator can grant the permissions (AADSTS90094).
	ErrAdminConsentRequired = errors.New("middleware: an administrator must grant consent")
	// ErrConsentRequired: Entra reported missing consent (consent_required, AADSTS65001).
	ErrConsentRequired = errors.New("middleware: consent required")
	// ErrInvalidState: a callback whose state is unknown, already used, expired
	// or started in another browser session.
	ErrInvalidState = errors.New("middleware: invalid or expired sign-in state")
	// ErrInvalidRequest: a malformed request to the middleware's endpoints.
	ErrInvalidRequest = errors.New("middleware: invalid request")
	// ErrSignInFailed: Entra answered the sign-in with an error the user cannot fix
	// by consenting (e.g. an invalid code, a nonce mismatch, a misconfigured app).
	ErrSignInFailed = errors.New("middleware: sign-in failed")
	// ErrUnavailable: Entra or the token store failed or timed out; retry later.
	ErrUnavailable = errors.New("middleware: sign-in service or token store unavailable")

	// ErrClaimsChallenge: an API refused the user's token with a claims
	// challenge (Conditional Access, continuous access evaluation); see
	// ClaimsChallengeError and Middleware.Challenge.
	ErrClaimsChallenge = errors.New("middleware: the API asked for more claims (claims challenge)")
	// ErrTenantNotAllowed: the user's tenant is not in Config.AllowedTenants.
	ErrTenantNotAllowed = errors.New("middleware: the user's organization may not use this app")
	// ErrTenantNotOnboarded: the tenant's admin has not connected the app yet
	// (Config.RequireOnboarding, or an app-only token the tenant never granted).
	ErrTenantNotOnboarded = errors.New("middleware: the organization has not connected this app")
	// ErrAppConsentRequired: an app-only token lacks application permissions
	// (roles) the tenant's admin has not granted; see AppConsentError.
	ErrAppConsentRequired = errors.New("middleware: the organization has not granted the app's application permissions")
	// ErrLoopDetected: the same route went to Entra Config.MaxAttempts times
	// within FlowTTL and still lacks what it needs; the middleware stopped.
	ErrLoopDetected = errors.New("middleware: sign-in keeps failing for this page (loop stopped)")
	// ErrRequestTooLarge: a request that needs consent has a body larger than
	// Config.MaxResumeBody, so it could not be kept across the round trip.
	ErrRequestTooLarge = errors.New("middleware: the request is too large to keep while you sign in")
	// ErrCrossSiteForm: a form post from another site (or without Origin,
	// Referer and Sec-Fetch-Site) reached a route that needs sign-in, consent
	// or a new sign-in; it is never kept nor replayed (no cross-site request
	// forgery through the resume page).
	ErrCrossSiteForm = errors.New("middleware: a form from another site needs sign-in; it was not kept")
)

// ConsentError is an Entra ID error about sign-in or consent, with the protocol
// fields callers need to explain or fix it. errors.Is(err, ErrConsentDeclined)
// (or ErrAdminConsentRequired, ...) tells its kind; errors.As gets the fields.
type ConsentError struct {
	Code        int      // AADSTS number, e.g. 65004; 0 if Entra gave none
	ErrorCode   string   // OAuth error, e.g. "access_denied", "invalid_grant"
	Subcode     string   // Entra suberror, e.g. "consent_required", "cancel"
	Description string   // first line of Entra's error_description
	Scopes      []string // the scopes that were asked for
	URL         string   // app URL that starts sign-in/consent again for Scopes
	// AdminConsentURL is an absolute app URL an administrator opens to grant
	// Scopes for the whole organization (or to connect the tenant); set when
	// an admin is needed.
	AdminConsentURL string
	TenantID        string // the tenant concerned, when known

	kind      error // one of the sentinels
	cause     error
	adminFlow bool // the failed round trip was an admin consent
}

// Error describes the failure: its kind, the AADSTS code and the scopes concerned.
func (e *ConsentError) Error() string {
	var b strings.Builder
	b.WriteString(e.kind.Error())
	if e.Code != 0 {
		fmt.Fprintf(&b, ": AADSTS%d", e.Code)
	}
	if e.ErrorCode != "" {
		fmt.Fprintf(&b, " (%s)", e.ErrorCode)
	}
	if len(e.Scopes) > 0 {
		fmt.Fprintf(&b, " for %s", strings.Join(e.Scopes, " "))
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// Unwrap returns the sentinel naming the kind of error and the cause, if any.
func (e *ConsentError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// newConsentError builds a ConsentError from an Entra error answer.
func newConsentError(e *entraerr.Error, scopes []string, retryURL string, cause error) *ConsentError {
	return &ConsentError{
		Code: e.AADSTS(), ErrorCode: e.Code, Subcode: e.Subcode, Description: e.Summary(),
		Scopes: scopes, URL: retryURL, kind: kindOf(e), cause: cause,
	}
}

// kindOf maps an Entra error to a sentinel.
func kindOf(e *entraerr.Error) error {
	switch {
	case adminCodes(e) || e.Subcode == "admin_consent_required" || e.Code == "admin_consent_required":
		return ErrAdminConsentRequired
	case e.Code == "access_denied" || e.Code == "permission_denied" || e.HasCode(65004):
		return ErrConsentDeclined
	case e.Code == "consent_required" || e.HasCode(65001) || e.Subcode == "consent_required":
		return ErrConsentRequired
	case e.Code == "interaction_required" || e.Code == "login_required":
		return ErrInteractionRequired
	case e.Code == "temporarily_unavailable" || e.Code == "server_error" || e.Status >= 500:
		return ErrUnavailable
	}
	return ErrSignInFailed
}

// adminCodes reports an AADSTS number that means "only an admin can grant
// this": 90093 (the signed-in user lacks the rights to consent), 90094 (admin consent required), 90095 (admin consent workflow:
// request access), 90099 (app not authorized in the tenant), 900941 and
// 900981 (admin consent required for a risky app). The number may come in
// error_codes or only in error_description (redirects).
func adminCodes(e *entraerr.Error) bool {
	for _, n := range []int{90093, 90094, 90095, 90099, 900941, 900981} {
		if e.HasCode(n) || strings.Contains(e.Description, fmt.Sprintf("AADSTS%d:", n)) {
			return true
		}
	}
	return false
}

// statusOf is the HTTP status suggested for err.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrRequestTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrLoopDetected):
		return http.StatusLoopDetected
	case errors.Is(err, errResumeGone):
		return http.StatusGone
	case errors.Is(err, ErrTenantNotAllowed), errors.Is(err, ErrTenantNotOnboarded), errors.Is(err, ErrAppConsentRequired),
		errors.Is(err, ErrCrossSiteForm), errors.Is(err, ErrSignInRefused):
		return http.StatusForbidden
	case errors.Is(err, ErrClaimsChallenge):
		return http.StatusUnauthorized
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConsentDeclined), errors.Is(err, ErrAdminConsentRequired), errors.Is(err, ErrConsentRequired):
		return http.StatusForbidden
	case errors.Is(err, ErrNotSignedIn), errors.Is(err, ErrInteractionRequired):
		return http.StatusUnauthorized
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrInvalidState), errors.Is(err, ErrInvalidRequest), errors.Is(err, ErrSignInFailed):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// fail logs err and hands it to the ErrorHandler with its status.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	level := m.logLevel(status)
	m.log.Log(r.Context(), level, "middleware: request failed",
		"method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	w.Header().Set("Cache-Control", "no-store")
	m.cfg.ErrorHandler(w, r, status, err)
}

func (m *Middleware) logLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelWarn
}
