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
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

const account = "bench"

// graphKinds are every kind the Graph route reads.
// graphKinds are the kinds the efficiency figures are measured with: the later kinds rest for
// an hour or a day and are measured apart (benchLaterKinds), so these figures stay comparable.
var graphKinds = []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindDevices, tenantsync.KindDomains,
	tenantsync.KindSubscriptions, tenantsync.KindMFA, tenantsync.KindBaseline}

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

// bound is the lower bound of a sync of every tenant. The engine syncs at most slots tenants
// at once and a tenant holds its slot for at least its chain of round trips (or its rate
// limits), so the tenants' chains spread over the slots bound the wall time; so does the
// longest single chain. Where a cap on requests in flight applies as well (a CIPP instance's
// concurrency limit), the round trips spread over that cap bound it too. The Graph route has
// no such cap: a tenant's kinds and further pages go at once, so its round trips spread over
// the slots would not be a bound (a sync could beat it).
type bound struct {
	trips    int
	slots    time.Duration // the tenants' chains spread over the slots
	requests time.Duration // the round trips spread over the cap on requests in flight; 0 without one
	chain    time.Duration
	longest  int
	value    time.Duration
	nSlots   int
	cap      int
}

func boundOf(costs []cost, latency time.Duration, slots, requestCap int) bound {
	b := bound{nSlots: slots, cap: requestCap}
	var held time.Duration
	for _, c := range costs {
		b.trips += c.trips
		d := max(time.Duration(c.chain)*latency, c.wait)
		held += d
		if d > b.chain {
			b.chain, b.longest = d, c.chain
		}
	}
	b.slots = held / time.Duration(slots)
	if requestCap > 0 {
		b.requests = time.Duration(b.trips) * latency / time.Duration(requestCap)
	}
	b.value = max(b.slots, b.requests, b.chain)
	return b
}

func (b bound) String() string {
	s := fmt.Sprintf("max(the tenants' chains x latency over %d tenants at once = %s", b.nSlots, secs(b.slots))
	if b.cap > 0 {
		s += fmt.Sprintf(", %d round trips x latency over %d requests in flight = %s", b.trips, b.cap, secs(b.requests))
	}
	return s + fmt.Sprintf(", longest tenant: chain of %d round trips or its rate limits = %s)", b.longest, secs(b.chain))
}

// rig is one engine on a memory store against the fake.
type rig struct {
	fake  fake
	eng   *sync.Engine
	st    *memory.Store
	clock *offsetClock
	cl    *clients
	trace *tracer
	slots *slotTrace
}

func newRig(f fake, o options, ids []string, route string, kinds []tenantsync.Kind, cippCfg cipp.SourceConfig) (*rig, error) {
	e := f.endpoints(ids)
	hc, err := e.httpClient()
	if err != nil {
		return nil, err
	}
	tr := newTracer(hc.Transport)
	hc.Transport = tr
	cl, err := newClients(e, hc, transport.NewBudget(0), graph.MailboxesPerUser, cippCfg)
	if err != nil {
		return nil, err
	}
	r := &rig{fake: f, clock: &offsetClock{}, cl: cl, trace: tr, slots: &slotTrace{}}
	r.st = memory.New(memory.Config{Now: r.clock.Now})
	src := tenantsync.Source(cl.graphSrc)
	if route == sync.RouteCIPP {
		src = cl.cippSrc
	}
	r.eng, err = sync.New(sync.Config{Store: r.st, Account: account, Sources: []tenantsync.Source{src},
		Clock: r.clock, Limits: sync.Limits{Concurrency: o.concurrency}, Kinds: kinds, Tracer: r.slots})
	return r, err
}

func (r *rig) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.eng.Close(ctx)
}

// measured is one timed phase: its wall time, the engine process's CPU time, and the fake's
// request counts and service times over it.
type measured struct {
	wall   time.Duration
	cpu    time.Duration
	counts requestCounts
	served map[string]serviceTimes
}

