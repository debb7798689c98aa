package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// metrics is a small Prometheus text-format registry: counters and gauges with labels. The
// daemon needs a handful of series, which does not justify a client library.
type metrics struct {
	mu     gosync.Mutex
	help   map[string]string
	kind   map[string]string // "counter" or "gauge"
	values map[string]map[string]float64
}

func newMetrics() *metrics {
	m := &metrics{help: map[string]string{}, kind: map[string]string{}, values: map[string]map[string]float64{}}
	m.define("tenantsync_syncs_total", "counter", "Tenant syncs finished, by outcome, counted from the stored sync state.")
	m.define("tenantsync_sync_errors_total", "counter", "Errors left by finished tenant syncs (the sync's own, or a kind that was unavailable), by error class.")
	m.define("tenantsync_round_trips_total", "counter", "HTTP attempts to Microsoft 365 services, by service.")
	m.define("tenantsync_throttled_total", "counter", "Throttled responses (429) received, by service.")
	m.define("tenantsync_mirrored_items", "gauge", "Items mirrored from linked tenants after their last sync, by kind.")
	m.define("tenantsync_oldest_success_timestamp_seconds", "gauge", "Unix time of the oldest last successful sync among linked, syncing tenants; 0 while one has never succeeded.")
	m.define("tenantsync_writes_total", "counter", "Write actions, by outcome.")
	m.define("tenantsync_tenants", "gauge", "Tenants known, by state.")
	m.define("tenantsync_contacts_failing", "gauge", "Users whose contact the PSA refused to write at the last sync of their tenant (GET /api/tenants/{id} lists each with its reason).")
	m.define("tenantsync_contacts_pending", "gauge", "Users whose contact work waits for a later sync: the PSA was paused or the per-sync budget of PSA calls was spent.")
	m.define("tenantsync_deletion_holds", "gauge", "Kinds whose removal the deletion guard holds for a person or a confirming fetch.")
	m.define("tenantsync_events_dropped_total", "counter", "Engine events dropped because the daemon's event handler fell behind. Progress and metrics read the stored state and are unaffected; log lines may be missing.")
	m.define("tenantsync_api_auth_failures_total", "counter", "API requests without a valid token, by outcome: refused (401) or rate_limited (429). They are not logged or audited.")
	return m
}

func (m *metrics) define(name, kind, help string) {
	m.help[name], m.kind[name] = help, kind
	m.values[name] = map[string]float64{}
}

// add adds v to the series name{labels}; labels are name, value pairs.
func (m *metrics) add(name string, v float64, labels ...string) {
	key := labelKey(labels)
	m.mu.Lock()
	m.values[name][key] += v
	m.mu.Unlock()
}

// set sets the gauge name{labels} to v.
func (m *metrics) set(name string, v float64, labels ...string) {
	key := labelKey(labels)
	m.mu.Lock()
	m.values[name][key] = v
	m.mu.Unlock()
}

func labelKey(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, 0, len(labels)/2)
	for i := 0; i+1 < len(labels); i += 2 {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(labels[i+1])
		parts = append(parts, fmt.Sprintf(`%s="%s"`, labels[i], v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// writeTo writes every series in the Prometheus text exposition format.
func (m *metrics) writeTo(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.values))
	for n := range m.values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", n, m.help[n], n, m.kind[n])
		keys := make([]string, 0, len(m.values[n]))
		for k := range m.values[n] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s%s %g\n", n, k, m.values[n][k])
		}
	}
}

// stateMetrics derives the sync metrics from the engine's stored status, which is complete,
// rather than from its events, which are dropped when the handler falls behind. A sync is
// counted when a tenant's last finish moves; the daemon samples every few seconds, faster than
// any tenant can finish twice (the sync-now cooldown is 30 s).
type stateMetrics struct {
	m *metrics

	mu       gosync.Mutex
	finished map[string]time.Time // tenant → the last finish already counted
}

func newStateMetrics(m *metrics) *stateMetrics {
	return &stateMetrics{m: m, finished: map[string]time.Time{}}
}

// prime records the finishes stored before this process started, so they are not counted.
func (s *stateMetrics) prime(sts []sync.TenantStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range sts {
		s.finished[t.Tenant.ID] = t.State.LastFinish
	}
}

// observe updates the gauges from the tenants' status, counts the syncs that finished since
// the last call, and publishes the engine's count of dropped events.
func (s *stateMetrics) observe(sts []sync.TenantStatus, droppedEvents uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tenants := map[string]int{"linked": 0, "unlinked": 0, "vanished": 0, "running": 0, "failing": 0}
	mirrored := map[tenantsync.Kind]int{}
	for _, k := range tenantsync.AllKinds() {
		mirrored[k] = 0
	}
	var oldest time.Time
	neverSucceeded := false
	failing, pending, holds := 0, 0, 0
	for _, t := range sts {
		failing += t.FailingContacts()
		pending += t.ContactsPending
		holds += len(t.Holds)
		switch {
		case t.Tenant.Status == store.TenantVanished:
			tenants["vanished"]++
		case t.Tenant.Linked():
			tenants["linked"]++
		default:
			tenants["unlinked"]++
		}
		if t.Running {
			tenants["running"]++
		}
		if t.Tenant.Linked() && !t.Healthy() {
			tenants["failing"]++
		}
		if t.Tenant.Linked() {
			for k, n := range t.State.Counts {
				mirrored[k] += n
			}
			if t.Tenant.Syncing {
				ls := t.State.LastSuccess
				neverSucceeded = neverSucceeded || ls.IsZero()
				if oldest.IsZero() || ls.Before(oldest) {
					oldest = ls
				}
			}
		}
		if lf := t.State.LastFinish; !lf.IsZero() && lf.After(s.finished[t.Tenant.ID]) {
			s.finished[t.Tenant.ID] = lf
			outcome := "ok"
			if e := t.State.LastError; e != nil {
				outcome = "failed"
				s.m.add("tenantsync_sync_errors_total", 1, "kind", nonEmpty(e.Kind, "unknown"))
			}
			for _, e := range t.State.KindErrors {
				s.m.add("tenantsync_sync_errors_total", 1, "kind", nonEmpty(e.Kind, "unknown"))
			}
			s.m.add("tenantsync_syncs_total", 1, "outcome", outcome)
		}
	}
	for state, n := range tenants {
		s.m.set("tenantsync_tenants", float64(n), "state", state)
	}
	for k, n := range mirrored {
		s.m.set("tenantsync_mirrored_items", float64(n), "kind", string(k))
	}
	ts := 0.0
	if !neverSucceeded && !oldest.IsZero() {
		ts = float64(oldest.Unix())
	}
	s.m.set("tenantsync_oldest_success_timestamp_seconds", ts)
	s.m.set("tenantsync_contacts_failing", float64(failing))
	s.m.set("tenantsync_contacts_pending", float64(pending))
	s.m.set("tenantsync_deletion_holds", float64(holds))
	s.m.set("tenantsync_events_dropped_total", float64(droppedEvents))
}
