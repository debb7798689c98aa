// Command syncd is the tenantsync evaluation daemon: it keeps an MSP's Microsoft 365 tenants in
// sync with a PSA's clients and contacts and serves a JSON API on localhost, with a web console
// at / that a person logs in to with the same API token.
//
// With no flags it runs against fake CIPP, Graph, Partner Center and Entra ID services started
// in-process with about 25 demo tenants (one with more than 10,000 users), stores everything in
// an SQLite file in a data directory it creates, links the tenants to demo clients, shows the
// initial sync's progress and then keeps the adaptive schedule:
//
//	go run ./examples/syncd
//
// Run it with -help for the flags and environment variables that point it at real services.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/entra"
	"github.com/tenantsync/tenantsync/graph"
	// Chinese names are compared by their pinyin, names in kanji by the sound of their reading.
	_ "github.com/tenantsync/tenantsync/match/hanzi"
	_ "github.com/tenantsync/tenantsync/match/kanji"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
	"github.com/tenantsync/tenantsync/transport"
	"github.com/tenantsync/tenantsync/workflow"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "syncd: configuration:\n%s\n\nRun syncd -help for every setting.\n", indent(err.Error()))
		os.Exit(2)
	}
	if cfg.ShowVersion {
		fmt.Println(versionLine())
		return
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "syncd:", err)
		if hint := tenantsync.HintOf(err); hint != "" && !strings.Contains(err.Error(), hint) {
			fmt.Fprintln(os.Stderr, "What to do:", hint)
		}
		os.Exit(1)
	}
}

// versionLine is what -version prints: the daemon's tenantsync version and the Go it was built
// with.
func versionLine() string {
	return fmt.Sprintf("syncd (tenantsync) %s, %s", tenantsync.Version, runtime.Version())
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// daemon is everything run wires together.
type daemon struct {
	cfg      config
	out      io.Writer
	log      *slog.Logger
	store    daemonStore
	fake     *tenantsynctest.Server
	engine   *sync.Engine
	metrics  *metrics
	state    *stateMetrics
	progress *progress
	creds    *credentials
	sources  []tenantsync.Source
	writers  map[string]tenantsync.Writer
	// wfRoutes and workflows run the onboarding, offboarding and profile workflows.
	wfRoutes  map[string]workflow.Route
	workflows *workflow.Runner
	pc        *partnercenter.Client
	graph     *graph.Client

	// partnerAuth is the partner admin's authorization pc runs on; the connect page replaces
	// it while the daemon runs.
	partnerAuth *partnerAuth

	initialDone chan struct{}
	initialOnce gosync.Once
	webhook     *webhook // nil without -webhook-url

	readyMu    gosync.Mutex
	readyAt    time.Time
	readyCache map[string]partnercenter.TenantReadiness

	lock *os.File // holds the data directory's lock until close

	// quietDiscovery, while set, keeps the event handler from logging discovery failures: the
	// startup retry loop logs the first one and the recovery itself. quietUntil (Unix
	// nanoseconds) is when that loop ended: events are handled after they are emitted, so a
	// failure the loop saw may reach the handler once it has ended, and is quiet still.
	quietDiscovery atomic.Bool
	quietUntil     atomic.Int64
	// discoveryRetry is the first wait of that loop (tests shorten it).
	discoveryRetry time.Duration
}

// hooks change what tests need and users do not: the engine's event buffer, a sink placed
// in front of the daemon's event handler, and the sync-now cooldown.
type hooks struct {
	eventBuffer int
	sink        func(sync.Sink) sync.Sink
	cooldown    time.Duration
}

// HTTP server limits. A request's headers and body must arrive promptly; an answer may take a
// minute (a GDAP readiness check on a cold cache). No answer waits for a sync: sync-now answers
// 202 with the run to follow.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = time.Minute
	idleTimeout       = 2 * time.Minute
)

