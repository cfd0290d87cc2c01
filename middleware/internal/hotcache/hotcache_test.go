package hotcache

import (
	"fmt"
	"testing"
	"unsafe"
)

func TestGetPut(t *testing.T) {
	c := New[string](100)
	g := c.GroupHash("alice")
	c.Put("cookie-a", 1, g, "token-a", 100)
	tests := []struct {
		name string
		s    string
		id   uint32
		now  int64
		want string
		ok   bool
	}{
		{"hit", "cookie-a", 1, 99, "token-a", true},
		{"expired", "cookie-a", 1, 100, "", false},
		{"other route", "cookie-a", 2, 0, "", false},
		{"other cookie", "cookie-b", 1, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v, ok := c.Get(tc.s, tc.id, tc.now); v != tc.want || ok != tc.ok {
				t.Errorf("Get = %q, %v; want %q, %v", v, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestCollisionIsAMiss: two strings with the same hash never get each
// other's value.
func TestCollisionIsAMiss(t *testing.T) {
	c := New[string](10)
	c.hash = func(string, uint32) uint64 { return 42 }
	c.Put("cookie-of-alice", 1, 1, "alice's token", 100)
	if v, ok := c.Get("cookie-of-mallory", 1, 0); ok {
		t.Fatalf("collision served %q", v)
	}
	c.Put("cookie-of-mallory", 1, 2, "mallory's token", 100)
	if v, ok := c.Get("cookie-of-alice", 1, 0); ok {
		t.Fatalf("collision served %q", v)
	}
	if v, ok := c.Get("cookie-of-mallory", 1, 0); !ok || v != "mallory's token" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
}

func TestBoundedWithSecondChance(t *testing.T) {
	for _, size := range []int{1, 10, 1000, 10_000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := New[int](size)
			c.Put("hot", 0, 0, -1, 1)
			for i := range 3 * size {
				if _, ok := c.Get("hot", 0, 0); !ok && size > 1 {
					t.Fatalf("the entry used on every round was evicted after %d puts", i)
				}
				c.Put(fmt.Sprint(i), 0, 0, i, 1)
				if n := c.Len(); n > size {
					t.Fatalf("%d entries, limit %d", n, size)
				}
			}
		})
	}
}

func TestRemoveGroup(t *testing.T) {
	c := New[string](1000)
	a, b := c.GroupHash("alice"), c.GroupHash("bob")
	for i := range 100 {
		c.Put(fmt.Sprint("a", i), uint32(i%3), a, "alice", 10)
		c.Put(fmt.Sprint("b", i), uint32(i%3), b, "bob", 10)
	}
	c.RemoveGroup(a)
	for i := range 100 {
		if _, ok := c.Get(fmt.Sprint("a", i), uint32(i%3), 0); ok {
			t.Fatal("alice's entry survived RemoveGroup")
		}
		if v, ok := c.Get(fmt.Sprint("b", i), uint32(i%3), 0); !ok || v != "bob" {
			t.Fatal("bob's entry was removed")
		}
	}
	c.Put("a-new", 0, a, "alice", 10) // freed slots are reused
	if n := c.Len(); n != 101 {
		t.Errorf("Len = %d, want 101", n)
	}
}

func TestRemove(t *testing.T) {
	c := New[string](10)
	c.Put("cookie-a", 1, 0, "a1", 10)
	c.Put("cookie-a", 2, 0, "a2", 10)
	c.Remove("cookie-a", 1)
	c.Remove("cookie-b", 2) // absent: nothing happens
	if _, ok := c.Get("cookie-a", 1, 0); ok {
		t.Error("removed entry served")
	}
	if v, ok := c.Get("cookie-a", 2, 0); !ok || v != "a2" {
		t.Errorf("Get = %q, %v; want the other route's entry", v, ok)
	}
}

// TestArenaBounded: replacing and evicting entries with ever new key strings
// keeps the key arena within about twice the live key bytes, and every live
// entry keeps its own key and value across compactions.
func TestArenaBounded(t *testing.T) {
	const size, keyLen = 200, 600
	c := New[int](size)
	key := func(i int) string { return fmt.Sprintf("%0*d", keyLen, i) }
	for i := range 50 * size {
		c.Put(key(i), 0, 0, i, 1)
		for j := max(0, i-3); j <= i; j++ { // the newest entries survive (nothing was used)
			if v, ok := c.Get(key(j), 0, 0); !ok && j == i || ok && v != j {
				t.Fatalf("after %d puts: Get(key %d) = %d, %v", i, j, v, ok)
			}
		}
		sh := &c.shards[0]
		if limit := 2*size*keyLen + minCompact + keyLen; len(sh.keys) > limit {
			t.Fatalf("after %d puts: arena %d bytes, limit %d", i, len(sh.keys), limit)
		}
	}
}

func TestLongKeyNotKept(t *testing.T) {
	c := New[int](10)
	long := string(make([]byte, MaxKey+1))
	c.Put(long, 0, 0, 1, 1)
	if _, ok := c.Get(long, 0, 0); ok || c.Len() != 0 {
		t.Error("a key longer than MaxKey was kept")
	}
}

// TestDropAndPutAgainReusesArena: a key removed and put again (a token
// forgotten and fetched again) does not grow the arena.
func TestDropAndPutAgainReusesArena(t *testing.T) {
	c := New[int](10)
	g := c.GroupHash("alice")
	for range 1000 {
		c.Put("cookie-of-alice", 1, g, 1, 10)
		c.RemoveGroup(g)
	}
	if n := len(c.shards[0].keys); n != 0 {
		t.Errorf("arena %d bytes after the last entry was removed, want 0", n)
	}
}

// TestUpdate: fn sees the stored value and whether it is live, its answer
// replaces the value or drops the entry.
func TestUpdate(t *testing.T) {
	c := New[int](10)
	add := func(now int64) (seen int, live bool) {
		c.Update("k", 1, 0, now, 100, func(old int, l bool) (int, bool) { seen, live = old, l; return old + 1, true })
		return seen, live
	}
	if seen, live := add(0); seen != 0 || live {
		t.Errorf("first Update saw %d, %v; want 0, false", seen, live)
	}
	if seen, live := add(50); seen != 1 || !live {
		t.Errorf("second Update saw %d, %v; want 1, true", seen, live)
	}
	if seen, live := add(100); seen != 2 || live { // expired: the old value is there but not live
		t.Errorf("Update after expiry saw %d, %v; want 2, false", seen, live)
	}
	c.Update("k", 1, 0, 0, 100, func(int, bool) (int, bool) { return 0, false })
	if _, ok := c.Get("k", 1, 0); ok || c.Len() != 0 {
		t.Error("entry kept after fn dropped it")
	}
	c.Update("absent", 1, 0, 0, 100, func(int, bool) (int, bool) { return 0, false })
	if c.Len() != 0 {
		t.Error("a dropped absent entry was stored")
	}
	sum := 0
	c.Put("a", 0, 0, 3, 10)
	c.Put("b", 0, 0, 4, 10)
	c.Range(func(v int) { sum += v })
	if sum != 7 {
		t.Errorf("Range summed %d, want 7", sum)
	}
}

// TestHashTail: keys that differ only before the hashed tail share a hash,
// yet each is served only its own value; keys of other lengths do not
// collide.
func TestHashTail(t *testing.T) {
	c := New[string](10).HashTail(4)
	if c.hash("xxxx-abcd", 1) != c.hash("yyyy-abcd", 1) || c.hash("xxxx-abcd", 1) == c.hash("xxxxx-abcd", 1) {
		t.Fatal("the hash does not cover exactly the tail and the length")
	}
	c.Put("xxxx-abcd", 1, 0, "x", 10)
	if v, ok := c.Get("yyyy-abcd", 1, 0); ok {
		t.Fatalf("a key with the same tail got %q", v)
	}
	c.Put("yyyy-abcd", 1, 0, "y", 10)
	if v, ok := c.Get("yyyy-abcd", 1, 0); !ok || v != "y" {
		t.Errorf("Get = %q, %v", v, ok)
	}
	if v, ok := c.Get("xxxx-abcd", 1, 0); ok {
		t.Errorf("the evicted key got %q", v)
	}
}

// TestBytesBounded: with a byte bound, ever new long keys evict older
// entries instead of growing the cache, the newest entry is kept, and a key
// longer than a shard's share is not kept at all.
func TestBytesBounded(t *testing.T) {
	const maxBytes, keyLen = 64 << 10, 4 << 10
	c := NewBounded[int](100, maxBytes) // one shard; the bytes bind first
	key := func(i int) string { return fmt.Sprintf("%0*d", keyLen, i) }
	for i := range 1000 {
		c.Put(key(i), 0, 0, i, 1)
		if v, ok := c.Get(key(i), 0, 0); !ok || v != i {
			t.Fatalf("after %d puts the newest entry is missing", i)
		}
		if live := c.Len() * keyLen; live > maxBytes {
			t.Fatalf("after %d puts: %d live key bytes, bound %d", i, live, maxBytes)
		}
		if n := c.Bytes(); n > 2*maxBytes+minCompact+keyLen {
			t.Fatalf("after %d puts: arena %d bytes", i, n)
		}
	}
	c.Put(string(make([]byte, maxBytes+1)), 0, 0, 1, 1)
	if _, ok := c.Get(string(make([]byte, maxBytes+1)), 0, 0); ok {
		t.Error("a key longer than the byte bound was kept")
	}
}

// TestUpdateAtByteBoundEvictsNoOne: replacing the value of a key already
// stored needs no key bytes, so a cache full by bytes keeps its other
// entries (as a dropped value, fn returning false, does).
func TestUpdateAtByteBoundEvictsNoOne(t *testing.T) {
	c := NewBounded[int](10, 20) // one shard, room for the two 10-byte keys
	c.Put("aaaaaaaaaa", 0, 0, 1, 100)
	c.Put("bbbbbbbbbb", 0, 0, 2, 100)
	c.Update("aaaaaaaaaa", 0, 0, 0, 100, func(old int, live bool) (int, bool) { return old + 10, true })
	c.Update("cccccccccc", 0, 0, 0, 100, func(int, bool) (int, bool) { return 0, false })
	for _, want := range []struct {
		s string
		v int
	}{{"aaaaaaaaaa", 11}, {"bbbbbbbbbb", 2}} {
		if v, ok := c.Get(want.s, 0, 0); !ok || v != want.v {
			t.Errorf("Get(%q) = %d, %v; want %d, true", want.s, v, ok, want.v)
		}
	}
}

// BenchmarkGet is a hit on one of n entries keyed by 640-byte strings (as
// session cookies) that end in 32 random bytes, in strict rotation: at
// n=100,000 every entry was last used n lookups earlier and is out of the
// CPU caches. Each lookup's key is copied first into one reused buffer, as
// a server reads a request's header into fresh memory.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			c := NewBounded[[6]uintptr](2*n, 2*n*1024).HashTail(32)
			var packed []byte
			for i := range n {
				key := fmt.Sprintf("session=%0600d%032x", 0, uint64(i)*0x9e3779b97f4a7c15)
				c.Put(key, 0, 0, [6]uintptr{uintptr(i)}, 1)
				packed = append(packed, key...)
			}
			buf := make([]byte, 0, 1024)
			keyLen := len(packed) / n
			for i := 0; b.Loop(); i++ {
				j := i % n
				buf = append(buf[:0], packed[j*keyLen:(j+1)*keyLen]...)
				if v, ok := c.Get(unsafe.String(unsafe.SliceData(buf), len(buf)), 0, 0); !ok || v[0] != uintptr(j) {
					b.Fatalf("Get(key %d) = %v, %v", j, v, ok)
				}
			}
		})
	}
}
