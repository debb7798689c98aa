package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

// soak is the state of one soak run: the fake's truth, one SQLite store that outlives every
// engine, and what the checks have seen so far.
type soak struct {
	out    io.Writer
	o      options
	rng    *rand.Rand
	srv    *testserver.Server
	w      *testserver.World
	st     *sqlite.Store
	clock  *offsetClock
	budget *transport.Budget
	creds  testserver.Credentials
	ids    []string
	// graphIDs are the tenants the engine reaches through Graph, cippIDs those it reaches
	// through CIPP; dropped is the CIPP tenant this cycle's CIPP left out of its tenant list.
	graphIDs, cippIDs []string
	dropped           string

	eng      *sync.Engine
	attempts atomic.Int64
	retries  atomic.Int64
	// psa is the PSA's contact directory, with its faults; counters sums the counters of every
	// engine the soak built.
	psa      *psaSoak
	counters sync.Counters

	// contacts ever seen, by client, so a deleted one is noticed.
	contacts map[string]map[string]bool
	mirror   map[string]map[string]bool // user IDs mirrored per tenant after the last cycle
	// kinds holds, per tenant, the IDs of every other listed kind mirrored after the last cycle.
	kinds map[string]map[tenantsync.Kind]map[string]bool

	mu         stdsync.Mutex
	violations []string
	violated   int
	checks     int
	scenario   map[string]int
	syncs      int
	syncErrs   int
	kills      int
	events     map[sync.EventType]int
	failures   map[string]int
	// history keeps, per tenant/user, the truth changes and committed contact events in order,
	// printed with a contact violation to show how the contact got there.
	history    map[string][]string
	cycle      int
	killCycles []int
}

func (s *soak) setCycle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cycle = n
}

func (s *soak) note(tenantID, userID, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.history == nil {
		s.history = map[string][]string{}
	}
	k := tenantID + "/" + userID
	s.history[k] = append(s.history[k], fmt.Sprintf("c%d ", s.cycle)+fmt.Sprintf(format, args...))
}

func (s *soak) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violated++
	if len(s.violations) < 50 {
		s.violations = append(s.violations, fmt.Sprintf(format, args...))
	}
}

func (s *soak) check(ok bool, format string, args ...any) {
	s.mu.Lock()
	s.checks++
	s.mu.Unlock()
	if !ok {
		s.fail(format, args...)
	}
}