func run(ctx context.Context, cfg config, out io.Writer) error {
	// The API's port is taken before anything else starts: a port in use fails at once, and the
	// demo's fake services, on ports the system picks, can never take it first.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (another syncd running? pick another -listen)", cfg.Listen, err)
	}
	d, err := newDaemon(ctx, cfg, out, hooks{})
	if err != nil {
		ln.Close()
		return err
	}
	defer d.close()

	a, err := d.api(ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	con, err := newConsole(a)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           con.handler(d.connectRoutes(a, a.routes())),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
	}
	fmt.Fprintf(out, "API: http://%s (GET /api/tenants, /api/clients, /api/suggestions, /api/reviews, /api/audit, /metrics; every endpoint in /openapi.json)\n", ln.Addr())
	fmt.Fprintf(out, "console: http://%s/ (log in with the API token)\n", ln.Addr())
	fmt.Fprintf(out, "API token: %s (send Authorization: Bearer <its contents>; every path but /healthz and /openapi.json needs it)\n", d.creds.tokenFile)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	webhookDone := make(chan struct{})
	webhookCtx, stopWebhook := context.WithCancel(ctx)
	go func() {
		defer close(webhookDone)
		if d.webhook != nil {
			fmt.Fprintf(out, "webhooks: the change feed goes to %s (GET /api/webhooks/deliveries)\n", cfg.WebhookURL)
			d.webhook.run(webhookCtx)
		}
	}()
	defer func() { stopWebhook(); <-webhookDone }()

	runErr := d.sync(ctx)

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err := d.engine.Close(shutdownCtx); err != nil {
		d.log.Warn("engine close", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(out, "stopped: leases released, store closed; a restart resumes from the stored cursors")
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}

// newDaemon prepares the data directory, the keys and tokens, the store, the services (the
// fakes in demo mode) and the engine. It starts no sync.
func newDaemon(ctx context.Context, cfg config, out io.Writer, h hooks) (_ *daemon, err error) {
	d := &daemon{cfg: cfg, out: out, metrics: newMetrics(), initialDone: make(chan struct{})}
	d.state = newStateMetrics(d.metrics)
	d.log = slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	terminal := !cfg.NoProgress && isTerminal(os.Stdout) && out == io.Writer(os.Stdout)
	d.progress = newProgress(out, terminal, store.Time(time.Now()))
	defer func() {
		if err != nil {
			d.close()
		}
	}()

	dir, err := prepareDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if d.lock, err = lockDataDir(dir); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "data directory: %s\n", dir)
	keys, err := loadKeys(cfg.KeyFile, filepath.Join(dir, "secret.key"))
	if err != nil {
		return nil, err
	}
	if d.creds, err = loadCredentials(filepath.Join(dir, tokenFileName), cfg, out); err != nil {
		return nil, err
	}
	if !cfg.Postgres.IsZero() {
		pg, err := postgres.Open(ctx, cfg.Postgres.Reveal(), postgres.Config{Keys: keys, ChangeRetention: cfg.ChangeRetention})
		if err != nil {
			return nil, err
		}
		d.store = pg
		fmt.Fprintln(out, "store: PostgreSQL")
	} else {
		path := filepath.Join(dir, "tenantsync.db")
		sq, err := sqlite.Open(ctx, path, sqlite.Config{Keys: keys, ChangeRetention: cfg.ChangeRetention})
		if err != nil {
			return nil, err
		}
		d.store = sq
		fmt.Fprintf(out, "store: SQLite %s\n", path)
	}

	if cfg.Demo {
		if err := d.startDemo(ctx); err != nil {
			return nil, err
		}
	}
	if err := d.connect(ctx); err != nil {
		return nil, err
	}

	sink := sync.Sink(sync.SinkFunc(d.event))
	if h.sink != nil {
		sink = h.sink(sink)
	}
	d.engine, err = sync.New(sync.Config{
		Store:      d.store,
		Account:    cfg.Account,
		Sources:    d.sources,
		Writers:    d.writers,
		Authorizer: cfg.permissions(),
		Sink:       sink,
		Limits: sync.Limits{Concurrency: cfg.Concurrency, EventBuffer: h.eventBuffer,
			PSACallsPerSecond: cfg.PSACallsPerSecond, PSACallsPerSync: cfg.PSACallsPerSync, MaxCreatesPerSync: cfg.MaxCreatesPerSync},
		Cadence:       sync.Cadence{Quiet: cfg.Quiet, Active: cfg.Active, Cooldown: h.cooldown},
		WritesEnabled: cfg.WritesEnabled,
		DryRun:        cfg.DryRun,
		AutoCreate:    cfg.AutoCreate,
		// The store's asset directory stands in for the PSA's configuration items.
		Assets:           store.AssetsFor(d.store.AssetDirectory(cfg.Account)),
		AutoCreateAssets: cfg.Assets,
		// Unlinked tenants' users, when asked for, are mirrored for a person to look at.
		SyncUnlinkedUsers: cfg.SyncUnlinkedUsers,
	})
	if err != nil {
		return nil, err
	}
	sts, err := d.engine.Statuses(ctx)
	if err != nil {
		return nil, err
	}
	d.state.prime(sts)
	// Workflows follow the writes' rules; in dry-run mode they can be planned but not run.
	d.workflows, err = workflow.New(workflow.Config{Account: d.store.Account(cfg.Account), Routes: d.wfRoutes,
		Authorizer: cfg.permissions(), WritesEnabled: cfg.WritesEnabled && !cfg.DryRun, ProfileWriteBack: cfg.ProfileWriteBack})
	if err != nil {
		return nil, err
	}
	if cfg.WebhookURL != "" {
		d.webhook = newWebhook(cfg.WebhookURL, cfg.WebhookSecret, cfg.Account, d.store.Account(cfg.Account).Feed, dir, d.log)
	}
	return d, nil
}

