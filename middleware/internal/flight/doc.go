// Package flight de-duplicates concurrent calls with the same key: while one call
// runs, later callers with that key wait for its result instead of calling again.
// It is a small, typed, context-aware cousin of golang.org/x/sync/singleflight.
package flight
