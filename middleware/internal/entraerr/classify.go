package entraerr

import (
	"context"
	"errors"
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
