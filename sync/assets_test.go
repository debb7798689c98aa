package sync

import (
	"context"
	"fmt"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// The asset reconcile's rules, each on memory, SQLite and PostgreSQL, against the store's own
// asset directory (the default Config.Assets).
func TestAssetScenarios(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"IdentityOrder", assetIdentityOrder},
		{"RetireAndReturn", assetRetireAndReturn},
		{"AmbiguityGoesToReviewAndTheDecisionIsRemembered", assetAmbiguityToReview},
		{"BlankNeverOverwrites", assetBlankNeverOverwrites},
		{"GuardHoldsRetirementsUntilReleased", assetGuardHoldAndRelease},
		{"GuardHoldConfirmedByALaterListing", assetGuardConfirmed},
		{"DevicesHoldReleasedRetiresWithoutASecondHold", assetDevicesHoldReleased},
		{"OffLeavesAssetsAlone", assetSyncOff},
		{"RefusedWriteFailsItsDeviceOnly", assetRefusedWrite},
	}
	for _, sc := range engineStores() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					faulty := &faultyAssets{}
					h := newHarnessOn(t, func(now func() time.Time) store.Store { return sc.open(t, now) }, func(c *Config) {
						c.Authorizer = FakeAuthorizer{Managers: map[string]bool{"alice": true}}
						faulty.Assets = store.AssetsFor(c.Store.(store.AssetDirectoryProvider).AssetDirectory(testAccount))
						c.Assets = faulty
					})
					h.faultyAssets = faulty
					s.run(t, h)
				})
			}
		})
	}
}

// faultyAssets is the store's asset directory, refusing the creates of the devices in refuse.
type faultyAssets struct {
	tenantsync.Assets
	mu     stdsync.Mutex
	refuse map[string]bool
}

func (f *faultyAssets) refuseCreate(deviceID string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse == nil {
		f.refuse = map[string]bool{}
	}
	f.refuse[deviceID] = on
}

func (f *faultyAssets) CreateAsset(ctx context.Context, a tenantsync.Asset) (tenantsync.Asset, error) {
	f.mu.Lock()
	refused := f.refuse[a.IntuneDeviceID]
	f.mu.Unlock()
	if refused {
		return tenantsync.Asset{}, &tenantsync.Error{Class: tenantsync.ErrInvalidInput, Service: "psa", Op: "CreateAsset", Status: 400,
			Message: "Configuration type is required"}
	}
	return f.Assets.CreateAsset(ctx, a)
}

// assetDir is the harness store's asset directory.
func (h *harness) assetDir() store.AssetDirectory {
	return h.st.(store.AssetDirectoryProvider).AssetDirectory(testAccount)
}

// assetsOn switches asset sync on for every client.
func (h *harness) assetsOn(on bool) {
	h.t.Helper()
	require.NoError(h.t, h.eng.SetDefaults(h.t.Context(), "alice", store.ClientSettings{AutoCreateAssets: &on}))
}

// putAsset stores an asset of client-1 as a person made it in the PSA.
func (h *harness) putAsset(a tenantsync.Asset) tenantsync.Asset {
	h.t.Helper()
	a.ClientID = "client-1"
	made, err := h.assetDir().CreateAsset(h.t.Context(), a)
	require.NoError(h.t, err)
	return made
}

// assetByID returns client-1's assets by ID.
func (h *harness) assetsByID() map[string]tenantsync.Asset {
	h.t.Helper()
	list, err := h.assetDir().ListAssets(h.t.Context(), "client-1")
	require.NoError(h.t, err)
	out := map[string]tenantsync.Asset{}
	for _, a := range list {
		out[a.ID] = a
	}
	return out
}

// assetLinks returns the engine's device-to-asset links of a tenant.
func (h *harness) assetLinks(tenantID string) map[string]string {
	out := map[string]string{}
	for id, l := range h.state(tenantID).Assets.Links {
		out[id] = l.AssetID
	}
	return out
}

// assetTenant adds tenant t1 with the given devices, linked to client-1 with asset sync on,
// without syncing it.
func (h *harness) assetTenant(devices ...tenantsync.Device) *FakeTenant {
	h.t.Helper()
	ft := fakeTenant("t1", "Contoso Ltd", "contoso.example", 2)
	for i := range devices {
		devices[i].TenantID = "t1"
	}
	ft.Devices = devices
	h.src.AddTenant(ft)
	h.assetsOn(true)
	h.discoverAndStoreLink("t1", "client-1")
	return ft
}

