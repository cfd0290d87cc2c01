// Package protocol holds the OAuth 2.0 / OpenID Connect details the middleware
// adds on top of MSAL Go: random values, PKCE (S256), the authorize-URL
// parameters MSAL cannot set, claims read without a signature check from
// tokens the app just got from the token endpoint over TLS (the ID token's
// wids, after the middleware verified it; the app-only token's roles), and bearer
// challenges (WWW-Authenticate) of APIs.
package protocol
