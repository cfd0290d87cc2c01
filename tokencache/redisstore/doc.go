// Package redisstore is a tokencache.Store on Redis, through go-redis v9's
// UniversalClient: a single node, Sentinel failover or Cluster.
//
// Each partition is one Redis string under a configurable prefix
// (DefaultPrefix), written with SET ... PX so Redis expires abandoned
// partitions. Get, Set and Delete are one round trip each; CompareAndSwap, used
// by tokencache.Cache so that replicas writing the same user at once lose no
// token, is one EVALSHA of a short Lua script.
//
// Errors that mean Redis could not be reached wrap ErrUnavailable (the same
// value as tokencache.ErrUnavailable), never "not found": a user whose token
// lookup fails this way has not lost consent. go-redis reconnects by itself,
// so calls succeed again as soon as Redis is back.
//
// Blobs stored by tokencache.Cache are AES-256-GCM encrypted (tokencache.New
// refuses a Store like this one without tokencache.WithKey).
package redisstore
