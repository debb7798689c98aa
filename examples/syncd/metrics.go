package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// metrics is a small Prometheus text-format registry: counters and gauges with labels. The
// daemon needs a handful of series, which does not justify a client library.
type metrics struct {
	mu     sync.Mutex
	help   map[string]string
	kind   map[string]string // "counter" or "gauge"
	values map[string]map[string]float64
}

func newMetrics() *metrics {
	m := &metrics{help: map[string]string{}, kind: map[string]string{}, values: map[string]map[string]float64{}}
	m.define("tenantsync_syncs_total", "counter", "Tenant syncs finished, by outcome.")
	m.define("tenantsync_sync_errors_total", "counter", "Errors reported by tenant syncs, by error kind.")
	m.define("tenantsync_round_trips_total", "counter", "HTTP attempts to Microsoft 365 services, by service.")
	m.define("tenantsync_throttled_total", "counter", "Throttled responses (429) received, by service.")
	m.define("tenantsync_users_synced_total", "counter", "Users received from sources.")
	m.define("tenantsync_writes_total", "counter", "Write actions, by outcome.")
	m.define("tenantsync_tenants", "gauge", "Tenants known, by state.")
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