func runSoak(ctx context.Context, out io.Writer, o options) error {
	started := time.Now()
	p := partner{Seed: o.seed, Small: o.soakTenants, MinUsers: 8, MaxUsers: 40}
	w := p.world()
	graphIDs, cippIDs := splitRoutes(w, o.soakCIPP)
	srv, err := testserver.New(testserver.Options{Seed: o.seed, World: w, Latency: 2 * time.Millisecond})
	if err != nil {
		return err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "tenantsync-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s := &soak{out: out, o: o, rng: rand.New(rand.NewPCG(uint64(o.seed), 77)), srv: srv, w: w, clock: &offsetClock{},
		budget: transport.NewBudget(0), creds: srv.PartnerApp(), ids: tenantIDs(w), graphIDs: graphIDs, cippIDs: cippIDs,
		contacts: map[string]map[string]bool{}, mirror: map[string]map[string]bool{}, kinds: map[string]map[tenantsync.Kind]map[string]bool{},
		scenario: map[string]int{}, events: map[sync.EventType]int{}, failures: map[string]int{}}
	s.st, err = sqlite.Open(ctx, filepath.Join(dir, "soak.db"), sqlite.Config{Keys: benchKeys(), Now: s.clock.Now})
	if err != nil {
		return err
	}
	defer s.st.Close()
	identity, err := psaIdentity(o.soakPSAIdentity)
	if err != nil {
		return err
	}
	// The PSA keeps time on the engine's clock: its hourly quota and fault periods move with
	// the two hours each cycle advances.
	if s.psa, err = newPSASoak(w, s.ids, s.clock, s.rng, identity); err != nil {
		return err
	}
	fmt.Fprintf(out, "soak: %s (%d through Graph, %d through CIPP), SQLite store, a fake PSA (%d clients, %d contacts entered by hand, %d poison users, identity %s), faults for %s, seed %d\n",
		p, len(graphIDs), len(cippIDs), len(s.ids), len(s.psa.byHand)+len(s.psa.strangers), s.psa.poisonCount(), identity, o.soakDuration, o.seed)

	if err := s.start(); err != nil {
		return err
	}
	if _, err := s.eng.Discover(ctx); err != nil {
		return err
	}
	var reqs []sync.LinkRequest
	for i, id := range s.ids {
		reqs = append(reqs, sync.LinkRequest{TenantID: id, ClientID: clientID(i)})
	}
	// The initial syncs, which create most contacts, meet the PSA's faults too.
	removePSAFaults := s.psa.inject(s.rng)
	for _, r := range s.eng.LinkMany(ctx, "soak", reqs) {
		if r.Err != nil {
			return r.Err
		}
	}
	err = s.eng.Wait(ctx)
	removePSAFaults()
	if err != nil {
		return err
	}
	s.observe(ctx)

	deadline := time.Now().Add(o.soakDuration)
	cycle := 0
	secretExpiredAt, secretRestoreAt := o.soakDuration/3, o.soakDuration/2
	expired, restored := false, false
	for time.Now().Before(deadline) && ctx.Err() == nil {
		cycle++
		elapsed := o.soakDuration - time.Until(deadline)
		s.mutate()
		removeFaults := s.injectFaults()
		if !expired && elapsed >= secretExpiredAt {
			// The partner app's secret expires mid-run; the next engine starts without cached
			// tokens, so every token request meets AADSTS7000222 until the MSP rotates it.
			srv.ExpireSecret(s.creds.ClientID)
			expired = true
			s.scenario["expired secret"]++
			if err := s.restart(ctx); err != nil {
				return err
			}
		}
		if expired && !restored && elapsed >= secretRestoreAt {
			// The MSP rotates the secret: the daemon is restarted with the new credentials.
			s.creds = srv.RegisterApp(testserver.App{DisplayName: "tenantsync partner app (rotated)", MultiTenant: true})
			restored = true
			s.scenario["secret restored"]++
			if err := s.restart(ctx); err != nil {
				return err
			}
		}
		s.setCycle(cycle)
		kill := s.rng.IntN(3) == 0 && o.soakKills
		// Every tenant is due again; the PSA's faults are set after the clock moved, so their
		// periods and its hourly quota run within the cycle.
		s.clock.Advance(2 * time.Hour)
		removePSAFaults := s.psa.inject(s.rng)
		err := s.runCycle(ctx, kill)
		removePSAFaults()
		if err != nil {
			return err
		}
		removeFaults()
		s.observe(ctx)
		if kill || (o.soakKills && s.rng.IntN(4) == 0) {
			if err := s.restart(ctx); err != nil {
				return err
			}
		}
	}

	// Convergence: no more faults or changes; every tenant must reach the truth. The PSA keeps
	// its rules: poison users stay refused, and the engine must say so.
	srv.ClearFaults()
	s.psa.settle()
	if !restored {
		s.creds = srv.RegisterApp(testserver.App{DisplayName: "tenantsync partner app (rotated)", MultiTenant: true})
	}
	if err := s.restart(ctx); err != nil {
		return err
	}
	converged := false
	// A user whose writes failed waits 1, 2, 4 then 8 hours between attempts: ten rounds of two
	// hours see every retry through.
	for round := 0; round < 10 && !converged; round++ {
		s.setCycle(1000 + round)
		s.clock.Advance(2 * time.Hour)
		if err := s.runCycle(ctx, false); err != nil {
			return err
		}
		s.observe(ctx)
		converged = s.healthy(ctx)
	}
	s.check(converged, "not every tenant synced successfully after the faults stopped")
	if o.sabotage {
		s.sabotage(ctx)
	}
	s.verifyTruth(ctx)
	fig := s.verifyPSA(ctx)
	s.stop()

	faults := srv.FaultCounts()
	var fparts []string
	total := 0
	for _, k := range slices.Sorted(mapKeys(faults)) {
		fparts = append(fparts, fmt.Sprintf("%s %d", k, faults[k]))
		total += faults[k]
	}
	psaFaults := s.psa.dir.counts()
	for _, k := range slices.Sorted(mapKeys(psaFaults)) {
		fparts = append(fparts, fmt.Sprintf("%s %d", k, psaFaults[k]))
		total += psaFaults[k]
	}
	for _, k := range slices.Sorted(mapKeys(s.scenario)) {
		fparts = append(fparts, fmt.Sprintf("%s %d", k, s.scenario[k]))
		total += s.scenario[k]
	}
	bs := s.budget.Stats()
	fmt.Fprintf(out, "engine: %d cycles, %d tenant syncs (%d failed or partial while faults ran), %d kills, events %v\n",
		cycle, s.syncs, s.syncErrs, s.kills, s.events)
	fmt.Fprintf(out, "sync failures by kind: %v\n", s.failures)
	fmt.Fprintf(out, "requests: %d attempts, %d retries; retry budget: %d paid, %d refused, %d of %d left\n",
		s.attempts.Load(), s.retries.Load(), bs.Retries, bs.Refused, bs.Available, bs.Capacity)
	s.psaSummary(fig)
	status := "PASS"
	if s.violated > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(out, "soak %s: %d tenants (%d Graph, %d CIPP), %d faults injected (%s), %d invariants checked, %d violated, %s\n",
		status, len(s.ids), len(s.graphIDs), len(s.cippIDs), total, strings.Join(fparts, ", "), s.checks, s.violated, secs(time.Since(started)))
	for _, v := range s.violations {
		fmt.Fprintln(out, "  violation:", v)
	}
	if s.violated > len(s.violations) {
		fmt.Fprintf(out, "  (%d more violations not shown)\n", s.violated-len(s.violations))
	}
	if s.violated > 0 {
		return errors.New("soak: invariants violated")
	}
	return nil
}

