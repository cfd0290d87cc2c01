// Package redistest gives tests a real Redis server: the one named by the
// REDIS_URL environment variable, or a throwaway redis-server started on a
// free loopback port and stopped when the test ends. Without either, tests
// that ask for one are skipped with the reason.
//
//	func TestWithRedis(t *testing.T) {
//		rdb := redistest.NewClient(t) // or redis.ParseURL(redistest.URL(t))
//		...
//	}
package redistest
