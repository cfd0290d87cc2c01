// Package tokencache is a partitioned, encrypted token cache for MSAL Go
// (github.com/AzureAD/microsoft-authentication-library-for-go): a Cache
// implements MSAL's cache.ExportReplace over a small Store interface, with an
// in-process MemoryStore (bounded, LRU) and a Redis Store in package
// redisstore.
//
// # Partitions
//
// MSAL calls Replace before every token lookup and Export after every token
// it gets from the network, each with a partition key: the user's home
// account id ("uid.utid") for delegated tokens, "clientID_tenant_AppTokenCache"
// for app tokens, a hash of the assertion for on-behalf-of. The Cache stores
// one Store entry per partition, so the cost of a call does not depend on the
// number of users. A missing partition replaces MSAL's in-memory cache with an
// empty one, so a previous user's tokens never remain visible. The empty
// partition key (MSAL's account-wide calls such as RemoveAccount) is never
// stored; sign users out with Cache.Remove.
//
// # Encryption
//
// With WithKey, every blob is sealed with AES-256-GCM. The additional data
// binds it to its partition key, so a blob copied to another user's key fails
// to open, and each blob names its key id, so keys rotate: the first key
// writes, later keys still read. Refresh tokens never leave the process in
// plaintext: New requires a key unless the Store implements InProcess.
//
// A blob that cannot be opened is reported as a *BlobError, and handled by
// what it means (BlobError.Corrupt):
//
//   - sealed with a key id this Cache does not hold (ErrUnknownKey): during
//     a key rotation, another replica's good entry. Replace fails with the
//     error and nothing overwrites the entry, so replicas holding different
//     keys never destroy each other's tokens.
//   - corrupt (ErrDecrypt: a bit flip, a truncation, an entry copied from
//     another partition; ErrMalformed: not a sealed blob, a plaintext entry
//     included): Replace loads an empty cache and logs the incident once
//     (WithLogger), so MSAL finds no token and the user is asked to sign in;
//     the sign-in's Export replaces the entry (a compare-and-swap against
//     the corrupt bytes, so a good entry written meanwhile is merged, not
//     lost). A key id must name the same key on every replica: another key
//     under the same id reads as corrupt.
//
// # Reading one token
//
// Cache.AccessToken reads the access token MSAL's AcquireTokenSilent would
// return for an account and scopes with one Store Get and one scan of the
// decrypted JSON, without loading the partition into MSAL (about a tenth of
// the CPU). It answers only when it is certain to agree with MSAL, and
// otherwise reports ok=false: the caller then calls AcquireTokenSilent,
// which also refreshes.
//
// # Concurrent writers
//
// Two replicas refreshing one user's tokens at once both Export the same
// partition. With a Store implementing CompareAndSwapper (MemoryStore,
// redisstore), Export writes only if the partition still holds the blob its
// Replace loaded: then MSAL's JSON already contains everything stored, and the
// write is one compare-and-swap. If another writer got in between, Export
// reads the partition again, merges (union of entries; MSAL's own entry wins,
// access tokens by cached_at) and retries. A Store without the capability
// gets read-merge-write, which narrows the window to the time between its
// read and its write but cannot close it: replicas sharing partitions need a
// CompareAndSwapper store, with which no writer's refresh token is lost.
//
// # Expiry
//
// Each partition's TTL follows its longest-lived token: an access token
// until the later of expires_on and extended_expires_on; a refresh token,
// for which MSAL records no expiry, for WithRefreshTokenTTL (default 90 days)
// after the last write. A partition with no live token is kept one hour.
// Expired access tokens are dropped at each write.
//
// # Errors
//
// Every error starts with "tokencache" and wraps its cause with %w. A Store
// error meaning the backend is unreachable wraps ErrUnavailable; callers must
// not take it for "no token". Calls whose context has no deadline get
// WithTimeout's (default DefaultTimeout).
package tokencache