// close stops the engine and closes the fakes and the store. run has stopped the engine with
// its shutdown deadline by then; a second Close is harmless.
func (d *daemon) close() {
	if d.engine != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = d.engine.Close(ctx)
		cancel()
	}
	if d.fake != nil {
		d.fake.Close()
	}
	if d.store != nil {
		d.store.Close()
	}
	if d.lock != nil {
		d.lock.Close() // closing the file releases the lock
		d.lock = nil
	}
}

// api builds the API served on addr.
func (d *daemon) api(addr net.Addr) (*api, error) {
	hosts, err := newHostPolicy(d.cfg.Listen, addr)
	if err != nil {
		return nil, err
	}
	return &api{
		account: d.cfg.Account, engine: d.engine, store: d.store, metrics: d.metrics, readiness: d.readiness, log: d.log,
		refresh: d.refreshMetrics, initialDone: d.initialDone, workflows: d.workflows,
		hosts: hosts, creds: d.creds, failures: newFailureLimiter(), runs: newSyncRuns(), deliverer: d.webhook,
		healthLog: rate.NewLimiter(rate.Every(time.Minute), 1),
	}, nil
}

// refreshMetrics brings the state-derived metrics up to date.
func (d *daemon) refreshMetrics(ctx context.Context) {
	if sts, err := d.engine.Statuses(ctx); err == nil {
		d.state.observe(sts, d.engine.DroppedEvents())
	}
}

// sync discovers tenants, links the ones a suggestion settles, shows the initial sync and
// then keeps the schedule until ctx ends.
func (d *daemon) sync(ctx context.Context) error {
	rep, err := d.discoverAtStart(ctx)
	if err != nil {
		return err
	}
	for _, s := range rep.Sources {
		d.log.Info("discovery", "source", s.Source, "tenants", s.Seen, "err", errString(s.Err))
	}
	results, err := d.engine.LinkSuggested(ctx, "syncd", nil)
	if err != nil {
		return err
	}
	linked := 0
	for _, r := range results {
		if r.Err != nil {
			d.log.Warn("link", "tenant", r.TenantID, "client", r.ClientID, "err", r.Err)
			continue
		}
		linked++
	}
	sts, err := d.engine.Statuses(ctx)
	if err != nil {
		return err
	}
	var initial []string
	pending := 0
	for _, s := range sts {
		switch {
		case s.Tenant.Linked() && s.Tenant.Syncing:
			// Tenants never synced, and those whose sync this run already started.
			if s.State.LastSuccess.IsZero() || !s.State.LastStart.Before(d.progress.since) {
				initial = append(initial, s.Tenant.ID)
			}
		case !s.Tenant.Linked() && s.Tenant.Status != store.TenantVanished:
			pending++
		}
	}
	fmt.Fprintf(d.out, "tenants: %d discovered, %d linked now from suggestions, %d waiting for a person (GET /api/suggestions)\n", len(sts), linked, pending)
	d.progress.waitFor(initial)

	runDone := make(chan error, 1)
	go func() { runDone <- d.engine.Run(ctx) }()
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); d.watch(ctx) }()
	err = <-runDone
	<-watchDone
	return err
}

