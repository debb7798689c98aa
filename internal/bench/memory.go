package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/memory"
	"github.com/tenantsync/tenantsync/store/sqlite"
	"github.com/tenantsync/tenantsync/sync"
	"github.com/tenantsync/tenantsync/transport"
)

type memoryInput struct {
	Endpoints endpoints
	Store     string // "memory" or "sqlite"
	Dir       string
	// Boundaries measures the live heap at the sync's page boundaries (see boundaries).
	Boundaries bool
	// ForceGC, when set, is how often the sampler forces a collection and reads the heap
	// allocated right after it: the live heap at that instant, without the garbage a
	// concurrent collection counts as live.
	ForceGC time.Duration
	// Profile, when set (with ForceGC), is the file the child writes a heap profile to at each
	// new peak of that live heap: the breakdown of what holds it (go tool pprof
	// -sample_index=inuse_space).
	Profile string
}

type memoryOutput struct {
	Users    int
	Baseline uint64 // live heap before the sync
	Peak     uint64 // highest heap sampled during the sync (live and not yet collected objects)
	PeakLive uint64 // highest live heap the collector reported during the sync
	// PeakForced is the highest heap allocated right after a forced collection (ForceGC).
	PeakForced uint64
	// PeakBoundary is the highest live heap at the sync's page boundaries (Boundaries), over
	// that many samples, and Phases the highest of each phase (fetch, reconcile, commit).
	PeakBoundary uint64
	Boundaries   int
	Phases       map[string]uint64
	After        uint64 // live heap after the sync, the mirror included for the memory store
	DBBytes      int64
	Wall         time.Duration
	Err          string
}

// heapSampler samples the heap's object bytes and the live heap after each collection, and,
// when asked, the heap right after a collection it forces.
type heapSampler struct {
	stop                       chan struct{}
	done                       chan struct{}
	peak, peakLive, peakForced uint64
	samples                    []metrics.Sample
}

