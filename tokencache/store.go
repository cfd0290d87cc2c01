package tokencache

import (
	"context"
	"errors"
	"time"
)

// Store keeps the bytes of one partition of the token cache under a key.
//
// Implementations must be safe for concurrent use. The contract every Store
// follows (checked by storetest.TestStore):
//
//   - Get of a key that was never set, was deleted, or has expired returns
//     value=nil, found=false, err=nil. Not found is not an error.
//   - Get of a found key returns a non-nil value (possibly empty) that the
//     caller may modify; Set keeps its own copy of value.
//   - Set with ttl <= 0 stores the value with no expiry; with ttl > 0 the value
//     is gone after ttl (at the latest when it is next read).
//   - Delete of a missing key returns nil.
//   - Errors are for system failures only: an unreachable backend (wrap
//     ErrUnavailable), a done context (wrap ctx.Err()), a value the backend
//     cannot hold. A Store never reports a failure as found=false.
//   - Keys are arbitrary non-empty strings; values are arbitrary bytes.
type Store interface {
	// Get returns the value stored under key.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Set stores value under key, replacing any previous value, for ttl
	// (ttl <= 0: no expiry).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key. A missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// CompareAndSwapper is an optional Store capability for optimistic
// concurrency. Cache finds it by type assertion and uses it so that two
// processes writing the same partition at once never lose each other's
// tokens (see Cache.Export).
type CompareAndSwapper interface {
	// CompareAndSwap stores value under key for ttl only if the value
	// currently stored is byte-for-byte equal to old. A nil old means "only if
	// key is absent"; a non-nil empty old matches a present empty value.
	// swapped=false with err=nil means another writer got there first.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (swapped bool, err error)
}

// InProcess is an optional Store capability implemented by stores whose data
// never leaves the memory of the current process, such as MemoryStore.
// Only for such a store does New accept a Cache without an encryption key:
// refresh tokens are never written in plaintext anywhere else.
type InProcess interface {
	// InProcess reports whether the store keeps data only in this process.
	InProcess() bool
}

// ErrUnavailable is wrapped by Store errors meaning the backend (for example
// Redis) could not be reached. Callers can test for it with errors.Is and
// must not treat it as "the user has no token".
var ErrUnavailable = errors.New("tokencache: store unavailable")

func isInProcess(s Store) bool {
	p, ok := s.(InProcess)
	return ok && p.InProcess()
}
