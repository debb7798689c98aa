package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/sync"
)

// status builds a linked tenant's status for the progress and metrics tests.
func status(id, name string, finish time.Time, users int, failed bool) sync.TenantStatus {
	s := sync.TenantStatus{Tenant: store.TenantRecord{Tenant: tenantsync.Tenant{ID: id, DisplayName: name}, ClientID: "c-" + id, Syncing: true}}
	s.State.LastFinish = finish
	if failed {
		s.State.LastError = &store.SyncError{Kind: "throttled", Message: "boom", Hint: "wait and retry"}
	} else if !finish.IsZero() {
		s.State.LastSuccess = finish
		s.State.Counts = map[tenantsync.Kind]int{tenantsync.KindUsers: users, tenantsync.KindDevices: 3}
	}
	return s
}

func TestProgressLineReadsTheStoredState(t *testing.T) {
	t.Parallel()
	since := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	running := status("t3", "Northwind", time.Time{}, 0, false)
	running.Running = true
	running.Progress = map[tenantsync.Kind]int{tenantsync.KindUsers: 20}
	sts := []sync.TenantStatus{
		status("t1", "Contoso Ltd", since.Add(time.Minute), 150, false),
		status("t2", "Fabrikam", since.Add(time.Minute), 0, true),
		running,
		status("t4", "Synced last week", since.Add(-time.Hour), 999, false), // not waited for
	}
	withGaps := status("t5", "Tailspin", since.Add(2*time.Minute), 7, false)
	withGaps.State.KindErrors = map[tenantsync.Kind]store.SyncError{tenantsync.KindMFA: {Kind: "licence_required"}}

	var buf bytes.Buffer
	p := newProgress(&buf, true, since)
	p.waitFor([]string{"t1", "t2", "t3", "t5"})
	assert.Equal(t, 2, p.update(append(sts, status("t5", "Tailspin", time.Time{}, 0, false))), "t3 and t5 still to finish")
	out := buf.String()
	assert.Contains(t, out, "\r\033[K")
	assert.Contains(t, out, "initial sync: 2/4 tenants done, 170 users synced, 1 errors, 1 running")
	assert.Contains(t, out, "synced Contoso Ltd: 150 users\n")
	assert.Contains(t, out, "sync of Fabrikam failed: boom (what to do: wait and retry)")
	assert.NotContains(t, out, "Synced last week")

	buf.Reset()
	assert.Equal(t, 1, p.update(append(sts, withGaps)))
	assert.NotContains(t, buf.String(), "Contoso", "a finished tenant gets its line once")
	assert.Contains(t, buf.String(), "synced Tailspin: 7 users, unavailable: mfa")
	assert.Contains(t, buf.String(), "initial sync: 3/4 tenants done, 177 users synced")

	// A tenant unlinked meanwhile is no longer waited for.
	unlinked := running
	unlinked.Tenant.ClientID = ""
	assert.Equal(t, 0, p.update([]sync.TenantStatus{sts[0], sts[1], unlinked, withGaps}))
	p.finish(nil)
	assert.True(t, p.done())
	assert.True(t, strings.HasSuffix(buf.String(), "initial sync: 3/3 tenants done, 157 users synced, 1 errors, 0 running, 0s\n"), buf.String())

	buf.Reset()
	p = newProgress(&buf, false, since)
	p.waitFor([]string{"t1"})
	p.update(sts[:1])
	p.finish(sts[:1])
	assert.NotContains(t, buf.String(), "\r", "plain log lines when not on a terminal")
	assert.Equal(t, 1, strings.Count(buf.String(), "initial sync: 1/1 tenants done"), buf.String())
}

