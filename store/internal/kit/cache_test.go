package kit

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantsync/tenantsync"
)

func items(n int) map[string]Item {
	out := map[string]Item{}
	for i := range n {
		id := fmt.Sprint("u", i)
		out[id] = Item{ID: id, Hash: "h" + id, Value: tenantsync.User{ObjectID: id}}
	}
	return out
}

func TestCacheKeepsTheMostRecentlyReadKindsWithinItsLimit(t *testing.T) {
	t.Parallel()
	key := func(tenant string) CacheKey {
		return CacheKey{Account: "a", Tenant: tenant, Kind: tenantsync.KindUsers}
	}
	c := NewCache(10)
	c.Put(key("t1"), items(4))
	c.Put(key("t2"), items(4))
	assert.Len(t, c.Get(key("t1")), 4, "reading t1 makes t2 the least recently read")
	c.Put(key("t3"), items(4))
	assert.Nil(t, c.Get(key("t2")), "t2 was dropped to make room")
	assert.Len(t, c.Get(key("t1")), 4)
	assert.Len(t, c.Get(key("t3")), 4)
	assert.Equal(t, 8, c.size)

	c.Put(key("t3"), items(2))
	assert.Equal(t, 6, c.size, "replacing a kind replaces its count")
	c.Put(key("t4"), items(11))
	assert.Nil(t, c.Get(key("t4")), "a kind larger than the limit is not kept")
	assert.Len(t, c.Get(key("t1")), 4, "and does not evict the others")

	c.Put(CacheKey{Account: "a", Tenant: "t1", Kind: tenantsync.KindMFA}, items(1))
	c.Put(CacheKey{Account: "b", Tenant: "t1", Kind: tenantsync.KindUsers}, items(1))
	c.Drop("a", "t1")
	assert.Nil(t, c.Get(key("t1")))
	assert.Nil(t, c.Get(CacheKey{Account: "a", Tenant: "t1", Kind: tenantsync.KindMFA}))
	assert.Len(t, c.Get(CacheKey{Account: "b", Tenant: "t1", Kind: tenantsync.KindUsers}), 1, "another account's tenant of the same ID stays")
	assert.Equal(t, 3, c.size)

	assert.True(t, c.Holds(10))
	assert.False(t, c.Holds(11))

	var none *Cache
	assert.False(t, none.Holds(0))
	none.Put(key("t1"), items(1))
	assert.Nil(t, none.Get(key("t1")))
	assert.Nil(t, NewCache(0), "a limit of 0 turns the cache off")
}

func TestDecodeReportsCorruptItems(t *testing.T) {
	t.Parallel()
	_, err := Decode("ReadKind", tenantsync.KindUsers, "", []Item{{ID: "u1", Data: []byte(`{"ObjectID":`)}})
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
	assert.Contains(t, err.Error(), "u1")
	assert.Contains(t, tenantsync.HintOf(err), "complete listing")
	_, err = Decoded("Apply", tenantsync.KindDevices, Item{ID: "d1", Data: []byte(`[]`)})
	assert.ErrorIs(t, err, tenantsync.ErrUnavailable)
	_, err = Decode("ReadKind", "printers", "", nil)
	assert.ErrorIs(t, err, tenantsync.ErrInvalidInput)
}
