package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	memProfile  string
	cpuProfile  string
	seed        int64
	full        bool
	small       int
	large       int
	largeUsers  int
	latency     time.Duration
	concurrency int
	hugeUsers   int
	skip        string
	// runs is how many times each efficiency is measured (median and spread are reported).
	runs int
	// bulkTenants is the size of the partner the CIPP bulk mode syncs.
	bulkTenants int
	// inProcess runs the fake in this process rather than in one of its own pinned to a
	// core: for the smoke test, whose binary cannot be re-executed as the fake.
	inProcess bool
	// goalsFile, when set, also receives the goal lines, so make bench can print them last.
	goalsFile string

	soak         bool
	soakTenants  int
	soakCIPP     int
	soakDuration time.Duration
	sabotage     bool
	soakKills    bool
	// soakPSAIdentity is what the soak's fake PSA does with the identity of the contacts it is
	// given: "stored" (kept and listed, every create a new contact), "deduplicated" or "ignored".
	soakPSAIdentity string

	crash      bool
	crashKills int
	// crashPSAKills are the crash runs whose engine kills itself right after a PSA call.
	crashPSAKills int
	syncd         bool
	syncdHuge     int

	// The scale-out figure: engine processes on one PostgreSQL.
	postgres         string
	scaleTenants     int
	scaleMinUsers    int
	scaleMaxUsers    int
	scaleConcurrency int
	scaleLatency     time.Duration
	scaleLeaseTTL    time.Duration
	scaleTick        time.Duration
	scaleEngines     string
	scaleKill        int
	scaleProfile     string

	child string
}