// trips is the phase's round trips at a route's service and Entra ID.
func (m measured) trips(service string) int { return m.counts.trips(service, "*") }

// cpuPerRequest is the engine's CPU time per round trip of the phase.
func (m measured) cpuPerRequest(service string) time.Duration {
	return m.cpu / time.Duration(max(1, m.trips(service)))
}

// measure resets the fake's counts, runs phase and collects what it cost.
func (r *rig) measure(phase func() error) (measured, error) {
	var m measured
	if err := r.fake.reset(); err != nil {
		return m, err
	}
	r.trace.reset()
	r.slots.reset()
	cpu0, start := cpuTime(), time.Now()
	if err := phase(); err != nil {
		return m, err
	}
	m.wall, m.cpu = time.Since(start), cpuTime()-cpu0
	var err error
	if m.counts, err = r.fake.counts(); err != nil {
		return m, err
	}
	m.served, err = r.fake.served()
	return m, err
}

// linkAll links every tenant (which starts its initial sync) and waits for the syncs.
func (r *rig) linkAll(ctx context.Context, ids []string) (measured, error) {
	if _, err := r.eng.Discover(ctx); err != nil {
		return measured{}, err
	}
	reqs := make([]sync.LinkRequest, len(ids))
	for i, id := range ids {
		reqs[i] = sync.LinkRequest{TenantID: id, ClientID: fmt.Sprintf("client-%04d", i)}
		if err := r.st.Directory(account).PutClient(ctx, tenantsync.Client{ID: reqs[i].ClientID, Name: "Client " + id}); err != nil {
			return measured{}, err
		}
	}
	return r.measure(func() error {
		for _, res := range r.eng.LinkMany(ctx, account, reqs) {
			if res.Err != nil {
				return res.Err
			}
		}
		return r.eng.Wait(ctx)
	})
}

