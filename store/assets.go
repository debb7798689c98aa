package store

import (
	"context"
	"time"

	"github.com/tenantsync/tenantsync"
)

// AssetDirectory is the default asset directory of one account: the clients' configuration
// items, a stand-in for a PSA's own, for PSAs (and the daemon) that want one. Like Directory it
// is separate from Store; the stores in this module provide one through their
// AssetDirectory(account) method, and AssetsFor adapts it to tenantsync.Assets. It never deletes
// an asset.
type AssetDirectory interface {
	// CreateAsset stores a new asset with a store-assigned ID, or a.ID when set and unused. An
	// asset for a device (a.TenantID and a.IntuneDeviceID) the client already has an asset for
	// is not created again: that asset is returned, so a create repeated after a lost answer
	// makes no second asset.
	CreateAsset(ctx context.Context, a tenantsync.Asset) (tenantsync.Asset, error)
	// UpdateAsset replaces the fields of the asset (a.ClientID, a.ID), RetiredAt included.
	// ErrNotFound when absent.
	UpdateAsset(ctx context.Context, a tenantsync.Asset) error
	// RetireAsset marks an asset retired at the given time (a zero time is refused: bring an
	// asset back with UpdateAsset). ErrNotFound when absent.
	RetireAsset(ctx context.Context, clientID, assetID string, at time.Time) error
	// GetAsset returns one asset. ErrNotFound when absent.
	GetAsset(ctx context.Context, clientID, assetID string) (tenantsync.Asset, error)
	// ListAssets returns every asset of a client, retired or not, ordered by ID.
	ListAssets(ctx context.Context, clientID string) ([]tenantsync.Asset, error)
}

// AssetDirectoryProvider is a Store that also holds the default asset directory. The stores in
// this module implement it.
type AssetDirectoryProvider interface {
	AssetDirectory(account string) AssetDirectory
}

// AssetsFor adapts an account's AssetDirectory to tenantsync.Assets, so the engine can
// reconcile devices against the default asset directory.
func AssetsFor(d AssetDirectory) tenantsync.Assets { return directoryAssets{d} }

// directoryAssets narrows an AssetDirectory to the methods of tenantsync.Assets.
type directoryAssets struct{ d AssetDirectory }

var _ tenantsync.Assets = directoryAssets{}

func (a directoryAssets) ListAssets(ctx context.Context, clientID string) ([]tenantsync.Asset, error) {
	return a.d.ListAssets(ctx, clientID)
}

func (a directoryAssets) CreateAsset(ctx context.Context, as tenantsync.Asset) (tenantsync.Asset, error) {
	return a.d.CreateAsset(ctx, as)
}

func (a directoryAssets) UpdateAsset(ctx context.Context, as tenantsync.Asset) error {
	return a.d.UpdateAsset(ctx, as)
}

func (a directoryAssets) RetireAsset(ctx context.Context, clientID, assetID string, at time.Time) error {
	return a.d.RetireAsset(ctx, clientID, assetID, at)
}