func main() {
	var o options
	flag.Int64Var(&o.seed, "seed", 1, "seed of the generated worlds, changes and faults")
	flag.BoolVar(&o.full, "full", false, "the issue's full partner: 1,000 small tenants + 10 of 5,000 users")
	flag.IntVar(&o.small, "small", 300, "small tenants (10-50 users) without -full")
	flag.IntVar(&o.large, "large", 3, "large tenants without -full")
	flag.IntVar(&o.largeUsers, "large-users", 5000, "users of each large tenant")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "latency of the graph vs msgraph-sdk-go figure (the efficiencies are measured at 20 ms and 100 ms)")
	flag.IntVar(&o.runs, "runs", 3, "runs of each efficiency figure (median and spread are printed)")
	flag.IntVar(&o.bulkTenants, "bulk-tenants", 1000, "tenants of the CIPP bulk-mode partner")
	flag.StringVar(&o.goalsFile, "goals", "", "also write the goal lines to this file")
	flag.IntVar(&o.concurrency, "concurrency", 16, "tenants synced at once (sync.Limits.Concurrency)")
	flag.IntVar(&o.hugeUsers, "huge-users", 50000, "users of the tenant of the memory figure (measured again at twice as many on SQLite)")
	flag.StringVar(&o.memProfile, "memprofile", "", "memory figure: write a heap profile at each run's live-heap peak into this directory (heap-<n>k-<store>.pprof)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the harness, and the engine of the efficiency figures) to this file")
	flag.StringVar(&o.skip, "skip", "", "comma-separated parts to skip: graph,sdk,cipp,memory,scaleout,later")
	flag.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL of the scale-out figure (default TENANTSYNC_BENCH_POSTGRES, else TENANTSYNC_TEST_POSTGRES; without one the figure is skipped)")
	flag.IntVar(&o.scaleTenants, "scaleout-tenants", 2000, "scale-out: tenants of the partner")
	flag.IntVar(&o.scaleMinUsers, "scaleout-min-users", 3, "scale-out: fewest users of a tenant")
	flag.IntVar(&o.scaleMaxUsers, "scaleout-max-users", 8, "scale-out: most users of a tenant")
	flag.IntVar(&o.scaleConcurrency, "scaleout-concurrency", 8, "scale-out: tenants each engine process syncs at once")
	flag.DurationVar(&o.scaleLatency, "scaleout-latency", 100*time.Millisecond, "scale-out: the fake's latency")
	flag.DurationVar(&o.scaleLeaseTTL, "scaleout-lease-ttl", 6*time.Second, "scale-out: the engines' lease TTL (sync.Limits.LeaseTTL)")
	flag.DurationVar(&o.scaleTick, "scaleout-tick", 5*time.Second, "scale-out: the engines' discovery tick (sync.Cadence.Tick)")
	flag.StringVar(&o.scaleEngines, "scaleout-engines", "1,2,4", "scale-out: the engine process counts measured (1 is the ratios' base)")
	flag.StringVar(&o.scaleProfile, "scaleout-cpuprofile", "", "scale-out: directory each engine process writes a CPU profile of its run into (engine-<engines>-<n>.pprof; not the kill run); profiled runs are slower, their figures not comparable")
	flag.IntVar(&o.scaleKill, "scaleout-kill", 4, "scale-out: engine processes of the run that SIGKILLs one of them (0: no such run)")
	flag.BoolVar(&o.soak, "soak", false, "run the soak harness instead of the benchmarks")
	flag.IntVar(&o.soakTenants, "soak-tenants", 60, "tenants of the soak partner")
	flag.IntVar(&o.soakCIPP, "soak-cipp", 20, "soak: how many of its tenants are reached through CIPP (the others through Graph)")
	flag.DurationVar(&o.soakDuration, "soak-duration", 2*time.Minute, "how long the soak injects faults")
	flag.BoolVar(&o.sabotage, "soak-sabotage", false, "soak: deactivate a contact behind the engine's back before the final checks (they must fail)")
	flag.BoolVar(&o.soakKills, "soak-kills", true, "soak: kill and rebuild the engine between and during cycles")
	flag.StringVar(&o.soakPSAIdentity, "soak-psa-identity", "stored", "soak: what the fake PSA does with a contact's user identity: stored, deduplicated or ignored")
	flag.BoolVar(&o.crash, "crash", false, "run the crash-recovery harness")
	flag.IntVar(&o.crashKills, "kills", 20, "SIGKILLs of the crash-recovery harness")
	flag.IntVar(&o.crashPSAKills, "psa-kills", 12, "crash harness: further runs whose engine kills itself right after a PSA create or set-active, before its commit")
	flag.BoolVar(&o.syncd, "syncd", false, "crash harness: kill ./examples/syncd instead of the bench's own engine process")
	flag.IntVar(&o.syncdHuge, "syncd-huge-users", 20000, "crash harness with -syncd: users of the daemon's largest demo tenant")
	flag.StringVar(&o.child, "child", "", "internal: run one measured part in this process")
	flag.Parse()
	if o.full {
		o.small, o.large = 1000, 10
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case o.child != "":
		err = runChildMode(ctx, o)
	case o.soak:
		err = runSoak(ctx, os.Stdout, o)
	case o.crash && o.syncd:
		err = runCrashSyncd(ctx, os.Stdout, o)
	case o.crash:
		err = runCrash(ctx, os.Stdout, o)
	default:
		if o.cpuProfile != "" {
			f, perr := os.Create(o.cpuProfile)
			if perr == nil {
				perr = pprof.StartCPUProfile(f)
			}
			if perr != nil {
				fmt.Fprintln(os.Stderr, "bench: -cpuprofile:", perr)
				os.Exit(2)
			}
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
		err = runBench(ctx, os.Stdout, o)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func runChildMode(ctx context.Context, o options) error {
	switch o.child {
	case "fetch-graph", "fetch-sdk":
		return childFetch(ctx, strings.TrimPrefix(o.child, "fetch-"))
	case "memory":
		return childMemory(ctx)
	case "engine":
		return childEngine(ctx)
	case "fake":
		return childFake(ctx)
	case "scaleout-engine":
		return childScaleoutEngine(ctx)
	}
	return fmt.Errorf("unknown child mode %q", o.child)
}

// scaleoutConfig is the scale-out figure's configuration from the flags.
func (o options) scaleoutConfig() scaleoutConfig {
	var engines []int
	for _, f := range strings.Split(o.scaleEngines, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			engines = append(engines, n)
		}
	}
	return scaleoutConfig{
		DSN:         scaleoutPostgres(o.postgres),
		Partner:     partner{Seed: o.seed, Small: o.scaleTenants, MinUsers: o.scaleMinUsers, MaxUsers: o.scaleMaxUsers},
		Latency:     o.scaleLatency,
		Concurrency: o.scaleConcurrency,
		LeaseTTL:    o.scaleLeaseTTL,
		Tick:        o.scaleTick,
		Engines:     engines,
		Kill:        o.scaleKill,
		CPUs:        o.everyCore(),
		CPUProfile:  o.scaleProfile,
	}
}

// everyCore is the taskset list of every online core, for processes that must not stay on the
// engine's core this process is pinned to; "" where this process is not pinned.
func (o options) everyCore() string {
	if !o.pinnable() {
		return ""
	}
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (o options) skips(part string) bool {
	for _, s := range strings.Split(o.skip, ",") {
		if strings.TrimSpace(s) == part {
			return true
		}
	}
	return false
}

func runBench(ctx context.Context, out io.Writer, o options) error {
	fmt.Fprintf(out, "tenantsync bench: %s, Go %s, %s/%s, seed %d\n", machine(), runtime.Version(), runtime.GOOS, runtime.GOARCH, o.seed)
	p := partner{Seed: o.seed, Small: o.small, MinUsers: 10, MaxUsers: 50, Large: o.large, LargeUsers: o.largeUsers}
	if !o.full {
		fmt.Fprintf(out, "scale: %s (the issue's full partner is 1000 small + 10 large: run with -full)\n", p)
	} else {
		fmt.Fprintf(out, "scale: %s\n", p)
	}
	fmt.Fprintln(out, o.placement())
	g := &goals{}
	if !o.skips("graph") {
		if err := benchGraph(ctx, out, o, p, g); err != nil {
			return fmt.Errorf("graph: %w", err)
		}
	}
	if !o.skips("sdk") {
		if err := benchSDK(ctx, out, o, p, g); err != nil {
			return fmt.Errorf("sdk: %w", err)
		}
	}
	if !o.skips("cipp") {
		if err := benchCIPP(ctx, out, o, p, g); err != nil {
			return fmt.Errorf("cipp: %w", err)
		}
	}
	if !o.skips("memory") {
		if err := benchMemory(ctx, out, o, g); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	if o.skips("memory") {
		n := o.hugeUsers
		if n == 0 {
			n = 50000
		}
		g.notMeasured(fmt.Sprintf("heap-%dk-mb", n/1000), "<=", 16, "%.1f")
		g.notMeasured(fmt.Sprintf("heap-%dk-ratio", 2*n/1000), "<=", 1.2, "%.2f")
	}
	if !o.skips("scaleout") {
		if err := benchScaleout(ctx, out, o, g); err != nil {
			return fmt.Errorf("scale-out: %w", err)
		}
	} else {
		g.notMeasured("scaleout-2", ">=", 1.8, "%.2f")
		g.notMeasured("scaleout-4", ">=", 3.2, "%.2f")
	}
	if !o.skips("later") {
		if err := benchLaterKinds(ctx, out, o); err != nil {
			return fmt.Errorf("later kinds: %w", err)
		}
	}
	fmt.Fprintln(out)
	g.print(out)
	if o.goalsFile != "" {
		f, err := os.Create(o.goalsFile)
		if err != nil {
			return err
		}
		g.print(f)
		return f.Close()
	}
	return nil
}

// Cores of the measurement: the fake on one, the engine (this process and its children) on the
// other, so neither's CPU time lands on the other's round trips.
const (
	fakeCore   = 0
	engineCore = 1
)

// pinned reports whether this process could be pinned to the engine's core (taskset from
// util-linux, on a machine of two cores or more).
func (o options) pinnable() bool {
	if o.inProcess || runtime.NumCPU() < 2 {
		return false
	}
	_, err := exec.LookPath("taskset")
	return err == nil
}

// placement pins this process (every thread, and the children it starts) to the engine's core
// and says where the fake and the engine run.
func (o options) placement() string {
	switch {
	case o.inProcess:
		return "placement: fake in the engine's process (smoke test): CPU figures include the fake"
	case !o.pinnable():
		return "placement: fake in a process of its own, NOT pinned (taskset from util-linux missing, or one core): the OS shares the cores between fake and engine"
	}
	cmd := exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(engineCore), strconv.Itoa(os.Getpid()))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("placement: fake in a process of its own, NOT pinned (taskset failed: %v %s)", err, strings.TrimSpace(string(b)))
	}
	// One core: more Ps than cores would only make the Go scheduler preempt itself.
	runtime.GOMAXPROCS(1)
	return fmt.Sprintf("placement: fake in a process of its own pinned to core %d, engine pinned to core %d (taskset), GOMAXPROCS 1", fakeCore, engineCore)
}

// startFake starts the fake for one part of the measurement.
func (o options) startFake(ctx context.Context, spec fakeSpec) (fake, error) {
	if o.inProcess {
		return newLocalFake(spec)
	}
	core := -1
	if o.pinnable() {
		core = fakeCore
	}
	return startFake(ctx, spec, core)
}

// machine names the CPU, from /proc/cpuinfo where there is one.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s)", runtime.NumCPU(), model)
}

type atomicDuration struct{ n atomic.Int64 }

func (a *atomicDuration) Load() time.Duration { return time.Duration(a.n.Load()) }
func (a *atomicDuration) Add(d time.Duration) { a.n.Add(int64(d)) }

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