// syncAll runs SyncNow for every tenant, concurrency at a time, as a steady-state cycle: two
// hours after the last, so every tenant is due again and each kind rests or not by its own
// cadence (sync.Cadence.Kinds).
func (r *rig) syncAll(ctx context.Context, ids []string, concurrency int) (measured, []*sync.Report, error) {
	r.clock.Advance(2 * time.Hour) // past the quiet interval and every cooldown
	reports := make([]*sync.Report, len(ids))
	errs := make([]error, len(ids))
	m, err := r.measure(func() error {
		next := make(chan int)
		var wg stdsync.WaitGroup
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
		return nil
	})
	if err != nil {
		return m, reports, err
	}
	for i, err := range errs {
		if err != nil {
			return m, reports, fmt.Errorf("tenant %s: %w", ids[i], err)
		}
	}
	return m, reports, nil
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

func efficiency(b bound, wall time.Duration) float64 { return b.value.Seconds() / wall.Seconds() }

// latencies are the round trips each efficiency is measured at: a fast one, and a typical
// Graph round trip.
var latencies = []time.Duration{20 * time.Millisecond, 100 * time.Millisecond}

// printFakeCheck prints the fake's own service time per request against a tenth of the
// latency, the most it may add for the figure to measure the SDK, and the engine's CPU per
// request.
func printFakeCheck(out io.Writer, m measured, service string, latency time.Duration) {
	limit := latency / 10
	for _, svc := range []string{service, testserver.ServiceEntra} {
		st := m.served[svc]
		if st.N == 0 {
			continue
		}
		verdict := "ok"
		if st.P99 >= limit {
			verdict = "OVER: the figure measures the fake as much as the SDK"
		}
		fmt.Fprintf(out, "  fake service time, %s: p50 %s, p99 %s over %d requests (limit %s) %s\n",
			svc, usec(st.P50), usec(st.P99), st.N, usec(limit), verdict)
	}
	fmt.Fprintf(out, "  engine CPU: %s per request (%s over %d round trips)\n", usec(m.cpuPerRequest(service)), secs(m.cpu), m.trips(service))
}

func usec(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// everySync are the kinds a steady-state cycle fetches with the default cadence when no user
// was added or removed (sync.DefaultKindIntervals rests the others).
func everySync() []tenantsync.Kind {
	rest := sync.DefaultKindIntervals()
	return slices.DeleteFunc(slices.Clone(graphKinds), func(k tenantsync.Kind) bool { return rest[k] > 0 })
}

// graphRun is one full sync and one 1% delta cycle of the partner at one latency.
type graphRun struct {
	full, delta         float64
	unchangedTrips      float64
	fullM, deltaM       measured
	fullBound, deltaBnd bound
}

func benchGraph(ctx context.Context, out io.Writer, o options, p partner, g *goals) error {
	w := p.world()
	f, err := o.startFake(ctx, fakeSpec{Partner: p, Latency: latencies[0], PageCache: true})
	if err != nil {
		return err
	}
	defer f.close()
	runs := map[time.Duration][]graphRun{}
	for _, lat := range latencies {
		for i := range o.runs {
			// Each run's delta cycle changes users of a third of the tenants, whose pages the
			// fake renders again: the warm-up before every run renders them outside the figures.
			if err := warmUp(ctx, out, o, f, tenantIDs(w), sync.RouteGraph, cipp.SourceConfig{}); err != nil {
				return err
			}
			if err := f.setLatency(lat); err != nil {
				return err
			}
			fmt.Fprintf(out, "\n== (a) sync efficiency, Graph route (graph package, engine on a memory store, every kind): latency %s, concurrency %d, run %d of %d\n",
				ms(lat), o.concurrency, i+1, o.runs)
			r, err := graphOnce(ctx, out, o, p, f, w, lat, i == 0, len(runs[lat])+int(lat/time.Millisecond))
			if err != nil {
				return err
			}
			runs[lat] = append(runs[lat], r)
		}
	}
	fmt.Fprintf(out, "\n== (a) summary, %d runs each: median (min-max)\n", o.runs)
	var unchanged []float64
	for _, lat := range latencies {
		var full, delta, fullCPU []float64
		for _, r := range runs[lat] {
			full, delta = append(full, r.full), append(delta, r.delta)
			unchanged = append(unchanged, r.unchangedTrips)
			fullCPU = append(fullCPU, r.fullM.cpuPerRequest(testserver.ServiceGraph).Seconds())
		}
		fmt.Fprintf(out, "latency %s: full sync efficiency %s, delta cycle efficiency %s\n", ms(lat), spread(full), spread(delta))
		// What the engine's one core can carry: the bound has every allowed request in flight,
		// a new one each latency, so the CPU it asks for is concurrency/latency x CPU per request;
		// above one core, the full sync cannot reach its bound whatever the SDK's round trips.
		cpu := median(fullCPU)
		fmt.Fprintf(out, "  full sync engine CPU per request %s (median), so %d requests in flight every %s ask for %.2f of the engine's one core\n",
			usec(time.Duration(cpu*float64(time.Second))), o.concurrency, ms(lat), cpu*float64(o.concurrency)/lat.Seconds())
		g.add(fmt.Sprintf("graph-full-%dms", lat/time.Millisecond), median(full), ">=", 0.8, "%.2f")
		g.add(fmt.Sprintf("graph-delta-%dms", lat/time.Millisecond), median(delta), ">=", 0.8, "%.2f")
	}
	g.add("trips-per-unchanged-tenant", slices.Max(unchanged), "<=", 1, "%.2f")
	return nil
}

// warmUp runs one full sync without latency and without measuring it, so the fake has
// rendered its pages before the measured runs (it renders each page once, and again only
// after a change).
func warmUp(ctx context.Context, out io.Writer, o options, f fake, ids []string, route string, cfg cipp.SourceConfig) error {
	if err := f.setLatency(0); err != nil {
		return err
	}
	r, err := newRig(f, o, ids, route, graphKinds, cfg)
	if err != nil {
		return err
	}
	defer r.close()
	m, err := r.linkAll(ctx, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "warm-up: one full sync without latency, not measured, renders the fake's pages (%s)\n", secs(m.wall))
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spread(v []float64) string {
	return fmt.Sprintf("%.2f (%.2f-%.2f)", median(v), slices.Min(v), slices.Max(v))
}

func graphOnce(ctx context.Context, out io.Writer, o options, p partner, f fake, w *testserver.World, lat time.Duration, verbose bool, stream int) (graphRun, error) {
	var run graphRun
	ids := tenantIDs(w)
	r, err := newRig(f, o, ids, sync.RouteGraph, graphKinds, cipp.SourceConfig{})
	if err != nil {
		return run, err
	}
	defer r.close()
	m, err := r.linkAll(ctx, ids)
	if err != nil {
		return run, err
	}
	costs := make([]cost, len(w.Tenants))
	users := 0
	for i, t := range w.Tenants {
		users += len(t.ActiveUsers())
		costs[i] = graphCost(t, t.ActiveUsers(), true, graphKinds)
	}
	b := boundOf(costs, lat, o.concurrency, 0)
	failed, why, err := r.failures(ctx)
	if err != nil {
		return run, err
	}
	run.full, run.fullM, run.fullBound = efficiency(b, m.wall), m, b
	fmt.Fprintf(out, "full sync: %d tenants, %d users, %d round trips (Entra ID %d, Graph %d), %d tenants failed\n",
		len(ids), users, m.trips(testserver.ServiceGraph), m.counts.get(testserver.ServiceEntra, "*"), m.counts.get(testserver.ServiceGraph, "*"), failed)
	if failed > 0 {
		fmt.Fprintf(out, "  first failure: %s\n", why)
	}
	fmt.Fprintf(out, "  measured %s, bound %s, efficiency %.2f\n", secs(m.wall), secs(b.value), run.full)
	printFakeCheck(out, m, testserver.ServiceGraph, lat)
	r.slots.print(out, lat)
	if verbose {
		fmt.Fprintf(out, "  bound = %s\n", b)
		printPerSize(out, m.counts, w, costs, testserver.ServiceGraph, p)
		r.trace.printUse(out, m.wall, 0, lat, r.trace.count())
		fmt.Fprintln(out, "  requests by endpoint:")
		r.trace.print(out, "    ")
	}

	// Steady state: 1% of the users change, then every tenant syncs from its delta cursor.
	// A stream of its own per run, so a later run changes other users to other values (the
	// fake reports only properties whose value changed).
	rng := rand.New(rand.NewPCG(uint64(p.Seed), uint64(9+stream)))
	changed := map[string]map[string]*testserver.User{}
	var changes []userChange
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
		c := userChange{Tenant: t.ID, User: u.ID, JobTitle: fmt.Sprintf("Changed %d/%d", stream, rng.IntN(1e6))}
		if err := applyChanges(w, []userChange{c}); err != nil {
			return run, err
		}
		changes = append(changes, c)
		if changed[t.ID] == nil {
			changed[t.ID] = map[string]*testserver.User{}
		}
		changed[t.ID][u.ID] = u
	}
	if err := f.update(changes); err != nil {
		return run, err
	}
	m, reports, err := r.syncAll(ctx, ids, o.concurrency)
	if err != nil {
		return run, err
	}
	kinds := everySync()
	for i, t := range w.Tenants {
		costs[i] = graphCost(t, slices.Collect(maps.Values(changed[t.ID])), false, kinds)
	}
	b = boundOf(costs, lat, o.concurrency, 0)
	var unchanged, unchangedTrips, maxUnchanged, deltaUsers, resting int
	for _, rep := range reports {
		deltaUsers += rep.Kinds[tenantsync.KindUsers].Fetched
		resting += len(rep.Resting)
	}
	for _, t := range w.Tenants {
		if len(changed[t.ID]) > 0 {
			continue
		}
		n := m.counts.trips(testserver.ServiceGraph, t.ID)
		unchanged++
		unchangedTrips += n
		maxUnchanged = max(maxUnchanged, n)
	}
	failed, why, err = r.failures(ctx)
	if err != nil {
		return run, err
	}
	run.delta, run.deltaM, run.deltaBnd = efficiency(b, m.wall), m, b
	run.unchangedTrips = float64(unchangedTrips) / float64(max(1, unchanged))
	fmt.Fprintf(out, "delta cycle: %d users changed (1%%) in %d tenants, %d users fetched, %d round trips, %d tenants failed; kinds fetched %s (%d kind fetches rested by cadence)\n",
		nChange, len(changed), deltaUsers, m.trips(testserver.ServiceGraph), failed, kindList(kinds), resting)
	if failed > 0 {
		fmt.Fprintf(out, "  first failure: %s\n", why)
	}
	fmt.Fprintf(out, "  round trips per unchanged tenant: %.2f (max %d, %d tenants; goal 1)\n", run.unchangedTrips, maxUnchanged, unchanged)
	fmt.Fprintf(out, "  measured %s, bound %s, efficiency %.2f\n", secs(m.wall), secs(b.value), run.delta)
	printFakeCheck(out, m, testserver.ServiceGraph, lat)
	r.slots.print(out, lat)
	if verbose {
		fmt.Fprintf(out, "  bound = %s\n", b)
		printPerSize(out, m.counts, w, costs, testserver.ServiceGraph, p)
		r.trace.printUse(out, m.wall, 0, lat, r.trace.count())
		fmt.Fprintln(out, "  requests by endpoint:")
		r.trace.print(out, "    ")
	}
	return run, nil
}

// printPerSize prints the round trips per small and per large tenant against the unavoidable ones.
func printPerSize(out io.Writer, counts requestCounts, w *testserver.World, costs []cost, service string, p partner) {
	var small, large, smallMin, largeMin, ns, nl int
	for i, t := range w.Tenants {
		n := counts.trips(service, t.ID)
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
// security defaults, and for the baseline's Defender state ListDefenderState and the Intune
// connector; ListLicenses also gives the Defender plan). The source sends them at once, so a
// tenant's chain is one round trip.
const cippCalls = 11

// cippLatency is the latency of the CIPP figures: a typical round trip to an Azure Functions app.
const cippLatency = 100 * time.Millisecond

func benchCIPP(ctx context.Context, out io.Writer, o options, p partner, g *goals) error {
	w := p.world()
	f, err := o.startFake(ctx, fakeSpec{Partner: p, Latency: cippLatency, PageCache: true})
	if err != nil {
		return err
	}
	defer f.close()
	ids := tenantIDs(w)
	// The instance's concurrency limit (cipp.DefaultConcurrency) caps the requests in flight
	// below the engine's tenant concurrency: the bound spreads the calls over the smaller.
	inFlight := min(o.concurrency, cipp.DefaultConcurrency)
	costs := make([]cost, len(ids))
	for i := range costs {
		costs[i] = cost{trips: cippCalls, chain: 1}
	}
	costs = append(costs, cost{trips: 2, chain: 2}) // the API client's one token and the tenant list
	b := boundOf(costs, cippLatency, o.concurrency, inFlight)
	if err := warmUp(ctx, out, o, f, ids, sync.RouteCIPP, cipp.SourceConfig{}); err != nil {
		return err
	}
	if err := f.setLatency(cippLatency); err != nil {
		return err
	}
	var effs []float64
	for i := range o.runs {
		r, err := newRig(f, o, ids, sync.RouteCIPP, graphKinds, cipp.SourceConfig{})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n== (c) CIPP route (cipp package, live reads, engine on a memory store): latency %s, concurrency %d tenants, %d requests per CIPP instance, every kind, run %d of %d\n",
			ms(cippLatency), o.concurrency, cipp.DefaultConcurrency, i+1, o.runs)
		m, err := r.linkAll(ctx, ids)
		if err != nil {
			r.close()
			return err
		}
		failed, why, err := r.failures(ctx)
		if err != nil {
			r.close()
			return err
		}
		per := make([]int, 0, len(ids))
		for _, id := range ids {
			per = append(per, m.counts.get(testserver.ServiceCIPP, id))
		}
		slices.Sort(per)
		eff := efficiency(b, m.wall)
		effs = append(effs, eff)
		fmt.Fprintf(out, "full sync: %d tenants, %d round trips (Entra ID %d), %d tenants failed\n", len(ids), m.trips(testserver.ServiceCIPP), m.counts.get(testserver.ServiceEntra, "*"), failed)
		if failed > 0 {
			fmt.Fprintf(out, "  first failure: %s\n", why)
		}
		fmt.Fprintf(out, "  round trips per tenant: %.2f (median %d, max %d; unavoidable %d)\n",
			float64(m.trips(testserver.ServiceCIPP))/float64(len(ids)), per[len(per)/2], per[len(per)-1], cippCalls)
		fmt.Fprintf(out, "  measured %s, bound %s, efficiency %.2f\n", secs(m.wall), secs(b.value), eff)
		printFakeCheck(out, m, testserver.ServiceCIPP, cippLatency)
		if i == 0 {
			fmt.Fprintf(out, "  bound = %s\n", b)
			r.trace.printUse(out, m.wall, inFlight, cippLatency, r.trace.count())
			fmt.Fprintln(out, "  requests by endpoint:")
			r.trace.print(out, "    ")
		}
		r.close()
	}
	fmt.Fprintf(out, "CIPP full sync efficiency, %d runs: %s\n", o.runs, spread(effs))
	g.add("cipp-full-100ms", median(effs), ">=", 0.8, "%.2f")
	return benchCIPPBulk(ctx, out, o, g)
}

// benchCIPPBulk syncs a partner of 1,000 tenants through CIPP's reporting database
// (cipp.SourceConfig.Bulk) and counts the round trips.
func benchCIPPBulk(ctx context.Context, out io.Writer, o options, g *goals) error {
	p := partner{Seed: o.seed, Small: o.bulkTenants, MinUsers: 10, MaxUsers: 50}
	w := p.world()
	f, err := o.startFake(ctx, fakeSpec{Partner: p, Latency: cippLatency, PageCache: true})
	if err != nil {
		return err
	}
	defer f.close()
	ids := tenantIDs(w)
	if err := warmUp(ctx, out, o, f, ids, sync.RouteCIPP, cipp.SourceConfig{Bulk: true}); err != nil {
		return err
	}
	if err := f.setLatency(cippLatency); err != nil {
		return err
	}
	r, err := newRig(f, o, ids, sync.RouteCIPP, graphKinds, cipp.SourceConfig{Bulk: true})
	if err != nil {
		return err
	}
	defer r.close()
	fmt.Fprintf(out, "\n== (c) CIPP bulk mode (ListDBCache, AllTenants): %s, latency %s, every kind\n", p, ms(cippLatency))
	m, err := r.linkAll(ctx, ids)
	if err != nil {
		return err
	}
	failed, why, err := r.failures(ctx)
	if err != nil {
		return err
	}
	sts, err := r.eng.Statuses(ctx)
	if err != nil {
		return err
	}
	users := 0
	for _, s := range sts {
		users += s.State.Counts[tenantsync.KindUsers]
	}
	trips := m.trips(testserver.ServiceCIPP)
	fmt.Fprintf(out, "full sync: %d tenants, %d users mirrored, %d round trips (Entra ID %d), %d tenants failed, in %s\n",
		len(ids), users, trips, m.counts.get(testserver.ServiceEntra, "*"), failed, secs(m.wall))
	if failed > 0 {
		fmt.Fprintf(out, "  first failure: %s\n", why)
	}
	printFakeCheck(out, m, testserver.ServiceCIPP, cippLatency)
	fmt.Fprintln(out, "  requests by endpoint:")
	r.trace.print(out, "    ")
	if failed > 0 {
		trips = -1 // a sync that did not complete meets no goal
	}
	g.add("cipp-bulk-trips", float64(trips), "<=", 30, "%.0f")
	return nil
}