// splitRoutes makes the last n tenants of the World CIPP's and the others Graph's alone, so the
// engine reaches each tenant through one route and every check covers both.
func splitRoutes(w *testserver.World, n int) (graphIDs, cippIDs []string) {
	n = min(max(n, 0), len(w.Tenants))
	for i, t := range w.Tenants {
		t.InCIPP = i >= len(w.Tenants)-n
		if t.InCIPP {
			cippIDs = append(cippIDs, t.ID)
		} else {
			graphIDs = append(graphIDs, t.ID)
		}
	}
	return graphIDs, cippIDs
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// start builds fresh clients (no cached tokens) and a fresh engine on the same store.
func (s *soak) start() error {
	e := endpointsOf(s.srv, s.ids)
	e.ClientID, e.Secret = s.creds.ClientID, s.creds.Secret
	hc, err := e.httpClient()
	if err != nil {
		return err
	}
	onAttempt := func(a transport.Attempt) {
		s.attempts.Add(1)
		if a.Retry {
			s.retries.Add(1)
		}
	}
	var sources []tenantsync.Source
	if len(s.graphIDs) > 0 {
		var ts []tenantsync.Tenant
		for _, id := range s.graphIDs {
			ts = append(ts, tenantsync.Tenant{ID: id})
		}
		g, err := graph.NewClient(graph.Config{
			PartnerTenantID: e.PartnerTenant,
			ClientID:        e.ClientID,
			ClientSecret:    tenantsync.NewSecret(e.Secret),
			BaseURL:         e.GraphURL,
			AuthorityHost:   e.EntraURL,
			Settings: transport.Settings{
				HTTPClient:    hc,
				Budget:        s.budget,
				Limits:        transport.NewLimits(transport.GraphRules(hostOf(e.GraphURL))...),
				MaxRetryAfter: 10 * time.Second,
				Observer:      onAttempt,
			},
		})
		if err != nil {
			return err
		}
		src, err := graph.NewSource(g, graph.SourceConfig{Tenants: ts})
		if err != nil {
			return err
		}
		sources = append(sources, src)
	}
	if len(s.cippIDs) > 0 {
		c, err := newCIPPClient(e, hc, s.budget, onAttempt)
		if err != nil {
			return err
		}
		src, err := cipp.NewSource(c, cipp.SourceConfig{})
		if err != nil {
			return err
		}
		sources = append(sources, src)
	}
	// UpdateContacts: a changed address is written to the contact, where the PSA's
	// duplicate-email rule can refuse it.
	s.eng, err = sync.New(sync.Config{Store: s.st, Account: account, Sources: sources, Contacts: s.psa.dir,
		Clock: s.clock, AutoCreate: true, UpdateContacts: true, Limits: sync.Limits{Concurrency: 6, LeaseTTL: time.Minute,
			PSACallsPerSecond: soakPSACallsPerSecond, PSABurst: soakPSABurst, PSACallsPerSync: soakPSACallsPerSync,
			PSACallTimeout: soakPSACallTimeout, PSABackoff: soakPSABackoff, PSAMaxBackoff: soakPSAMaxBackoff},
		Sink: sync.SinkFunc(s.event)})
	return err
}

func (s *soak) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.eng.Close(ctx)
	addCounters(&s.counters, s.eng.Counters())
}

