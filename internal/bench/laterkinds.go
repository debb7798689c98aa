package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/transport"
)

// laterKinds are the kinds measured apart: groups, organization, sign-ins and mailbox usage,
// which rest for an hour or a day between fetches (sync.DefaultKindIntervals).
var laterKinds = []tenantsync.Kind{tenantsync.KindGroups, tenantsync.KindOrganization, tenantsync.KindSignIns, tenantsync.KindMailboxUsage}

// benchLaterKinds prints the round trips per tenant of each later kind fetched alone, and of
// the four together, on the Graph and CIPP routes (token requests not counted: cached after
// the first fetch of a tenant).
func benchLaterKinds(ctx context.Context, out io.Writer, o options) error {
	w := testserver.Generate(testserver.Options{Seed: o.seed, Tenants: 8})
	srv, err := testserver.New(testserver.Options{Seed: o.seed, World: w})
	if err != nil {
		return err
	}
	defer srv.Close()
	ids := tenantIDs(w)
	e := endpointsOf(srv, ids)
	hc, err := e.httpClient()
	if err != nil {
		return err
	}
	cl, err := newClients(e, hc, transport.NewBudget(500), graph.MailboxesPerUser)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== (e) later kinds: round trips per tenant (%d tenants, no latency), fetched alone and together\n", len(ids))
	type route struct {
		name    string
		src     tenantsync.Fetcher
		service string
		reach   func(*testserver.Tenant) bool
	}
	routes := []route{
		{"graph", cl.graphSrc, testserver.ServiceGraph, func(t *testserver.Tenant) bool { return t.Consented }},
		{"cipp", cl.cippSrc, testserver.ServiceCIPP, func(t *testserver.Tenant) bool { return t.InCIPP && !t.CIPPStale }},
	}
	sets := [][]tenantsync.Kind{}
	for _, k := range laterKinds {
		sets = append(sets, []tenantsync.Kind{k})
	}
	sets = append(sets, laterKinds)
	for _, r := range routes {
		var reach []*testserver.Tenant
		for _, t := range w.Tenants {
			if r.reach(t) {
				reach = append(reach, t)
				// The token (or tenant list) once, outside the counts.
				if _, err := r.src.Fetch(ctx, tenantsync.FetchRequest{TenantID: t.ID, Kinds: []tenantsync.Kind{tenantsync.KindOrganization}}); err != nil {
					return fmt.Errorf("%s %s: %w", r.name, t.ID, err)
				}
			}
		}
		fmt.Fprintf(out, "%s route, %d tenants:", r.name, len(reach))
		for _, ks := range sets {
			srv.ResetCounts()
			unavailable := 0
			for _, t := range reach {
				res, err := r.src.Fetch(ctx, tenantsync.FetchRequest{TenantID: t.ID, Kinds: ks})
				if err != nil {
					return fmt.Errorf("%s %s: %w", r.name, t.ID, err)
				}
				for _, k := range ks {
					if res.Result(k).Mode == tenantsync.Unavailable {
						unavailable++
					}
				}
			}
			label := kindList(ks)
			if len(ks) > 1 {
				label = "all four"
			}
			fmt.Fprintf(out, " %s %.2f", label, float64(srv.Requests(r.service, "*"))/float64(max(1, len(reach))))
			if unavailable > 0 {
				fmt.Fprintf(out, " (%d unavailable)", unavailable)
			}
			fmt.Fprint(out, ";")
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, "  (sign-ins are unavailable without Entra ID P1; groups add one $batch per 20 groups for member counts on Graph)")
	return nil
}
