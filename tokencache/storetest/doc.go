// Package storetest is a conformance suite for tokencache.Store
// implementations, in the manner of testing/fstest.TestFS.
//
// A backend's test calls it with a constructor for empty stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.TestStore(t, func(t *testing.T) tokencache.Store { return mystore.New(...) })
//	}
//
// The suite checks the contract documented on tokencache.Store (not found is
// not an error, copies, TTLs, canceled contexts, concurrency) and, when the
// store implements it, tokencache.CompareAndSwapper. Run with Config.Advance
// also checks expiry, by moving the store's clock instead of sleeping, or
// with Config.TTL, by reading the TTL each write leaves (Redis's PTTL).
package storetest
