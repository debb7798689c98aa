package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
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
		ClientSecret:    tenantsync.NewSecret(app.Secret),
		BaseURL:         srv.GraphURL(),
		AuthorityHost:   srv.EntraURL(),
		Settings: transport.Settings{
			HTTPClient:    srv.HTTPClient(),
			MaxRetryAfter: 10 * time.Second,
		},
	}
}

// withTokens sets cfg's token source, for tests that bring their own tokens.
func withTokens(cfg graph.Config, ts transport.TokenSource) graph.Config {
	cfg.TokenSource = ts
	return cfg
}

// newSource builds the Source of c, with the source settings of cfg if given.
func newSource(t testing.TB, c *graph.Client, cfg ...graph.SourceConfig) *graph.Source {
	t.Helper()
	var sc graph.SourceConfig
	if len(cfg) > 0 {
		sc = cfg[0]
	}
	s, err := graph.NewSource(c, sc)
	require.NoError(t, err)
	return s
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

// sourceTest is the fixture of most Source tests: a fake, a Source over a client of it, and
// the fake's first tenant.
func sourceTest(t *testing.T) (*testserver.Server, *graph.Source, *testserver.Tenant) {
	t.Helper()
	srv := newFake(t)
	return srv, newSource(t, newClient(t, srv)), firstTenant(srv)
}

// fetch reads kinds of tenant, continuing from cursors (nil: a full listing), and fails tb on
// an error of Fetch itself; the kinds' own outcomes are the caller's to check.
func fetch(tb testing.TB, src *graph.Source, tenant string, cursors map[tenantsync.Kind]string, kinds ...tenantsync.Kind) *tenantsync.FetchResult {
	tb.Helper()
	res, err := src.Fetch(tb.Context(), tenantsync.FetchRequest{TenantID: tenant, Kinds: kinds, Cursors: cursors})
	require.NoError(tb, err)
	return res
}

// sevenKinds are the kinds a Graph fetch read in one $batch before groups, organization,
// sign-ins and mailbox usage joined them.
var sevenKinds = []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindDevices, tenantsync.KindDomains,
	tenantsync.KindSubscriptions, tenantsync.KindMFA, tenantsync.KindBaseline}

// caGroupBatches is what MFA coverage adds to a fetch: one $batch per 20 groups that the
// tenant's enabled MFA policies name, for their members.
func caGroupBatches(tn *testserver.Tenant) int {
	groups := map[string]bool{}
	for _, p := range tn.CAPolicies {
		if p.State == "enabled" && p.RequiresMFA {
			for _, g := range append(append([]string(nil), p.IncludeGroups...), p.ExcludeGroups...) {
				groups[g] = true
			}
		}
	}
	return (len(groups) + 19) / 20
}

// laterKindTrips is what groups, organization, sign-ins and mailbox usage add to a fetch that
// carries them in its $batch: one $batch per 20 groups for member counts, and the usage report
// read alone, 200 rows a page.
func laterKindTrips(tn *testserver.Tenant) int {
	return (len(tn.Groups)+19)/20 + max(1, (len(tn.Mailboxes())+199)/200)
}
