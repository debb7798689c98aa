package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

const account = "bench"

// graphKinds are every kind the Graph route reads.
var graphKinds = tenantsync.AllKinds()

// Page sizes the services allow at most: Graph pages users/delta itself (100 in the fake, which
// has no option to change it), other collections take $top up to 999.
const (
	deltaPage   = 100
	maxGraphTop = 999
)

// cost is the unavoidable work of one tenant in one sync: its round trips, the longest chain of
// requests that must follow one another, and the least time the configured rate limits allow
// its requests (the tenant takes at least the longer of the two).
type cost struct {
	trips int
	chain int
	wait  time.Duration
}

func pages(items, size int) int {
	if items <= 0 {
		return 1
	}
	return (items + size - 1) / size
}

// graphCost is what one tenant's Graph sync cannot do without: a token (first sync only),
// one $batch carrying the first page of every kind, the further pages of each kind at the
// largest page size the service allows, and the mailbox types of the users the users round
// reports with a mail address (Graph v1.0 has them per user only: 20 per $batch). Kinds are
// independent, so the chain is the token, the batch and the longest kind's further requests
// (mailbox batches need the user list first, then go in parallel). The authentication-methods
// report is limited to 5 requests per 10 s per tenant (transport.GraphRules): pages past the
// burst wait 2 s each.
func graphCost(t *testserver.Tenant, reported []*testserver.User, token bool, kinds []tenantsync.Kind) cost {
	users := len(t.ActiveUsers())
	extra := map[string]int{}
	if slices.Contains(kinds, tenantsync.KindUsers) {
		extra["users"] = pages(len(reported), deltaPage) - 1
	}
	if slices.Contains(kinds, tenantsync.KindDevices) {
		extra["devices"] = pages(len(t.Devices), maxGraphTop) - 1
	}
	if slices.Contains(kinds, tenantsync.KindMFA) {
		extra["mfa"] = pages(users, maxGraphTop) - 1
	}
	lookups := 0
	if slices.Contains(kinds, tenantsync.KindMailboxes) {
		withMail := 0
		for _, u := range reported {
			if !u.Deleted && u.Mail != "" {
				withMail++
			}
		}
		if withMail > 0 {
			lookups = pages(withMail, 20)
		}
	}
	c := cost{trips: 1 + lookups, chain: 1}
	if token {
		c.trips++
		c.chain++
	}
	longest := 0
	for k, n := range extra {
		c.trips += n
		if k == "users" && lookups > 0 {
			n++
		}
		longest = max(longest, n)
	}
	c.chain += longest
	if over := extra["mfa"] - 5; over > 0 {
		c.wait = time.Duration(over) * 2 * time.Second
	}
	// The identity bucket: 3,500 resource units per 10 s per tenant (350 a second, burst 3,500);
	// a $batch is charged 20, a further page 1 ($select lowers users' 2 by 1).
	if ru := 20*(1+lookups) + c.trips - 1 - lookups; ru > 3500 {
		c.wait = max(c.wait, time.Duration(float64(ru-3500)/350*float64(time.Second)))
	}
	return c
}

// bound is the lower bound of a sync of every tenant: the round trips spread over the
// concurrency the engine allows, and never less than the longest single-tenant chain.
type bound struct {
	trips   int
	spread  time.Duration
	chain   time.Duration
	longest int
	value   time.Duration
}

func boundOf(costs []cost, latency time.Duration, concurrency int) bound {
	var b bound
	for _, c := range costs {
		b.trips += c.trips
		if d := max(time.Duration(c.chain)*latency, c.wait); d > b.chain {
			b.chain, b.longest = d, c.chain
		}
	}
	b.spread = time.Duration(b.trips) * latency / time.Duration(concurrency)
	b.value = max(b.spread, b.chain)
	return b
}

func (b bound) String() string {
	return fmt.Sprintf("max(%d round trips x latency / concurrency = %s, longest tenant: chain of %d round trips or its rate limits = %s)",
		b.trips, secs(b.spread), b.longest, secs(b.chain))
}

// rig is one engine on a memory store against the fake.
type rig struct {
	srv   *testserver.Server
	eng   *sync.Engine
	st    *memory.Store
	clock *offsetClock
	cl    *clients
	trace *tracer
}

