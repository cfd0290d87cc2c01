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
	// ErrConsentDeclined: the user declined the permissions (access_denied,
	// AADSTS65004), or was not allowed to grant them and left Entra's "Need
	// admin approval" page, which Entra answers alike. Its ConsentError carries
	// both ways on: the URL to try again and the AdminConsentURL to pass on.
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
func kindOf(e *entraerr.Error) error { return kinds[e.Meaning()] }

// kinds is the sentinel of each meaning of an Entra error.
var kinds = map[entraerr.Meaning]error{
	entraerr.AdminConsentRequired: ErrAdminConsentRequired,
	entraerr.ConsentDeclined:      ErrConsentDeclined,
	entraerr.ConsentRequired:      ErrConsentRequired,
	entraerr.InteractionRequired:  ErrInteractionRequired,
	entraerr.ServiceUnavailable:   ErrUnavailable,
	entraerr.SignInFailed:         ErrSignInFailed,
}

// errorTable gives each error the package answers with its HTTP status
// and what the default page says. The first row whose error err wraps
// decides; a row with status 0 leaves the status to the next row err wraps
// (a form not kept across a claims challenge is 413 when too large, else
// 401). An error that matches no row is a 500, and it and a row without a
// title get the generic page.
var errorTable = []struct {
	err               error
	status            int
	title, what, todo string
}{
	{errFormNotKept, 0, "Please sign in again, then send your form again", "The service this page uses asks for a fresh sign-in (for example multi-factor authentication), and the form you sent could not be kept while you do. It was not sent.", "Sign in again with the link below, then fill in and send the form again."},
	{ErrRequestTooLarge, http.StatusRequestEntityTooLarge, "Your form is too large to keep", "This page needs you to sign in or grant a permission first, and the data you sent is too large to keep while you do.", "Open the page again, sign in, and then send the form."},
	{ErrLoopDetected, http.StatusLoopDetected, "Sign-in keeps failing for this page", "You were sent to Microsoft several times for this page and it still lacks the permissions or sign-in conditions it needs, so we stopped instead of trying forever.", "Wait ten minutes and try again. If it keeps happening, contact the app's support or your IT administrator."},
	{ErrCrossSiteForm, http.StatusForbidden, "Please send the form again from the app", "A form sent from another site (or without saying where it came from) needs you to sign in first. To protect you, it was not kept and will not be sent.", "Please send the form again from the app: open it, go to the page with the form, and send it from there."},
	{errResumeGone, http.StatusGone, "This form was already sent", "The form you submitted before signing in was already completed, has expired, or was started in another browser. It was not sent again.", "Go back to the page and fill the form in again if needed."},
	{ErrSignInRefused, http.StatusForbidden, "You cannot sign in to this app", "The app did not accept your sign-in.", "Contact the app's support if you think you should have access."},
	{ErrTenantNotAllowed, http.StatusForbidden, "Your organization cannot use this app", "You signed in with an account of an organization this app does not serve. Nothing was kept.", "Sign in with an account of an organization that uses this app, or contact the app's provider."},
	{ErrTenantNotOnboarded, http.StatusForbidden, "Your organization has not connected this app yet", "An administrator of your organization must first connect this app. Nothing was kept.", "Send the link below to your IT administrator, then try again."},
	{ErrAppConsentRequired, http.StatusForbidden, "Your organization has not granted this app's permissions", "An administrator of your organization must grant the app's application permissions first.", "Send the link below to your IT administrator, then try again."},
	{ErrClaimsChallenge, http.StatusUnauthorized, "Please sign in again", "The service this page uses asks for a fresh sign-in (for example multi-factor authentication).", "Try again and complete the sign-in."},
	{errNotFound, http.StatusNotFound, "Not found", "There is no page at this address.", "Check the address."},
	{ErrConsentDeclined, http.StatusForbidden, "The permissions were not granted", "You declined the permissions this page needs, or your organization lets only an administrator grant them: Microsoft tells the app the same in both cases. Declining is fine: nothing was shared with the app.", "To use this page, try again and accept. If Microsoft said you need an administrator's approval, pass the link for your administrator on to your IT administrator, then try again once they approve."},
	{ErrAdminConsentRequired, http.StatusForbidden, "Your administrator must approve this app", "These permissions can only be granted by an administrator of your organization.", "Send the link below to your IT administrator. Once they approve, try again: you will not be asked again, nor will your colleagues."},
	{ErrConsentRequired, http.StatusForbidden, "Permission needed", "This page needs permissions you have not granted yet.", "Try again and accept the permissions."},
	{ErrInteractionRequired, http.StatusUnauthorized, "Permission needed", "This page needs permissions you have not granted yet.", "Try again and accept the permissions."},
	{ErrNotSignedIn, http.StatusUnauthorized, "", "", ""},
	{ErrUnavailable, http.StatusServiceUnavailable, "Sign-in is temporarily unavailable", "The sign-in service or the token store did not answer in time.", "Wait a minute and reload the page."},
	{ErrInvalidState, http.StatusBadRequest, "This sign-in link is no longer valid", "The sign-in was already completed, took longer than 10 minutes, or was started in another browser.", "Open the page you wanted again; you will be asked to sign in once more if needed."},
	{ErrSignInFailed, http.StatusBadRequest, "Sign-in failed", "Microsoft Entra ID did not accept the sign-in.", "Try again. If it keeps failing, contact the app's support with the details below."},
	{ErrInvalidRequest, http.StatusBadRequest, "Bad request", "The request was not understood: ", "Go back and try again."},
}

// adminFlowText is what the page says instead when the failed round trip was
// an admin consent (AuthHandler's admin-consent or connect link): Entra
// answers a decline and a non-administrator alike (access_denied, AADSTS65004).
var adminFlowText = []struct {
	err               error
	title, what, todo string
}{
	{ErrAdminConsentRequired, "Only an administrator can approve this", "The account you signed in with is not an administrator of its organization, so it cannot grant these permissions for everyone.", "Send the link below to an administrator of your organization, or open it again and sign in with an administrator account."},
	{ErrConsentDeclined, "Only an administrator can approve this", "You declined the permissions, or the account you signed in with is not an administrator of its organization: Microsoft tells the app the same in both cases. Nothing was granted.", "An administrator who declined can try again and accept. Anyone else: send the link below to an administrator of your organization, or open it again and sign in with an administrator account."},
}

// statusOf is the HTTP status suggested for err.
func statusOf(err error) int {
	for _, row := range errorTable {
		if row.status != 0 && errors.Is(err, row.err) {
			return row.status
		}
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
	m.cfg.ErrorHandler(w, withMiddleware(r, m), status, err)
}

func (m *Middleware) logLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelWarn
}
