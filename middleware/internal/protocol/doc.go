// Package protocol holds the OAuth 2.0 / OpenID Connect details the middleware
// adds on top of MSAL Go: random values, PKCE (S256), the authorize-URL
// parameters MSAL cannot set, claims read from a JWT
// whose signature MSAL or the API checked (wids, roles), and bearer
// challenges (WWW-Authenticate) of APIs.
package protocol
