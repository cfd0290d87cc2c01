// Package lru is a small, bounded, concurrency-safe least-recently-used cache
// with a secondary grouping used to drop all entries of one owner at once.
package lru

import "sync"

// Cache maps comparable keys to values, holding at most a fixed number of entries.
// An entry may belong to a group (e.g. an account) so RemoveGroup can drop a
// user's entries on sign-out; group "" is no group (RemoveGroup("") drops nothing). The zero value is not usable; call New.
type Cache[K comparable, V any] struct {
	mu     sync.Mutex
	max    int
	items  map[K]*entry[K, V]
	groups map[string]map[K]struct{}
	head   entry[K, V] // sentinel: head.next is the most recent, head.prev the least
}

type entry[K comparable, V any] struct {
	key        K
	group      string
	val        V
	prev, next *entry[K, V]
}

// New returns a cache holding at most size entries (size < 1 is treated as 1).
func New[K comparable, V any](size int) *Cache[K, V] {
	c := &Cache[K, V]{
		max:    max(1, size),
		items:  make(map[K]*entry[K, V]),
		groups: make(map[string]map[K]struct{}),
	}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

// Get returns the value for k and marks it recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.unlink(e)
	c.pushFront(e)
	return e.val, true
}

// Add inserts or replaces the value for k in group, evicting the least recently
// used entry when the cache is full.
func (c *Cache[K, V]) Add(group string, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.removeLocked(e)
	}
	e := &entry[K, V]{key: k, group: group, val: v}
	c.items[k] = e
	if group != "" { // no index for entries without a group: less for the GC to mark
		g := c.groups[group]
		if g == nil {
			g = make(map[K]struct{})
			c.groups[group] = g
		}
		g[k] = struct{}{}
	}
	c.pushFront(e)
	for len(c.items) > c.max {
		c.removeLocked(c.head.prev)
	}
}

// Remove drops the entry for k, if any.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.removeLocked(e)
	}
}

// RemoveGroup drops every entry added with group.
func (c *Cache[K, V]) RemoveGroup(group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.groups[group] {
		c.removeLocked(c.items[k])
	}
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *Cache[K, V]) removeLocked(e *entry[K, V]) {
	c.unlink(e)
	delete(c.items, e.key)
	if g := c.groups[e.group]; g != nil {
		delete(g, e.key)
		if len(g) == 0 {
			delete(c.groups, e.group)
		}
	}
}

func (c *Cache[K, V]) unlink(e *entry[K, V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (c *Cache[K, V]) pushFront(e *entry[K, V]) {
	e.prev = &c.head
	e.next = c.head.next
	c.head.next.prev = e
	c.head.next = e
}
