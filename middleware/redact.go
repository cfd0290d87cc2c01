package middleware

import (
	"regexp"
	"strings"
)

// Errors from MSAL can carry what the token endpoint sent: when an answer
// does not decode, MSAL's error text holds the whole body ("raw message
// was: ..."), access, refresh and ID tokens included. Every MSAL call runs
// through the client pool, which passes its error through redactError, so
// no error the middleware logs, shows or returns carries them; errors.Is and
// errors.As still reach MSAL's error and its fields.

var (
	// tokenFields matches JSON members whose values are secrets.
	tokenFields = regexp.MustCompile(`"(access_token|refresh_token|id_token|client_info|code|assertion|client_secret)"\s*:\s*"[^"]*"?`)
	// jwts matches compact JWTs (a header always starts "eyJ").
	jwts = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*`)
)

// rawMessage introduces the body in MSAL's error for an undecodable answer.
const rawMessage = "raw message was:"

// redactedError is an MSAL error whose text is redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err with its text redacted (nil for nil).
func redactError(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: redact(err.Error()), err: err}
}

// redact removes from s what may be a token: a raw answer body after
// MSAL's "raw message was:", secret JSON members and anything shaped like a JWT.
func redact(s string) string {
	if i := strings.Index(s, rawMessage); i >= 0 {
		s = s[:i] + rawMessage + " [redacted]"
	}
	s = tokenFields.ReplaceAllString(s, `"$1":"[redacted]"`)
	return jwts.ReplaceAllString(s, "[redacted JWT]")
}
