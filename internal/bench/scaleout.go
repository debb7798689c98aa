package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/cipp"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store/postgres"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

// The scale-out figure (e): several engine processes share one PostgreSQL database and sync
// one partner; the tenant leases (FOR UPDATE SKIP LOCKED, with expiry) spread the work.

// scaleoutEnv names the child mode to a re-executed test binary, which cannot take -child.
const scaleoutEnv = "TENANTSYNC_BENCH_CHILD"

// scaleoutAgent is the User-Agent prefix of engine i's requests: the fake's spans tell the
// engines apart by it.
const scaleoutAgent = "tenantsync-bench-engine-"

// scaleoutConfig sizes the scale-out figure.
type scaleoutConfig struct {
	DSN         string
	Partner     partner
	Latency     time.Duration
	Concurrency int           // tenants each engine syncs at once
	LeaseTTL    time.Duration // sync.Limits.LeaseTTL of every engine
	Tick        time.Duration // sync.Cadence.Tick of every engine
	Engines     []int         // the engine counts measured, in order (1 first: the ratios' base)
	Kill        int           // engines of the run that kills one of them (0: no such run)
	// CPUs is the taskset list the engine processes run on (every online core, where the
	// harness pins itself), "" to leave them where the harness is.
	CPUs string
	// CPUProfile is a directory each engine process writes a CPU profile of its run into
	// (engine-<engines>-<name>.pprof), "" for none.
	CPUProfile string
}

// scaleoutInput is what an engine process gets on its first line of stdin.
type scaleoutInput struct {
	Endpoints   endpoints
	DSN, Schema string
	Name        string
	Concurrency int
	LeaseTTL    time.Duration
	Tick        time.Duration
	// Record is the file the engine appends each sync it ran to (syncRecord lines), for the
	// check that no tenant was synced by two engines at once.
	Record string
	// CPUProfile is the file the engine writes a CPU profile of its run to, "" for none.
	CPUProfile string
}

