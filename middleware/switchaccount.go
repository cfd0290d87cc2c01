package middleware

import (
	"fmt"
	"net/url"
)

// promptSelectAccount is the authorize prompt that shows Entra's account
// picker even when a session at Entra could sign the user in silently
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code).
const promptSelectAccount = "select_account"

// SwitchAccountURL returns the app-relative URL of AuthHandler's sign-in
// endpoint that lets the user pick another account (or add one) at Entra,
// then returns to returnURL; scopes, optional, are consented as with
// SignInURL. SignInURL sends the signed-in user's login_hint, so Entra signs
// the same account in again; this one sends prompt=select_account and no
// hint. When another account signs in, the session is renewed for it (new
// binding id, pending flows dropped) as at any first sign-in; the previous
// account's tokens stay in the token cache until it signs out.
func (m *Middleware) SwitchAccountURL(returnURL string, scopes ...string) string {
	return m.SignInURL(returnURL, scopes...) + "&" + url.Values{"prompt": {promptSelectAccount}}.Encode()
}

// signInPrompt reads the sign-in endpoint's prompt parameter: none, or
// select_account.
func signInPrompt(q url.Values) (string, error) {
	switch p := q.Get("prompt"); p {
	case "", promptSelectAccount:
		return p, nil
	}
	return "", fmt.Errorf("%w: the prompt parameter may only be %s", ErrInvalidRequest, promptSelectAccount)
}
