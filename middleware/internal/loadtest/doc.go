// Package loadtest holds the load test of the middleware, behind the build tag
// "load" so that go test ./... does not run it:
//
//	go test -tags load -run TestLoad -v ./middleware/internal/loadtest/
//
// It runs, on loopback only, one entratest emulator, two app replicas
// (httptest TLS servers sharing session keys and one real Redis started for
// the test from redis-server in PATH) and 500 simulated users who sign in,
// consent to several routes and load protected pages for 30 seconds, while
// Redis is stopped and started again once on the same port. The test fails if
// a page of a route the user has consented to is ever answered with a
// redirect to sign-in or consent; 503 pages during the outage are counted.
// The summary it logs is recorded in middleware/BENCHMARKS.md.
package loadtest
