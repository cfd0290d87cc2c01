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
// writes, later keys still read. A blob that cannot be opened is an error
// (*BlobError wrapping ErrDecrypt, ErrUnknownKey or ErrMalformed), never an
// empty cache. Refresh tokens never leave the process in plaintext: New
// requires a key unless the Store implements InProcess.
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