func newRig(srv *testserver.Server, o options, ids []string, route string, kinds []tenantsync.Kind) (*rig, error) {
	e := endpointsOf(srv, ids)
	hc, err := e.httpClient()
	if err != nil {
		return nil, err
	}
	tr := newTracer(hc.Transport)
	hc.Transport = tr
	cl, err := newClients(e, hc, transport.NewBudget(0), graph.MailboxesPerUser)
	if err != nil {
		return nil, err
	}
	r := &rig{srv: srv, clock: &offsetClock{}, cl: cl, trace: tr}
	r.st = memory.New(memory.Config{Now: r.clock.Now})
	src := tenantsync.Source(cl.graphSrc)
	if route == sync.RouteCIPP {
		src = cl.cippSrc
	}
	r.eng, err = sync.New(sync.Config{Store: r.st, Account: account, Sources: []tenantsync.Source{src},
		Clock: r.clock, Limits: sync.Limits{Concurrency: o.concurrency}, Kinds: kinds})
	return r, err
}

func (r *rig) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.eng.Close(ctx)
}

// linkAll links every tenant (which starts its initial sync) and waits for the syncs.
func (r *rig) linkAll(ctx context.Context, ids []string) (time.Duration, error) {
	if _, err := r.eng.Discover(ctx); err != nil {
		return 0, err
	}
	reqs := make([]sync.LinkRequest, len(ids))
	for i, id := range ids {
		reqs[i] = sync.LinkRequest{TenantID: id, ClientID: fmt.Sprintf("client-%04d", i)}
		if err := r.st.Directory(account).PutClient(ctx, tenantsync.Client{ID: reqs[i].ClientID, Name: "Client " + id}); err != nil {
			return 0, err
		}
	}
	r.srv.ResetCounts()
	r.trace.reset()
	start := time.Now()
	for _, res := range r.eng.LinkMany(ctx, account, reqs) {
		if res.Err != nil {
			return 0, res.Err
		}
	}
	err := r.eng.Wait(ctx)
	return time.Since(start), err
}

// syncAll runs SyncNow for every tenant, concurrency at a time, as a steady-state cycle.
func (r *rig) syncAll(ctx context.Context, ids []string, concurrency int) (time.Duration, []*sync.Report, error) {
	r.clock.Advance(2 * time.Hour) // past the quiet interval and every cooldown
	r.srv.ResetCounts()
	r.trace.reset()
	reports := make([]*sync.Report, len(ids))
	errs := make([]error, len(ids))
	next := make(chan int)
	var wg stdsync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				reports[i], errs[i] = r.eng.SyncNow(ctx, ids[i])
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	for i, err := range errs {
		if err != nil {
			return wall, reports, fmt.Errorf("tenant %s: %w", ids[i], err)
		}
	}
	return wall, reports, nil
}

// failures counts the tenants whose last sync failed or left a kind unavailable, and names the
// first reason.
func (r *rig) failures(ctx context.Context) (int, string, error) {
	sts, err := r.eng.Statuses(ctx)
	if err != nil {
		return 0, "", err
	}
	n, first := 0, ""
	for _, s := range sts {
		if !s.Tenant.Linked() {
			continue
		}
		if s.State.LastSuccess.IsZero() || s.State.LastError != nil || len(s.State.KindErrors) > 0 {
			n++
			if first == "" {
				first = fmt.Sprintf("%s: %+v %+v", s.Tenant.ID, s.State.LastError, s.State.KindErrors)
			}
		}
	}
	return n, first, nil
}

func tenantIDs(w *testserver.World) []string {
	ids := make([]string, len(w.Tenants))
	for i, t := range w.Tenants {
		ids[i] = t.ID
	}
	return ids
}

// tripsOf is the requests a tenant cost at Graph and Entra ID (or CIPP and Entra ID).
func tripsOf(srv *testserver.Server, service, tenant string) int {
	return srv.Requests(service, tenant) + srv.Requests(testserver.ServiceEntra, tenant)
}

func efficiency(b bound, wall time.Duration) float64 { return b.value.Seconds() / wall.Seconds() }

func benchGraph(ctx context.Context, out io.Writer, o options, p partner) error {
	w := p.world()
	srv, err := testserver.New(testserver.Options{Seed: p.Seed, World: w, Latency: o.latency})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := benchGraphKinds(ctx, out, o, p, srv, w, graphKinds, "every kind"); err != nil {
		return err
	}
	// The same without MFA: the registration-details report is the one kind whose configured
	// rate limit (5 requests per 10 s per tenant) sets the pace of large tenants.
	noMFA := slices.DeleteFunc(slices.Clone(graphKinds), func(k tenantsync.Kind) bool { return k == tenantsync.KindMFA })
	if err := benchGraphKinds(ctx, out, o, p, srv, w, noMFA, "without the rate-limited MFA report"); err != nil {
		return err
	}
	return nil
}

