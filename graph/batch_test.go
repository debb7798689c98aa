package graph_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

func TestBatchMixedResults(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv, func(cfg *graph.Config) { cfg.MaxRetries = 1 })
	tn := firstTenant(srv)
	srv.GraphDeny(tn.ID, "/deviceManagement", true)
	srv.GraphThrottle(tn.ID, "/domains", 1, "1")
	srv.GraphThrottle(tn.ID, "/subscribedSkus", 100, "1")
	srv.GraphFail(tn.ID, "/security/secureScores", 1, 503, "serviceNotAvailable")
	srv.GraphFail(tn.ID, "/users/"+tn.Users[1].ID, 1, 503, "serviceNotAvailable")

	res, err := c.Batch(t.Context(), tn.ID, []graph.BatchRequest{
		{ID: "users", Method: "GET", URL: "/users?$select=id&$top=5"},
		{ID: "missing", Method: "GET", URL: "/users/00000000-0000-0000-0000-000000000404"},
		{ID: "denied", Method: "GET", URL: "/deviceManagement/managedDevices"},
		{ID: "afterDenied", Method: "GET", URL: "/organization", DependsOn: []string{"denied"}},
		{ID: "throttledOnce", Method: "GET", URL: "/domains"},
		{ID: "afterThrottled", Method: "GET", URL: "/organization", DependsOn: []string{"throttledOnce"}},
		{ID: "alwaysThrottled", Method: "GET", URL: "/subscribedSkus"},
		{ID: "patch", Method: "PATCH", URL: "/users/" + tn.Users[0].ID, Body: map[string]any{"accountEnabled": true}},
		{ID: "flakyRead", Method: "GET", URL: "/security/secureScores?$top=1"},
		{ID: "flakyWrite", Method: "PATCH", URL: "/users/" + tn.Users[1].ID, Body: map[string]any{"accountEnabled": true}},
	})
	require.NoError(t, err)
	status := map[string]int{}
	for id, r := range res {
		status[id] = r.Status
	}
	assert.Equal(t, map[string]int{
		"users": 200, "missing": 404, "denied": 403, "afterDenied": 424,
		"throttledOnce": 200, "afterThrottled": 200, "alwaysThrottled": 429, "patch": 204,
		"flakyRead": 200, "flakyWrite": 503,
	}, status)
	assert.NotEmpty(t, res["alwaysThrottled"].Header("retry-after"))
	p, err := graph.DecodePage[graph.Domain](res["throttledOnce"].Body)
	require.NoError(t, err)
	assert.Len(t, p.Items, len(tn.Domains))
}

// organizationReads is a batch of n reads, one more than Graph allows when n is 21.
func organizationReads(n int) []graph.BatchRequest {
	reqs := make([]graph.BatchRequest, n)
	for i := range reqs {
		reqs[i] = graph.BatchRequest{ID: fmt.Sprint(i), Method: "GET", URL: "/organization"}
	}
	return reqs
}

func TestBatchValidation(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	many := organizationReads(21)
	for name, reqs := range map[string][]graph.BatchRequest{
		"empty":       nil,
		"21 requests": many,
		"duplicate":   {{ID: "a", Method: "GET", URL: "/users"}, {ID: "a", Method: "GET", URL: "/domains"}},
		"no id":       {{Method: "GET", URL: "/users"}},
		"absolute":    {{ID: "a", Method: "GET", URL: "https://graph.microsoft.com/v1.0/users"}},
		"bad depends": {{ID: "a", Method: "GET", URL: "/users", DependsOn: []string{"zz"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Batch(t.Context(), tn.ID, reqs)
			require.ErrorIs(t, err, tenantsync.ErrInvalidInput)
		})
	}
	assert.Zero(t, srv.Requests("graph", tn.ID), "invalid batches are refused before sending")
}

func TestBatchBeyondTwentyRefusedByGraph(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := newClient(t, srv)
	tn := firstTenant(srv)
	status, body := graph.RawBatchForTest(t.Context(), c, tn.ID, organizationReads(21))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "limit of 20")
}

// Throttled items are retried by the client, so they draw on the same budget as the
// transport's retries: an empty budget stops them instead of multiplying traffic.
func TestBatchItemRetriesDrawOnTheBudget(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	budget := transport.NewBudget(transport.RetryCost) // one retry's worth
	c := newClient(t, srv, func(cfg *graph.Config) { cfg.MaxRetries = 4; cfg.Budget = budget })
	tn := firstTenant(srv)
	srv.GraphThrottle(tn.ID, "/subscribedSkus", 100, "0")
	res, err := c.Batch(t.Context(), tn.ID, []graph.BatchRequest{{ID: "skus", Method: "GET", URL: "/subscribedSkus"}})
	require.NoError(t, err)
	assert.Equal(t, 429, res["skus"].Status)
	assert.Equal(t, 2, srv.Requests(testserver.ServiceGraph, tn.ID), "the first try and the one retry the budget paid for")
	st := budget.Stats()
	assert.Equal(t, int64(1), st.Retries)
	assert.Equal(t, int64(1), st.Refused)
}

// NoRetries sends a throttled request, and a $batch with a throttled item, once; the default
// (MaxRetries 0) retries both.
func TestNoRetriesSendsOnce(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		maxRetries int
		requests   int
		ok         bool
	}{
		"default retries": {0, 2, true},
		"NoRetries":       {transport.NoRetries, 1, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			c := newClient(t, srv, func(cfg *graph.Config) { cfg.MaxRetries = tc.maxRetries })
			tn := firstTenant(srv)

			srv.GraphThrottle(tn.ID, "/domains", 1, "0")
			_, err := c.DomainsPage(t.Context(), tn.ID, "")
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tenantsync.ErrThrottled)
			}
			assert.Equal(t, tc.requests, srv.Requests(testserver.ServiceGraph, tn.ID), "direct request")

			srv.GraphThrottle(tn.ID, "/subscribedSkus", 1, "0")
			res, err := c.Batch(t.Context(), tn.ID, []graph.BatchRequest{{ID: "skus", Method: "GET", URL: "/subscribedSkus"}})
			require.NoError(t, err)
			assert.Equal(t, map[bool]int{true: 200, false: 429}[tc.ok], res["skus"].Status)
			assert.Equal(t, 2*tc.requests, srv.Requests(testserver.ServiceGraph, tn.ID), "direct request and $batch")
		})
	}
}