// assetFeed returns the asset.reconciled entries of the feed as "action device asset".
func (h *harness) assetFeed() []string {
	h.t.Helper()
	cs, err := h.st.Account(testAccount).Feed.Changes(h.t.Context(), 0, 0)
	require.NoError(h.t, err)
	var out []string
	for _, c := range cs {
		if c.Type == store.ChangeAsset {
			out = append(out, fmt.Sprintf("%s %s %s", c.Action, c.ItemID, c.AssetID))
		}
	}
	return out
}

// auditActions returns the audit log's entries as "actor action outcome".
func (h *harness) auditActions() []string {
	h.t.Helper()
	es, err := h.st.Account(testAccount).Audit.List(h.t.Context(), store.AuditQuery{})
	require.NoError(h.t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Actor+" "+e.Action+" "+e.Outcome)
	}
	return out
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// Identity goes (tenant ID, Intune device ID), then Entra device ID, then serial number and
// manufacturer (case-insensitive), and a placeholder serial matches nothing: each device finds
// its own asset although a weaker match points elsewhere.
func assetIdentityOrder(t *testing.T, h *harness) {
	byIntune := h.putAsset(tenantsync.Asset{Name: "old name", TenantID: "t1", IntuneDeviceID: "d1", SerialNumber: "OTHER", Manufacturer: "Dell"})
	h.putAsset(tenantsync.Asset{Name: "same serial as d1", SerialNumber: "SN1", Manufacturer: "Dell"})
	byEntra := h.putAsset(tenantsync.Asset{Name: "by entra", EntraDeviceID: "ENTRA-2"})
	h.putAsset(tenantsync.Asset{Name: "same serial as d2", SerialNumber: "SN2", Manufacturer: "HP"})
	bySerial := h.putAsset(tenantsync.Asset{Name: "by serial", SerialNumber: "sn3", Manufacturer: "LENOVO"})
	placeholder := h.putAsset(tenantsync.Asset{Name: "no serial", SerialNumber: "To be filled by O.E.M.", Manufacturer: "Acme"})
	h.assetTenant(
		tenantsync.Device{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1", Manufacturer: "Dell"},
		tenantsync.Device{ID: "d2", EntraDeviceID: "entra-2", DeviceName: "LAPTOP-2", SerialNumber: "SN2", Manufacturer: "HP"},
		tenantsync.Device{ID: "d3", DeviceName: "LAPTOP-3", SerialNumber: "SN3", Manufacturer: "Lenovo"},
		tenantsync.Device{ID: "d4", DeviceName: "LAPTOP-4", SerialNumber: "To be filled by O.E.M.", Manufacturer: "Acme"},
	)
	rep := h.syncNow("t1")
	require.NoError(t, rep.Assets.Err)

	links := h.assetLinks("t1")
	assert.Equal(t, byIntune.ID, links["d1"], "d1 by its Intune device ID, not by its serial")
	assert.Equal(t, byEntra.ID, links["d2"], "d2 by its Entra device ID, not by its serial")
	assert.Equal(t, bySerial.ID, links["d3"], "d3 by serial and manufacturer, case aside")
	require.Contains(t, links, "d4")
	assert.NotEqual(t, placeholder.ID, links["d4"], "a placeholder serial matches nothing")
	assert.Equal(t, AssetReport{Linked: 3, Created: 1, Updated: 3}, rep.Assets)

	assets := h.assetsByID()
	assert.Len(t, assets, 7)
	assert.Equal(t, "LAPTOP-1", assets[byIntune.ID].Name)
	assert.Equal(t, "d3", assets[bySerial.ID].IntuneDeviceID, "a linked asset carries its device's identity")
	assert.Equal(t, "t1", assets[links["d4"]].TenantID)

	feed := h.assetFeed()
	assert.Contains(t, feed, "linked d1 "+byIntune.ID)
	assert.Contains(t, feed, "created d4 "+links["d4"])
	audit := h.auditActions()
	assert.Equal(t, 3, countOf(audit, "asset-reconcile asset_linked succeeded"))
	assert.Equal(t, 1, countOf(audit, "asset-reconcile asset_created succeeded"))

	// The engine's own link wins next time: an asset a person made later with d1's serial
	// changes nothing.
	h.putAsset(tenantsync.Asset{Name: "late", SerialNumber: "SN1", Manufacturer: "Dell"})
	rep = h.syncNow("t1")
	assert.Equal(t, AssetReport{}, rep.Assets)
	assert.Equal(t, links, h.assetLinks("t1"))
}

// A device gone from a complete listing retires its asset, with the date; an unavailable
// listing retires nothing; the device's return brings the asset back. An asset the engine never
// linked is never retired.
func assetRetireAndReturn(t *testing.T, h *harness) {
	theirs := h.putAsset(tenantsync.Asset{Name: "a printer", SerialNumber: "PRN1", Manufacturer: "Brother"})
	h.assetTenant(
		tenantsync.Device{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1"},
		tenantsync.Device{ID: "d2", DeviceName: "LAPTOP-2", SerialNumber: "SN2"},
		tenantsync.Device{ID: "d3", DeviceName: "LAPTOP-3", SerialNumber: "SN3"},
	)
	rep := h.syncNow("t1")
	require.Equal(t, 3, rep.Assets.Created)
	links := h.assetLinks("t1")

	var d2 tenantsync.Device
	h.src.Silently("t1", func(ft *FakeTenant) { d2 = ft.Devices[1]; ft.Devices = slices.Delete(ft.Devices, 1, 2) })
	rep = h.syncNow("t1")
	retiredAt := h.clock.Now()
	assert.Equal(t, 1, rep.Assets.Retired)
	assets := h.assetsByID()
	assert.True(t, assets[links["d2"]].RetiredAt.Equal(retiredAt), "retired with the date: %v", assets[links["d2"]].RetiredAt)
	assert.False(t, assets[links["d1"]].Retired())
	assert.False(t, assets[theirs.ID].Retired(), "an asset the engine did not link is not its to retire")
	assert.Contains(t, h.assetFeed(), "retired d2 "+links["d2"])

	// No information is not "gone".
	h.src.SetMode("t1", tenantsync.KindDevices, FakeUnavailable, &tenantsync.Error{Class: tenantsync.ErrForbidden, Service: "cipp", Message: "403"})
	h.src.Silently("t1", func(ft *FakeTenant) { ft.Devices = ft.Devices[:1] })
	rep = h.syncNow("t1")
	assert.Zero(t, rep.Assets.Retired)
	assert.False(t, h.assetsByID()[links["d3"]].Retired())

	h.src.SetMode("t1", tenantsync.KindDevices, FakeAuto, nil)
	h.src.Silently("t1", func(ft *FakeTenant) {
		ft.Devices = append(ft.Devices, d2, tenantsync.Device{TenantID: "t1", ID: "d3", DeviceName: "LAPTOP-3", SerialNumber: "SN3"})
	})
	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Assets.Reactivated)
	assert.Zero(t, rep.Assets.Retired)
	assert.False(t, h.assetsByID()[links["d2"]].Retired(), "the returned device's asset is in service again")
	assert.Equal(t, links, h.assetLinks("t1"), "the same asset, not a new one")
	assert.Contains(t, h.assetFeed(), "reactivated d2 "+links["d2"])
	audit := h.auditActions()
	assert.Equal(t, 1, countOf(audit, "asset-reconcile asset_retired succeeded"))
	assert.Equal(t, 1, countOf(audit, "asset-reconcile asset_reactivated succeeded"))
}

// Two assets with the device's serial and manufacturer: the device waits for a person and no
// asset is created; the person's choice (manage permission needed, audited) is applied by the
// next sync and wins at every later one.
func assetAmbiguityToReview(t *testing.T, h *harness) {
	first := h.putAsset(tenantsync.Asset{Name: "desk 1", SerialNumber: "SN1", Manufacturer: "Dell"})
	second := h.putAsset(tenantsync.Asset{Name: "desk 2", SerialNumber: "sn1", Manufacturer: "DELL"})
	h.assetTenant(tenantsync.Device{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1", Manufacturer: "Dell"})
	rep := h.syncNow("t1")
	assert.Equal(t, AssetReport{Reviews: 1}, rep.Assets)
	assert.Len(t, h.assetsByID(), 2, "no asset is created for an ambiguous device")
	rv := h.state("t1").Assets.Reviews["d1"]
	assert.ElementsMatch(t, []string{first.ID, second.ID}, rv.Candidates)
	assert.Contains(t, h.assetFeed(), "review d1 ")

	// The next sync asks no one twice.
	rep = h.syncNow("t1")
	assert.Equal(t, AssetReport{Reviews: 1}, rep.Assets)
	assert.Equal(t, 1, countOf(h.assetFeed(), "review d1 "))

	ctx := t.Context()
	err := h.eng.ResolveAssetReview(ctx, "mallory", AssetReviewDecision{TenantID: "t1", DeviceID: "d1", AssetID: second.ID})
	assert.ErrorIs(t, err, tenantsync.ErrPermissionDenied)
	err = h.eng.ResolveAssetReview(ctx, "alice", AssetReviewDecision{TenantID: "t1", DeviceID: "d1", AssetID: "no-such-asset"})
	assert.ErrorIs(t, err, tenantsync.ErrNotFound)
	require.NoError(t, h.eng.ResolveAssetReview(ctx, "alice", AssetReviewDecision{TenantID: "t1", DeviceID: "d1", AssetID: second.ID}))
	audit := h.auditActions()
	assert.Contains(t, audit, "mallory resolve_asset_review refused")
	assert.Contains(t, audit, "alice resolve_asset_review succeeded")

	rep = h.syncNow("t1")
	assert.Equal(t, AssetReport{Linked: 1, Updated: 1}, rep.Assets)
	assert.Equal(t, second.ID, h.assetLinks("t1")["d1"])
	assert.Contains(t, h.auditActions(), "alice asset_linked succeeded", "the link is the person's")

	// The decision wins over a stronger match made later: an asset a person stamps with the
	// device's Intune ID does not take the device away from the chosen one.
	h.clock.Advance(time.Minute)
	h.putAsset(tenantsync.Asset{Name: "imported", TenantID: "t1", IntuneDeviceID: "D1"})
	rep = h.syncNow("t1")
	assert.Equal(t, AssetReport{}, rep.Assets)
	assert.Equal(t, second.ID, h.assetLinks("t1")["d1"])
}

// A blank device value never erases an asset's; a changed non-blank one is written, and an
// unchanged device costs no write.
func assetBlankNeverOverwrites(t *testing.T, h *harness) {
	seen := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	a := h.putAsset(tenantsync.Asset{Name: "LAPTOP-1", TenantID: "t1", IntuneDeviceID: "d1", SerialNumber: "SN1", Manufacturer: "Dell",
		Model: "Latitude 7440", OperatingSystem: "Windows", OSVersion: "10.0.19045", OwnerUPN: "ann@contoso.example", Compliance: "compliant"})
	h.assetTenant(tenantsync.Device{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "", Manufacturer: "",
		Model: "", OperatingSystem: "Windows", OSVersion: "10.0.26100", UserPrincipalName: "", ComplianceState: "noncompliant", LastSyncAt: seen})
	rep := h.syncNow("t1")
	assert.Equal(t, AssetReport{Linked: 1, Updated: 1}, rep.Assets)
	got := h.assetsByID()[a.ID]
	assert.Equal(t, "SN1", got.SerialNumber)
	assert.Equal(t, "Dell", got.Manufacturer)
	assert.Equal(t, "Latitude 7440", got.Model)
	assert.Equal(t, "ann@contoso.example", got.OwnerUPN)
	assert.Equal(t, "10.0.26100", got.OSVersion, "a changed value is written")
	assert.Equal(t, "noncompliant", got.Compliance)
	assert.True(t, got.LastCheckIn.Equal(seen))

	rep = h.syncNow("t1")
	assert.Equal(t, AssetReport{}, rep.Assets, "nothing changed, nothing written")
}

// guardFleet is a tenant of 15 devices with an asset each, after 12 of them left while the
// client's asset sync was off (each sync's departures small enough for the devices' own
// guard); asset sync then comes back on.
func guardFleet(t *testing.T, h *harness) map[string]string {
	var devices []tenantsync.Device
	for i := range 15 {
		devices = append(devices, tenantsync.Device{ID: fmt.Sprintf("d%02d", i), DeviceName: fmt.Sprintf("PC-%02d", i), SerialNumber: fmt.Sprintf("SN%02d", i)})
	}
	h.assetTenant(devices...)
	rep := h.syncNow("t1")
	require.Equal(t, 15, rep.Assets.Created)
	links := h.assetLinks("t1")
	h.assetsOn(false)
	for range 2 {
		h.clock.Advance(25 * time.Hour)
		h.src.Silently("t1", func(ft *FakeTenant) { ft.Devices = slices.Delete(ft.Devices, 0, 6) })
		rep = h.syncNow("t1")
		require.False(t, rep.Kinds[tenantsync.KindDevices].Held)
		require.Zero(t, rep.Assets.Retired, "asset sync is off")
	}
	h.assetsOn(true)
	return links
}

// Retiring 12 of 15 assets at once trips the deletion guard: nothing is retired, the hold is
// stored, announced in the feed and audited, and stays until a person with the manage
// permission releases it; the next sync then retires them, audited under that person.
func assetGuardHoldAndRelease(t *testing.T, h *harness) {
	links := guardFleet(t, h)
	rep := h.syncNow("t1")
	assert.Equal(t, 12, rep.Assets.Held)
	assert.Zero(t, rep.Assets.Retired)
	hold := h.state("t1").Assets.Hold
	require.NotNil(t, hold)
	assert.Len(t, hold.IDs, 12)
	assert.Equal(t, 15, hold.Of)
	assert.Equal(t, "cipp", hold.Source)
	assert.Contains(t, h.assetFeed(), "held  ")
	assert.Contains(t, h.auditActions(), "deletion-guard hold_asset_retirements held")
	for _, a := range h.assetsByID() {
		assert.False(t, a.Retired(), "held: %s", a.Name)
	}

	rep = h.syncNow("t1")
	assert.Equal(t, 12, rep.Assets.Held, "still held")

	ctx := t.Context()
	assert.ErrorIs(t, h.eng.ReleaseAssetHold(ctx, "mallory", "t1"), tenantsync.ErrPermissionDenied)
	require.NoError(t, h.eng.ReleaseAssetHold(ctx, "alice", "t1"))
	rep = h.syncNow("t1")
	assert.Equal(t, 12, rep.Assets.Retired)
	assert.Zero(t, rep.Assets.Held)
	assert.Nil(t, h.state("t1").Assets.Hold)
	assets := h.assetsByID()
	assert.True(t, assets[links["d00"]].Retired())
	assert.False(t, assets[links["d14"]].Retired())
	audit := h.auditActions()
	assert.Contains(t, audit, "mallory release_asset_hold refused")
	assert.Contains(t, audit, "alice release_asset_hold succeeded")
	assert.Equal(t, 12, countOf(audit, "alice asset_retired succeeded"))
	assert.Contains(t, h.assetFeed(), "hold_applied_released  ")
	assert.ErrorIs(t, h.eng.ReleaseAssetHold(ctx, "alice", "t1"), tenantsync.ErrNotFound, "nothing left to release")
}

// A listing still without the held devices a day after the hold began confirms it.
func assetGuardConfirmed(t *testing.T, h *harness) {
	guardFleet(t, h)
	rep := h.syncNow("t1")
	require.Equal(t, 12, rep.Assets.Held)
	h.clock.Advance(DefaultConfirmAfter + time.Minute)
	rep = h.syncNow("t1")
	assert.Equal(t, 12, rep.Assets.Retired)
	assert.Equal(t, 12, countOf(h.auditActions(), "deletion-guard asset_retired succeeded"))
}

// With the client's asset sync off, the engine neither reads nor writes its assets.
func assetSyncOff(t *testing.T, h *harness) {
	h.assetTenant(tenantsync.Device{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1"})
	h.assetsOn(false)
	rep := h.syncNow("t1")
	assert.Equal(t, AssetReport{}, rep.Assets)
	assert.Empty(t, h.assetsByID())
	assert.Empty(t, h.assetFeed())
}

// A create the PSA refuses fails its device only: the others are created in the same sync,
// the failure is kept with the PSA's message and audited, and the next sync tries again.
func assetRefusedWrite(t *testing.T, h *harness) {
	h.faultyAssets.refuseCreate("d2", true)
	h.assetTenant(
		tenantsync.Device{ID: "d1", DeviceName: "LAPTOP-1", SerialNumber: "SN1"},
		tenantsync.Device{ID: "d2", DeviceName: "LAPTOP-2", SerialNumber: "SN2"},
		tenantsync.Device{ID: "d3", DeviceName: "LAPTOP-3", SerialNumber: "SN3"},
	)
	rep := h.syncNow("t1")
	assert.Equal(t, 2, rep.Assets.Created)
	assert.Equal(t, 1, rep.Assets.Failed)
	assert.True(t, rep.Partial())
	assert.NotZero(t, rep.Kinds[tenantsync.KindDevices].Total, "the devices were stored all the same")
	f := h.state("t1").Assets.Failures["d2"]
	assert.Equal(t, store.AssetCreate, f.Op)
	assert.Equal(t, 1, f.Attempts)
	assert.Contains(t, f.Message, "Configuration type is required")
	assert.NotEmpty(t, f.Hint)
	assert.Contains(t, h.auditActions(), "asset-reconcile asset_create failed")

	rep = h.syncNow("t1")
	assert.Equal(t, 1, rep.Assets.Failed)
	assert.Equal(t, 2, h.state("t1").Assets.Failures["d2"].Attempts)

	h.faultyAssets.refuseCreate("d2", false)
	rep = h.syncNow("t1")
	assert.Equal(t, AssetReport{Created: 1}, rep.Assets)
	assert.Empty(t, h.state("t1").Assets.Failures)
	assert.Len(t, h.assetLinks("t1"), 3)
}

// A listing that loses every device is held by the devices kind's own guard, so no asset is
// retired; the person who releases that hold has judged the removal, and the sync that applies
// it retires the assets under that person's name, without a second hold.
func assetDevicesHoldReleased(t *testing.T, h *harness) {
	var devices []tenantsync.Device
	for i := range 15 {
		devices = append(devices, tenantsync.Device{ID: fmt.Sprintf("d%02d", i), DeviceName: fmt.Sprintf("PC-%02d", i), SerialNumber: fmt.Sprintf("SN%02d", i)})
	}
	h.assetTenant(devices...)
	require.Equal(t, 15, h.syncNow("t1").Assets.Created)

	h.src.Silently("t1", func(ft *FakeTenant) { ft.Devices = nil })
	rep := h.syncNow("t1")
	require.True(t, rep.Kinds[tenantsync.KindDevices].Held)
	assert.Equal(t, AssetReport{}, rep.Assets, "a held kind reconciles no asset")

	require.NoError(t, h.eng.ReleaseHold(t.Context(), "alice", "t1", tenantsync.KindDevices))
	rep = h.syncNow("t1")
	assert.False(t, rep.Kinds[tenantsync.KindDevices].Held)
	assert.Equal(t, 15, rep.Assets.Retired)
	assert.Zero(t, rep.Assets.Held)
	assert.Nil(t, h.state("t1").Assets.Hold)
	assert.Equal(t, 15, countOf(h.auditActions(), "alice asset_retired succeeded"))
}

// Asset writes have a budget per sync (Limits.PSACallsPerSync): a large fleet is written over
// several syncs, each saying why it stopped, and nothing is written twice.
func TestAssetWritesKeepToTheCallBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Limits.PSACallsPerSync = 4 })
	var devices []tenantsync.Device
	for i := range 10 {
		devices = append(devices, tenantsync.Device{ID: fmt.Sprintf("d%02d", i), DeviceName: fmt.Sprintf("PC-%02d", i)})
	}
	h.assetTenant(devices...)
	for _, want := range []int{4, 8, 10} {
		rep := h.syncNow("t1")
		assert.Len(t, h.assetsByID(), want)
		if want < 10 {
			assert.Equal(t, 4, rep.Assets.Created)
			assert.ErrorIs(t, rep.Assets.Err, tenantsync.ErrLimitExceeded)
			assert.True(t, rep.Partial())
		} else {
			assert.Equal(t, 2, rep.Assets.Created)
			assert.NoError(t, rep.Assets.Err)
		}
	}
	assert.Len(t, h.assetsByID(), 10, "every device has one asset in the end")
	assert.Len(t, h.assetLinks("t1"), 10)
}
