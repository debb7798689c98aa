package cipp

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCallDefaultsToGET(t *testing.T) {
	t.Parallel()
	c, seen := stubCIPP(t, map[string]stubResponse{"ListUsers": {status: 200, ctype: "application/json", body: `[]`}})
	r, err := c.Call(t.Context(), Request{Endpoint: "ListUsers", Query: url.Values{"tenantFilter": []string{contosoDomain}}})
	require.NoError(t, err)
	assert.Equal(t, ShapeArray, r.Shape)
	last := (*seen)[len(*seen)-1]
	assert.Equal(t, http.MethodGet, last.Method)
	assert.Equal(t, contosoDomain, last.URL.Query().Get("tenantFilter"))
	assert.Empty(t, last.Header.Get("Content-Type"), "no body, no content type")
}
