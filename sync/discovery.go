package sync

import (
	"context"
	"errors"
	"slices"
	stdsync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/match"
)

// SourceDiscovery is one source's part of a discovery run.
type SourceDiscovery struct {
	Source   string
	Seen     int
	New      []string
	Returned []string
	Vanished []string
	// Err is why the source's tenant list is unknown; nothing was flagged on its account.
	Err error
}

// DiscoveryReport is the outcome of one discovery run.
type DiscoveryReport struct {
	Sources  []SourceDiscovery
	New      []string // tenants seen for the first time
	Returned []string // tenants that were vanished and are reported again
	Vanished []string // tenants no source reports any more (flagged, never deleted)
}

// Discover asks every source which tenants it reaches and records the answers. A tenant seen
// for the first time appears unlinked (Suggestions proposes a client); a tenant no source
// reports any more is flagged vanished, never deleted. A source whose list fails changes
// nothing, so a tenant it reached is never flagged on the strength of a failure. Discover
// returns an error only when every source failed.
func (e *Engine) Discover(ctx context.Context) (DiscoveryReport, error) {
	began := e.clock.Now()
	parts := make([]SourceDiscovery, len(e.listers))
	lists := make([][]tenantsync.Tenant, len(e.listers))
	var wg stdsync.WaitGroup
	for i, src := range e.listers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i].Source = src.Name()
			lists[i], parts[i].Err = src.ListTenants(ctx)
		}()
	}
	wg.Wait()

	var rep DiscoveryReport
	var errs []error
	// Recording is sequential: a tenant two sources report is merged in the store in a
	// stable order, and "vanished" is decided after every source that answered was heard.
	for i := range parts {
		p := &parts[i]
		if p.Err == nil {
			d, err := e.acct.Tenants.RecordDiscovery(ctx, p.Source, lists[i], e.clock.Now())
			if err != nil {
				p.Err = err
			} else {
				p.Seen, p.New, p.Returned, p.Vanished = d.Seen, d.New, d.Returned, d.Vanished
				p.Err = e.applyDefaultKinds(ctx, d.New)
			}
		}
		if p.Err != nil {
			errs = append(errs, p.Err)
			e.counters.discoveryFailures.Add(1)
			e.counters.failure(p.Err)
			ev := Event{Type: EventDiscoveryFailed, Message: "tenant discovery failed for source " + p.Source}
			errorFields(&ev, p.Err)
			e.emit(ev)
			continue
		}
		rep.New = append(rep.New, p.New...)
		rep.Returned = append(rep.Returned, p.Returned...)
		rep.Vanished = append(rep.Vanished, p.Vanished...)
		sugs := e.suggestFor(ctx, p.New)
		for _, id := range p.New {
			ev := Event{Type: EventTenantDiscovered, TenantID: id, Message: "seen by " + p.Source}
			if s, ok := sugs[id]; ok && len(s.Candidates) > 0 {
				ev.SuggestedClient, ev.Confidence, ev.AutoAccept = s.Candidates[0].ClientID, s.Candidates[0].Confidence, s.AutoAccept
			}
			e.emit(ev)
		}
		for _, id := range p.Returned {
			e.emit(Event{Type: EventTenantReturned, TenantID: id, Message: "reported again by " + p.Source})
		}
		for _, id := range p.Vanished {
			e.emit(Event{Type: EventTenantVanished, TenantID: id, Message: "no source reports the tenant any more"})
		}
	}
	rep.Sources = parts
	if len(errs) == 0 {
		e.discoveryMu.Lock()
		e.discoveredAt = began
		e.discoveryMu.Unlock()
	}
	if len(errs) == len(parts) && len(errs) > 0 {
		return rep, errors.Join(errs...)
	}
	return rep, nil
}

// discoveredWithin reports whether every source listed its tenants, and the listing was
// recorded, in a discovery of this engine that began less than d ago.
func (e *Engine) discoveredWithin(d time.Duration) bool {
	e.discoveryMu.Lock()
	defer e.discoveryMu.Unlock()
	return !e.discoveredAt.IsZero() && e.clock.Now().Sub(e.discoveredAt) < d
}

// applyDefaultKinds gives new tenants Config.Kinds, when the account chose fewer than all.
func (e *Engine) applyDefaultKinds(ctx context.Context, ids []string) error {
	if len(e.cfg.Kinds) == 0 {
		return nil
	}
	for _, id := range ids {
		if err := e.acct.Tenants.SetEnabledKinds(ctx, id, slices.Clone(e.cfg.Kinds)); err != nil {
			return err
		}
	}
	return nil
}

// suggestFor scores new tenants against the stored clients for the discovery events. It is
// best effort: without clients, or on any failure, the events go out without a suggestion.
func (e *Engine) suggestFor(ctx context.Context, ids []string) map[string]match.Suggestion {
	if len(ids) == 0 {
		return nil
	}
	sugs, err := e.Suggestions(ctx, nil)
	if err != nil {
		return nil
	}
	out := map[string]match.Suggestion{}
	for _, s := range sugs {
		if slices.Contains(ids, s.TenantID) {
			out[s.TenantID] = s
		}
	}
	return out
}
