package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBenchRunsSmall runs the in-process parts of make bench (the Graph and CIPP routes) on a
// tiny partner, so a change that breaks the harness fails the suite rather than the next make
// bench. The figures themselves are not checked: they mean something only at bench scale.
func TestBenchRunsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole syncs")
	}
	o := options{seed: 1, small: 3, large: 1, largeUsers: 40, latency: time.Millisecond, concurrency: 4, skip: "sdk,memory",
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
