package kit

import (
	"sync"

	"github.com/tenantsync/tenantsync"
)

// CacheKey names one kind of one tenant of one account.
type CacheKey struct {
	Account, Tenant string
	Kind            tenantsync.Kind
}

// Cache keeps the decoded items of recently read kinds, so that reading a kind again decodes
// only the items whose stored hash changed since. An entry is only ever used for an item whose
// stored hash equals the entry's, and the hash is of the very data that would be decoded, so a
// read served from the cache returns what decoding its transaction's rows would.
//
// It holds at most a fixed number of items, dropping the least recently read kinds first.
// A nil *Cache caches nothing. Safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	limit int
	size  int
	tick  uint64
	kinds map[CacheKey]*cached
}

type cached struct {
	items map[string]Item // by ID, Value set, never modified once stored
	used  uint64
}

// NewCache returns a cache of at most limit items, or nil (no cache) when limit is not positive.
func NewCache(limit int) *Cache {
	if limit <= 0 {
		return nil
	}
	return &Cache{limit: limit, kinds: map[CacheKey]*cached{}}
}

// Holds reports whether a kind of n items fits in the cache, so that decoding it for the
// cache is not wasted.
func (c *Cache) Holds(n int) bool { return c != nil && n <= c.limit }

// Get returns the cached items of k by ID, nil when there are none. The map and its items are
// shared: read them, never change them.
func (c *Cache) Get(k CacheKey) map[string]Item {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.kinds[k]
	if e == nil {
		return nil
	}
	c.tick++
	e.used = c.tick
	return e.items
}

// Put replaces the cached items of k, whose Values must be set, and drops the least recently
// read kinds while the cache holds more than its limit. A kind larger than the limit is not kept.
func (c *Cache) Put(k CacheKey, items map[string]Item) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.kinds[k]; old != nil {
		c.size -= len(old.items)
		delete(c.kinds, k)
	}
	if len(items) == 0 || len(items) > c.limit {
		return
	}
	for c.size+len(items) > c.limit {
		var oldest CacheKey
		oldestUse := c.tick + 1
		for key, e := range c.kinds {
			if e.used < oldestUse {
				oldest, oldestUse = key, e.used
			}
		}
		c.size -= len(c.kinds[oldest].items)
		delete(c.kinds, oldest)
	}
	c.tick++
	c.kinds[k] = &cached{items: items, used: c.tick}
	c.size += len(items)
}

// Drop forgets every cached kind of a tenant, for a purge: the entries could not be served
// wrongly (hashes guard them) but would hold memory for data that is gone.
func (c *Cache) Drop(account, tenant string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.kinds {
		if k.Account == account && k.Tenant == tenant {
			c.size -= len(e.items)
			delete(c.kinds, k)
		}
	}
}