// Discovery at start is retried with a backoff from discoveryRetryMin (doubling) to
// discoveryRetryMax.
const (
	discoveryRetryMin = 5 * time.Second
	discoveryRetryMax = 2 * time.Minute
)

// discoverAtStart runs the first discovery. A failure (CIPP down, a partner secret expired,
// Partner Center throttling) is not fatal: the API serves meanwhile, the failure is logged once
// with what to do, and discovery is retried with a backoff until it works or ctx ends. Only
// ctx ending returns an error.
func (d *daemon) discoverAtStart(ctx context.Context) (sync.DiscoveryReport, error) {
	wait := d.discoveryRetry
	if wait <= 0 {
		wait = discoveryRetryMin
	}
	d.quietDiscovery.Store(true)
	defer func() {
		d.quietUntil.Store(time.Now().UnixNano())
		d.quietDiscovery.Store(false)
	}()
	for attempt := 1; ; attempt++ {
		rep, err := d.engine.Discover(ctx)
		if err == nil {
			if attempt > 1 {
				d.log.Info("discovery succeeded", "attempt", attempt)
			}
			return rep, nil
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if attempt == 1 {
			d.log.Warn("discovery failed at start; retrying until it works (the API is up meanwhile)",
				"err", err, "hint", tenantsync.HintOf(err), "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return rep, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, discoveryRetryMax)
	}
}

// Polling intervals of the tenants' status: often while the initial sync's progress is shown,
// then for the metrics only.
const (
	progressInterval = 500 * time.Millisecond
	metricsInterval  = 10 * time.Second
)

// watch reads the tenants' status until ctx ends: it shows the initial sync's progress, marks
// it done when every tenant it waits for has finished, and keeps the metrics current.
func (d *daemon) watch(ctx context.Context) {
	defer d.initialSyncDone(nil)
	t := time.NewTimer(0)
	defer t.Stop()
	interval := progressInterval
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if sts, err := d.engine.Statuses(ctx); err == nil {
			d.state.observe(sts, d.engine.DroppedEvents())
			if !d.progress.done() && d.progress.update(sts) == 0 {
				d.initialSyncDone(sts)
				interval = metricsInterval
			}
		}
		t.Reset(interval)
	}
}

// initialSyncDone ends the progress display and tells /healthz, once.
func (d *daemon) initialSyncDone(sts []sync.TenantStatus) {
	d.initialOnce.Do(func() {
		d.progress.finish(sts)
		close(d.initialDone)
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// event logs what the engine reports. Events are best effort (the engine drops them when this
// falls behind), so nothing here feeds the progress line or the metrics: those read the stored
// status. It must return quickly.
func (d *daemon) event(_ context.Context, ev sync.Event) {
	switch ev.Type {
	case sync.EventCycleFailed:
		// Discovery or claiming the due tenants failed: nothing was synced this cycle.
		d.log.Warn("sync cycle failed", "err", ev.Error, "hint", ev.Hint)
	case sync.EventKindUnavailable:
		// One kind was unavailable; the others were stored and sync.finished follows.
		d.log.Warn("kind unavailable", "tenant", d.tenantName(ev.TenantID), "kind", ev.Kind, "err", ev.Error, "hint", ev.Hint)
	case sync.EventSyncFailed:
		if d.progress.done() {
			// During the initial sync the progress lines say it.
			d.log.Warn("sync failed", "tenant", d.tenantName(ev.TenantID), "err", ev.Error, "hint", ev.Hint)
		}
	case sync.EventAuditFailed:
		d.log.Error("audit entry lost", "tenant", ev.TenantID, "actor", ev.Actor, "what", ev.Message, "err", ev.Error, "hint", ev.Hint)
	case sync.EventDiscoveryFailed:
		if !d.quietDiscovery.Load() && ev.At.UnixNano() > d.quietUntil.Load() {
			d.log.Warn("discovery failed", "err", ev.Error, "hint", ev.Hint)
		}
	case sync.EventWriteDone, sync.EventWriteFailed, sync.EventWriteRefused:
		d.log.Info("write", "event", ev.Type, "actor", ev.Actor, "action", ev.Action, "tenant", ev.TenantID, "route", ev.Route, "err", ev.Error)
	}
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (d *daemon) tenantName(id string) string {
	if d.engine != nil {
		if s, err := d.engine.Status(context.Background(), id); err == nil && s.Tenant.DisplayName != "" {
			return s.Tenant.DisplayName
		}
	}
	return id
}

// onAttempt counts round trips and throttles for /metrics.
func (d *daemon) onAttempt(a transport.Attempt) {
	d.metrics.add("tenantsync_round_trips_total", 1, "service", a.Service)
	if a.Status == http.StatusTooManyRequests {
		d.metrics.add("tenantsync_throttled_total", 1, "service", a.Service)
	}
}

// readiness returns the GDAP readiness rows per tenant, recomputed at most every five minutes.
func (d *daemon) readiness(ctx context.Context) map[string]partnercenter.TenantReadiness {
	if d.pc == nil || d.graph == nil || !d.partnerAuth.connected() {
		return nil
	}
	d.readyMu.Lock()
	defer d.readyMu.Unlock()
	if d.readyCache != nil && time.Since(d.readyAt) < 5*time.Minute {
		return d.readyCache
	}
	rows, err := d.pc.Readiness(ctx, &partnercenter.Checker{Prober: d.graph}, 4)
	if err != nil {
		d.log.Warn("readiness", "err", err)
		return d.readyCache
	}
	m := make(map[string]partnercenter.TenantReadiness, len(rows))
	for _, r := range rows {
		m[r.TenantID] = r
	}
	d.readyCache, d.readyAt = m, time.Now()
	return m
}

// startDemo starts the fake services with the demo partner and seeds the PSA's clients. The
// fakes are tenantsynctest's, the package a PSA developer starts in their own tests.
func (d *daemon) startDemo(ctx context.Context) error {
	srv, err := tenantsynctest.NewServer(tenantsynctest.ServerOptions{Seed: d.cfg.DemoSeed, Tenants: d.cfg.DemoTenants,
		Sizes: demoSizes(d.cfg.DemoHugeUsers, d.cfg.DemoTenants)})
	if err != nil {
		return err
	}
	d.fake = srv
	cippCreds, partner := srv.CIPPCredentials(), srv.PartnerApp()
	d.cfg.CIPP = cippConfig{URL: srv.CIPPURL(), TenantID: cippCreds.TenantID, ClientID: cippCreds.ClientID, Secret: cippCreds.Secret}
	d.cfg.Partner = partnerConfig{TenantID: partner.TenantID, ClientID: partner.ClientID, Secret: partner.Secret,
		RefreshToken: srv.PartnerRefreshToken()}
	fmt.Fprintf(d.out, "demo: fake services started (CIPP %s, Graph %s, Partner Center %s), %d tenants\n",
		srv.CIPPURL(), srv.GraphURL(), srv.PartnerCenterURL(), len(srv.Tenants()))
	n, err := seedDemoPSA(ctx, d.store, d.cfg.Account, srv)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(d.out, "demo: created %d PSA clients with their existing contacts\n", n)
	}
	return nil
}

// connect validates the configured credentials, stores them sealed, and builds the sources and
// writers: CIPP first (preferred for the tenants it manages), Graph through GDAP for the rest.
func (d *daemon) connect(ctx context.Context) error {
	d.writers = map[string]tenantsync.Writer{}
	d.wfRoutes = map[string]workflow.Route{}
	budget := transport.NewBudget(1000)
	var hc *http.Client
	authority := ""
	if d.fake != nil {
		hc, authority = d.fake.HTTPClient(), d.fake.EntraURL()
	}
	if d.cfg.CIPP.set() {
		c, err := cipp.NewClient(cipp.Config{BaseURL: d.cfg.CIPP.URL, TenantID: d.cfg.CIPP.TenantID, ClientID: d.cfg.CIPP.ClientID,
			Secret: d.cfg.CIPP.Secret, AuthorityHost: authority,
			Settings: transport.Settings{HTTPClient: hc, Budget: budget, Observer: d.onAttempt}})
		if err != nil {
			return err
		}
		src, err := cipp.NewSource(c, cipp.SourceConfig{})
		if err != nil {
			return err
		}
		if err := d.saveConnection(ctx, "cipp", store.ConnectionCIPP, map[string]string{"url": d.cfg.CIPP.URL, "tenantId": d.cfg.CIPP.TenantID, "clientId": d.cfg.CIPP.ClientID}, d.cfg.CIPP.Secret); err != nil {
			return err
		}
		d.sources = append(d.sources, src)
		d.writers[sync.RouteCIPP] = cipp.NewWriter(c)
		d.wfRoutes[workflow.RouteCIPP] = workflow.CIPPRoute(c)
	}
	if d.cfg.Partner.set() {
		gcfg := graph.Config{
			PartnerTenantID: d.cfg.Partner.TenantID,
			ClientID:        d.cfg.Partner.ClientID,
			ClientSecret:    d.cfg.Partner.Secret,
			AuthorityHost:   authority,
			Settings: transport.Settings{
				HTTPClient: hc,
				Budget:     budget,
				Limits:     transport.NewLimits(transport.GraphRules()...),
				Observer:   d.onAttempt,
			},
		}
		var lister tenantsync.TenantLister
		if d.fake != nil {
			gcfg.BaseURL = d.fake.GraphURL()
			u, _ := url.Parse(gcfg.BaseURL)
			gcfg.Limits = transport.NewLimits(transport.GraphRules(u.Host)...)
		} else {
			cloud := d.cfg.Partner.Cloud
			gcfg.Cloud = cloud
			u, _ := url.Parse(cloud.GraphURL)
			gcfg.Limits = transport.NewLimits(transport.GraphRules(u.Host)...)
			for _, g := range cloud.Gaps() {
				fmt.Fprintf(d.out, "partner cloud %s: no %s: %s\n", cloud.Label, g.Service, g.Reason)
			}
		}
		// Partner Center discovery runs on the partner admin's authorization: the configured
		// or stored refresh token, or the one a person connects later through the connect page
		// (until then discovery through Partner Center says how to connect).
		pc, err := d.partnerCenter(ctx, hc, authority, budget)
		if err != nil {
			return err
		}
		d.pc = pc
		lister = pc.Discovery()
		g, err := graph.NewClient(gcfg)
		if err != nil {
			return err
		}
		src, err := graph.NewSource(g, graph.SourceConfig{TenantLister: lister})
		if err != nil {
			return err
		}
		d.graph = g
		if err := d.saveConnection(ctx, "partner-app", store.ConnectionGraph, map[string]string{"tenantId": d.cfg.Partner.TenantID, "clientId": d.cfg.Partner.ClientID}, d.cfg.Partner.Secret); err != nil {
			return err
		}
		d.sources = append(d.sources, src)
		d.writers[sync.RouteGraph] = graph.NewWriter(g)
		d.wfRoutes[workflow.RouteGraph] = workflow.GraphRoute(g)
	}
	return nil
}

// partnerCenter builds the Partner Center client on the partner admin's refresh token; every
// rotated refresh token is stored (sealed) at once, as the next redemption needs it.
func (d *daemon) partnerCenter(ctx context.Context, hc *http.Client, authority string, budget *transport.Budget) (*partnercenter.Client, error) {
	rotate := func(ctx context.Context, s tenantsync.Secret) error {
		// Only the token changes: who connected (signedInAs) stays.
		settings := map[string]string{}
		if conn, err := d.store.Account(d.cfg.Account).Connections.Get(ctx, "partner-refresh-token"); err == nil {
			_ = json.Unmarshal(conn.Config, &settings)
		}
		settings["tenantId"] = d.cfg.Partner.TenantID
		return d.saveConnection(ctx, "partner-refresh-token", store.ConnectionPartnerCenter, settings, s)
	}
	rt := d.cfg.Partner.RefreshToken
	if conn, err := d.store.Account(d.cfg.Account).Connections.Get(ctx, "partner-refresh-token"); err == nil && d.fake == nil {
		rt = conn.Secret
	}
	cloud, _ := entra.CloudByName(string(entra.CloudGlobal))
	if d.fake == nil {
		cloud = d.cfg.Partner.Cloud
		authority = cloud.AuthorityHost
	}
	entraConfig := func(scope string) entra.Config {
		return entra.Config{AuthorityHost: authority, TenantID: d.cfg.Partner.TenantID, ClientID: d.cfg.Partner.ClientID,
			Secret: d.cfg.Partner.Secret, Scope: scope, HTTPClient: hc, Service: "entra"}
	}
	// One refresh-token chain for both resources: every redemption rotates the token, so two
	// independent sources would each keep a token the other has already replaced.
	auth := &partnerAuth{store: rotate, newChain: func(rt tenantsync.Secret, rotate func(context.Context, tenantsync.Secret) error) (*entra.RefreshTokenSource, *entra.RefreshTokenSource, error) {
		pcTokens, err := entra.NewRefreshTokenSource(entraConfig(cloud.PartnerCenterScope()), rt, rotate)
		if err != nil {
			return nil, nil, err
		}
		graphTokens, err := pcTokens.ForScope(cloud.GraphScope())
		return pcTokens, graphTokens, err
	}}
	if !rt.IsZero() {
		if err := auth.set(rt); err != nil {
			return nil, err
		}
	}
	d.partnerAuth = auth
	pcfg := partnercenter.Config{PartnerTenantID: d.cfg.Partner.TenantID, PartnerCenterTokens: auth.source(false), GraphTokens: auth.source(true), Settings: transport.Settings{HTTPClient: hc, Budget: budget, Observer: d.onAttempt}}
	if d.fake != nil {
		pcfg.PartnerCenterURL, pcfg.GraphURL = d.fake.PartnerCenterURL(), d.fake.GraphURL()
	} else {
		pcfg.Cloud = cloud
	}
	return partnercenter.NewClient(pcfg)
}

func (d *daemon) saveConnection(ctx context.Context, name string, kind store.ConnectionKind, settings map[string]string, secret tenantsync.Secret) error {
	cfg, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	return d.store.Account(d.cfg.Account).Connections.Put(ctx, store.Connection{Name: name, Kind: kind, Config: cfg, Secret: secret})
}

// lockFileName is the lock one daemon holds on its data directory.
const lockFileName = "syncd.lock"

// lockDataDir takes an exclusive lock on the data directory's lock file, so a second daemon on
// the same directory stops at once with a message instead of sharing the SQLite file, the API
// token and the cursors with the first. The lock is flock(2)'s: the kernel releases it when the
// holder exits, however it exits, so a crashed daemon leaves no stale lock behind. The file
// holds the holder's PID, for the message.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the data directory's lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			holder = " (process " + strings.TrimSpace(string(b)) + ")"
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, tenantsync.Errorf(tenantsync.ErrConflict,
				"stop the other syncd, or give this one a data directory of its own with -data-dir",
				"another syncd is already running on the data directory %s%s", dir, holder)
		}
		return nil, fmt.Errorf("locking the data directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	}
	return f, nil
}

// prepareDataDir creates the data directory (mode 0700) or checks that an existing one is
// closed to other users, and returns its absolute path.
func prepareDataDir(path string) (string, error) {
	dir, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("creating the data directory: %w", err)
		}
	} else if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return dir, checkPrivateDir(dir)
}

// loadKeys reads the key that seals stored secrets, creating it (mode 0600) on first start.
// The key ID is derived from the key, so a new key file means a new ID and old secrets are
// re-sealed by rotation.
func loadKeys(file, def string) (*store.StaticKeys, error) {
	if file == "" {
		file = def
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := createPrivateFile(file, []byte(base64.StdEncoding.EncodeToString(key)+"\n")); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating the secret key: %w", err)
		}
	}
	if err := checkPrivateFile(file, "the secret key file"); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the secret key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		if raw := []byte(strings.TrimSpace(string(b))); len(raw) == 32 {
			key = raw
		} else {
			return nil, fmt.Errorf("the secret key in %s must be 32 bytes, raw or base64", file)
		}
	}
	sum := sha256.Sum256(key)
	id := "k-" + hex.EncodeToString(sum[:4])
	return store.NewStaticKeys(id, map[string][]byte{id: key})
}