// childScaleoutEngine is one engine process of the scale-out figure: it opens the shared
// store, builds its engine, prints "ready", waits for "go", then runs the engine (Run: the
// tenant leases decide which tenants it syncs) until its stdin closes, and prints its CPU time.
func childScaleoutEngine(ctx context.Context) error {
	stdin := bufio.NewReaderSize(os.Stdin, 1<<20)
	line, err := stdin.ReadBytes('\n')
	if err != nil {
		return err
	}
	var in scaleoutInput
	if err := json.Unmarshal(line, &in); err != nil {
		return err
	}
	st, err := postgres.Open(ctx, withAppName(in.DSN, scaleoutAgent+in.Name), postgres.Config{Keys: benchKeys(), Schema: in.Schema, MaxConns: 4})
	if err != nil {
		return err
	}
	defer st.Close()
	e := in.Endpoints
	e.UserAgent = scaleoutAgent + in.Name
	hc, err := e.httpClient()
	if err != nil {
		return err
	}
	cl, err := newClients(e, hc, transport.NewBudget(0), graph.MailboxesPerUser)
	if err != nil {
		return err
	}
	record, err := os.OpenFile(in.Record, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer record.Close()
	eng, err := sync.New(sync.Config{Store: st, Account: account, Sources: []tenantsync.Source{cl.graphSrc},
		InstanceID: in.Name, Limits: sync.Limits{Concurrency: in.Concurrency, LeaseTTL: in.LeaseTTL},
		Cadence: sync.Cadence{Tick: in.Tick}, Tracer: &recordingTracer{engine: in.Name, w: record},
		Sink: sync.SinkFunc(func(_ context.Context, ev sync.Event) {
			switch ev.Type {
			case sync.EventCycleFailed, sync.EventDiscoveryFailed, sync.EventSyncFailed:
				// Failures show on the harness's stderr: a failed claim leaves an engine idle
				// until its next tick.
				fmt.Fprintf(os.Stderr, "engine %s: %s: %s\n", in.Name, ev.Type, ev.Message)
			}
		})})
	if err != nil {
		return err
	}
	var profile *os.File
	if in.CPUProfile != "" {
		if profile, err = os.Create(in.CPUProfile); err != nil {
			return err
		}
		defer profile.Close()
	}
	fmt.Println("ready")
	if l, err := stdin.ReadString('\n'); err != nil || strings.TrimSpace(l) != "go" {
		return fmt.Errorf("engine %s: expected go, got %q %v", in.Name, l, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	go func() {
		_, _ = io.Copy(io.Discard, stdin) // the harness closes stdin to stop the engine
		stop()
	}()
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return err
		}
	}
	cpu0 := cpuTime()
	_ = eng.Run(runCtx)
	if profile != nil {
		pprof.StopCPUProfile()
		if err := profile.Close(); err != nil {
			return err
		}
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = eng.Close(closeCtx)
	fmt.Printf("cpu %d\n", int64(cpuTime()-cpu0))
	return nil
}

// engineProc is a running engine process.
type engineProc struct {
	name  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	cpu   time.Duration
}

func startScaleoutEngine(ctx context.Context, in scaleoutInput, cpus string) (*engineProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", "scaleout-engine")
	if cpus != "" {
		// The harness is pinned to the engine's core; each engine process is a host of its
		// own in a deployment, so it runs on every core, as PostgreSQL does.
		cmd = exec.CommandContext(ctx, "taskset", "-c", cpus, self, "-child", "scaleout-engine")
	}
	cmd.Env = append(os.Environ(), scaleoutEnv+"=scaleout-engine")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &engineProc{name: in.Name, cmd: cmd, in: stdin, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	data, _ := json.Marshal(in)
	if _, err := fmt.Fprintf(stdin, "%s\n", data); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// await waits for a line starting with prefix and returns it.
func (p *engineProc) await(prefix string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("engine %s ended before %q: %v", p.name, prefix, p.cmd.Wait())
			}
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
		case <-t.C:
			return "", fmt.Errorf("engine %s: no %q within %s", p.name, prefix, timeout)
		}
	}
}

// stop closes the engine's stdin, which ends its Run, and collects its CPU time.
func (p *engineProc) stop() error {
	_ = p.in.Close()
	l, err := p.await("cpu ", time.Minute)
	if err != nil {
		p.kill()
		return err
	}
	n, _ := strconv.ParseInt(strings.TrimPrefix(l, "cpu "), 10, 64)
	p.cpu = time.Duration(n)
	return p.cmd.Wait()
}

func (p *engineProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// scaleoutRun is what one run of n engines measured.
type scaleoutRun struct {
	engines  int
	wall     time.Duration
	synced   int
	failed   int
	perMin   float64
	requests int
	// check is what the fake's record of requests and the engines' record of their syncs say
	// about the tenants two engines touched: hand-offs, and none synced by two at once.
	check concurrencyCheck
	cpu   time.Duration // the engines' CPU time together
	kill  *killOutcome
	// load is how busy the machine was and what PostgreSQL took; waits is what PostgreSQL's
	// sessions were doing, sampled.
	load, waits string
	// slots is the split of the syncs' slot time (see printSlots).
	slots string
}

// scaleoutSlots splits the committed syncs' slot time by whether one of their requests was in
// flight, from the fake's record of requests and the engines' record of syncs.
func scaleoutSlots(spans []testserver.RequestSpan, syncs []syncRecord, start time.Time, latency time.Duration) string {
	byTenant := map[string][]*slotSync{}
	var all []*slotSync
	for _, r := range syncs {
		if !r.OK {
			continue
		}
		s := &slotSync{start: r.Started, end: r.Finished}
		byTenant[r.Tenant] = append(byTenant[r.Tenant], s)
		all = append(all, s)
	}
	for _, sp := range spans {
		for _, s := range byTenant[sp.Tenant] {
			if !sp.Arrived.Before(s.start) && !sp.Done.After(s.end) {
				s.spans = append(s.spans, span{sp.Arrived, sp.Done})
			}
		}
	}
	var b strings.Builder
	printSlots(&b, all, start, latency)
	return b.String()
}

// killOutcome is what the kill run showed.
type killOutcome struct {
	victim       string
	at           time.Duration // after the start
	finishedThen int
	held         map[string]time.Time // tenant → lease expiry at the kill
	finished     int                  // of held, synced to success by the end
	byOthers     int                  // of held, whose requests after the kill came from other engines only
	beforeLapse  int                  // of held, another engine's request arriving before the lease expired (must be 0)
	firstTake    time.Duration        // first request of a survivor for a held tenant, after the kill
	lastTake     time.Duration
}

// runScaleout runs n engine processes against a fresh schema until every tenant has synced;
// with kill set it SIGKILLs the first engine once a third of the tenants has synced.
func runScaleout(ctx context.Context, cfg scaleoutConfig, f fake, ids []string, n int, kill bool) (*scaleoutRun, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := fmt.Sprintf("tenantsync_scaleout_%d_%s", n, hex.EncodeToString(b[:]))
	defer dropSchema(cfg.DSN, schema)
	st, err := postgres.Open(ctx, cfg.DSN, postgres.Config{Keys: benchKeys(), Schema: schema, MaxConns: 4})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	acct := st.Account(account)
	// The partner as the daemon leaves it after discovery and linking, without a sync: every
	// tenant is due.
	ts := make([]tenantsync.Tenant, len(ids))
	for i, id := range ids {
		ts[i] = tenantsync.Tenant{ID: id, Source: "graph"}
	}
	now := time.Now()
	if _, err := acct.Tenants.RecordDiscovery(ctx, "graph", ts, now); err != nil {
		return nil, err
	}
	dir := st.Directory(account)
	for i, id := range ids {
		c := fmt.Sprintf("client-%04d", i)
		if err := dir.PutClient(ctx, tenantsync.Client{ID: c, Name: "Client " + id}); err != nil {
			return nil, err
		}
		if err := acct.Tenants.Link(ctx, id, c, now); err != nil {
			return nil, err
		}
	}
	if err := f.reset(); err != nil {
		return nil, err
	}
	recordDir, err := os.MkdirTemp("", "tenantsync-scaleout-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(recordDir)
	records := make([]string, n)
	procs := make([]*engineProc, n)
	defer func() {
		for _, p := range procs {
			if p != nil && p.cmd.ProcessState == nil {
				p.kill()
			}
		}
	}()
	for i := range procs {
		records[i] = filepath.Join(recordDir, fmt.Sprintf("engine-%d.jsonl", i+1))
		in := scaleoutInput{Endpoints: f.endpoints(ids), DSN: cfg.DSN, Schema: schema,
			Name: strconv.Itoa(i + 1), Concurrency: cfg.Concurrency, LeaseTTL: cfg.LeaseTTL, Tick: cfg.Tick, Record: records[i]}
		if cfg.CPUProfile != "" && !kill {
			if err := os.MkdirAll(cfg.CPUProfile, 0o755); err != nil {
				return nil, err
			}
			in.CPUProfile = filepath.Join(cfg.CPUProfile, fmt.Sprintf("engine-%d-%d.pprof", n, i+1))
		}
		procs[i], err = startScaleoutEngine(ctx, in, cfg.CPUs)
		if err != nil {
			return nil, err
		}
	}
	for _, p := range procs {
		if _, err := p.await("ready", 2*time.Minute); err != nil {
			return nil, err
		}
	}
	run := &scaleoutRun{engines: n}
	cpu0 := sampleCPU()
	waits := startWaitSampler(ctx, cfg.DSN, 200*time.Millisecond)
	defer waits.stop()
	start := time.Now()
	for _, p := range procs {
		if _, err := fmt.Fprintln(p.in, "go"); err != nil {
			return nil, err
		}
	}
	killAt := len(ids) / 3
	poll := progressPoll
	if kill {
		poll = killPoll
	}
	deadline := start.Add(20 * time.Minute)
	pc, err := pgx.Connect(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	defer pc.Close(context.Background())
	for {
		done, err := finishedCount(ctx, pc, schema)
		if err != nil {
			return nil, err
		}
		if kill && run.kill == nil && done >= killAt {
			// Killed while it holds leases, so the run shows them taken over.
			victim := procs[0]
			held, err := leasesOf(ctx, cfg.DSN, schema, victim.name)
			if err != nil {
				return nil, err
			}
			if len(held) > 0 {
				victim.kill()
				k := &killOutcome{victim: victim.name, at: time.Since(start), finishedThen: done}
				// A statement the victim sent before it died (a lease release's COMMIT) may
				// still be in its server session's input: the leases it held are read once its
				// sessions are gone, or a release committed after the read would count as a
				// lease taken over early.
				if err := awaitSessionsGone(ctx, cfg.DSN, scaleoutAgent+victim.name); err != nil {
					return nil, err
				}
				if k.held, err = leasesOf(ctx, cfg.DSN, schema, victim.name); err != nil {
					return nil, err
				}
				run.kill = k
			}
		}
		if done >= len(ids) {
			wall := time.Since(start)
			synced, failed, err := syncProgress(ctx, st)
			if err != nil {
				return nil, err
			}
			if synced+failed >= len(ids) {
				run.wall, run.synced, run.failed = wall, synced, failed
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d engines: %d of %d tenants had finished a sync after %s", n, done, len(ids), time.Since(start).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
	cpu1 := sampleCPU()
	run.waits = waits.finish()
	for _, p := range procs {
		if p.cmd.ProcessState != nil {
			continue // the victim
		}
		if err := p.stop(); err != nil {
			return nil, err
		}
		run.cpu += p.cpu
	}
	run.load = loadLine(cpu0, cpu1, run.wall, run.cpu)
	spans, err := f.spans()
	if err != nil {
		return nil, err
	}
	run.requests = len(spans)
	syncs, err := readSyncRecords(records...)
	if err != nil {
		return nil, err
	}
	// The poll sees the end up to progressPoll late: the rate counts to the last sync's end as
	// the engines recorded it.
	if last := lastFinish(syncs); last.After(start) && last.Sub(start) < run.wall {
		run.wall = last.Sub(start)
	}
	run.perMin = float64(run.synced) / run.wall.Minutes()
	run.check = checkConcurrency(spans, syncs, start)
	run.slots = scaleoutSlots(spans, syncs, start, cfg.Latency)
	if run.kill != nil {
		if err := checkTakeover(ctx, st, run.kill, spans, start); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// progressPoll is how often the harness reads the engines' progress from the store (a count
// of the tenants whose sync finished; the states themselves are read once, at the end, as their
// decoding costs the CPU the engines share on a small machine): the poll only decides when the
// run is over (and when to kill an engine), and the rate's end is taken from the engines' own
// record of their syncs.
const progressPoll = 500 * time.Millisecond

// killPoll is how often the kill run reads the progress: it must kill its engine while that
// engine still holds leases, a third of the way in.
const killPoll = 100 * time.Millisecond

// lastFinish returns when the last committed sync of syncs ended.
func lastFinish(syncs []syncRecord) time.Time {
	var last time.Time
	for _, s := range syncs {
		if s.OK && s.Finished.After(last) {
			last = s.Finished
		}
	}
	return last
}

// finishedCount counts the tenants of the bench's account in schema that finished a sync,
// whether it succeeded or failed: those with a sync state that is not a running sync's (a sync
// stores its state as it starts, with Running set).
func finishedCount(ctx context.Context, c *pgx.Conn, schema string) (int, error) {
	var n int
	err := c.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "sync_state"}.Sanitize()+
		` WHERE account = $1 AND data->>'Running' = 'false'`, account).Scan(&n)
	return n, err
}

// syncProgress counts the tenants whose last sync succeeded, and those whose last sync failed.
func syncProgress(ctx context.Context, st *postgres.Store) (synced, failed int, err error) {
	states, err := st.Account(account).SyncStates.List(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, s := range states {
		switch {
		case !s.LastSuccess.IsZero():
			synced++
		case s.LastError != nil && !s.LastFinish.IsZero():
			failed++
		}
	}
	return synced, failed, nil
}

// leasesOf reads the live leases a holder has, with their expiry, from the store's table.
func leasesOf(ctx context.Context, dsn, schema, holder string) (map[string]time.Time, error) {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	rows, err := c.Query(ctx, `SELECT tenant_id, expires_at FROM `+pgx.Identifier{schema, "leases"}.Sanitize()+
		` WHERE account = $1 AND holder = $2 AND expires_at > $3`, account, holder, time.Now().UnixMicro())
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var exp int64
		if err := rows.Scan(&id, &exp); err != nil {
			return nil, err
		}
		out[id] = time.UnixMicro(exp)
	}
	return out, rows.Err()
}

// withAppName returns dsn (a URL or key=value pairs) naming its sessions' application_name.
func withAppName(dsn, name string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "application_name=" + url.QueryEscape(name)
	}
	return dsn + " application_name=" + name
}

// awaitSessionsGone waits until the server has no session of the application name: a
// SIGKILLed engine's sessions end once the server has run what they had sent.
func awaitSessionsGone(ctx context.Context, dsn, name string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
	return fmt.Errorf("the killed engine's PostgreSQL sessions (%s) did not end within 10 s", name)
}

func dropSchema(dsn, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if c, err := pgx.Connect(ctx, dsn); err == nil {
		_, _ = c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		_ = c.Close(ctx)
	}
}

// engineOf names the engine that sent a request, from its User-Agent ("" for another caller).
func engineOf(agent string) string {
	_, rest, ok := strings.Cut(agent, scaleoutAgent)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, " ")
	return name
}

// checkTakeover checks the tenants the killed engine held: each synced by the end, by other
// engines only after the kill, and none before its lease expired.
func checkTakeover(ctx context.Context, st *postgres.Store, k *killOutcome, spans []testserver.RequestSpan, start time.Time) error {
	killedAt := start.Add(k.at)
	first := map[string]time.Time{} // tenant → a survivor's first request after the kill
	victimAfter := map[string]bool{}
	for _, s := range spans {
		if _, held := k.held[s.Tenant]; !held || !s.Arrived.After(killedAt) {
			continue
		}
		eng := engineOf(s.UserAgent)
		if eng == k.victim {
			victimAfter[s.Tenant] = true
			continue
		}
		if t, ok := first[s.Tenant]; !ok || s.Arrived.Before(t) {
			first[s.Tenant] = s.Arrived
		}
	}
	k.firstTake, k.lastTake = -1, 0
	for id, exp := range k.held {
		st, err := st.Account(account).SyncStates.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("tenant %s held by the killed engine: %w", id, err)
		}
		if !st.LastSuccess.IsZero() {
			k.finished++
		}
		t, ok := first[id]
		if !ok {
			continue
		}
		if !victimAfter[id] {
			k.byOthers++
		}
		if t.Before(exp) {
			k.beforeLapse++
		}
		d := t.Sub(killedAt)
		if k.firstTake < 0 || d < k.firstTake {
			k.firstTake = d
		}
		k.lastTake = max(k.lastTake, d)
	}
	return nil
}

// scaleoutPostgres is the server of the scale-out figure: -postgres, else
// TENANTSYNC_BENCH_POSTGRES, else TENANTSYNC_TEST_POSTGRES (make bench starts a throwaway
// server through scripts/with-postgres.sh, which sets it).
func scaleoutPostgres(flagValue string) string {
	for _, v := range []string{flagValue, os.Getenv("TENANTSYNC_BENCH_POSTGRES"), os.Getenv("TENANTSYNC_TEST_POSTGRES")} {
		if v != "" {
			return v
		}
	}
	return ""
}

// pingPostgres says which server answers at dsn.
func pingPostgres(ctx context.Context, dsn string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer c.Close(context.Background())
	var v string
	err = c.QueryRow(ctx, `SHOW server_version`).Scan(&v)
	return "PostgreSQL " + v, err
}

func benchScaleout(ctx context.Context, out io.Writer, o options, g *goals) error {
	cfg := o.scaleoutConfig()
	skip := func(why string) error {
		fmt.Fprintf(out, "\n== (e) scale-out on PostgreSQL: SKIPPED: %s\n", why)
		g.notMeasured("scaleout-2", ">=", 1.8, "%.2f")
		g.notMeasured("scaleout-4", ">=", 3.2, "%.2f")
		return nil
	}
	if cfg.DSN == "" {
		return skip("no PostgreSQL: set TENANTSYNC_BENCH_POSTGRES (or -postgres) to a server's URL, or run make bench, which starts a throwaway one when PostgreSQL is installed (scripts/with-postgres.sh)")
	}
	version, err := pingPostgres(ctx, cfg.DSN)
	if err != nil {
		return skip(fmt.Sprintf("the PostgreSQL server does not answer: %v", err))
	}
	p := cfg.Partner
	ids := tenantIDs(p.world())
	placed := "engine processes where the harness is, the fake in its own"
	if cfg.CPUs != "" {
		placed = fmt.Sprintf("engine processes on every core (taskset -c %s), as PostgreSQL is; the fake pinned to core %d", cfg.CPUs, fakeCore)
	}
	fmt.Fprintf(out, "\n== (e) scale-out on PostgreSQL (%s): %s, latency %s, every kind, engine processes of concurrency %d each (sync.Limits), lease TTL %s, tick %s; %s\n",
		version, p, ms(cfg.Latency), cfg.Concurrency, cfg.LeaseTTL, cfg.Tick, placed)
	f, err := o.startFake(ctx, fakeSpec{Partner: p, Latency: cfg.Latency, PageCache: true, RecordSpans: true})
	if err != nil {
		return err
	}
	defer f.close()
	if err := warmUp(ctx, out, o, f, ids, sync.RouteGraph, cipp.SourceConfig{}); err != nil {
		return err
	}
	if err := f.setLatency(cfg.Latency); err != nil {
		return err
	}
	rate := map[int]float64{}
	var violations []string
	for _, n := range cfg.Engines {
		run, err := runScaleout(ctx, cfg, f, ids, n, false)
		if err != nil {
			return err
		}
		printScaleoutRun(out, run)
		rate[n] = run.perMin
		violations = append(violations, run.check.violations()...)
	}
	ratio := func(n int) (float64, bool) {
		if rate[1] == 0 || rate[n] == 0 {
			return 0, false
		}
		return rate[n] / rate[1], true
	}
	if r, ok := ratio(2); ok {
		fmt.Fprintf(out, "ratio 2/1: %.2f (goal 1.8)\n", r)
	}
	if r, ok := ratio(4); ok {
		fmt.Fprintf(out, "ratio 4/1: %.2f (goal 3.2)\n", r)
	}
	if cfg.Kill > 1 {
		run, err := runScaleout(ctx, cfg, f, ids, cfg.Kill, true)
		if err != nil {
			return err
		}
		printScaleoutRun(out, run)
		violations = append(violations, run.check.violations()...)
		k := run.kill
		if k == nil {
			return errors.New("the kill run ended before its kill")
		}
		fmt.Fprintf(out, "  engine %s SIGKILLed %s after the start (%d tenants had finished a sync), holding %d leases: %d of them synced by the end, %d by the other engines alone after the kill, first taken over %s and last %s after the kill, %d taken over before the lease expired\n",
			k.victim, secs(k.at), k.finishedThen, len(k.held), k.finished, k.byOthers, secs(max(k.firstTake, 0)), secs(k.lastTake), k.beforeLapse)
		// A held tenant the victim had committed just before it died needs no takeover, so
		// byOthers may be lower; every held tenant synced, and none taken early, are the rules.
		if k.finished != len(k.held) || k.beforeLapse > 0 {
			violations = append(violations, "the killed engine's tenants")
		}
	}
	if len(violations) > 0 {
		fmt.Fprintf(out, "scale-out FAILED: tenants synced by two engines at once, or the killed engine's tenants not taken over cleanly: %v\n", violations)
	} else {
		fmt.Fprintln(out, "scale-out check: no tenant had requests of two engines in flight at once, and no committed sync saw a request of another engine's running sync for its tenant between its start and its commit (the fake's own record of every request by tenant, engine and time; each engine's record of its syncs)")
	}
	for _, n := range []int{2, 4} {
		name, target := fmt.Sprintf("scaleout-%d", n), map[int]float64{2: 1.8, 4: 3.2}[n]
		if r, ok := ratio(n); ok && len(violations) == 0 {
			g.add(name, r, ">=", target, "%.2f")
		} else if ok {
			g.add(name, 0, ">=", target, "%.2f") // a run that synced a tenant twice at once meets no goal
		} else {
			g.notMeasured(name, ">=", target, "%.2f")
		}
	}
	if len(violations) > 0 {
		return fmt.Errorf("scale-out: %d violations", len(violations))
	}
	return nil
}

func printScaleoutRun(out io.Writer, r *scaleoutRun) {
	names := make([]string, 0, len(r.check.perEngine))
	for n := range r.check.perEngine {
		names = append(names, n)
	}
	slices.Sort(names)
	per := make([]string, len(names))
	for i, n := range names {
		per[i] = fmt.Sprintf("%s: %d", n, r.check.perEngine[n])
	}
	what := "engines"
	if r.kill != nil {
		what = "engines, one killed"
	}
	c := r.check
	fmt.Fprintf(out, "%d %s: %d tenants synced in %s, %.0f tenants per minute, %d failed; %d requests; tenants per engine {%s}; lease hand-offs %d; tenants in flight at two engines at once %d; engines' CPU %s (%s per tenant)\n",
		r.engines, what, r.synced, secs(r.wall), r.perMin, r.failed, r.requests, strings.Join(per, ", "), c.handOffs, len(c.inFlight),
		secs(r.cpu), usec(r.cpu/time.Duration(max(1, r.synced))))
	fmt.Fprintf(out, "  %s; PostgreSQL: %s\n", r.load, r.waits)
	fmt.Fprint(out, r.slots)
	// Interleaved hand-offs are not violations in themselves (a tenant whose sync failed may be
	// taken up again by the engine that first had it), but they are where a lapsed lease shows.
	fmt.Fprintf(out, "  hand-offs interleaved (an engine's requests for the tenant resumed after another engine's began): %d %v; committed syncs that saw a request of another engine's running sync for their tenant before their commit: %d %v; requests the fake still answered after their engine's sync had ended, as another engine's began: %d %v\n",
		len(c.interleaved), firstFew(c.interleaved), len(c.intruded), firstFew(c.intruded), len(c.abandoned), firstFew(c.abandoned))
}