func benchGraphKinds(ctx context.Context, out io.Writer, o options, p partner, srv *testserver.Server, w *testserver.World, kinds []tenantsync.Kind, label string) error {
	ids := tenantIDs(w)
	r, err := newRig(srv, o, ids, sync.RouteGraph, kinds)
	if err != nil {
		return err
	}
	defer r.close()

	fmt.Fprintf(out, "\n== (a) sync efficiency, Graph route (graph package, engine on a memory store), %s: latency %s, concurrency %d, kinds %s\n",
		label, ms(o.latency), o.concurrency, kindList(kinds))
	wall, err := r.linkAll(ctx, ids)
	if err != nil {
		return err
	}
	costs := make([]cost, len(w.Tenants))
	users := 0
	for i, t := range w.Tenants {
		n := len(t.ActiveUsers())
		users += n
		costs[i] = graphCost(t, t.ActiveUsers(), true, kinds)
	}
	b := boundOf(costs, o.latency, o.concurrency)
	failed, why, err := r.failures(ctx)
	if err != nil {
		return err
	}
	graphTrips, entraTrips := srv.Requests(testserver.ServiceGraph, "*"), srv.Requests(testserver.ServiceEntra, "*")
	fmt.Fprintf(out, "full sync: %d tenants, %d users, %d round trips (Entra ID %d, Graph %d), %d tenants failed\n",
		len(ids), users, graphTrips+entraTrips, entraTrips, graphTrips, failed)
	if failed > 0 {
		fmt.Fprintf(out, "  first failure: %s\n", why)
	}
	printPerSize(out, srv, w, costs, testserver.ServiceGraph, p)
	fmt.Fprintf(out, "  measured %s, bound %s = %s\n", secs(wall), secs(b.value), b)
	fmt.Fprintf(out, "  efficiency: %.2f (goal >= 0.8)\n", efficiency(b, wall))
	r.trace.printUse(out, wall, o.concurrency, o.latency, r.trace.count())
	fmt.Fprintln(out, "  requests by endpoint:")
	r.trace.print(out, "    ")

	// Steady state: 1% of the users change, then every tenant syncs from its delta cursor.
	// A stream of its own per run, so a second run changes other users to other values (the fake
	// reports only properties whose value changed).
	rng := rand.New(rand.NewPCG(uint64(p.Seed), uint64(9+len(kinds))))
	changed := map[string]map[string]*testserver.User{}
	nChange := max(1, users/100)
	for range nChange {
		t := w.Tenants[rng.IntN(len(w.Tenants))]
		if rng.IntN(2) == 0 { // weight by size: half the picks go to a user anywhere
			k := rng.IntN(users)
			for _, tt := range w.Tenants {
				if n := len(tt.Users); k < n {
					t = tt
					break
				} else {
					k -= n
				}
			}
		}
		u := t.Users[rng.IntN(len(t.Users))]
		if err := w.UpdateUser(t.ID, u.ID, func(u *testserver.User) { u.JobTitle = fmt.Sprintf("Changed %d/%d", len(kinds), rng.IntN(1e6)) }); err != nil {
			return err
		}
		if changed[t.ID] == nil {
			changed[t.ID] = map[string]*testserver.User{}
		}
		changed[t.ID][u.ID] = u
	}
	wall, reports, err := r.syncAll(ctx, ids, o.concurrency)
	if err != nil {
		return err
	}
	for i, t := range w.Tenants {
		costs[i] = graphCost(t, slices.Collect(maps.Values(changed[t.ID])), false, kinds)
	}
	b = boundOf(costs, o.latency, o.concurrency)
	var unchanged, unchangedTrips, maxUnchanged, deltaUsers int
	for _, rep := range reports {
		deltaUsers += rep.Kinds[tenantsync.KindUsers].Fetched
	}
	for _, t := range w.Tenants {
		if len(changed[t.ID]) > 0 {
			continue
		}
		n := tripsOf(srv, testserver.ServiceGraph, t.ID)
		unchanged++
		unchangedTrips += n
		maxUnchanged = max(maxUnchanged, n)
	}
	failed, why, err = r.failures(ctx)
	if err != nil {
		return err
	}
	trips := srv.Requests(testserver.ServiceGraph, "*") + srv.Requests(testserver.ServiceEntra, "*")
	fmt.Fprintf(out, "delta cycle: %d users changed (1%%) in %d tenants, %d users fetched, %d round trips, %d tenants failed\n",
		nChange, len(changed), deltaUsers, trips, failed)
	if failed > 0 {
		fmt.Fprintf(out, "  first failure: %s\n", why)
	}
	fmt.Fprintf(out, "  round trips per unchanged tenant: %.2f (max %d, %d tenants; goal 1)\n", float64(unchangedTrips)/float64(max(1, unchanged)), maxUnchanged, unchanged)
	printPerSize(out, srv, w, costs, testserver.ServiceGraph, p)
	fmt.Fprintf(out, "  measured %s, bound %s = %s\n", secs(wall), secs(b.value), b)
	fmt.Fprintf(out, "  efficiency: %.2f (goal >= 0.8)\n", efficiency(b, wall))
	r.trace.printUse(out, wall, o.concurrency, o.latency, r.trace.count())
	fmt.Fprintln(out, "  requests by endpoint:")
	r.trace.print(out, "    ")
	return nil
}