// loadCredentials reads (or creates) the install's API token and the actors file, and checks
// that -writers names actors who hold a token. It prints where the token is, never the token.
func loadCredentials(tokenFile string, cfg config, out io.Writer) (*credentials, error) {
	token, created, err := loadAPIToken(tokenFile)
	if err != nil {
		return nil, err
	}
	var actors []actorToken
	if cfg.ActorsFile != "" {
		if actors, err = loadActors(cfg.ActorsFile); err != nil {
			return nil, err
		}
	}
	creds, err := newCredentials(tokenFile, token, actors)
	if err != nil {
		return nil, err
	}
	if err := creds.checkWriters(cfg.Writers); err != nil {
		return nil, err
	}
	if err := creds.checkWriters(cfg.Managers); err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(out, "created the API token %s (actor %s, mode 0600)\n", tokenFile, adminActor)
	}
	if cfg.ActorsFile != "" {
		fmt.Fprintf(out, "actors: %s (from %s)\n", strings.Join(creds.names(), ", "), cfg.ActorsFile)
	}
	return creds, nil
}

// permissionList is an Authorizer over fixed lists of actors: writers hold m365.write,
// managers m365.manage (every actor while managers is nil).
type permissionList struct {
	writers, managers []string
}

// permissions are the permissions -writers and -managers grant, for the engines and the
// daemon's own checks alike.
func (c config) permissions() permissionList {
	return permissionList{writers: c.Writers, managers: c.Managers}
}

