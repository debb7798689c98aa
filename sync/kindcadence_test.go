package sync

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
)

// defaultCadence undoes the harness's every-kind-every-sync, for the tests of the kinds' own
// cadence.
func defaultCadence(c *Config) { c.Cadence.Kinds = nil }

// lastKinds returns the kinds of the source's last fetch of the tenant.
func lastKinds(h *harness) []tenantsync.Kind {
	calls := h.src.Calls()
	return calls[len(calls)-1].Kinds
}

func TestKindsRestWithinTheirInterval(t *testing.T) {
	h, _ := newLinked(t, 3, defaultCadence)
	counts := h.state("t1").Counts
	require.Equal(t, 2, counts[tenantsync.KindDevices], "the initial sync fetched every kind")

	rep := h.syncNow("t1")
	assert.ElementsMatch(t, []tenantsync.Kind{tenantsync.KindUsers, tenantsync.KindMailboxes, tenantsync.KindDomains}, lastKinds(h))
	assert.ElementsMatch(t, []tenantsync.Kind{tenantsync.KindDevices, tenantsync.KindSubscriptions, tenantsync.KindMFA, tenantsync.KindBaseline,
		tenantsync.KindGroups, tenantsync.KindOrganization, tenantsync.KindSignIns, tenantsync.KindMailboxUsage}, rep.Resting)
	assert.False(t, rep.Partial(), "a resting kind is not a missing one")
	for _, k := range rep.Resting {
		assert.NotContains(t, rep.Kinds, k)
	}
	st := h.state("t1")
	assert.Equal(t, counts, st.Counts, "resting kinds keep their counts")
	assert.Empty(t, st.KindErrors)
	devices, err := h.st.Account(testAccount).Mirror.ReadKind(t.Context(), "t1", tenantsync.KindDevices)
	require.NoError(t, err)
	assert.Len(t, devices.Devices, 2, "resting devices stay mirrored")

	// Past the devices' interval they are fetched again; the others still rest.
	h.clock.Advance(DefaultDevicesInterval)
	rep = h.syncNow("t1")
	assert.Contains(t, lastKinds(h), tenantsync.KindDevices)
	assert.ElementsMatch(t, []tenantsync.Kind{tenantsync.KindSubscriptions, tenantsync.KindMFA, tenantsync.KindBaseline,
		tenantsync.KindOrganization, tenantsync.KindSignIns, tenantsync.KindMailboxUsage}, rep.Resting,
		"groups (hourly) are due again with the devices")
	h.clock.Advance(DefaultBaselineInterval)
	rep = h.syncNow("t1")
	assert.Empty(t, rep.Resting)
	assert.Len(t, lastKinds(h), len(tenantsync.AllKinds()))
}

func TestNewUserCallsForMFAAndSubscriptions(t *testing.T) {
	h, _ := newLinked(t, 3, defaultCadence)
	h.clock.Advance(time.Minute)
	u := person("t1-u900", "New", "Starter", "contoso.example")
	u.CreatedAt = h.clock.Now()
	h.src.PutUser("t1", u)
	rep := h.syncNow("t1")
	assert.ElementsMatch(t, []tenantsync.Kind{tenantsync.KindDevices, tenantsync.KindBaseline,
		tenantsync.KindGroups, tenantsync.KindOrganization, tenantsync.KindSignIns, tenantsync.KindMailboxUsage}, rep.Resting)
	assert.Contains(t, rep.Kinds, tenantsync.KindMFA)
	assert.Contains(t, rep.Kinds, tenantsync.KindSubscriptions)
	calls := h.src.Calls()
	assert.ElementsMatch(t, []tenantsync.Kind{tenantsync.KindSubscriptions, tenantsync.KindMFA}, calls[len(calls)-1].Kinds,
		"the called-for kinds come in a second fetch")

	// An edit of an existing user calls for nothing.
	h.src.PutUser("t1", func() tenantsync.User { u.JobTitle = "Lead"; return u }())
	rep = h.syncNow("t1")
	assert.Len(t, rep.Resting, 8)
}

func TestFailedKindIsNotRested(t *testing.T) {
	h, ft := newLinked(t, 3, defaultCadence)
	// A new user calls for the subscriptions well within their interval, and their fetch fails.
	h.src.SetMode(ft.Tenant.ID, tenantsync.KindSubscriptions, FakeUnavailable, &tenantsync.Error{Class: tenantsync.ErrUnavailable, Message: "down"})
	h.clock.Advance(time.Minute)
	u := person("t1-u900", "New", "Starter", "contoso.example")
	u.CreatedAt = h.clock.Now()
	h.src.PutUser("t1", u)
	rep := h.syncNow("t1")
	require.Equal(t, tenantsync.Unavailable, rep.Kinds[tenantsync.KindSubscriptions].Mode)
	h.src.SetMode(ft.Tenant.ID, tenantsync.KindSubscriptions, FakeAuto, nil)
	rep = h.syncNow("t1")
	assert.NotContains(t, rep.Resting, tenantsync.KindSubscriptions, "a kind whose last fetch failed is due at the next sync")
	assert.Equal(t, tenantsync.Complete, rep.Kinds[tenantsync.KindSubscriptions].Mode)
	assert.Empty(t, h.state("t1").KindErrors)
}

func TestKindIntervalsConfigured(t *testing.T) {
	h, _ := newLinked(t, 3, func(c *Config) {
		c.Cadence.Kinds = map[tenantsync.Kind]time.Duration{tenantsync.KindBaseline: -1, tenantsync.KindDomains: time.Hour, tenantsync.KindUsers: time.Hour}
	})
	rep := h.syncNow("t1")
	assert.True(t, slices.Contains(lastKinds(h), tenantsync.KindUsers), "users are fetched at every sync whatever is set")
	assert.Contains(t, rep.Kinds, tenantsync.KindBaseline, "a negative interval fetches at every sync")
	assert.Contains(t, rep.Resting, tenantsync.KindDomains)
	assert.Contains(t, rep.Resting, tenantsync.KindMFA, "unset kinds keep their default")
}
