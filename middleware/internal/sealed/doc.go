// Package sealed keeps small records (kept POST requests, loop-guard counters,
// onboarded tenants) in a shared key-value store, sealed with AES-256-GCM under
// a key derived from the app's session keys and bound to their store key, so a
// record cannot be read, forged or moved to another key by whoever can write
// to the store. Expiry is checked by an injected clock.
package sealed
