// Package protocol holds the OAuth 2.0 / OpenID Connect details the middleware
// adds on top of MSAL Go: random values, PKCE (S256), the authorize-URL parameters
// MSAL cannot set, and reading the nonce out of an ID token.
package protocol
