package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/tenantsynctest"
)

// startupLog is a daemon's output, written from several goroutines.
type startupLog struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *startupLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *startupLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func smallDemo(t *testing.T, dir string, tenants int) config {
	t.Helper()
	cfg, err := parseConfig([]string{"-data-dir", dir, "-demo-tenants", strconv.Itoa(tenants), "-demo-huge-users", "20", "-no-progress"},
		func(string) string { return "" }, &bytes.Buffer{})
	require.NoError(t, err)
	return cfg
}

// A second daemon on the same data directory stops at once and says why; once the first has
// gone, the directory is free again.
func TestSecondDaemonOnTheDataDirectoryIsRefused(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	first, err := newDaemon(t.Context(), smallDemo(t, dir, 1), &startupLog{}, hooks{})
	require.NoError(t, err)

	_, err = newDaemon(t.Context(), smallDemo(t, dir, 1), &startupLog{}, hooks{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, tenantsync.ErrConflict), "%v", err)
	assert.Contains(t, err.Error(), "another syncd is already running on the data directory")
	assert.Contains(t, err.Error(), "process ")
	assert.Contains(t, tenantsync.HintOf(err), "-data-dir")

	first.close()
	again, err := newDaemon(t.Context(), smallDemo(t, dir, 1), &startupLog{}, hooks{})
	require.NoError(t, err, "the lock goes with the daemon")
	again.close()
}

// -demo-tenants N makes N tenants, even fewer than the demo's preset sizes.
func TestDemoTenantsGivesN(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 7} {
		out := &startupLog{}
		d, err := newDaemon(t.Context(), smallDemo(t, filepath.Join(t.TempDir(), "data"), n), out, hooks{})
		require.NoError(t, err)
		assert.Len(t, d.fake.Tenants(), n)
		_, err = d.engine.Discover(t.Context())
		require.NoError(t, err)
		sts, err := d.engine.Statuses(t.Context())
		require.NoError(t, err)
		assert.Len(t, sts, n, "the daemon knows the N tenants")
		d.close()
	}
}

// A discovery failure at start is logged once, with what to do, and retried until it works;
// the daemon does not exit.
func TestDiscoveryFailureAtStartIsRetried(t *testing.T) {
	t.Parallel()
	out := &startupLog{}
	d, err := newDaemon(t.Context(), smallDemo(t, filepath.Join(t.TempDir(), "data"), 2), out, hooks{})
	require.NoError(t, err)
	defer d.close()
	d.discoveryRetry = 10 * time.Millisecond
	// Every source's tenant list fails three times over.
	for _, svc := range []tenantsynctest.ServiceName{tenantsynctest.ServiceCIPP, tenantsynctest.ServicePartnerCenter, tenantsynctest.ServiceGraph} {
		_, err := d.fake.InjectHTTPFault(tenantsynctest.HTTPFault{Service: svc, Kind: tenantsynctest.HTTPServerError, Path: pathOfListing(svc), Count: 3 * 5})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rep, err := d.discoverAtStart(ctx)
	require.NoError(t, err, "discovery recovers")
	assert.NotEmpty(t, rep.Sources)
	log := out.String()
	assert.Equal(t, 1, strings.Count(log, "discovery failed"), "logged once:\n%s", log)
	assert.Contains(t, log, "discovery succeeded")
	assert.Contains(t, log, "hint=")
}

func pathOfListing(svc tenantsynctest.ServiceName) string {
	switch svc {
	case tenantsynctest.ServiceCIPP:
		return "/api/ListTenants"
	case tenantsynctest.ServicePartnerCenter:
		return "/v1/customers"
	}
	return "delegatedAdmin"
}

// -version prints the module's version and exits 0 without reading anything else.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig([]string{"-version", "-listen", "0.0.0.0:1"}, func(string) string { return "" }, &bytes.Buffer{})
	require.NoError(t, err, "-version answers whatever else is wrong")
	assert.True(t, cfg.ShowVersion)
	assert.Contains(t, versionLine(), tenantsync.Version)

	bin := filepath.Join(t.TempDir(), "syncd")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	outb, err := exec.Command(bin, "-version").CombinedOutput()
	require.NoError(t, err)
	assert.Equal(t, versionLine()+"\n", string(outb))
}

// /metrics names the version and carries the Go runtime's and the process's own series, from
// client_golang's collectors, beside the daemon's.
func TestMetricsCarryVersionAndRuntime(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	m.setDropped(3)
	m.add("tenantsync_round_trips_total", 2, "service", "graph")
	m.add("tenantsync_round_trips_total", 1, "wrong", "label") // a bug: the series stays absent
	var buf bytes.Buffer
	m.writeTo(&buf)
	text := buf.String()
	assert.Contains(t, text, `tenantsync_build_info{version="`+tenantsync.Version+`"} 1`)
	assert.Contains(t, text, "tenantsync_events_dropped_total 3\n")
	assert.Contains(t, text, "# TYPE tenantsync_events_dropped_total counter")
	assert.Contains(t, text, `tenantsync_round_trips_total{service="graph"} 2`)
	assert.NotContains(t, text, `wrong="label"`)
	assert.Contains(t, text, "go_goroutines ")
	assert.Contains(t, text, "process_start_time_seconds ")
}

// /healthz names the version a monitor is talking to.
func TestHealthzReportsTheVersion(t *testing.T) {
	t.Parallel()
	d, err := newDaemon(t.Context(), smallDemo(t, filepath.Join(t.TempDir(), "data"), 1), &startupLog{}, hooks{})
	require.NoError(t, err)
	defer d.close()
	a, err := d.api(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8765})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8765/healthz", nil)
	a.routes().ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, tenantsync.Version, body["version"])
}
