package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
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
}

type memoryOutput struct {
	Users    int
	Baseline uint64 // live heap before the sync
	Peak     uint64 // highest heap sampled during the sync (live and not yet collected objects)
	PeakLive uint64 // highest live heap the collector reported during the sync
	After    uint64 // live heap after the sync, the mirror included for the memory store
	DBBytes  int64
	Wall     time.Duration
	Err      string
}

// heapSampler samples the heap's object bytes and the live heap after each collection.
type heapSampler struct {
	stop           chan struct{}
	done           chan struct{}
	peak, peakLive uint64
	samples        []metrics.Sample
}

func startSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{}), samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s.samples)
			s.peak = max(s.peak, s.samples[0].Value.Uint64())
			s.peakLive = max(s.peakLive, s.samples[1].Value.Uint64())
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
		eng, err := sync.New(sync.Config{Store: st, Account: account, Sources: []tenantsync.Source{cl.graphSrc},
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
		s := startSampler()
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
		out.Peak, out.PeakLive = s.peak, s.peakLive
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
	w := testserver.Generate(testserver.Options{Seed: o.seed, Tenants: 1, Sizes: []int{o.hugeUsers}})
	for _, t := range w.Tenants {
		t.Consented, t.PremiumP1 = true, true
	}
	srv, err := testserver.New(testserver.Options{Seed: o.seed, World: w})
	if err != nil {
		return err
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "tenantsync-bench-memory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Users only: the kind whose size is the tenant's; the other kinds add their own rows.
	fmt.Fprintf(out, "\n== (d) memory: one tenant of %d users, users kind (full delta round), engine in its own process, no latency\n", o.hugeUsers)
	mb := func(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	for _, kind := range []string{"memory", "sqlite"} {
		var r memoryOutput
		if err := runChild(ctx, "memory", memoryInput{Endpoints: endpointsOf(srv, tenantIDs(w)), Store: kind, Dir: dir}, &r); err != nil {
			return err
		}
		if r.Err != "" {
			return fmt.Errorf("%s store: %s", kind, r.Err)
		}
		perUser := func(b uint64) string { return fmt.Sprintf("%.2f KB/user", float64(b)/float64(max(1, r.Users))/1e3) }
		peak := r.Peak - min(r.Peak, r.Baseline)
		peakLive := r.PeakLive - min(r.PeakLive, r.Baseline)
		kept := r.After - min(r.After, r.Baseline)
		fmt.Fprintf(out, "%s store: %d users synced in %s; heap peak %s over the baseline (%s), live-heap peak %s (%s); kept after the sync %s (%s)",
			kind, r.Users, secs(r.Wall), mb(peak), perUser(peak), mb(peakLive), perUser(peakLive), mb(kept), perUser(kept))
		if kind == "sqlite" {
			fmt.Fprintf(out, "; database file %s (%s)", mb(uint64(r.DBBytes)), perUser(uint64(r.DBBytes)))
			// The goal's store: what the daemon runs on.
			g.add(fmt.Sprintf("heap-%dk-mb", o.hugeUsers/1000), float64(peakLive)/1e6, "<=", 16, "%.1f")
		}
		fmt.Fprintln(out)
	}
	return nil
}