func TestStateMetricsCountEachFinishOnce(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m := newMetrics()
	sm := newStateMetrics(m)
	sm.prime([]sync.TenantStatus{status("t1", "A", t0, 10, false)})

	text := func() string {
		var b bytes.Buffer
		m.writeTo(&b)
		return b.String()
	}
	sm.observe([]sync.TenantStatus{status("t1", "A", t0, 10, false)}, 0)
	assert.NotContains(t, text(), "tenantsync_syncs_total{", "a finish from before the start is not counted")
	assert.Contains(t, text(), `tenantsync_mirrored_items{kind="users"} 10`)

	gaps := status("t2", "B", t0.Add(time.Minute), 5, false)
	gaps.State.KindErrors = map[tenantsync.Kind]store.SyncError{tenantsync.KindMFA: {Kind: "licence_required"}}
	next := []sync.TenantStatus{status("t1", "A", t0.Add(time.Minute), 12, false), gaps, status("t3", "C", t0.Add(time.Minute), 0, true)}
	sm.observe(next, 7)
	sm.observe(next, 9) // nothing finished since: nothing counted twice
	out := text()
	assert.Contains(t, out, `tenantsync_syncs_total{outcome="ok"} 2`)
	assert.Contains(t, out, `tenantsync_syncs_total{outcome="failed"} 1`)
	assert.Contains(t, out, `tenantsync_sync_errors_total{kind="throttled"} 1`)
	assert.Contains(t, out, `tenantsync_sync_errors_total{kind="licence_required"} 1`)
	assert.Contains(t, out, `tenantsync_mirrored_items{kind="users"} 17`)
	assert.Contains(t, out, `tenantsync_mirrored_items{kind="mailboxes"} 0`)
	assert.Contains(t, out, `tenantsync_tenants{state="failing"} 2`)
	assert.Contains(t, out, `tenantsync_events_dropped_total 9`)
	assert.Contains(t, out, "tenantsync_oldest_success_timestamp_seconds 0", "t3 never succeeded")
}

// TestProgressAndMetricsSurviveDroppedEvents runs the initial sync with an event handler that
// falls behind at once: nearly every event is dropped, and the progress line and the metrics
// must still show every tenant and every mirrored user.
func TestProgressAndMetricsSurviveDroppedEvents(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("syncs the demo tenants")
	}
	cfg, err := parseConfig([]string{"-data-dir", filepath.Join(t.TempDir(), "data"), "-demo-tenants", "5", "-demo-huge-users", "60"},
		func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	release := make(chan struct{})
	rec := &eventRecorder{}
	slow := func(next sync.Sink) sync.Sink {
		return rec.wrap(sync.SinkFunc(func(ctx context.Context, ev sync.Event) {
			select {
			case <-release:
				next.Handle(ctx, ev)
			case <-ctx.Done():
			}
		}))
	}
	out := &lockedBuffer{}
	d, err := newDaemon(t.Context(), cfg, out, hooks{eventBuffer: 1, sink: slow})
	require.NoError(t, err)
	t.Cleanup(d.close)

	ctx, cancel := context.WithCancel(t.Context())
	syncDone := make(chan error, 1)
	go func() { syncDone <- d.sync(ctx) }()
	select {
	case <-d.initialDone:
	case err := <-syncDone:
		t.Fatalf("sync ended before the initial sync: %v\n%s", err, out)
	case <-time.After(3 * time.Minute):
		t.Fatalf("initial sync not done\n%s", out)
	}

	sts, err := d.engine.Statuses(t.Context())
	require.NoError(t, err)
	linked, users := 0, 0
	for _, s := range sts {
		if s.Tenant.Linked() {
			linked++
			users += s.State.Counts[tenantsync.KindUsers]
			require.False(t, s.State.LastFinish.IsZero(), "%s finished", s.Tenant.DisplayName)
		}
	}
	require.Positive(t, linked)
	require.Positive(t, users)

	finished := 0
	for _, ev := range rec.all() {
		if ev.Type == sync.EventSyncFinished {
			finished++
		}
	}
	require.Less(t, finished, linked, "the handler lost sync.finished events, so counting them would be wrong")
	require.Positive(t, d.engine.DroppedEvents())

	assert.Contains(t, out.String(), fmt.Sprintf("initial sync: %d/%d tenants done, %d users synced, 0 errors, 0 running", linked, linked, users))
	for _, s := range sts {
		if s.Tenant.Linked() {
			assert.Contains(t, out.String(), fmt.Sprintf("synced %s: %d users", s.Tenant.DisplayName, s.State.Counts[tenantsync.KindUsers]))
		}
	}

	d.refreshMetrics(t.Context())
	var metrics bytes.Buffer
	d.metrics.writeTo(&metrics)
	assert.Contains(t, metrics.String(), fmt.Sprintf(`tenantsync_mirrored_items{kind="users"} %d`, users))
	assert.Contains(t, metrics.String(), fmt.Sprintf(`tenantsync_syncs_total{outcome="ok"} %d`, linked))
	assert.Contains(t, metrics.String(), fmt.Sprintf(`tenantsync_tenants{state="linked"} %d`, linked))
	assert.NotContains(t, metrics.String(), "tenantsync_events_dropped_total 0\n")

	close(release)
	cancel()
	assert.ErrorIs(t, <-syncDone, context.Canceled)
}
