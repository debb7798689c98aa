package main

import (
	"fmt"
	"io"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// metrics is the daemon's Prometheus registry, kept by prometheus/client_golang: the text
// format's escaping, HELP and TYPE lines, counters that only go up and the Go runtime and
// process collectors are the library's, not ours to get wrong. The daemon names each series
// with its label pairs (add, set); a series is created on first use.
type metrics struct {
	reg      *prometheus.Registry
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	// dropped is the engine's count of dropped events, published as a counter.
	dropped atomic.Uint64
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), counters: map[string]*prometheus.CounterVec{}, gauges: map[string]*prometheus.GaugeVec{}}
	m.counter("tenantsync_syncs_total", "Tenant syncs finished, by outcome, counted from the stored sync state.", "outcome")
	m.counter("tenantsync_sync_errors_total", "Errors left by finished tenant syncs (the sync's own, or a kind that was unavailable), by error class.", "kind")
	m.counter("tenantsync_round_trips_total", "HTTP attempts to Microsoft 365 services, by service.", "service")
	m.counter("tenantsync_throttled_total", "Throttled responses (429) received, by service.", "service")
	m.gauge("tenantsync_mirrored_items", "Items mirrored from linked tenants after their last sync, by kind.", "kind")
	m.gauge("tenantsync_oldest_success_timestamp_seconds", "Unix time of the oldest last successful sync among linked, syncing tenants; 0 while one has never succeeded.")
	m.counter("tenantsync_writes_total", "Write actions, by outcome.", "outcome")
	m.counter("tenantsync_workflows_total", "Workflow runs started or resumed, by the state they ended in (or error).", "outcome")
	m.gauge("tenantsync_tenants", "Tenants known, by state.", "state")
	m.gauge("tenantsync_contacts_failing", "Users whose contact the PSA refused to write at the last sync of their tenant (GET /api/tenants/{id} lists each with its reason).")
	m.gauge("tenantsync_contacts_pending", "Users whose contact work waits for a later sync: the PSA was paused or the per-sync budget of PSA calls was spent.")
	m.gauge("tenantsync_deletion_holds", "Kinds whose removal the deletion guard holds for a person or a confirming fetch.")
	m.counter("tenantsync_api_auth_failures_total", "API requests without a valid token, by outcome: refused (401) or rate_limited (429). They are not logged or audited.", "outcome")
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "tenantsync_events_dropped_total",
		Help: "Engine events dropped because the daemon's event handler fell behind. Progress and metrics read the stored state and are unaffected; log lines may be missing.",
	}, func() float64 { return float64(m.dropped.Load()) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "tenantsync_build_info",
		Help:        "Always 1; the version label is the tenantsync version this daemon runs.",
		ConstLabels: prometheus.Labels{"version": tenantsync.Version},
	}, func() float64 { return 1 }))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) counter(name, help string, labels ...string) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	m.counters[name] = v
}

func (m *metrics) gauge(name, help string, labels ...string) {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	m.gauges[name] = v
}

// labelSet turns name, value pairs into Labels.
func labelSet(pairs []string) prometheus.Labels {
	l := prometheus.Labels{}
	for i := 0; i+1 < len(pairs); i += 2 {
		l[pairs[i]] = pairs[i+1]
	}
	return l
}

// add adds v to the counter name{labels}; labels are name, value pairs and must be the ones
// the counter was defined with (a mismatch is a bug the metrics tests catch: the series stays
// absent).
func (m *metrics) add(name string, v float64, labels ...string) {
	if c, ok := m.counters[name]; ok {
		if s, err := c.GetMetricWith(labelSet(labels)); err == nil {
			s.Add(v)
		}
	}
}

// set sets the gauge name{labels} to v.
func (m *metrics) set(name string, v float64, labels ...string) {
	if g, ok := m.gauges[name]; ok {
		if s, err := g.GetMetricWith(labelSet(labels)); err == nil {
			s.Set(v)
		}
	}
}

// setDropped publishes the engine's count of dropped events.
func (m *metrics) setDropped(n uint64) { m.dropped.Store(n) }

// writeTo writes every series in the Prometheus text exposition format.
func (m *metrics) writeTo(w io.Writer) {
	families, err := m.reg.Gather()
	if err != nil {
		fmt.Fprintf(w, "# gathering metrics failed: %v\n", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		_ = enc.Encode(f)
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
	s.m.setDropped(droppedEvents)
}
