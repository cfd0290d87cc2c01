package hotcache

import (
	"math/rand/v2"
	"testing"
)

// TestIndexMatchesMap: random inserts and removes, with tags crowded into a
// few home positions (long probe runs wrapping around the table), find the
// same slots and key positions as a Go map.
func TestIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x index
	want := map[uint32]int32{}
	var free []int32
	for i := range 512 {
		free = append(free, int32(i))
	}
	tag := func() uint32 { return rng.Uint32N(4)<<16 | rng.Uint32N(16) | 0xfff0 } // few low bits
	for step := range 20_000 {
		if k := tag(); len(free) > 0 && rng.IntN(2) == 0 {
			if _, ok := want[k]; !ok {
				i := free[len(free)-1]
				free = free[:len(free)-1]
				x.insert(k, i, uint32(i)*7, uint32(i)+1)
				want[k] = i
			}
		} else if i, ok := want[k]; ok {
			x.remove(k, i)
			delete(want, k)
			free = append(free, i)
		}
		for k, i := range want {
			if e, ok := x.lookup(k); !ok || e != (ientry{tag: k, slot: uint32(i) + 1, off: uint32(i) * 7, n: uint32(i) + 1}) {
				t.Fatalf("step %d: lookup(%x) = %+v, %v; want slot %d", step, k, e, ok, i)
			}
		}
		if x.n != len(want) {
			t.Fatalf("step %d: n = %d, want %d", step, x.n, len(want))
		}
	}
	if _, ok := x.lookup(1 << 30); ok {
		t.Error("absent tag found")
	}
}
