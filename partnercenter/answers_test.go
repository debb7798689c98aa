package partnercenter

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// A 200 that does not hold the collection (an error body, null, an object without its array)
// is no listing: read as an empty one, every customer and relationship would look gone.
// Partner Center's own empty collection, counting none, still lists nothing.
func TestAnAnswerWithoutItsListIsNoListing(t *testing.T) {
	t.Parallel()
	broken := []string{`{}`, `null`, `{"items":null}`, `{"value":null}`, `{"error":{"code":"Forbidden","message":"no"}}`,
		`{"code":800003,"description":"Unexpected service error"}`, `{"totalCount":0}`}
	for _, body := range broken {
		answer := func(w http.ResponseWriter, _ *http.Request) { writeJSONBody(w, http.StatusOK, []byte(body)) }
		c := newFakes(t, answer, answer).client(t)
		customers, err := c.Customers(t.Context())
		require.ErrorIs(t, err, tenantsync.ErrIncomplete, "customers from %s", body)
		assert.Nil(t, customers, body)
		rels, err := c.Relationships(t.Context())
		require.ErrorIs(t, err, tenantsync.ErrIncomplete, "relationships from %s", body)
		assert.Nil(t, rels, body)
	}

	for _, body := range []string{`{"totalCount":0,"items":[],"attributes":{"objectType":"Collection"}}`,
		`{"totalCount":0,"attributes":{"objectType":"Collection"}}`} {
		answer := func(w http.ResponseWriter, _ *http.Request) { writeJSONBody(w, http.StatusOK, []byte(body)) }
		customers, err := newFakes(t, answer, nil).client(t).Customers(t.Context())
		require.NoError(t, err, body)
		assert.Empty(t, customers, body)
	}
	answer := func(w http.ResponseWriter, _ *http.Request) { writeJSONBody(w, http.StatusOK, []byte(`{"value":[]}`)) }
	rels, err := newFakes(t, nil, answer).client(t).Relationships(t.Context())
	require.NoError(t, err)
	assert.Empty(t, rels)
}
