package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
)

// newFake starts a fake with small tenants: the first holds 12 users.
func newFake(t *testing.T, sizes ...int) *testserver.Server {
	t.Helper()
	if len(sizes) == 0 {
		sizes = []int{12}
	}
	return testserver.NewT(t, testserver.Options{Seed: 7, Tenants: 3, Sizes: sizes, MinUsers: 5, MaxUsers: 20})
}

func baseConfig(srv *testserver.Server) graph.Config {
	app := srv.PartnerApp()
	return graph.Config{
		PartnerTenantID: app.TenantID,
		ClientID:        app.ClientID,
		ClientSecret:    graph.Secret(app.Secret),
		BaseURL:         srv.GraphURL(),
		AuthorityHost:   srv.EntraURL(),
		HTTPClient:      srv.HTTPClient(),
		MaxRetryAfter:   10 * time.Second,
	}
}

func newClient(t *testing.T, srv *testserver.Server, mutate ...func(*graph.Config)) *graph.Client {
	t.Helper()
	cfg := baseConfig(srv)
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := graph.NewClient(cfg)
	require.NoError(t, err)
	return c
}

// firstTenant is a consented customer tenant.
func firstTenant(srv *testserver.Server) *testserver.Tenant {
	return srv.World.Tenants[0]
}

// tenantWhere returns the first tenant matching f, or fails.
func tenantWhere(t *testing.T, srv *testserver.Server, f func(*testserver.Tenant) bool) *testserver.Tenant {
	t.Helper()
	for _, tn := range srv.World.Tenants {
		if f(tn) {
			return tn
		}
	}
	t.Fatalf("no tenant matches")
	return nil
}
