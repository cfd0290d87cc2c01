package entratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// entraError is one AADSTS error. The codes and messages follow the Microsoft
// Entra error code reference (https://learn.microsoft.com/entra/identity-platform/reference-error-codes)
// and the v2.0 protocol docs; where a message is not documented verbatim the
// text is our paraphrase, and a comment says so.
type entraError struct {
	Status   int    // HTTP status at the token endpoint / on pages
	Error    string // OAuth error
	Code     int    // AADSTS number
	Message  string
	SubError string // token endpoint "suberror"
	SubCode  string // authorize redirect "error_subcode"
	Claims   string // token endpoint "claims" (a Conditional Access challenge)
}

func (e *entraError) description(trace, corr string, now time.Time) string {
	return fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		e.Code, e.Message, trace, corr, now.UTC().Format("2006-01-02 15:04:05Z"))
}

func newErr(status int, oauth string, code int, format string, a ...any) *entraError {
	return &entraError{Status: status, Error: oauth, Code: code, Message: fmt.Sprintf(format, a...)}
}

func errMissingParam(name string) *entraError {
	return newErr(400, "invalid_request", 900144, "The request body must contain the following parameter: '%s'.", name)
}

func errInvalidScope(scope string) *entraError {
	return newErr(400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", scope)
}

func errResourceNotFound(res string) *entraError {
	return newErr(400, "invalid_resource", 500011, "The resource principal named %s was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", res)
}

func errScopeNotOnResource(scope string, r *resource) *entraError {
	return newErr(400, "invalid_client", 650053, "The application asked for scope '%s' that doesn't exist on the resource '%s'.", scope, r.ID)
}

func errTenantNotFound(t string) *entraError {
	return newErr(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", t)
}

func errUnknownClient(clientID, tenant string) *entraError {
	return newErr(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
}

func errRedirectMismatch(uri, clientID string) *entraError {
	return newErr(400, "invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.", uri, clientID)
}

// errConsentRequired is the token endpoint's answer for a scope without
// consent. Guessed shape: the token endpoint docs list consent_required both as
// an error and as a "suberror"-style condition without saying which comes with
// which grant (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-token-endpoint-errors);
// we send invalid_grant + suberror consent_required + 65001, the shape MSAL
// libraries classify as "consent required" (DESIGN.md). Middleware code must
// accept error=consent_required as well.
func errConsentRequired(a *App) *entraError {
	e := newErr(400, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", a.ClientID, a.DisplayName)
	e.SubError = "consent_required"
	return e
}

// errDeclined is the redirect after Cancel on a consent page. error=access_denied
// is documented ("Resource owner denied consent",
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-authorization-endpoint-errors);
// AADSTS65004 "User declined to consent to access the app." and
// error_subcode=cancel are what Entra sends in the field
// (https://github.com/MicrosoftDocs/azure-docs/issues/114009,
// https://learn.microsoft.com/en-us/answers/questions/2237594/how-to-handle-admin-consent-in-oauth-flow).
// The admin consent page's own example shows error=consent_required with
// 65004 (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent#error-response);
// field reports show access_denied there too, which we keep.
func errDeclined() *entraError {
	e := newErr(400, "access_denied", 65004, "User declined to consent to access the app.")
	e.SubCode = "cancel"
	return e
}

// errLoginRequired answers prompt=none without a signed-in user: login_required
// is documented (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-authorization-endpoint-errors);
// the code 50058 comes from the error code reference.
func errLoginRequired() *entraError {
	return newErr(400, "login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
}

// errAmbiguousAccount answers prompt=none when several accounts are signed in
// and no login_hint picks one: interaction_required with AADSTS16000
// (https://learn.microsoft.com/entra/identity-platform/msal-js-sso#without-user-hint).
func errAmbiguousAccount() *entraError {
	return newErr(400, "interaction_required", 16000, "Either multiple user identities are available for the current request or selected account is not supported for the scenario.")
}

// errSingleTenantAtCommon: the message is Entra's, from field reports
// (https://learn.microsoft.com/en-us/answers/a/982308).
func errSingleTenantAtCommon(a *App) *entraError {
	return newErr(400, "invalid_request", 50194, "Application '%s'(%s) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", a.ClientID, a.DisplayName)
}

// errNoServicePrincipal: AADSTS650052, message as Entra words it
// (https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/error-code-aadsts650052-app-needs-access-service).
func errNoServicePrincipal(res, tenantID string) *entraError {
	return newErr(400, "invalid_client", 650052, "The app is trying to access a service '%s' that your organization '%s' lacks a service principal for. Contact your IT Admin to review the configuration of your service subscriptions or consent to the application in order to create the required service principal.", res, tenantID)
}

// errResourceNotListed: AADSTS650057, message as the error code reference
// words it (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
func errResourceNotListed(a *App, scope string) *entraError {
	return newErr(400, "invalid_client", 650057, "Invalid resource. The client has requested access to a resource which is not listed in the requested permissions in the client's application registration. Client app ID: %s(%s). Resource value from request: %s.", a.ClientID, a.DisplayName, strings.TrimSuffix(scope, "/.default"))
}

// errPublicClientSecret: AADSTS700025 (error code reference).
func errPublicClientSecret() *entraError {
	return newErr(401, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
}

// errCrossOrigin: AADSTS9002326, Entra's answer to a token request with an
// Origin header (a browser's request) from a client that is not registered
// as a single-page application; wording from field reports of web apps'
// secrets used from browsers.
func errCrossOrigin(origin string) *entraError {
	return newErr(400, "invalid_request", 9002326, "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '%s'.", origin)
}

// errAdminConsentAtCommon refuses /common/v2.0/adminconsent: the admin
// consent doc says "Do not use common, as personal accounts can't provide
// admin consent except in the context of a tenant"
// (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent#request-the-permissions-from-a-directory-admin).
// Guessed code and wording: Entra's answer there is not documented.
func errAdminConsentAtCommon() *entraError {
	return errInvalidRequest("The 'common' tenant cannot be used for admin consent. Use the tenant id, a verified domain or 'organizations'.")
}

// errClaimsChallenge is the token endpoint's answer when Conditional Access
// needs the user back: interaction_required with the claims to pass to the
// next authorize request and suberror basic_action
// (https://learn.microsoft.com/entra/identity-platform/developer-guide-conditional-access-authentication-context).
// The code 50076 (MFA required) is guessed.
func errClaimsChallenge(claims string) *entraError {
	e := newErr(400, "interaction_required", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", GraphAppID)
	e.SubError, e.Claims = "basic_action", claims
	return e
}

func errForeignUser(u *User, tenantName string, a *App) *entraError {
	return newErr(400, "invalid_request", 50020, "User account '%s' from identity provider 'https://sts.windows.net/%s/' does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.", u.UPN, u.TenantID, tenantName, a.ClientID, a.DisplayName)
}

func errBadSecret(clientID string) *entraError {
	return newErr(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
}

func errNoSecret() *entraError {
	return newErr(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

func errCodeRedeemed() *entraError {
	return newErr(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
}

func errExpired() *entraError {
	return newErr(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
}

func errBadGrant() *entraError {
	return newErr(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
}

func errMalformed() *entraError {
	return newErr(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
}

func errReplyMismatch(got, want string) *entraError {
	return newErr(400, "invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", got, want)
}

func errPKCE() *entraError {
	return newErr(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
}

func errMultipleResources(scope string) *entraError {
	return newErr(400, "invalid_scope", 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", scope)
}

func errClientCredScope(scope string) *entraError {
	return newErr(400, "invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
}

func errNoTenantInfo() *entraError {
	return newErr(400, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials.")
}

func errUnsupportedGrant(g string) *entraError {
	return newErr(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", g)
}

func errPostOnly() *entraError {
	return newErr(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
}

// errInvalidRequest is a catch-all for malformed authorize parameters.
// Guessed code: Entra uses several 9000xx codes here.
func errInvalidRequest(msg string) *entraError {
	return newErr(400, "invalid_request", 90014, "%s", msg)
}

func errServer(status int) *entraError {
	return newErr(status, "temporarily_unavailable", 50000, "There was an error issuing a token or an issue with our sign-in service. (Injected by entratest.FailTokenRequests.)")
}

// tokenErrorBody is Entra's token endpoint error JSON.
type tokenErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri,omitempty"`
	SubError      string `json:"suberror,omitempty"`
	Claims        string `json:"claims,omitempty"`
}

// writeTokenError writes e as Entra's JSON error.
func (s *Server) writeTokenError(w http.ResponseWriter, r *http.Request, e *entraError) {
	now, trace, corr := s.now(), newGUID(), correlationID(r)
	body := tokenErrorBody{
		Error: e.Error, Description: e.description(trace, corr, now), ErrorCodes: []int{e.Code},
		Timestamp: now.UTC().Format("2006-01-02 15:04:05Z"), TraceID: trace, CorrelationID: corr,
		ErrorURI: s.errorURI(e), SubError: e.SubError, Claims: e.Claims,
	}
	if e.Status == 401 {
		w.Header().Set("WWW-Authenticate", `Basic realm="entratest"`)
	}
	writeJSON(w, e.Status, body)
}

// errorURI is the error_uri Entra sends with errors: its error lookup page
// for the code.
func (s *Server) errorURI(e *entraError) string {
	return fmt.Sprintf("%s/error?code=%d", s.URL, e.Code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// correlationID echoes MSAL's client-request-id when it looks like a GUID.
func correlationID(r *http.Request) string {
	id := r.Header.Get("client-request-id")
	if len(id) == 36 && isGUIDish(id) {
		return id
	}
	return newGUID()
}

func isGUIDish(s string) bool {
	for _, c := range s {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