// printPerSize prints the round trips per small and per large tenant against the unavoidable ones.
func printPerSize(out io.Writer, srv *testserver.Server, w *testserver.World, costs []cost, service string, p partner) {
	var small, large, smallMin, largeMin, ns, nl int
	for i, t := range w.Tenants {
		n := tripsOf(srv, service, t.ID)
		if len(t.Users) > p.MaxUsers {
			large += n
			largeMin += costs[i].trips
			nl++
		} else {
			small += n
			smallMin += costs[i].trips
			ns++
		}
	}
	fmt.Fprintf(out, "  round trips per small tenant: %.2f (unavoidable %.2f)", float64(small)/float64(max(1, ns)), float64(smallMin)/float64(max(1, ns)))
	if nl > 0 {
		fmt.Fprintf(out, ", per large tenant: %.1f (unavoidable %.1f)", float64(large)/float64(nl), float64(largeMin)/float64(nl))
	}
	fmt.Fprintln(out)
}

func kindList(ks []tenantsync.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// cippCalls are the CIPP-API calls a full sync of every kind needs per tenant: CIPP has no
// batch and no delta, and serves each list in one response (ListUsers, ListMailboxes,
// ListDevices, domains, ListLicenses, ListMFAUsers, conditional access, secure score,
// security defaults).
const cippCalls = 9

func benchCIPP(ctx context.Context, out io.Writer, o options, p partner) error {
	w := p.world()
	srv, err := testserver.New(testserver.Options{Seed: p.Seed, World: w, Latency: o.latency})
	if err != nil {
		return err
	}
	defer srv.Close()
	ids := tenantIDs(w)
	r, err := newRig(srv, o, ids, sync.RouteCIPP, tenantsync.AllKinds())
	if err != nil {
		return err
	}
	defer r.close()
	fmt.Fprintf(out, "\n== (c) CIPP route (cipp package, engine on a memory store): latency %s, concurrency %d, every kind\n", ms(o.latency), o.concurrency)
	wall, err := r.linkAll(ctx, ids)
	if err != nil {
		return err
	}
	costs := make([]cost, len(ids))
	for i := range costs {
		costs[i] = cost{trips: cippCalls, chain: 1}
	}
	costs = append(costs, cost{trips: 2, chain: 2}) // the API client's one token and the tenant list
	b := boundOf(costs, o.latency, o.concurrency)
	failed, why, err := r.failures(ctx)
	if err != nil {
		return err
	}
	trips := srv.Requests(testserver.ServiceCIPP, "*") + srv.Requests(testserver.ServiceEntra, "*")
	per := make([]int, 0, len(ids))
	for _, id := range ids {
		per = append(per, srv.Requests(testserver.ServiceCIPP, id))
	}
	slices.Sort(per)
	fmt.Fprintf(out, "full sync: %d tenants, %d round trips (Entra ID %d), %d tenants failed\n", len(ids), trips, srv.Requests(testserver.ServiceEntra, "*"), failed)
	if failed > 0 {
		fmt.Fprintf(out, "  first failure: %s\n", why)
	}
	fmt.Fprintf(out, "  round trips per tenant: %.2f (median %d, max %d; unavoidable %d)\n",
		float64(trips)/float64(len(ids)), per[len(per)/2], per[len(per)-1], cippCalls)
	fmt.Fprintf(out, "  measured %s, bound %s = %s\n", secs(wall), secs(b.value), b)
	fmt.Fprintf(out, "  efficiency: %.2f (goal >= 0.8)\n", efficiency(b, wall))
	r.trace.printUse(out, wall, o.concurrency, o.latency, r.trace.count())
	fmt.Fprintln(out, "  requests by endpoint:")
	r.trace.print(out, "    ")
	return nil
}
