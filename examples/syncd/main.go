// Command syncd is the tenantsync evaluation daemon: it keeps an MSP's Microsoft 365 tenants in
// sync with a PSA's clients and contacts and serves a JSON API on localhost.
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
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/partnercenter"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
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
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "syncd:", err)
		if hint := tenantsync.HintOf(err); hint != "" && !strings.Contains(err.Error(), hint) {
			fmt.Fprintln(os.Stderr, "What to do:", hint)
		}
		os.Exit(1)
	}
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// daemon is everything run wires together.
type daemon struct {
	cfg      config
	out      io.Writer
	log      *slog.Logger
	store    store.Store
	fake     *testserver.Server
	engine   *sync.Engine
	metrics  *metrics
	progress *progress
	sources  []tenantsync.Source
	writers  map[string]tenantsync.Writer
	pc       *partnercenter.Client
	graph    *graph.Client

	initialDone chan struct{}

	readyMu    gosync.Mutex
	readyAt    time.Time
	readyCache map[string]partnercenter.TenantReadiness
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	d := &daemon{cfg: cfg, out: out, metrics: newMetrics(), initialDone: make(chan struct{})}
	d.log = slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))

	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	fmt.Fprintf(out, "data directory: %s\n", dir)

	keys, err := loadKeys(cfg.KeyFile, filepath.Join(dir, "secret.key"))
	if err != nil {
		return err
	}
	if cfg.Postgres != "" {
		pg, err := postgres.Open(ctx, cfg.Postgres, keys)
		if err != nil {
			return err
		}
		d.store = pg
		fmt.Fprintln(out, "store: PostgreSQL")
	} else {
		path := filepath.Join(dir, "tenantsync.db")
		sq, err := sqlite.Open(ctx, path, keys)
		if err != nil {
			return err
		}
		d.store = sq
		fmt.Fprintf(out, "store: SQLite %s\n", path)
	}
	defer d.store.Close()

	if cfg.Demo {
		if err := d.startDemo(ctx); err != nil {
			return err
		}
		defer d.fake.Close()
	}
	if err := d.connect(ctx); err != nil {
		return err
	}

	d.engine, err = sync.New(sync.Config{
		Store:         d.store,
		Account:       cfg.Account,
		Sources:       d.sources,
		Writers:       d.writers,
		Authorizer:    permissionList(cfg.Writers),
		Sink:          sync.SinkFunc(d.event),
		Limits:        sync.Limits{Concurrency: cfg.Concurrency},
		Cadence:       sync.Cadence{Quiet: cfg.Quiet, Active: cfg.Active},
		WritesEnabled: cfg.WritesEnabled,
		DryRun:        cfg.DryRun,
		AutoCreate:    cfg.AutoCreate,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (another syncd running? pick another -listen)", cfg.Listen, err)
	}
	a := &api{account: cfg.Account, engine: d.engine, store: d.store, metrics: d.metrics, readiness: d.readiness, log: d.log, initialDone: d.initialDone}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "API: http://%s (GET /api/tenants, /api/clients, /api/suggestions, /api/reviews, /api/audit, /metrics)\n", ln.Addr())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

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

// sync discovers tenants, links the ones a suggestion settles, shows the initial sync and
// then keeps the schedule until ctx ends.
func (d *daemon) sync(ctx context.Context) error {
	startedAt := time.Now()
	rep, err := d.engine.Discover(ctx)
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
	total, pending := 0, 0
	for _, s := range sts {
		switch {
		case s.Tenant.Linked() && s.Tenant.Syncing:
			// Tenants never synced, and those whose sync this run already started.
			if s.State.LastSuccess.IsZero() || !s.State.LastStart.Before(startedAt) {
				total++
			}
		case !s.Tenant.Linked() && s.Tenant.Status != store.TenantVanished:
			pending++
		}
	}
	fmt.Fprintf(d.out, "tenants: %d discovered, %d linked now from suggestions, %d waiting for a person (GET /api/suggestions)\n", len(sts), linked, pending)
	d.progress.setTotal(total)
	go d.progress.tick(ctx)

	runDone := make(chan error, 1)
	go func() { runDone <- d.engine.Run(ctx) }()
	waitErr := d.engine.Wait(ctx)
	if waitErr == nil {
		d.waitInitial(ctx, total)
	}
	d.progress.finish()
	close(d.initialDone)
	return <-runDone
}