func (p permissionList) Authorize(_ context.Context, actor, permission string) error {
	if actor == "" {
		return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "call the API with the acting person's token", "no actor given")
	}
	switch permission {
	case tenantsync.PermissionWrite:
		if slices.Contains(p.writers, actor) {
			return nil
		}
		return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "add the actor to -writers (the actors, named in -actors-file or admin, holding "+tenantsync.PermissionWrite+")", "%s does not hold %s", actor, permission)
	case tenantsync.PermissionManage:
		if p.managers == nil || slices.Contains(p.managers, actor) {
			return nil
		}
		return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "add the actor to -managers (the actors, named in -actors-file or admin, holding "+tenantsync.PermissionManage+")", "%s does not hold %s", actor, permission)
	}
	return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "the daemon grants only "+tenantsync.PermissionWrite+" and "+tenantsync.PermissionManage, "%s does not hold %s", actor, permission)
}

// daemonStore is what the daemon needs of its store: the engine's store and the default client
// list, contact directory and asset directory, which stand in for a PSA here. sqlite.Store and postgres.Store
// are both.
type daemonStore interface {
	store.Store
	store.DirectoryProvider
	store.AssetDirectoryProvider
}

// usePartnerAuthorization makes a newly connected partner authorization the one the daemon's
// Partner Center client uses from its next token, and forgets the readiness computed with the
// old one.
func (d *daemon) usePartnerAuthorization(rt tenantsync.Secret) error {
	if d.partnerAuth == nil {
		return nil
	}
	if err := d.partnerAuth.set(rt); err != nil {
		return err
	}
	d.readyMu.Lock()
	d.readyCache = nil
	d.readyMu.Unlock()
	return nil
}
