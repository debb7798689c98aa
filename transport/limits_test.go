package transport_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/transport"
)

func TestLimitsMatchRules(t *testing.T) {
	t.Parallel()
	var costs []int
	var mu sync.Mutex
	l := transport.NewLimits(
		transport.Rule{Host: "graph.example", PathPrefix: "/v1.0/identity/conditionalAccess", Rate: 1000, Burst: 1},
		transport.Rule{Host: "graph.example", Rate: 1000, Burst: 10, Cost: func(r *http.Request) int {
			mu.Lock()
			defer mu.Unlock()
			costs = append(costs, len(r.URL.Path))
			return 100 // clamped to Burst
		}},
	)
	for _, u := range []string{"https://graph.example/v1.0/users", "https://graph.example/v1.0/identity/conditionalAccess/policies", "https://other.example/x"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		require.NoError(t, err)
		release, err := l.Wait(t.Context(), req)
		require.NoError(t, err)
		require.NotNil(t, release)
		release()
	}
	assert.Equal(t, []int{len("/v1.0/users")}, costs, "only the catch-all rule's cost function ran")
	release, err := (*transport.Limits)(nil).Wait(t.Context(), nil)
	assert.NoError(t, err)
	assert.NotNil(t, release)
}

func TestPresetRules(t *testing.T) {
	t.Parallel()
	for name, rules := range map[string][]transport.Rule{
		"graph":         transport.GraphRules(),
		"partnercenter": transport.PartnerCenterRules(),
		"cipp":          transport.CIPPRules("cipp.example.com"),
	} {
		require.NotEmpty(t, rules, name)
		for _, r := range rules {
			assert.Positive(t, r.Rate, name)
			assert.Positive(t, r.Burst, name)
		}
	}
	g := transport.GraphRules("127.0.0.1:9443")
	for _, r := range g {
		assert.Equal(t, "127.0.0.1:9443", r.Host)
	}
	var ca *transport.Rule
	for i := range g {
		if strings.Contains(g[i].PathPrefix, "conditionalAccess") {
			ca = &g[i]
			break
		}
	}
	require.NotNil(t, ca)
	assert.Equal(t, 1.0, ca.Rate, "Graph's CA endpoints allow 1 request per second per tenant")
	last := g[len(g)-1]
	cost := func(method, rawURL string) int {
		req, err := http.NewRequest(method, "https://graph.microsoft.com"+rawURL, nil)
		require.NoError(t, err)
		return last.Cost(req)
	}
	assert.Equal(t, 2, cost(http.MethodGet, "/v1.0/users"), "GET users costs 2 resource units")
	assert.Equal(t, 1, cost(http.MethodGet, "/v1.0/users?$select=id,displayName"), "$select lowers the cost by 1")
	assert.Equal(t, 3, cost(http.MethodGet, "/v1.0/users?$expand=manager"), "$expand raises it by 1")
	assert.Equal(t, 1, cost(http.MethodGet, "/v1.0/users?$select=id&$top=10"), "never below 1")
	assert.Equal(t, 3, cost(http.MethodGet, "/v1.0/subscribedSkus"))
	assert.Equal(t, 5, cost(http.MethodGet, "/beta/groups/abc/transitiveMembers"))
	assert.Equal(t, 3, cost(http.MethodGet, "/v1.0/groups/abc/members"))
	assert.Equal(t, 1, cost(http.MethodGet, "/v1.0/domains"))
	assert.Equal(t, 1, cost(http.MethodPatch, "/v1.0/users/abc"))
	assert.Equal(t, 20, cost(http.MethodPost, "/v1.0/$batch"))
}
