package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// assetDir returns the account's default asset directory, skipping the test for a store
// without one (it is optional, as Directory is).
func (h *harness) assetDir(t *testing.T, acct string) store.AssetDirectory {
	p, ok := h.s.(store.AssetDirectoryProvider)
	if !ok {
		t.Skip("the store has no default AssetDirectory")
	}
	return p.AssetDirectory(acct)
}

func testAssets(t *testing.T, h *harness) {
	ctx := t.Context()
	ad := h.assetDir(t, h.acct)
	dir := store.AssetsFor(ad)
	checkIn := t0.Add(1500 * time.Nanosecond) // stored to the microsecond
	laptop := tenantsync.Asset{ClientID: "client-1", Name: "LAPTOP-1", TenantID: "tA", IntuneDeviceID: "d1", EntraDeviceID: "e1",
		SerialNumber: "SN1", Manufacturer: "Dell", Model: "Latitude 7440", OperatingSystem: "Windows", OSVersion: "10.0.22631",
		OwnerUPN: "ada@contoso.example", LastCheckIn: checkIn, Compliance: "compliant"}
	created, err := dir.CreateAsset(ctx, laptop)
	require.NoError(t, err)
	require.NotEmpty(t, created.ID)
	assert.True(t, created.LastCheckIn.Equal(t0.Add(time.Microsecond)), "times are kept to the microsecond")

	// A create for a device the client has an asset for returns that asset: a create repeated
	// after a lost answer makes no second one.
	again, err := dir.CreateAsset(ctx, tenantsync.Asset{ClientID: "client-1", Name: "other name", TenantID: "TA", IntuneDeviceID: "D1"})
	require.NoError(t, err)
	assert.Equal(t, created.ID, again.ID)
	assert.Equal(t, "LAPTOP-1", again.Name)
	// The same device under another client is that client's asset.
	other, err := dir.CreateAsset(ctx, tenantsync.Asset{ClientID: "client-2", TenantID: "tA", IntuneDeviceID: "d1"})
	require.NoError(t, err)
	assert.NotEqual(t, created.ID, other.ID)

	_, err = dir.CreateAsset(ctx, tenantsync.Asset{ID: "fixed", ClientID: "client-1", Name: "PRINTER", SerialNumber: "P1"})
	require.NoError(t, err)
	_, err = dir.CreateAsset(ctx, tenantsync.Asset{ID: "fixed", ClientID: "client-1"})
	assertKind(t, err, tenantsync.ErrConflict)
	_, err = dir.CreateAsset(ctx, tenantsync.Asset{Name: "no client"})
	assertKind(t, err, tenantsync.ErrInvalidInput)

	created.Model = "Latitude 7450"
	require.NoError(t, dir.UpdateAsset(ctx, created))
	retiredAt := t0.Add(time.Hour)
	require.NoError(t, dir.RetireAsset(ctx, "client-1", "fixed", retiredAt))
	assertKind(t, dir.RetireAsset(ctx, "client-1", "fixed", time.Time{}), tenantsync.ErrInvalidInput)
	assertKind(t, dir.RetireAsset(ctx, "client-2", "fixed", retiredAt), tenantsync.ErrNotFound)
	assertKind(t, dir.UpdateAsset(ctx, tenantsync.Asset{ID: "ghost", ClientID: "client-1"}), tenantsync.ErrNotFound)
	assertKind(t, dir.UpdateAsset(ctx, tenantsync.Asset{ClientID: "client-1"}), tenantsync.ErrInvalidInput)

	list, err := dir.ListAssets(ctx, "client-1")
	require.NoError(t, err)
	require.Len(t, list, 2, "retired assets are listed, never deleted")
	byID := map[string]tenantsync.Asset{}
	for i, a := range list {
		byID[a.ID] = a
		if i > 0 {
			assert.Less(t, list[i-1].ID, a.ID, "ordered by ID")
		}
	}
	assert.Equal(t, created, byID[created.ID])
	assert.True(t, byID["fixed"].Retired())
	assert.True(t, byID["fixed"].RetiredAt.Equal(retiredAt))
	assert.False(t, byID[created.ID].Retired())

	// UpdateAsset with a zero RetiredAt brings an asset back into service.
	back := byID["fixed"]
	back.RetiredAt = time.Time{}
	require.NoError(t, dir.UpdateAsset(ctx, back))
	got, err := ad.GetAsset(ctx, "client-1", "fixed")
	require.NoError(t, err)
	assert.False(t, got.Retired())
	_, err = ad.GetAsset(ctx, "client-1", "ghost")
	assertKind(t, err, tenantsync.ErrNotFound)

	// Another account sees none of it.
	theirs, err := h.assetDir(t, h.other()).ListAssets(ctx, "client-1")
	require.NoError(t, err)
	assert.Empty(t, theirs)
	_, err = h.assetDir(t, "").ListAssets(ctx, "client-1")
	assertKind(t, err, tenantsync.ErrInvalidInput)
}