func startSampler(forceEvery time.Duration, profile string) *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{}), samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		var lastForced time.Time
		for {
			metrics.Read(s.samples)
			s.peak = max(s.peak, s.samples[0].Value.Uint64())
			s.peakLive = max(s.peakLive, s.samples[1].Value.Uint64())
			if forceEvery > 0 && time.Since(lastForced) >= forceEvery {
				lastForced = time.Now()
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > s.peakForced {
					s.peakForced = m.HeapAlloc
					// The profile's in-use figures are those of the collection just forced.
					if profile != "" {
						if f, err := os.Create(profile); err == nil {
							_ = pprof.WriteHeapProfile(f)
							_ = f.Close()
						}
					}
				}
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) finish() { close(s.stop); <-s.done }

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// childMemory syncs the one tenant of the endpoints through the engine and reports its heap.
func childMemory(ctx context.Context) error {
	var in memoryInput
	if err := childInput(&in); err != nil {
		return err
	}
	out := memoryOutput{}
	if in.Profile != "" {
		// Fine enough to see a few megabytes broken down (the default samples every 512 KB).
		runtime.MemProfileRate = 4096
	}
	err := func() error {
		hc, err := in.Endpoints.httpClient()
		if err != nil {
			return err
		}
		cl, err := newClients(in.Endpoints, hc, transport.NewBudget(0), graph.MailboxesOff)
		if err != nil {
			return err
		}
		var st store.Store
		if in.Store == "sqlite" {
			s, err := sqlite.Open(ctx, filepath.Join(in.Dir, "memory.db"), sqlite.Config{Keys: benchKeys()})
			if err != nil {
				return err
			}
			st = s
		} else {
			st = memory.New(memory.Config{})
		}
		defer st.Close()
		var src tenantsync.Source = cl.graphSrc
		engineStore := st
		b := newBoundaries()
		if in.Boundaries {
			src, engineStore = measuredSource{src, b}, measuredStore{st, b}
		}
		eng, err := sync.New(sync.Config{Store: engineStore, Account: account, Sources: []tenantsync.Source{src},
			Kinds: []tenantsync.Kind{tenantsync.KindUsers}, Limits: sync.Limits{Concurrency: 1}})
		if err != nil {
			return err
		}
		defer eng.Close(context.Background())
		if _, err := eng.Discover(ctx); err != nil {
			return err
		}
		if dp, ok := st.(store.DirectoryProvider); ok {
			if err := dp.Directory(account).PutClient(ctx, tenantsync.Client{ID: "client-1", Name: "Client 1"}); err != nil {
				return err
			}
		}
		out.Baseline = liveHeap()
		s := startSampler(in.ForceGC, in.Profile)
		start := time.Now()
		if err := eng.Link(ctx, account, in.Endpoints.Tenants[0], "client-1"); err != nil {
			s.finish()
			return err
		}
		err = eng.Wait(ctx)
		out.Wall = time.Since(start)
		s.finish()
		if err != nil {
			return err
		}
		out.Peak, out.PeakLive, out.PeakForced = s.peak, s.peakLive, s.peakForced
		out.PeakBoundary, out.Boundaries, out.Phases = b.peak, b.samples, b.phase
		st2, err := eng.Status(ctx, in.Endpoints.Tenants[0])
		if err != nil {
			return err
		}
		if st2.State.LastError != nil || len(st2.State.KindErrors) > 0 {
			return fmt.Errorf("sync failed: %+v %+v", st2.State.LastError, st2.State.KindErrors)
		}
		out.Users = st2.State.Counts[tenantsync.KindUsers]
		out.After = liveHeap()
		runtime.KeepAlive(st)
		return nil
	}()
	if err != nil {
		out.Err = err.Error()
	}
	if in.Store == "sqlite" {
		for _, f := range []string{"memory.db", "memory.db-wal"} {
			if fi, err := os.Stat(filepath.Join(in.Dir, f)); err == nil {
				out.DBBytes += fi.Size()
			}
		}
	}
	return childOutput(out)
}

func benchMemory(ctx context.Context, out io.Writer, o options, g *goals) error {
	dir, err := os.MkdirTemp("", "tenantsync-bench-memory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mb := func(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	// run syncs one tenant of n users into a fresh store of the given kind.
	run := func(n int, kind string) (memoryOutput, error) {
		in := memoryInput{Store: kind, Dir: dir}
		if kind == "sqlite" {
			// The memory store's heap is its mirror: collecting it at every page would only
			// slow it down.
			in.Boundaries = true
			if o.memProfile != "" {
				// A profile slows the run and holds memory of its own: a separate run.
				in.Boundaries, in.ForceGC = false, 25*time.Millisecond
				in.Profile = filepath.Join(o.memProfile, fmt.Sprintf("heap-%dk-%s.pprof", n/1000, kind))
			}
		}
		w := testserver.Generate(testserver.Options{Seed: o.seed, Tenants: 1, Sizes: []int{n}})
		for _, t := range w.Tenants {
			t.Consented, t.PremiumP1 = true, true
		}
		srv, err := testserver.New(testserver.Options{Seed: o.seed, World: w})
		if err != nil {
			return memoryOutput{}, err
		}
		defer srv.Close()
		for _, f := range []string{"memory.db", "memory.db-wal", "memory.db-shm"} {
			_ = os.Remove(filepath.Join(dir, f))
		}
		in.Endpoints = endpointsOf(srv, tenantIDs(w))
		var r memoryOutput
		if err := runChild(ctx, "memory", in, &r); err != nil {
			return r, err
		}
		if r.Err != "" {
			return r, fmt.Errorf("%s store, %d users: %s", kind, n, r.Err)
		}
		return r, nil
	}
	// print reports one run and returns its live-heap peak over the baseline: read after the
	// forced collections when the run forced them.
	print := func(kind string, r memoryOutput) uint64 {
		over := func(v uint64) uint64 { return v - min(v, r.Baseline) }
		perUser := func(b uint64) string { return fmt.Sprintf("%.2f KB/user", float64(b)/float64(max(1, r.Users))/1e3) }
		peak, peakLive, kept := over(r.Peak), over(r.PeakLive), over(r.After)
		fmt.Fprintf(out, "%s store: %d users synced in %s; heap peak %s over the baseline (%s), collector's live-heap peak %s (%s)",
			kind, r.Users, secs(r.Wall), mb(peak), perUser(peak), mb(peakLive), perUser(peakLive))
		if r.PeakForced > 0 {
			peakLive = over(r.PeakForced)
			fmt.Fprintf(out, ", live heap after a collection forced every 25 ms: peak %s (%s)", mb(peakLive), perUser(peakLive))
		}
		if r.Boundaries > 0 {
			peakLive = over(r.PeakBoundary)
			fmt.Fprintf(out, ", live heap at its %d page boundaries: peak %s (%s; fetch %s, reconcile %s, commit %s)", r.Boundaries,
				mb(peakLive), perUser(peakLive), mb(over(r.Phases["fetch"])), mb(over(r.Phases["reconcile"])), mb(over(r.Phases["commit"])))
		}
		fmt.Fprintf(out, "; kept after the sync %s (%s)", mb(kept), perUser(kept))
		if kind == "sqlite" {
			fmt.Fprintf(out, "; database file %s (%s)", mb(uint64(r.DBBytes)), perUser(uint64(r.DBBytes)))
		}
		fmt.Fprintln(out)
		return peakLive
	}
	// Users only: the kind whose size is the tenant's; the other kinds add their own rows.
	fmt.Fprintf(out, "\n== (d) memory: one tenant of %d users, users kind (full delta round, streamed into the store's stage), engine in its own process, no latency\n", o.hugeUsers)
	fmt.Fprintln(out, "  live heap (the goals): on SQLite, HeapAlloc right after a collection run at each page boundary of the sync (each page the source streams, each page read back")
	fmt.Fprintln(out, "  from the stage, before and after the commit) on the sync's own goroutine, highest of the sync, less the same before it; the collector's live heap")
	fmt.Fprintln(out, "  (runtime/metrics /gc/heap/live:bytes every 2 ms) also counts what a concurrent collection finds allocated while it runs, and sees inside the commit")
	var base uint64
	for _, kind := range []string{"memory", "sqlite"} {
		r, err := run(o.hugeUsers, kind)
		if err != nil {
			return err
		}
		peakLive := print(kind, r)
		if kind == "sqlite" {
			// The goal's store: what the daemon runs on.
			base = peakLive
			g.add(fmt.Sprintf("heap-%dk-mb", o.hugeUsers/1000), float64(peakLive)/1e6, "<=", 16, "%.1f")
		}
	}
	// Twice the users on SQLite: a streamed sync's heap must not grow with the tenant.
	double := 2 * o.hugeUsers
	fmt.Fprintf(out, "== (d) memory: one tenant of %d users, the same on SQLite\n", double)
	r, err := run(double, "sqlite")
	if err != nil {
		return err
	}
	peakLive := print("sqlite", r)
	ratio := float64(peakLive) / float64(max(1, base))
	fmt.Fprintf(out, "  live-heap peak at %d users against %d: %.2f\n", double, o.hugeUsers, ratio)
	g.add(fmt.Sprintf("heap-%dk-ratio", double/1000), ratio, "<=", 1.2, "%.2f")
	return nil
}
