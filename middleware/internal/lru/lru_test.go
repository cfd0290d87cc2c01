package lru

import (
	"fmt"
	"sync"
	"testing"
)

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](2)
	c.Add("g", "a", 1)
	c.Add("g", "b", 2)
	if _, ok := c.Get("a"); !ok { // a is now most recent
		t.Fatal("a missing")
	}
	c.Add("g", "c", 3) // evicts b
	if _, ok := c.Get("b"); ok {
		t.Error("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s missing", k)
		}
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
}

func TestReplaceAndGroups(t *testing.T) {
	c := New[string, int](10)
	c.Add("alice", "a1", 1)
	c.Add("alice", "a2", 2)
	c.Add("bob", "b1", 3)
	c.Add("alice", "a1", 4)
	if v, _ := c.Get("a1"); v != 4 {
		t.Errorf("a1 = %d, want 4", v)
	}
	c.RemoveGroup("alice")
	if c.Len() != 1 {
		t.Errorf("Len = %d, want 1", c.Len())
	}
	if _, ok := c.Get("b1"); !ok {
		t.Error("b1 missing")
	}
	c.Remove("b1")
	c.RemoveGroup("nobody")
	if c.Len() != 0 || len(c.groups) != 0 {
		t.Errorf("not empty: %d items, %d groups", c.Len(), len(c.groups))
	}
}

func TestConcurrent(t *testing.T) {
	c := New[string, int](50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := fmt.Sprint(i % 100)
				c.Add(fmt.Sprint(g), k, i)
				c.Get(k)
				if i%97 == 0 {
					c.RemoveGroup(fmt.Sprint(g))
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Errorf("Len = %d > 50", c.Len())
	}
}
