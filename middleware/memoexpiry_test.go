package middleware

import "testing"

// TestMemoLifeSpread: memo lifetimes stay within the last quarter below
// memoTTL and are not all the same.
func TestMemoLifeSpread(t *testing.T) {
	seen := map[int64]bool{}
	for range 1000 {
		d := memoLife()
		if d <= memoTTL*3/4 || d > memoTTL {
			t.Fatalf("memoLife() = %v, want in (%v, %v]", d, memoTTL*3/4, memoTTL)
		}
		seen[int64(d)] = true
	}
	if len(seen) < 100 {
		t.Errorf("%d distinct lifetimes in 1000, want them spread", len(seen))
	}
}
