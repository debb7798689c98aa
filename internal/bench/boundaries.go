package main

import (
	"context"
	"runtime"
	stdsync "sync"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// boundaries measures the live heap at a streamed sync's page boundaries: after each page the
// source hands the engine's sink (fetch), after each page the engine reads back from the stage
// (reconcile), and before and after the commit. Each sample collects on the goroutine doing
// the sync, which is then stopped at the boundary, so HeapAlloc right after the collection is
// what that sync holds there: no garbage, and nothing a concurrent collection would count as
// live because it was allocated meanwhile.
type boundaries struct {
	mu      stdsync.Mutex
	peak    uint64
	samples int
	phase   map[string]uint64 // the peak of each phase
}

func newBoundaries() *boundaries { return &boundaries{phase: map[string]uint64{}} }

func (b *boundaries) sample(phase string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.samples++
	b.peak = max(b.peak, m.HeapAlloc)
	b.phase[phase] = max(b.phase[phase], m.HeapAlloc)
}

// measuredSource samples after every page the source streams.
type measuredSource struct {
	tenantsync.Source
	b *boundaries
}

func (s measuredSource) Fetch(ctx context.Context, req tenantsync.FetchRequest) (*tenantsync.FetchResult, error) {
	if req.Sink != nil {
		req.Sink = measuredSink{req.Sink, s.b}
	}
	return s.Source.Fetch(ctx, req)
}

type measuredSink struct {
	tenantsync.PageSink
	b *boundaries
}

func (s measuredSink) Page(ctx context.Context, p *tenantsync.KindResult) error {
	err := s.PageSink.Page(ctx, p)
	s.b.sample("fetch")
	return err
}

// measuredStore samples around the commit and after every page read back from a stage.
type measuredStore struct {
	store.Store
	b *boundaries
}

func (s measuredStore) Account(id string) store.Account {
	a := s.Store.Account(id)
	if st, ok := a.Mirror.(store.Stager); ok {
		a.Mirror = measuredMirror{a.Mirror, st, s.b}
	}
	return a
}

// Directory keeps the store's default directory visible through the wrapper.
func (s measuredStore) Directory(account string) store.Directory {
	return s.Store.(store.DirectoryProvider).Directory(account)
}

type measuredMirror struct {
	store.Mirror
	stager store.Stager
	b      *boundaries
}

func (m measuredMirror) Commit(ctx context.Context, batch store.Batch) (store.BatchResult, error) {
	m.b.sample("commit")
	res, err := m.Mirror.Commit(ctx, batch)
	m.b.sample("commit")
	return res, err
}

func (m measuredMirror) Stage(ctx context.Context, tenantID string) (store.Stage, error) {
	st, err := m.stager.Stage(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return measuredStage{st, m.b}, nil
}

type measuredStage struct {
	store.Stage
	b *boundaries
}

func (s measuredStage) Read(ctx context.Context, kind tenantsync.Kind, after string, limit int) (*tenantsync.KindResult, string, error) {
	page, last, err := s.Stage.Read(ctx, kind, after, limit)
	s.b.sample("reconcile")
	return page, last, err
}
