package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
)

func main() {
	seed := flag.Int64("seed", 4, "seed of the fake partner's world")
	tenants := flag.Int("tenants", 10, "number of fake customer tenants")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, *seed, *tenants); err != nil {
		fmt.Fprintln(os.Stderr, "gdap-readiness:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, seed int64, tenants int) error {
	srv, err := startFake(seed, tenants)
	if err != nil {
		return err
	}
	defer srv.Close()
	_, err = report(ctx, out, srv)
	return err
}

// startFake starts the fake Microsoft services with a seeded partner and its customers.
func startFake(seed int64, tenants int) (*tenantsynctest.Server, error) {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: seed, Tenants: tenants, MinUsers: 5, MaxUsers: 25})
	if err != nil {
		return nil, err
	}
	// Microsoft applies a newly granted GDAP role after 30 minutes to 2 hours; the fake Graph
	// refuses calls for the relationships it generated minutes ago in the same way.
	srv.PropagateGDAPRoles()
	return srv, nil
}

// report reads the partner's customers and relationships, probes every capability and prints
// the readiness table. The URLs and HTTP client point at the fake; against Microsoft they are
// left empty.
func report(ctx context.Context, out io.Writer, srv *tenantsynctest.Server) ([]partnercenter.TenantReadiness, error) {
	app := srv.PartnerApp()
	hc := srv.HTTPClient() // trusts the fake's certificate
	defer hc.CloseIdleConnections()
	refresh := srv.PartnerRefreshToken()
	// A real program stores every rotated refresh token (encrypted) and starts from it next time.
	persist := func(context.Context, tenantsync.Secret) error { return nil }

	pc, err := partnercenter.NewClient(partnercenter.Config{
		PartnerTenantID:       app.TenantID,
		ClientID:              app.ClientID,
		ClientSecret:          app.Secret,
		RefreshToken:          refresh,
		OnRefreshTokenRotated: persist,
		AuthorityHost:         srv.EntraURL(),
		PartnerCenterURL:      srv.PartnerCenterURL(),
		GraphURL:              srv.GraphURL(),
		Settings: transport.Settings{
			HTTPClient: hc,
		},
	})
	if err != nil {
		return nil, err
	}
	// Graph tells a role still propagating from a missing one when it knows when roles were granted.
	accesses, err := pc.GDAPCustomers(ctx)
	if err != nil {
		return nil, err
	}
	prober, err := graph.NewClient(graph.Config{
		PartnerTenantID:       app.TenantID,
		ClientID:              app.ClientID,
		ClientSecret:          app.Secret,
		Auth:                  graph.PartnerUser,
		RefreshToken:          refresh,
		OnRefreshTokenRotated: func(context.Context, tenantsync.Secret) error { return nil },
		BaseURL:               srv.GraphURL(),
		AuthorityHost:         srv.EntraURL(),
		GrantedAt:             partnercenter.GrantedAtFunc(accesses),
		Settings: transport.Settings{
			HTTPClient: hc,
			MaxRetries: 1,
		},
	})
	if err != nil {
		return nil, err
	}

	rows, err := pc.Readiness(ctx, &partnercenter.Checker{Prober: prober}, 4)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "GDAP readiness of %d customer tenants of the fake partner\n\n", len(rows))
	if err := partnercenter.RenderTable(out, rows); err != nil {
		return nil, err
	}
	counts := map[partnercenter.State]int{}
	for _, r := range rows {
		counts[r.State()]++
	}
	var states []string
	for s, n := range counts {
		states = append(states, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(states)
	fmt.Fprintf(out, "\nTenants by state: %v\n", states)
	return rows, nil
}