// waitInitial waits until every tenant linked at start has synced once (the scheduler may
// pick up tenants linked in an earlier run rather than Link).
func (d *daemon) waitInitial(ctx context.Context, total int) {
	if total == 0 {
		return
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		sts, err := d.engine.Statuses(ctx)
		if err == nil {
			pending := 0
			for _, s := range sts {
				if s.Tenant.Linked() && s.Tenant.Syncing && s.State.LastFinish.IsZero() {
					pending++
				}
			}
			if pending == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// event turns engine events into progress, metrics and log lines. It must return quickly.
func (d *daemon) event(_ context.Context, ev sync.Event) {
	switch ev.Type {
	case sync.EventSyncStarted:
		d.progress.started(ev.TenantID)
	case sync.EventSyncProgress:
		if ev.Kind == tenantsync.KindUsers {
			d.progress.userCount(ev.TenantID, ev.Count)
		}
	case sync.EventSyncFinished:
		d.metrics.add("tenantsync_syncs_total", 1, "outcome", "ok")
		d.metrics.add("tenantsync_users_synced_total", float64(ev.Count))
		d.progress.finishedTenant(ev.TenantID, d.tenantName(ev.TenantID), ev.Count, nil)
	case sync.EventSyncFailed:
		d.metrics.add("tenantsync_sync_errors_total", 1, "kind", nonEmpty(ev.ErrKind, "unknown"))
		switch {
		case ev.TenantID == "":
			// Claiming the due tenants failed: nothing was synced this cycle.
			d.log.Warn("claiming due tenants failed", "err", ev.Error, "hint", ev.Hint)
		case ev.Kind != "":
			// One kind was unavailable; the others were stored and sync.finished follows.
			d.log.Warn("kind unavailable", "tenant", d.tenantName(ev.TenantID), "kind", ev.Kind, "err", ev.Error, "hint", ev.Hint)
		default:
			d.metrics.add("tenantsync_syncs_total", 1, "outcome", "failed")
			d.progress.finishedTenant(ev.TenantID, d.tenantName(ev.TenantID), ev.Count, errors.New(ev.Error))
		}
	case sync.EventDiscoveryFailed:
		d.metrics.add("tenantsync_sync_errors_total", 1, "kind", nonEmpty(ev.ErrKind, "unknown"))
		d.log.Warn("discovery failed", "err", ev.Error, "hint", ev.Hint)
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
	if d.pc == nil || d.graph == nil {
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

// startDemo starts the fake services with the demo partner and seeds the PSA's clients.
func (d *daemon) startDemo(ctx context.Context) error {
	srv, err := testserver.New(testserver.Options{Seed: d.cfg.DemoSeed, Tenants: d.cfg.DemoTenants, Sizes: demoSizes(d.cfg.DemoHugeUsers)})
	if err != nil {
		return err
	}
	d.fake = srv
	cippCreds, partner := srv.CIPPCredentials(), srv.PartnerApp()
	d.cfg.CIPP = cippConfig{URL: srv.CIPPURL(), TenantID: cippCreds.TenantID, ClientID: cippCreds.ClientID, Secret: cippCreds.Secret}
	d.cfg.Partner = partnerConfig{TenantID: partner.TenantID, ClientID: partner.ClientID, Secret: partner.Secret, RefreshToken: srv.PartnerRefreshToken()}
	fmt.Fprintf(d.out, "demo: fake services started (CIPP %s, Graph %s, Partner Center %s), %d tenants\n",
		srv.CIPPURL(), srv.GraphURL(), srv.PartnerCenterURL(), len(srv.World.Tenants))
	n, err := seedDemoPSA(ctx, d.store, d.cfg.Account, srv.World)
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
	terminal := !d.cfg.NoProgress && isTerminal(os.Stdout) && d.out == io.Writer(os.Stdout)
	d.progress = newProgress(d.out, terminal)
	d.writers = map[string]tenantsync.Writer{}
	budget := transport.NewBudget(1000)
	var hc *http.Client
	authority := ""
	if d.fake != nil {
		hc, authority = d.fake.HTTPClient(), d.fake.EntraURL()
	}
	if d.cfg.CIPP.set() {
		opts := []cipp.Option{cipp.WithBudget(budget), cipp.WithOnAttempt(d.onAttempt)}
		if hc != nil {
			opts = append(opts, cipp.WithHTTPClient(hc), cipp.WithAuthorityHost(authority))
		}
		c, err := cipp.NewClient(cipp.Config{BaseURL: d.cfg.CIPP.URL, TenantID: d.cfg.CIPP.TenantID, ClientID: d.cfg.CIPP.ClientID, Secret: tenantsync.NewSecret(d.cfg.CIPP.Secret)}, opts...)
		if err != nil {
			return err
		}
		if err := d.saveConnection(ctx, "cipp", store.ConnectionCIPP, map[string]string{"url": d.cfg.CIPP.URL, "tenantId": d.cfg.CIPP.TenantID, "clientId": d.cfg.CIPP.ClientID}, d.cfg.CIPP.Secret); err != nil {
			return err
		}
		d.sources = append(d.sources, cipp.NewSource(c))
		d.writers[sync.RouteCIPP] = cipp.NewWriter(c)
	}
	if d.cfg.Partner.set() {
		gcfg := graph.Config{
			PartnerTenantID: d.cfg.Partner.TenantID, ClientID: d.cfg.Partner.ClientID, ClientSecret: tenantsync.NewSecret(d.cfg.Partner.Secret),
			HTTPClient: hc, AuthorityHost: authority, Budget: budget, Limits: transport.NewLimits(transport.GraphRules()...),
		}
		if d.fake != nil {
			gcfg.BaseURL = d.fake.GraphURL()
			u, _ := url.Parse(gcfg.BaseURL)
			gcfg.Limits = transport.NewLimits(transport.GraphRules(u.Host)...)
		}
		if d.cfg.Partner.RefreshToken != "" {
			pc, err := d.partnerCenter(ctx, hc, authority, budget)
			if err != nil {
				return err
			}
			d.pc = pc
			gcfg.TenantLister = pc.Discovery().ListTenants
		}
		g, err := graph.NewClient(gcfg, graph.WithOnAttempt(d.onAttempt))
		if err != nil {
			return err
		}
		d.graph = g
		if err := d.saveConnection(ctx, "partner-app", store.ConnectionGraph, map[string]string{"tenantId": d.cfg.Partner.TenantID, "clientId": d.cfg.Partner.ClientID}, d.cfg.Partner.Secret); err != nil {
			return err
		}
		d.sources = append(d.sources, graph.NewSource(g))
		d.writers[sync.RouteGraph] = graph.NewWriter(g)
	}
	return nil
}

// partnerCenter builds the Partner Center client on the partner admin's refresh token; every
// rotated refresh token is stored (sealed) at once, as the next redemption needs it.
func (d *daemon) partnerCenter(ctx context.Context, hc *http.Client, authority string, budget *transport.Budget) (*partnercenter.Client, error) {
	rotate := func(ctx context.Context, s transport.Secret) error {
		return d.saveConnection(ctx, "partner-refresh-token", store.ConnectionPartnerCenter, map[string]string{"tenantId": d.cfg.Partner.TenantID}, s.Reveal())
	}
	rt := d.cfg.Partner.RefreshToken
	if conn, err := d.store.GetConnection(ctx, d.cfg.Account, "partner-refresh-token"); err == nil && d.fake == nil {
		rt = conn.Secret.Reveal()
	}
	entra := func(scope string) transport.EntraConfig {
		return transport.EntraConfig{AuthorityHost: authority, TenantID: d.cfg.Partner.TenantID, ClientID: d.cfg.Partner.ClientID,
			Secret: tenantsync.NewSecret(d.cfg.Partner.Secret), Scope: scope, HTTPClient: hc, Service: "entra"}
	}
	// One refresh-token chain for both resources: every redemption rotates the token, so two
	// independent sources would each keep a token the other has already replaced.
	pcTokens, err := transport.NewRefreshTokenSource(entra("https://api.partnercenter.microsoft.com/user_impersonation"), tenantsync.NewSecret(rt), rotate)
	if err != nil {
		return nil, err
	}
	graphTokens, err := pcTokens.ForScope("https://graph.microsoft.com/.default")
	if err != nil {
		return nil, err
	}
	pcfg := partnercenter.Config{PartnerTenantID: d.cfg.Partner.TenantID, PartnerCenterTokens: pcTokens, GraphTokens: graphTokens, HTTPClient: hc, Budget: budget}
	if d.fake != nil {
		pcfg.PartnerCenterURL, pcfg.GraphURL = d.fake.PartnerCenterURL(), d.fake.GraphURL()
	}
	return partnercenter.NewClient(pcfg, partnercenter.WithOnAttempt(d.onAttempt))
}

func (d *daemon) saveConnection(ctx context.Context, name string, kind store.ConnectionKind, settings map[string]string, secret string) error {
	cfg, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	return d.store.PutConnection(ctx, d.cfg.Account, store.Connection{Name: name, Kind: kind, Config: cfg, Secret: store.NewSecret(secret)})
}

// loadKeys reads the key that seals stored secrets, creating it (mode 0600) on first start.
// The key ID is derived from the key, so a new key file means a new ID and old secrets are
// re-sealed by rotation.
func loadKeys(file, def string) (*store.StaticKeys, error) {
	if file == "" {
		file = def
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && file == def {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("creating the secret key: %w", err)
		}
		b = []byte(base64.StdEncoding.EncodeToString(key))
	} else if err != nil {
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

// permissionList is an Authorizer over a fixed list of actors holding m365.write.
type permissionList []string

func (p permissionList) Authorize(_ context.Context, actor, permission string) error {
	if actor == "" {
		return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "send the acting person in the "+actorHeader+" header", "no actor given")
	}
	for _, a := range p {
		if a == actor && permission == tenantsync.PermissionWrite {
			return nil
		}
	}
	return tenantsync.Errorf(tenantsync.ErrPermissionDenied, "add the person to -writers (the list of actors holding "+tenantsync.PermissionWrite+")", "%s does not hold %s", actor, permission)
}
