// Package redisstore is a tokencache.Store on Redis, through go-redis v9's
// UniversalClient: a single node, Sentinel failover or Cluster.
//
// Each partition is one Redis string under a configurable prefix
// (DefaultPrefix), written with SET ... PX so Redis expires abandoned
// partitions. Get, Set and Delete are one round trip each; CompareAndSwap, used
// by tokencache.Cache so that replicas writing the same user at once lose no
// token, is one EVALSHA of a short Lua script. Every command and script
// touches one key, so a Redis Cluster needs no hash tags.
//
// Errors that mean Redis could not be reached wrap ErrUnavailable (the same
// value as tokencache.ErrUnavailable), never "not found": a user whose token
// lookup fails this way has not lost consent. go-redis reconnects by itself,
// so calls succeed again as soon as Redis is back. While a Cluster or
// Sentinel primary fails over, calls are tried again within the caller's
// deadline (see New), so a failover shorter than the deadline costs time,
// not errors.
//
// Redis replicates asynchronously; WithWait makes each write wait until a
// replica has it, so that a primary's crash loses no refresh token.
//
// Blobs stored by tokencache.Cache are AES-256-GCM encrypted (tokencache.New
// refuses a Store like this one without tokencache.WithKey).
package redisstore
