package testserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPageCacheServesRenderedBytesUntilAChange(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 2, MinUsers: 150, MaxUsers: 160, PageCache: true})
	tn := s.World.Tenants[0]
	tn.Consented = true
	token := appGraphToken(t, s, tn.ID)
	const path = "/v1.0/users?$select=id,jobTitle&$top=100"
	first := graphDo(t, s, token, "GET", path, nil, false)
	require.Equal(t, 200, first.status)
	again := graphDo(t, s, token, "GET", path, nil, false)
	assert.Equal(t, first.body, again.body)
	assert.NotEqual(t, first.header.Get("request-id"), again.header.Get("request-id"), "a cached page still gets its own request ID")
	next, _ := first.body["@odata.nextLink"].(string)
	require.NotEmpty(t, next)

	// A change through the World's methods renders the tenant's pages again.
	u := tn.ActiveUsers()[0]
	require.NoError(t, s.World.UpdateUser(tn.ID, u.ID, func(u *User) { u.JobTitle = "Changed by the test" }))
	changed := graphDo(t, s, token, "GET", path, nil, false)
	found := false
	for _, it := range changed.body["value"].([]any) {
		if m := it.(map[string]any); m["id"] == u.ID {
			found = m["jobTitle"] == "Changed by the test"
		}
	}
	assert.True(t, found, "the page shows the change")

	// A change to a World field is seen after InvalidatePages.
	require.NotEmpty(t, graphDo(t, s, token, "GET", "/v1.0/deviceManagement/managedDevices", nil, false).body["value"])
	tn.Devices = nil
	assert.NotEmpty(t, graphDo(t, s, token, "GET", "/v1.0/deviceManagement/managedDevices", nil, false).body["value"], "cached")
	s.InvalidatePages()
	assert.Empty(t, graphDo(t, s, token, "GET", "/v1.0/deviceManagement/managedDevices", nil, false).body["value"])
}

func TestServiceTimesLeaveOutTheLatency(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 3, Tenants: 1, Latency: 40 * time.Millisecond})
	tn := s.World.Tenants[0]
	tn.Consented = true
	token := appGraphToken(t, s, tn.ID)
	s.ResetCounts()
	for range 3 {
		require.Equal(t, 200, graphDo(t, s, token, "GET", "/v1.0/domains", nil, false).status)
	}
	times := s.ServiceTimes(ServiceGraph)
	require.Len(t, times, 3)
	for _, d := range times {
		assert.Less(t, d, 40*time.Millisecond, "the fake's own time, without the injected latency")
	}
	s.ResetCounts()
	assert.Empty(t, s.ServiceTimes(ServiceGraph))
}

func TestPageCacheCIPPListsFollowChanges(t *testing.T) {
	t.Parallel()
	s := NewT(t, Options{Seed: 5, Tenants: 3, PageCache: true})
	tok := cippToken(s, s.CIPPCredentials())
	tn := cippManaged(t, s)
	path := "/api/ListUsers?tenantFilter=" + tn.DefaultDomain
	status, _, first := cippDo(t, s, "GET", path, tok, nil)
	require.Equal(t, 200, status)
	_, _, again := cippDo(t, s, "GET", path, tok, nil)
	assert.Equal(t, first, again)
	u := tn.ActiveUsers()[0]
	require.NoError(t, s.World.UpdateUser(tn.ID, u.ID, func(u *User) { u.JobTitle = "Changed by the test" }))
	_, _, changed := cippDo(t, s, "GET", path, tok, nil)
	assert.Contains(t, string(changed), "Changed by the test")
	// A failing tenant is never answered from the cache.
	s.FailCIPPTenant(tn.ID, CIPPErrConsent)
	status, _, _ = cippDo(t, s, "GET", path, tok, nil)
	assert.NotEqual(t, 200, status)
}
