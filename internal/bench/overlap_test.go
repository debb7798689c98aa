package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/internal/testserver"
	"github.com/tenantsync/tenantsync/sync"
)

func TestCheckConcurrencyJudgesEachRequestAndCommit(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	req := func(engine, tenant string, from, to int) testserver.RequestSpan {
		return testserver.RequestSpan{Service: "graph", Tenant: tenant, UserAgent: "tenantsync/1 " + scaleoutAgent + engine + " go", Arrived: at(from), Done: at(to)}
	}
	ran := func(engine, tenant string, from, to int, ok bool) syncRecord {
		return syncRecord{Engine: engine, Tenant: tenant, Started: at(from), Finished: at(to), OK: ok}
	}
	cases := []struct {
		name                                 string
		spans                                []testserver.RequestSpan
		syncs                                []syncRecord
		handOffs                             int
		interleaved, inFlight, intruded, bad []string
		abandoned                            []string
	}{
		{name: "one engine, requests in parallel",
			spans: []testserver.RequestSpan{req("1", "a", 0, 100), req("1", "a", 10, 110), req("1", "a", 120, 200)},
			syncs: []syncRecord{ran("1", "a", 0, 210, true)}},
		{name: "a clean hand-off: the first sync failed, the second ran after it",
			spans: []testserver.RequestSpan{req("1", "a", 0, 100), req("2", "a", 300, 400)},
			syncs: []syncRecord{ran("1", "a", 0, 110, false), ran("2", "a", 290, 410, true)}, handOffs: 1},
		{name: "taken back later: interleaved, not at once",
			spans:    []testserver.RequestSpan{req("1", "a", 0, 100), req("2", "a", 300, 400), req("1", "a", 600, 700)},
			syncs:    []syncRecord{ran("1", "a", 0, 110, false), ran("2", "a", 290, 410, false), ran("1", "a", 590, 710, true)},
			handOffs: 1, interleaved: []string{"a"}},
		{name: "requests of two engines in flight at once",
			spans:    []testserver.RequestSpan{req("1", "a", 0, 500), req("2", "a", 300, 400)},
			handOffs: 1, inFlight: []string{"a"}, bad: []string{"a"}},
		{name: "a lapsed engine's request between the other's start and commit, never in flight together",
			spans:    []testserver.RequestSpan{req("2", "a", 100, 200), req("1", "a", 250, 280), req("2", "a", 300, 400)},
			syncs:    []syncRecord{ran("2", "a", 90, 450, true), ran("1", "a", 0, 290, false)},
			handOffs: 1, interleaved: []string{"a"}, intruded: []string{"a"}, bad: []string{"a"}},
		{name: "a commit after the other engine began, without a request in flight",
			spans:    []testserver.RequestSpan{req("1", "a", 0, 100), req("2", "a", 150, 250)},
			syncs:    []syncRecord{ran("1", "a", 0, 200, true), ran("2", "a", 140, 260, true)},
			handOffs: 1, intruded: []string{"a"}, bad: []string{"a"}},
		{name: "a stopped engine's request the fake still answered as the other engine began",
			spans:    []testserver.RequestSpan{req("1", "a", 100, 300), req("2", "a", 250, 350)},
			syncs:    []syncRecord{ran("1", "a", 0, 150, false), ran("2", "a", 200, 500, true)},
			handOffs: 1, abandoned: []string{"a"}},
		{name: "requests before the start and of other callers are not judged",
			spans: []testserver.RequestSpan{req("1", "a", -500, 100), {Tenant: "a", UserAgent: "warm-up", Arrived: at(0), Done: at(100)}, req("2", "a", 50, 60)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := checkConcurrency(tc.spans, tc.syncs, t0)
			assert.Equal(t, tc.handOffs, c.handOffs, "hand-offs")
			assert.Equal(t, tc.interleaved, c.interleaved, "interleaved")
			assert.Equal(t, tc.inFlight, c.inFlight, "in flight at once")
			assert.Equal(t, tc.intruded, c.intruded, "intruded commits")
			assert.Equal(t, tc.abandoned, c.abandoned, "abandoned requests")
			assert.Equal(t, tc.bad, c.violations(), "violations")
		})
	}
}

func TestRecordingTracerWritesEachSyncThatRan(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tr := &recordingTracer{engine: "3", w: &buf}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	_, end := tr.StartSync(context.Background(), "t1", "scheduled")
	end(&sync.Report{TenantID: "t1", Started: t0, Finished: t0.Add(time.Second)})
	_, end = tr.StartSync(context.Background(), "t2", "scheduled")
	end(&sync.Report{TenantID: "t2", Err: context.Canceled}) // refused before it started
	dir := t.TempDir() + "/r.jsonl"
	require.NoError(t, os.WriteFile(dir, buf.Bytes(), 0o600))
	recs, err := readSyncRecords(dir, dir+".missing")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, syncRecord{Engine: "3", Tenant: "t1", Started: t0, Finished: t0.Add(time.Second), OK: true}, recs[0])
}
