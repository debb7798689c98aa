package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchRunsSmall runs the in-process parts of make bench (the Graph and CIPP routes) on a
// tiny partner, so a change that breaks the harness fails the suite rather than the next make
// bench. The figures themselves are not checked: they mean something only at bench scale.
func TestBenchRunsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole syncs")
	}
	o := options{seed: 1, small: 3, large: 1, largeUsers: 40, latency: time.Millisecond, concurrency: 4, skip: "sdk,memory,scaleout",
		runs: 1, bulkTenants: 5, inProcess: true}
	var out bytes.Buffer
	err := runBench(context.Background(), &out, o)
	require.NoError(t, err, out.String())
	require.Contains(t, out.String(), "Graph route")
	require.Contains(t, out.String(), "CIPP")
	for _, name := range []string{"graph-full-20ms", "graph-full-100ms", "graph-delta-20ms", "graph-delta-100ms", "cipp-full-100ms",
		"cipp-bulk-trips", "trips-per-unchanged-tenant"} {
		require.Regexp(t, `(?m)^goal `+name+`: [0-9.]+ \(target (>=|<=) [0-9.]+\) (met|missed)$`, out.String())
	}
	require.Regexp(t, `(?m)^goal scaleout-2: not measured`, out.String())
	require.Contains(t, out.String(), "0 tenants failed")
	require.NotContains(t, out.String(), "tenants failed\n  first failure")
}

// TestMain runs a scale-out engine process when the scale-out rig re-executes this test
// binary as one (the binary takes no -child flag, so the mode comes in the environment).
func TestMain(m *testing.M) {
	if mode := os.Getenv(scaleoutEnv); mode != "" {
		if err := runChildMode(context.Background(), options{child: mode}); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestScaleoutRunsTiny runs the scale-out rig small: engine processes re-executed from this
// binary on the PostgreSQL named by TENANTSYNC_TEST_POSTGRES (make test starts one), one and two
// of them, then two with one SIGKILLed mid-run. It checks that the rig runs, that the fake's
// record shows no tenant in flight at two engines at once and the killed engine's tenants
// finished by the other, and that the goal lines come out; the figures mean nothing at this size.
func TestScaleoutRunsTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole syncs in several processes")
	}
	if os.Getenv("TENANTSYNC_TEST_POSTGRES") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TENANTSYNC_TEST_POSTGRES is not set under CI; run the tests through scripts/with-postgres.sh (make test)")
		}
		t.Skip("TENANTSYNC_TEST_POSTGRES is not set; run `bash scripts/with-postgres.sh go test ./internal/bench/`")
	}
	o := options{seed: 1, concurrency: 4, skip: "graph,sdk,cipp,memory", runs: 1, inProcess: true,
		scaleTenants: 18, scaleMinUsers: 2, scaleMaxUsers: 4, scaleConcurrency: 2, scaleLatency: 20 * time.Millisecond,
		scaleLeaseTTL: 2 * time.Second, scaleTick: time.Second, scaleEngines: "1,2", scaleKill: 2}
	var out bytes.Buffer
	err := runBench(t.Context(), &out, o)
	require.NoError(t, err, out.String())
	s := out.String()
	require.Regexp(t, `(?m)^1 engines: 18 tenants synced in [0-9.]+ s, [0-9]+ tenants per minute, 0 failed;`, s)
	require.Regexp(t, `(?m)^2 engines: 18 tenants synced in .* tenants in flight at two engines at once 0;`, s)
	require.Regexp(t, `(?m)^2 engines, one killed: 18 tenants synced in `, s)
	require.Regexp(t, `(?m)^  hand-offs interleaved \(an engine's requests for the tenant resumed after another engine's began\): [0-9]+ \[.*\]; committed syncs that saw a request of another engine's running sync for their tenant before their commit: 0 \[\]; requests the fake still answered after their engine's sync had ended, as another engine's began: [0-9]+ \[.*\]$`, s)
	require.Regexp(t, `engine 1 SIGKILLed [0-9.]+ s after the start \([0-9]+ tenants had finished a sync\), holding ([0-9]+) leases: ([0-9]+) of them synced by the end, ([0-9]+) by the other engines alone after the kill, .* 0 taken over before the lease expired`, s)
	m := regexp.MustCompile(`holding ([0-9]+) leases: ([0-9]+) of them synced by the end, ([0-9]+) by the other`).FindStringSubmatch(s)
	require.Len(t, m, 4)
	assert.NotEqual(t, "0", m[1], "killed while it held leases")
	assert.Equal(t, m[1], m[2], "every tenant the killed engine held synced by the end")
	require.Contains(t, s, "scale-out check: no tenant had requests of two engines in flight at once")
	require.Regexp(t, `(?m)^goal scaleout-2: [0-9.]+ \(target >= 1\.80\) (met|missed)$`, s)
	require.Regexp(t, `(?m)^goal scaleout-4: not measured \(target >= 3\.20\)$`, s)
}
