// Package flowstore keeps pending sign-in flows (state, nonce, PKCE verifier,
// return URL...) between the redirect to Entra and the callback, in a shared
// key-value store so the callback may land on any replica. Flows are sealed with
// AES-256-GCM under a key derived from the app's session keys, bound to their
// store key, single use and short-lived.
package flowstore
