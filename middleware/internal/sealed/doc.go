// Package sealed keeps small records (pending sign-ins, kept POST requests,
// loop-guard counters, tenant records) in a shared key-value store, sealed
// by package tokencache/seal under keys derived from the app's session keys
// and bound to their store key, so a record cannot be read, forged or moved
// to another key by whoever can write to the store. Records are named by a
// hash of their id; expiry is checked by an injected clock, with the store's
// TTL a minute longer as a backstop; a record can be taken once. Records
// sealed in the format used before package seal (Legacy) still open; every
// write uses package seal.
package sealed
