package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/sync"
)

// The scale-out figure's check that no tenant was synced by two engines at once, judged per
// request and per commit rather than per engine's whole extent of a tenant: an engine that
// syncs a tenant, hands it off and takes it back later has an extent that covers the other's
// sync without any overlap, and an engine whose lease lapsed may have no request in flight
// while another engine's sync of the tenant runs, yet commit in the middle of it.

// syncRecord is one engine's sync of one tenant, as its sync.Tracer saw it: from the start to
// the end, after its commit when OK.
type syncRecord struct {
	Engine   string    `json:"engine"`
	Tenant   string    `json:"tenant"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	OK       bool      `json:"ok"` // committed
}

// recordingTracer writes each sync an engine process ran to a file, one JSON line per sync,
// as it ends, so a SIGKILLed engine's record holds every sync it finished.
type recordingTracer struct {
	engine string
	mu     stdsync.Mutex
	w      io.Writer
}

var _ sync.Tracer = (*recordingTracer)(nil)

// StartSync implements sync.Tracer.
func (r *recordingTracer) StartSync(ctx context.Context, tenantID, _ string) (context.Context, func(*sync.Report)) {
	return ctx, func(rep *sync.Report) {
		rec := syncRecord{Engine: r.engine, Tenant: tenantID, Started: rep.Started, Finished: rep.Finished, OK: rep.Err == nil}
		if rec.Started.IsZero() {
			return // refused before it started: no sync ran
		}
		line, _ := json.Marshal(rec)
		r.mu.Lock()
		defer r.mu.Unlock()
		_, _ = r.w.Write(append(line, '\n'))
	}
}

// readSyncRecords reads the records engine processes wrote; a missing file is an engine that
// recorded nothing.
func readSyncRecords(paths ...string) ([]syncRecord, error) {
	var out []syncRecord
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r syncRecord
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue // the last line of a killed engine may be cut short
			}
			out = append(out, r)
		}
		err = sc.Err()
		_ = f.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// engineSpan is one request the fake served for a tenant, the engine that sent it, and when
// the sync that sent it ended (zero when no record says).
type engineSpan struct {
	engine        string
	arrived, done time.Time
	ended         time.Time
}

// concurrencyCheck is what the fake's record of requests and the engines' record of syncs say
// about tenants shared between engines.
type concurrencyCheck struct {
	perEngine map[string]int // tenants each engine sent requests for
	// handOffs are the tenants whose requests came from more than one engine.
	handOffs int
	// interleaved are the hand-offs where an engine's requests for the tenant resumed after
	// another engine's had begun: the tenant went back, or two syncs ran side by side.
	interleaved []string
	// inFlight are the tenants for which a request of one engine arrived while another
	// engine's request was in flight (must be none).
	inFlight []string
	// intruded are the tenants for which a committed sync of one engine saw a request of
	// another engine's running sync between its start and its commit (must be none).
	intruded []string
	// abandoned are the tenants where the fake was still answering a request of an engine
	// whose sync had already ended (it stopped for its lease, or failed) when another engine's
	// request arrived or sync began: the fake's record shows the two, the engines did not
	// sync at once.
	abandoned []string
}

// violations are the tenants the check found synced by two engines at once.
func (c concurrencyCheck) violations() []string {
	out := slices.Concat(c.inFlight, c.intruded)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkConcurrency judges every tenant's requests (spans arriving from start on, sent by a
// scale-out engine) and the engines' committed syncs.
func checkConcurrency(spans []testserver.RequestSpan, records []syncRecord, start time.Time) concurrencyCheck {
	type key struct{ engine, tenant string }
	syncs := map[key][]syncRecord{}
	for _, r := range records {
		syncs[key{r.Engine, r.Tenant}] = append(syncs[key{r.Engine, r.Tenant}], r)
	}
	by := map[string][]engineSpan{} // tenant → its requests, in arrival order
	for _, s := range spans {
		eng := engineOf(s.UserAgent)
		if eng == "" || s.Tenant == "" || s.Arrived.Before(start) {
			continue
		}
		es := engineSpan{engine: eng, arrived: s.Arrived, done: s.Done}
		for _, r := range syncs[key{eng, s.Tenant}] {
			if !s.Arrived.Before(r.Started) && !s.Arrived.After(r.Finished) {
				es.ended = r.Finished
				break
			}
		}
		by[s.Tenant] = append(by[s.Tenant], es)
	}
	c := concurrencyCheck{perEngine: map[string]int{}}
	abandoned := map[string]bool{}
	for tenant, ss := range by {
		slices.SortStableFunc(ss, func(a, b engineSpan) int { return a.arrived.Compare(b.arrived) })
		by[tenant] = ss
		seen := map[string]bool{}
		var order []string // the engines in turn, a run of one engine's requests counted once
		overlap := false
		for i, s := range ss {
			for _, p := range ss[:i] {
				if p.engine == s.engine || !p.done.After(s.arrived) {
					continue
				}
				if p.liveAt(s.arrived) {
					overlap = true
				} else {
					abandoned[tenant] = true
				}
			}
			if len(order) == 0 || order[len(order)-1] != s.engine {
				order = append(order, s.engine)
			}
			if !seen[s.engine] {
				seen[s.engine] = true
				c.perEngine[s.engine]++
			}
		}
		if overlap {
			c.inFlight = append(c.inFlight, tenant)
		}
		if len(seen) > 1 {
			c.handOffs++
			if len(order) > len(seen) {
				c.interleaved = append(c.interleaved, tenant)
			}
		}
	}
	for _, r := range records {
		if !r.OK || r.Finished.Before(start) {
			continue
		}
		for _, p := range by[r.Tenant] {
			if p.engine == r.Engine || !p.arrived.Before(r.Finished) || !p.done.After(r.Started) {
				continue
			}
			if p.liveAt(maxTime(p.arrived, r.Started)) {
				c.intruded = append(c.intruded, r.Tenant)
				break
			}
			abandoned[r.Tenant] = true
		}
	}
	for t := range abandoned {
		c.abandoned = append(c.abandoned, t)
	}
	for _, l := range [][]string{c.interleaved, c.inFlight, c.intruded, c.abandoned} {
		slices.Sort(l)
	}
	c.intruded = slices.Compact(c.intruded)
	return c
}

// liveAt reports whether the sync that sent the request was still running at t. A request
// whose sync had ended (stopped for its lease, failed, or done) is one the fake was still
// answering after its sender gave up on it: that sender uses nothing of it. A request no
// record places (a SIGKILLed engine's last sync) counts as live.
func (s engineSpan) liveAt(t time.Time) bool {
	return s.ended.IsZero() || s.ended.After(t)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// firstFew is at most the first five of a list of tenants, for a line a person reads.
func firstFew(ids []string) []string {
	return ids[:min(len(ids), 5)]
}