func (s *soak) restart(ctx context.Context) error {
	s.stop()
	return s.start()
}

// event checks every contact deactivation against the truth when it happens: the World does
// not change while syncs run, so the user must be disabled or removed right now.
func (s *soak) event(_ context.Context, ev sync.Event) {
	s.mu.Lock()
	s.events[ev.Type]++
	failed := ev.Type == sync.EventSyncFailed || ev.Type == sync.EventKindUnavailable
	if failed || ev.Type == sync.EventCycleFailed {
		s.failures[ev.ErrClass]++
	}
	s.mu.Unlock()
	if failed {
		// The store refuses what is not data (an item without identity): a route that hands
		// it over, say a placeholder row decoded as a user, costs the tenant its whole sync.
		s.check(ev.ErrClass != tenantsync.ClassName(tenantsync.ErrInvalidInput),
			"sync of %s failed with invalid input: a route handed the engine something that is not data", ev.TenantID)
	}
	if ev.UserID != "" {
		s.note(ev.TenantID, ev.UserID, "event %s contact %s %s", ev.Type, ev.ContactID, ev.Message)
	}
	if ev.Type != sync.EventContactDeactivated {
		return
	}
	enabled, exists := s.truthUser(ev.TenantID, ev.UserID)
	s.check(!exists || !enabled, "contact %s deactivated although user %s of tenant %s is enabled", ev.ContactID, ev.UserID, ev.TenantID)
}

// truthUser reads a user of the World. The World changes only between cycles, on this goroutine.
func (s *soak) truthUser(tenantID, userID string) (enabled, exists bool) {
	t := s.w.Tenant(tenantID)
	if t == nil {
		return false, false
	}
	u := t.User(userID)
	if u == nil || u.Deleted {
		return false, false
	}
	return u.AccountEnabled, true
}

// mutate changes about 2% of the users: disables, enables, edits, deletes and adds.
func (s *soak) mutate() {
	for _, t := range s.w.Tenants {
		live := t.ActiveUsers()
		for range max(1, len(live)/50) {
			if s.rng.IntN(3) != 0 || len(live) < 3 {
				continue
			}
			u := live[s.rng.IntN(len(live))]
			if s.psa.isPoison(t.ID, u.ID) {
				// The poison users stay as they are: the checks expect their refusals.
				continue
			}
			var err error
			switch s.rng.IntN(8) {
			case 0:
				err = s.w.UpdateUser(t.ID, u.ID, func(u *testserver.User) { u.AccountEnabled = !u.AccountEnabled })
				s.note(t.ID, u.ID, "truth enabled -> %v", u.AccountEnabled)
			case 1, 2:
				err = s.w.UpdateUser(t.ID, u.ID, func(u *testserver.User) { u.JobTitle = fmt.Sprintf("Title %d", s.rng.IntN(1000)) })
				s.note(t.ID, u.ID, "truth title -> %q", u.JobTitle)
			case 3:
				err = s.w.DeleteUser(t.ID, u.ID)
				s.note(t.ID, u.ID, "truth deleted")
			case 4:
				err = s.srv.GraphPurgeUser(t.ID, u.ID)
				s.note(t.ID, u.ID, "truth purged")
			case 5:
				// Newcomers, some cloud-only with nothing but their onmicrosoft.com address:
				// their contacts carry no email, only the user's identity.
				for range 1 + s.rng.IntN(3) {
					n := s.rng.IntN(1e9)
					domain := t.DefaultDomain
					if s.rng.IntN(2) == 0 {
						domain = t.InitialDomain
					}
					upn := fmt.Sprintf("soak.%d@%s", n, domain)
					var added *testserver.User
					if added, err = s.w.AddUser(t.ID, testserver.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Soak %d", n),
						GivenName: "Soak", Surname: fmt.Sprint(n), Mail: upn, ProxyAddresses: []string{"SMTP:" + upn},
						AccountEnabled: true, UserType: "Member", MailboxType: "UserMailbox"}); err != nil {
						break
					}
					s.note(t.ID, added.ID, "truth added %s", upn)
				}
			case 6:
				err = s.reuseAddress(t, u)
			case 7:
				err = s.takeOverAddress(t, u)
			}
			if err != nil {
				s.fail("changing the truth: %v", err)
			}
			s.scenario["user changes"]++
		}
	}
}

