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

	eng      *sync.Engine
	attempts atomic.Int64
	retries  atomic.Int64

	// contacts ever seen, by client, so a deleted one is noticed.
	contacts map[string]map[string]bool
	mirror   map[string]map[string]bool // user IDs mirrored per tenant after the last cycle

	mu         stdsync.Mutex
	violations []string
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
		budget: transport.NewBudget(0), creds: srv.PartnerApp(), ids: tenantIDs(w),
		contacts: map[string]map[string]bool{}, mirror: map[string]map[string]bool{},
		scenario: map[string]int{}, events: map[sync.EventType]int{}, failures: map[string]int{}}
	s.st, err = sqlite.Open(ctx, filepath.Join(dir, "soak.db"), benchKeys(), sqlite.WithClock(s.clock.Now))
	if err != nil {
		return err
	}
	defer s.st.Close()
	fmt.Fprintf(out, "soak: %s, SQLite store, faults for %s, seed %d\n", p, o.soakDuration, o.seed)

	if err := s.start(); err != nil {
		return err
	}
	if _, err := s.eng.Discover(ctx); err != nil {
		return err
	}
	var reqs []sync.LinkRequest
	for i, id := range s.ids {
		reqs = append(reqs, sync.LinkRequest{TenantID: id, ClientID: fmt.Sprintf("client-%03d", i)})
	}
	for _, r := range s.eng.LinkMany(ctx, "soak", reqs) {
		if r.Err != nil {
			return r.Err
		}
	}
	if err := s.eng.Wait(ctx); err != nil {
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
		if err := s.runCycle(ctx, kill); err != nil {
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

	// Convergence: no more faults or changes; every tenant must reach the truth.
	srv.ClearFaults()
	if !restored {
		s.creds = srv.RegisterApp(testserver.App{DisplayName: "tenantsync partner app (rotated)", MultiTenant: true})
	}
	if err := s.restart(ctx); err != nil {
		return err
	}
	converged := false
	for round := 0; round < 6 && !converged; round++ {
		s.setCycle(1000 + round)
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
	s.stop()

	faults := srv.FaultCounts()
	var fparts []string
	total := 0
	for _, k := range slices.Sorted(mapKeys(faults)) {
		fparts = append(fparts, fmt.Sprintf("%s %d", k, faults[k]))
		total += faults[k]
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
	status := "PASS"
	if len(s.violations) > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(out, "soak %s: %d tenants, %d faults injected (%s), %d invariants checked, %d violated, %s\n",
		status, len(s.ids), total, strings.Join(fparts, ", "), s.checks, len(s.violations), secs(time.Since(started)))
	for _, v := range s.violations {
		fmt.Fprintln(out, "  violation:", v)
	}
	if len(s.violations) > 0 {
		return errors.New("soak: invariants violated")
	}
	return nil
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
	var ts []tenantsync.Tenant
	for _, id := range s.ids {
		ts = append(ts, tenantsync.Tenant{ID: id})
	}
	g, err := graph.NewClient(graph.Config{
		PartnerTenantID: e.PartnerTenant, ClientID: e.ClientID, ClientSecret: tenantsync.NewSecret(e.Secret),
		BaseURL: e.GraphURL, AuthorityHost: e.EntraURL, HTTPClient: hc,
		Budget: s.budget, Limits: transport.NewLimits(transport.GraphRules(hostOf(e.GraphURL))...),
		Tenants: ts, MaxRetryAfter: 10 * time.Second,
	}, graph.WithOnAttempt(func(a transport.Attempt) {
		s.attempts.Add(1)
		if a.Retry {
			s.retries.Add(1)
		}
	}))
	if err != nil {
		return err
	}
	s.eng, err = sync.New(sync.Config{Store: s.st, Account: account, Sources: []tenantsync.Source{graph.NewSource(g)},
		Clock: s.clock, AutoCreate: true, Limits: sync.Limits{Concurrency: 6, LeaseTTL: time.Minute},
		Sink: sync.SinkFunc(s.event)})
	return err
}

func (s *soak) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.eng.Close(ctx)
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
	if ev.Type == sync.EventSyncFailed {
		s.failures[ev.ErrKind]++
	}
	s.mu.Unlock()
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
			var err error
			switch s.rng.IntN(6) {
			case 0:
				err = s.w.UpdateUser(t.ID, u.ID, func(u *testserver.User) { u.AccountEnabled = !u.AccountEnabled })
				s.note(t.ID, u.ID, "truth enabled -> %v", u.AccountEnabled)
			case 1, 2:
				err = s.w.UpdateUser(t.ID, u.ID, func(u *testserver.User) { u.JobTitle = fmt.Sprintf("Title %d", s.rng.IntN(1000)) })
				s.note(t.ID, u.ID, "truth title -> %q", u.JobTitle)
			case 3:
				err = s.w.DeleteUser(t.ID, u.ID)
			case 4:
				err = s.srv.GraphPurgeUser(t.ID, u.ID)
			case 5:
				n := s.rng.IntN(1e9)
				upn := fmt.Sprintf("soak.%d@%s", n, t.DefaultDomain)
				_, err = s.w.AddUser(t.ID, testserver.User{UserPrincipalName: upn, DisplayName: fmt.Sprintf("Soak %d", n),
					GivenName: "Soak", Surname: fmt.Sprint(n), Mail: upn, ProxyAddresses: []string{"SMTP:" + upn},
					AccountEnabled: true, UserType: "Member", MailboxType: "UserMailbox"})
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
	return func() {
		for _, r := range removes {
			r()
		}
	}
}

// runCycle makes every tenant due and syncs them through RunOnce, with a few sync-now calls
// alongside; with kill, the engine's context is cancelled at a random moment.
func (s *soak) runCycle(ctx context.Context, kill bool) error {
	s.clock.Advance(2 * time.Hour)
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

// observe checks, after a cycle, that no user left a mirror unless the truth removed it, and
// that no contact ever seen has disappeared.
func (s *soak) observe(ctx context.Context) {
	for _, id := range s.ids {
		kr, err := s.st.ReadKind(ctx, account, id, tenantsync.KindUsers)
		if err != nil {
			s.fail("reading the users mirror of %s: %v", id, err)
			continue
		}
		now := map[string]bool{}
		for _, u := range kr.Users {
			now[u.ObjectID] = true
		}
		for uid := range s.mirror[id] {
			if !now[uid] {
				_, exists := s.truthUser(id, uid)
				s.check(!exists, "user %s left the mirror of %s although it exists in the truth (false removal)", uid, id)
			}
		}
		s.mirror[id] = now
	}
	for i := range s.ids {
		client := fmt.Sprintf("client-%03d", i)
		cs, err := s.st.ListContacts(ctx, account, client)
		if err != nil {
			s.fail("listing contacts of %s: %v", client, err)
			continue
		}
		have := map[string]bool{}
		for _, c := range cs {
			have[c.ID] = true
		}
		if s.contacts[client] == nil {
			s.contacts[client] = map[string]bool{}
		}
		for cid := range s.contacts[client] {
			s.check(have[cid], "contact %s of %s was deleted", cid, client)
		}
		for cid := range have {
			s.contacts[client][cid] = true
		}
	}
}

// healthy reports whether every tenant's last sync succeeded with every kind.
func (s *soak) healthy(ctx context.Context) bool {
	sts, err := s.eng.Statuses(ctx)
	if err != nil {
		return false
	}
	for _, st := range sts {
		if st.Tenant.Linked() && !st.Healthy() {
			return false
		}
	}
	return true
}

// verifyTruth compares every mirror and contact with the World, and verifies the audit chain.
func (s *soak) verifyTruth(ctx context.Context) {
	for i, t := range s.w.Tenants {
		kr, err := s.st.ReadKind(ctx, account, t.ID, tenantsync.KindUsers)
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
		links, err := s.st.ListContactLinks(ctx, account, t.ID)
		if err != nil {
			s.fail("links of %s: %v", t.ID, err)
			continue
		}
		client := fmt.Sprintf("client-%03d", i)
		for _, l := range links {
			c, err := s.st.GetContact(ctx, account, client, l.ContactID)
			if err != nil {
				s.fail("contact %s linked to %s/%s: %v", l.ContactID, t.ID, l.ObjectID, err)
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
	rep, err := s.st.VerifyAudit(ctx, account, nil)
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
		links, err := s.st.ListContactLinks(ctx, account, t.ID)
		if err != nil {
			continue
		}
		for _, l := range links {
			if enabled, exists := s.truthUser(t.ID, l.ObjectID); exists && enabled {
				_ = s.st.SetContactActive(ctx, account, fmt.Sprintf("client-%03d", i), l.ContactID, false)
				fmt.Fprintf(s.out, "sabotage: deactivated contact %s of enabled user %s/%s\n", l.ContactID, t.ID, l.ObjectID)
				return
			}
		}
	}
}
