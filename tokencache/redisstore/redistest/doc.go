// Package redistest starts real Redis servers for tests: a single server
// (URL, NewClient: the one named by REDIS_URL, or a throwaway redis-server),
// a Redis Cluster of three primaries and three replicas (StartCluster) and a
// Sentinel-managed primary with a replica and three sentinels
// (StartSentinel). Everything runs from redis-server in PATH on free
// loopback ports, in the test's temporary directory, and is stopped when the
// test ends; waits poll the servers' state (CLUSTER INFO, INFO replication,
// SENTINEL get-master-addr-by-name), never a fixed time. Without
// redis-server, tests that ask for one are skipped with the reason.
//
// The package is public on purpose: an application's own tests can run its
// handlers, with the token cache on tokencache/redisstore, against the same
// Cluster or Sentinel setup this module tests with, kill a primary mid-test
// (Kill, Restart, WaitPrimaryChanged) and see what its users would see.
//
//	func TestWithRedisCluster(t *testing.T) {
//		c := redistest.StartCluster(t)
//		store := redisstore.New(c.Client(t))
//		...
//	}
package redistest
