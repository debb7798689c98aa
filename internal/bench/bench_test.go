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
	o := options{seed: 1, small: 3, large: 1, largeUsers: 40, latency: time.Millisecond, concurrency: 4, skip: "sdk,memory"}
	var out bytes.Buffer
	err := runBench(context.Background(), &out, o)
	require.NoError(t, err, out.String())
	require.Contains(t, out.String(), "Graph route")
	require.Contains(t, out.String(), "CIPP")
}
