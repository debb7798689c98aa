package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync/sync"
)

// slotTrace breaks down the time each tenant's sync holds its engine slot, so a figure that
// misses its bound shows whether the slot waits on the network or on the engine: the time some
// request of the tenant is in flight, and the time none is, before the first request, between
// requests and after the last (the commit, the contact match and the lease release). It is the
// engine's sync.Tracer, and the tracer's transport reports each request's span to the sync
// whose context the request carries.
type slotTrace struct {
	mu    stdsync.Mutex
	from  time.Time // the last reset: the phase's start
	syncs []*slotSync
}

var _ sync.Tracer = (*slotTrace)(nil)

type slotSync struct {
	start, end time.Time
	mu         stdsync.Mutex
	spans      []span
}

type span struct{ from, to time.Time }

type slotKey struct{}

// StartSync implements sync.Tracer.
func (s *slotTrace) StartSync(ctx context.Context, _, _ string) (context.Context, func(*sync.Report)) {
	rec := &slotSync{start: time.Now()}
	return context.WithValue(ctx, slotKey{}, rec), func(*sync.Report) {
		end := time.Now()
		rec.mu.Lock()
		rec.end = end
		rec.mu.Unlock()
		s.mu.Lock()
		s.syncs = append(s.syncs, rec)
		s.mu.Unlock()
	}
}

// requestSpan records a request's span against the sync ctx belongs to, if any.
func requestSpan(ctx context.Context, from, to time.Time) {
	if rec, ok := ctx.Value(slotKey{}).(*slotSync); ok {
		rec.mu.Lock()
		rec.spans = append(rec.spans, span{from, to})
		rec.mu.Unlock()
	}
}

func (s *slotTrace) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs = nil
	s.from = time.Now()
}

// slotTime is one sync's slot time, split.
type slotTime struct {
	held, inFlight, before, between, after time.Duration
	requests                               int
}

// split divides a sync's slot time by whether one of its requests was in flight.
func (r *slotSync) split() slotTime {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := slotTime{held: r.end.Sub(r.start), requests: len(r.spans)}
	if len(r.spans) == 0 {
		t.between = t.held
		return t
	}
	spans := slices.Clone(r.spans)
	slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
	cur := spans[0]
	last := cur.to
	for _, sp := range spans[1:] {
		if sp.from.After(cur.to) {
			t.inFlight += cur.to.Sub(cur.from)
			cur = sp
		} else if sp.to.After(cur.to) {
			cur.to = sp.to
		}
		if sp.to.After(last) {
			last = sp.to
		}
	}
	t.inFlight += cur.to.Sub(cur.from)
	t.before = max(0, spans[0].from.Sub(r.start))
	t.after = max(0, r.end.Sub(last))
	t.between = max(0, t.held-t.inFlight-t.before-t.after)
	return t
}

// print prints the mean split over the syncs that ended since the last reset, and how many
// latencies the in-flight time is worth (the round trips the slot waited for one after another).
func (s *slotTrace) print(out io.Writer, latency time.Duration) {
	s.mu.Lock()
	syncs, from := slices.Clone(s.syncs), s.from
	s.mu.Unlock()
	printSlots(out, syncs, from, latency)
}

// printSlots prints the split of syncs' slot time, counted from the phase's start from.
func printSlots(out io.Writer, syncs []*slotSync, from time.Time, latency time.Duration) {
	if len(syncs) == 0 {
		return
	}
	var sum slotTime
	held := make([]time.Duration, len(syncs))
	for i, r := range syncs {
		t := r.split()
		held[i] = t.held
		sum.held += t.held
		sum.inFlight += t.inFlight
		sum.before += t.before
		sum.between += t.between
		sum.after += t.after
		sum.requests += t.requests
	}
	n := time.Duration(len(syncs))
	slices.Sort(held)
	fmt.Fprintf(out, "  slot time per tenant sync, mean over %d syncs: %s (median %s) = a request in flight %s (%.2f latencies, %.1f requests) + none in flight: before the first request %s, between requests %s, after the last %s (commit, contact match, lease release)\n",
		len(syncs), ms(sum.held/n), ms(held[len(held)/2]), ms(sum.inFlight/n), float64(sum.inFlight/n)/float64(latency),
		float64(sum.requests)/float64(len(syncs)), ms(sum.before/n), ms(sum.between/n), ms(sum.after/n))
	longest := slices.MaxFunc(syncs, func(a, b *slotSync) int { return cmp.Compare(a.end.Sub(a.start), b.end.Sub(b.start)) })
	t := longest.split()
	fmt.Fprintf(out, "  the longest sync: %s from %s after the phase's start = a request in flight %s (%.2f latencies, %d requests) + none in flight: before %s, between %s, after %s\n",
		ms(t.held), ms(longest.start.Sub(from)), ms(t.inFlight), float64(t.inFlight)/float64(latency), t.requests, ms(t.before), ms(t.between), ms(t.after))
	byLength := slices.Clone(syncs)
	slices.SortFunc(byLength, func(a, b *slotSync) int { return cmp.Compare(b.end.Sub(b.start), a.end.Sub(a.start)) })
	var starts []string
	for _, r := range byLength[:min(5, len(byLength))] {
		starts = append(starts, fmt.Sprintf("%s (for %s)", ms(r.start.Sub(from)), ms(r.end.Sub(r.start))))
	}
	fmt.Fprintf(out, "  the longest syncs started at: %s\n", strings.Join(starts, ", "))
	fmt.Fprintf(out, "  tenants syncing at once, mean over each tenth of the phase: %s\n", occupancy(syncs, from, 10))
}

// occupancy is the mean number of syncs running in each of parts equal parts of the time from
// from to the last sync's end: where it falls below the engine's concurrency, slots stood idle.
func occupancy(syncs []*slotSync, from time.Time, parts int) string {
	var end time.Time
	for _, r := range syncs {
		if r.end.After(end) {
			end = r.end
		}
	}
	part := end.Sub(from) / time.Duration(parts)
	if part <= 0 {
		return "-"
	}
	busy := make([]time.Duration, parts)
	for _, r := range syncs {
		for i := range parts {
			lo, hi := from.Add(time.Duration(i)*part), from.Add(time.Duration(i+1)*part)
			if d := minTime(hi, r.end).Sub(maxTime(lo, r.start)); d > 0 {
				busy[i] += d
			}
		}
	}
	s := make([]string, parts)
	for i, b := range busy {
		s[i] = fmt.Sprintf("%.1f", float64(b)/float64(part))
	}
	return strings.Join(s, " ")
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
