package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/graph"
	"github.com/tenantsync/tenantsync/partnercenter"
)

// The example hands a graph.Client to the Checker as its Prober.
var _ partnercenter.Prober = (*graph.Client)(nil)

// The example's default world shows a tenant in every readiness state, read through the real
// partnercenter and graph clients against the fake.
func TestReportShowsEveryState(t *testing.T) {
	t.Parallel()
	srv, err := startFake(4, 10)
	require.NoError(t, err)
	defer srv.Close()
	var out bytes.Buffer
	rows, err := report(t.Context(), &out, srv)
	require.NoError(t, err)

	require.Len(t, rows, len(srv.Tenants()), "every customer of the fake partner has a row")
	for _, tn := range srv.Tenants() {
		assert.Contains(t, out.String(), tn.DisplayName)
	}
	seen := map[partnercenter.State]int{}
	for _, r := range rows {
		seen[r.State()]++
	}
	for _, s := range []partnercenter.State{partnercenter.StateReady, partnercenter.StateExpiring, partnercenter.StatePropagating,
		partnercenter.StateRoleMissing, partnercenter.StateConsentMissing, partnercenter.StateNoRelationship} {
		assert.Positive(t, seen[s], "a tenant in state %s", s)
	}
	assert.Contains(t, out.String(), "Intune Administrator", "the missing role is named")
	assert.Contains(t, out.String(), "applicationconsents")
	assert.Contains(t, out.String(), "Microsoft may take 30 minutes to 2 hours")
	assert.Equal(t, 1, strings.Count(out.String(), "TENANT "), "one table")
}

func TestRunWritesTheTable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, 1, 5))
	assert.Contains(t, out.String(), "GDAP readiness of 5 customer tenants")
	assert.Contains(t, out.String(), "Tenants by state:")
}
