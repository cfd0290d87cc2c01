package hotcache

import (
	"math/rand/v2"
	"testing"
)

// TestIndexMatchesMap: random inserts and removes, with hashes crowded into
// a few home positions (long probe runs wrapping around the table) and
// sharing their low 32 bits, find the same slots as a Go map.
func TestIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x index
	slots := make([]slot, 512)
	want := map[uint64]int32{}
	var free []int32
	for i := range slots {
		free = append(free, int32(i))
	}
	hash := func() uint64 { return rng.Uint64N(4)<<32 | uint64(rng.Uint32N(16)) | 0xfff0 } // few low bits, colliding tags
	for step := range 20_000 {
		if k := hash(); len(free) > 0 && rng.IntN(2) == 0 {
			if _, ok := want[k]; !ok {
				i := free[len(free)-1]
				free = free[:len(free)-1]
				slots[i].key = k
				x.insert(k, i)
				want[k] = i
			}
		} else if i, ok := want[k]; ok {
			x.remove(k, i)
			delete(want, k)
			free = append(free, i)
		}
		for k, i := range want {
			if got, ok := x.lookup(k, slots); !ok || got != i {
				t.Fatalf("step %d: lookup(%x) = %d, %v; want %d", step, k, got, ok, i)
			}
		}
		if x.n != len(want) {
			t.Fatalf("step %d: n = %d, want %d", step, x.n, len(want))
		}
	}
	if _, ok := x.lookup(1<<40, slots); ok {
		t.Error("absent hash found")
	}
}
