package tokencache_test

import (
	"testing"

	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/internal/cachebench"
)

// BenchmarkRoundMemory: one user's Replace+Export on a MemoryStore holding
// 10, 10,000 and 100,000 users (bound raised to 1 GiB so none is evicted).
func BenchmarkRoundMemory(b *testing.B) {
	cachebench.Round(b, tokencache.NewMemoryStore(tokencache.WithMaxBytes(1<<30)), nil)
}