// injectFaults adds this cycle's faults and returns the function that removes them.
func (s *soak) injectFaults() func() {
	var removes []func()
	add := func(f testserver.Fault) { removes = append(removes, s.srv.InjectFault(f)) }
	add(testserver.Fault{Service: testserver.ServiceGraph, Kind: testserver.ServerError, Rate: 0.03})
	add(testserver.Fault{Service: testserver.ServiceGraph, Kind: testserver.Drop, Rate: 0.02})
	add(testserver.Fault{Service: testserver.ServiceGraph, Kind: testserver.Truncate, Rate: 0.02})
	add(testserver.Fault{Service: testserver.ServiceEntra, Kind: testserver.ServerError, Rate: 0.02})
	if s.rng.IntN(2) == 0 {
		// A 429 storm: most Graph requests for a few seconds, with and without Retry-After.
		ra := []string{"1", "", "0.5"}[s.rng.IntN(3)]
		add(testserver.Fault{Service: testserver.ServiceGraph, Kind: testserver.Throttle, Rate: 0.6, RetryAfter: ra,
			Until: time.Now().Add(time.Duration(1+s.rng.IntN(3)) * time.Second)})
		s.scenario["429 storms"]++
	}
	for range 3 {
		t := s.ids[s.rng.IntN(len(s.ids))]
		switch s.rng.IntN(3) {
		case 0:
			s.srv.GraphExpireDeltaTokens(t)
			s.scenario["expired delta tokens"]++
		case 1:
			s.srv.GraphRolePropagation(t, time.Duration(1+s.rng.IntN(4))*time.Second)
			s.scenario["role propagation 403s"]++
		case 2:
			s.srv.GraphThrottle(t, "/users", 1+s.rng.IntN(3), "1")
			s.scenario["throttled batch items"]++
		}
	}
	if len(s.cippIDs) > 0 {
		removes = append(removes, s.injectCIPPFaults(add))
	}
	return func() {
		for _, r := range removes {
			r()
		}
	}
}

// cippEndpoints are the CIPP endpoints a sync reads.
var cippEndpoints = []string{"/api/ListUsers", "/api/ListMailboxes", "/api/ListDevices", "/api/ListDomains",
	"/api/ListLicenses", "/api/ListMFAUsers", "/api/ListConditionalAccessPolicies", "/api/ListGraphRequest"}

