// Package msalcache reads one access token out of MSAL Go's serialized token
// cache (the JSON that MSAL's cache.Marshaler writes, v1.10.1) without
// deserializing the whole document the way MSAL does.
//
// Find answers only when it is certain to agree with MSAL's
// AcquireTokenSilent on the same document: the document is one MSAL's
// decoder accepts (every entry of every section has the types MSAL
// requires), every access token that matches the request by MSAL's rules is
// one MSAL would use without refreshing, and the ID token MSAL would decode
// alongside it decodes. MSAL takes the first matching entry in Go's random
// map order; of several, Find returns the one expiring last, one of those
// MSAL returns. Anything else, including documents MSAL accepts but
// that take rules this package does not model (escaped keys, duplicate
// fields, Go field names used as JSON keys, tokens under another alias of the
// authority host), is a miss: the caller asks MSAL.
//
// The rules, from MSAL Go's apps/internal/base/storage (Manager.Read,
// readAccessToken, isMatchingScopes, AccessToken.Validate) and
// apps/internal/base (AcquireTokenSilent, AuthResultFromStorage):
//
//   - home_account_id, realm and client_id equal the request's exactly;
//     environment is one of the authority host's aliases (here: the host);
//   - every requested scope is counted once per case-insensitive equal scope
//     of the entry's space-separated target, and the count must equal the
//     number of requested scopes;
//   - token_type "Bearer" (any case) without keyid, or no token_type;
//     entries with an ext_cache_key are skipped;
//   - the token is used if cached_at is set and not in the future and
//     expires_on is at least 5 minutes away; a refresh_on in the past makes
//     MSAL refresh instead;
//   - the ID token of the same account, realm and client, if any, must
//     decode as a JWT whose payload is JSON of MSAL's IDToken claims.
package msalcache