// injectCIPPFaults adds this cycle's faults on the CIPP route: CIPP failing, CIPP answering
// something other than data ("not ready" placeholders, plain-text 403s, 200s whose Results say
// "Failed"), CIPP failing inside one tenant, and one tenant dropped from CIPP's tenant list
// while the client still holds it in its cache. It returns what undoes the tenant changes.
func (s *soak) injectCIPPFaults(add func(testserver.Fault)) func() {
	add(testserver.Fault{Service: testserver.ServiceCIPP, Kind: testserver.ServerError, Rate: 0.02})
	add(testserver.Fault{Service: testserver.ServiceCIPP, Kind: testserver.Drop, Rate: 0.01})
	add(testserver.Fault{Service: testserver.ServiceCIPP, Kind: testserver.Truncate, Rate: 0.01})
	endpoint := func() string { return cippEndpoints[s.rng.IntN(len(cippEndpoints))] }
	add(testserver.Fault{Service: testserver.ServiceCIPP, Path: endpoint(), Kind: testserver.CIPPNotReady, Rate: 0.3})
	add(testserver.Fault{Service: testserver.ServiceCIPP, Path: endpoint(), Kind: testserver.CIPPForbidden, Rate: 0.1})
	add(testserver.Fault{Service: testserver.ServiceCIPP, Path: endpoint(), Kind: testserver.CIPPResultsFailed, Rate: 0.1})

	var undo []func()
	if s.rng.IntN(3) == 0 {
		t := s.cippIDs[s.rng.IntN(len(s.cippIDs))]
		msg := []string{testserver.CIPPErrConsent, testserver.CIPPErrPermissions, testserver.CIPPErrTokenExpired}[s.rng.IntN(3)]
		s.srv.FailCIPPTenant(t, msg)
		undo = append(undo, func() { s.srv.FailCIPPTenant(t, "") })
		s.scenario["CIPP failing inside a tenant"]++
	}
	// runCycle syncs this tenant first, while the client's cached tenant list still holds it.
	s.dropped = s.cippIDs[s.rng.IntN(len(s.cippIDs))]
	s.srv.DropCIPPTenant(s.dropped, true)
	s.scenario["tenants dropped from CIPP's list while cached"]++
	undo = append(undo, func() {
		s.srv.DropCIPPTenant(s.dropped, false)
		s.dropped = ""
	})
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// runCycle syncs the tenants the clock made due through RunOnce, with a few sync-now calls
// alongside; with kill, the engine's context is cancelled at a random moment.
func (s *soak) runCycle(ctx context.Context, kill bool) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if kill {
		s.kills++
		s.killCycles = append(s.killCycles, s.cycle)
		go func() {
			select {
			case <-time.After(time.Duration(50+s.rng.IntN(1500)) * time.Millisecond):
				cancel()
			case <-cctx.Done():
			}
		}()
	}
	if s.dropped != "" {
		// Before discovery reloads CIPP's tenant list: the client still holds the tenant CIPP
		// dropped, and CIPP answers [] about it.
		rep, err := s.eng.SyncNow(cctx, s.dropped)
		s.count(rep, err)
	}
	var wg stdsync.WaitGroup
	for range 2 {
		t := s.ids[s.rng.IntN(len(s.ids))]
		wg.Go(func() {
			rep, err := s.eng.SyncNow(cctx, t)
			s.count(rep, err)
		})
	}
	for cctx.Err() == nil {
		reps, err := s.eng.RunOnce(cctx)
		for _, r := range reps {
			s.count(r, nil)
		}
		if err != nil && cctx.Err() == nil && !strings.Contains(err.Error(), "discover") {
			s.count(nil, err)
		}
		if len(reps) == 0 {
			break
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

func (s *soak) count(rep *sync.Report, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep != nil {
		s.syncs++
		if rep.Err != nil || rep.Partial() {
			s.syncErrs++
		}
	} else if err != nil {
		s.syncErrs++
	}
}

// observe checks, after a cycle, that no user left a mirror unless the truth removed it, that
// nothing entered a mirror that the truth does not hold (an answer that was not data taken for
// data), likewise for every other listed kind, and that no contact ever seen has disappeared.
func (s *soak) observe(ctx context.Context) {
	for _, id := range s.ids {
		kr, err := s.st.Account(account).Mirror.ReadKind(ctx, id, tenantsync.KindUsers)
		if err != nil {
			s.fail("reading the users mirror of %s: %v", id, err)
			continue
		}
		now := map[string]bool{}
		for _, u := range kr.Users {
			now[u.ObjectID] = true
			if !s.mirror[id][u.ObjectID] {
				_, exists := s.truthUser(id, u.ObjectID)
				s.check(exists, "user %q entered the mirror of %s but the truth has no such user", u.ObjectID, id)
			}
		}
		for uid := range s.mirror[id] {
			if !now[uid] {
				_, exists := s.truthUser(id, uid)
				s.check(!exists, "user %s left the mirror of %s although it exists in the truth (false removal)", uid, id)
			}
		}
		s.mirror[id] = now
		s.observeKinds(ctx, id)
	}
	have := map[string]map[string]bool{}
	for _, c := range s.psa.fake.All() {
		if have[c.ClientID] == nil {
			have[c.ClientID] = map[string]bool{}
		}
		have[c.ClientID][c.ID] = true
	}
	for i := range s.ids {
		client := clientID(i)
		if s.contacts[client] == nil {
			s.contacts[client] = map[string]bool{}
		}
		for cid := range s.contacts[client] {
			s.check(have[client][cid], "contact %s of %s was deleted", cid, client)
		}
		for cid := range have[client] {
			s.contacts[client][cid] = true
		}
	}
	s.observePSA(ctx)
}

// listedKinds are the kinds besides users whose mirrors the soak checks item by item.
var listedKinds = []tenantsync.Kind{tenantsync.KindMailboxes, tenantsync.KindDevices, tenantsync.KindDomains,
	tenantsync.KindSubscriptions, tenantsync.KindMFA}

// truthIDs returns the identities the truth holds for a kind of a tenant, lower-cased as both
// routes key them.
func truthIDs(t *testserver.Tenant, k tenantsync.Kind) map[string]bool {
	ids := map[string]bool{}
	switch k {
	case tenantsync.KindMFA:
		for _, u := range t.ActiveUsers() {
			ids[strings.ToLower(u.ID)] = true
		}
	case tenantsync.KindMailboxes:
		for _, u := range t.Mailboxes() {
			ids[strings.ToLower(u.ID)] = true
		}
	case tenantsync.KindDevices:
		for _, d := range t.Devices {
			ids[strings.ToLower(d.ID)] = true
		}
	case tenantsync.KindDomains:
		for _, d := range t.Domains {
			ids[strings.ToLower(d.Name)] = true
		}
	case tenantsync.KindSubscriptions:
		for _, k := range t.SKUs {
			ids[strings.ToLower(k.ID)] = true
		}
	}
	return ids
}

// mirroredIDs returns the identities of a kind's mirror, lower-cased.
func (s *soak) mirroredIDs(ctx context.Context, tenantID string, k tenantsync.Kind) (map[string]bool, error) {
	kr, err := s.st.Account(account).Mirror.ReadKind(ctx, tenantID, k)
	if err != nil {
		return nil, err
	}
	kr.Kind = k
	ids := map[string]bool{}
	for _, id := range kr.IDs() {
		ids[strings.ToLower(id)] = true
	}
	return ids, nil
}

// observeKinds checks the other listed kinds of a tenant as observe checks its users.
func (s *soak) observeKinds(ctx context.Context, tenantID string) {
	t := s.w.Tenant(tenantID)
	if s.kinds[tenantID] == nil {
		s.kinds[tenantID] = map[tenantsync.Kind]map[string]bool{}
	}
	for _, k := range listedKinds {
		now, err := s.mirroredIDs(ctx, tenantID, k)
		if err != nil {
			s.fail("reading the %s mirror of %s: %v", k, tenantID, err)
			continue
		}
		truth, before := truthIDs(t, k), s.kinds[tenantID][k]
		for item := range now {
			if !before[item] {
				s.check(truth[item], "%s %q entered the mirror of %s but the truth has no such item", k, item, tenantID)
			}
		}
		for item := range before {
			if !now[item] {
				s.check(!truth[item], "%s %s left the mirror of %s although it exists in the truth (false removal)", k, item, tenantID)
			}
		}
		s.kinds[tenantID][k] = now
	}
}

// healthy reports whether every tenant has settled: its last sync succeeded with every kind,
// and what is left of its PSA work waits for a person (settled).
func (s *soak) healthy(ctx context.Context) bool {
	sts, err := s.eng.Statuses(ctx)
	if err != nil {
		return false
	}
	for _, st := range sts {
		if st.Tenant.Linked() && !s.settled(st) {
			return false
		}
	}
	return true
}

// verifyTruth compares every mirror and contact with the World, and verifies the audit chain.
func (s *soak) verifyTruth(ctx context.Context) {
	for i, t := range s.w.Tenants {
		kr, err := s.st.Account(account).Mirror.ReadKind(ctx, t.ID, tenantsync.KindUsers)
		if err != nil {
			s.fail("reading %s: %v", t.ID, err)
			continue
		}
		mirrored := map[string]tenantsync.User{}
		for _, u := range kr.Users {
			mirrored[u.ObjectID] = u
		}
		live := t.ActiveUsers()
		s.check(len(mirrored) == len(live), "tenant %s: %d users mirrored, %d in the truth", t.ID, len(mirrored), len(live))
		for _, u := range live {
			m, ok := mirrored[u.ID]
			s.check(ok, "tenant %s: user %s missing from the mirror", t.ID, u.ID)
			if ok {
				s.check(m.AccountEnabled == u.AccountEnabled && m.JobTitle == u.JobTitle,
					"tenant %s: user %s differs from the truth (enabled %v/%v, title %q/%q)", t.ID, u.ID, m.AccountEnabled, u.AccountEnabled, m.JobTitle, u.JobTitle)
			}
		}
		for _, k := range listedKinds {
			got, err := s.mirroredIDs(ctx, t.ID, k)
			if err != nil {
				s.fail("reading the %s mirror of %s: %v", k, t.ID, err)
				continue
			}
			truth := truthIDs(t, k)
			for item := range got {
				s.check(truth[item], "tenant %s: %s %q is mirrored but not in the truth", t.ID, k, item)
			}
			if k != tenantsync.KindMFA && k != tenantsync.KindMailboxes {
				// Devices, domains and SKUs never change in the soak: each route lists them all.
				s.check(len(got) == len(truth), "tenant %s: %d %s mirrored, %d in the truth", t.ID, len(got), k, len(truth))
			}
		}
		links, err := s.st.Account(account).Links.List(ctx, t.ID)
		if err != nil {
			s.fail("links of %s: %v", t.ID, err)
			continue
		}
		client := clientID(i)
		for _, l := range links {
			c, ok := s.psa.fake.Get(l.ContactID)
			if !ok || c.ClientID != client {
				s.fail("contact %s linked to %s/%s is not in the PSA's client %s", l.ContactID, t.ID, l.ObjectID, client)
				continue
			}
			enabled, exists := s.truthUser(t.ID, l.ObjectID)
			want := exists && enabled
			s.check(c.Active == want, "contact %s of user %s/%s: active %v, truth says enabled %v exists %v", c.ID, t.ID, l.ObjectID, c.Active, enabled, exists)
			if c.Active != want {
				s.diagnose(links, l, c, mirrored)
			}
		}
	}
	rep, err := s.st.Account(account).Audit.Verify(ctx, nil)
	if err != nil {
		s.fail("verifying the audit chain: %v", err)
	} else {
		s.check(rep.OK() && rep.Entries > 0, "audit chain: %+v", rep)
	}
	bs := s.budget.Stats()
	s.check(s.retries.Load() <= bs.Retries, "%d retries sent but the budget paid for %d", s.retries.Load(), bs.Retries)
	s.check(bs.Available >= 0 && bs.Available <= bs.Capacity, "budget out of range: %+v", bs)
}

// diagnose prints what the store and the soak know about a contact that disagrees with its
// user: the link, any other link to the contact, the mirrored user, and the user's history.
func (s *soak) diagnose(links []store.ContactLink, l store.ContactLink, c tenantsync.Contact, mirrored map[string]tenantsync.User) {
	fmt.Fprintf(s.out, "diagnose: link %+v (kills in cycles %v, convergence from c1000)\n", l, s.killCycles)
	fmt.Fprintf(s.out, "diagnose: contact %s active %v identity %s/%s email %s\n", c.ID, c.Active, c.TenantID, c.ObjectID, c.Email)
	for _, o := range links {
		if o.ContactID == l.ContactID && o.ObjectID != l.ObjectID {
			fmt.Fprintf(s.out, "diagnose: contact also linked by %+v\n", o)
		}
	}
	if m, ok := mirrored[l.ObjectID]; ok {
		fmt.Fprintf(s.out, "diagnose: mirrored user enabled %v upn %s\n", m.AccountEnabled, m.UserPrincipalName)
	} else {
		fmt.Fprintln(s.out, "diagnose: user not mirrored")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.history[l.TenantID+"/"+l.ObjectID] {
		fmt.Fprintln(s.out, "diagnose:  ", h)
	}
}

var _ store.Store = (*sqlite.Store)(nil)

// sabotage deactivates the contact of one enabled user behind the engine's back, to show that
// the checks catch a wrong deactivation (the run must then fail).
func (s *soak) sabotage(ctx context.Context) {
	for i, t := range s.w.Tenants {
		links, err := s.st.Account(account).Links.List(ctx, t.ID)
		if err != nil {
			continue
		}
		for _, l := range links {
			if enabled, exists := s.truthUser(t.ID, l.ObjectID); exists && enabled {
				_ = s.psa.fake.SetContactActive(ctx, clientID(i), l.ContactID, false)
				fmt.Fprintf(s.out, "sabotage: deactivated contact %s of enabled user %s/%s\n", l.ContactID, t.ID, l.ObjectID)
				return
			}
		}
	}
}
