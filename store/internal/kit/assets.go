package kit

import (
	"context"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// NewAsset validates an asset to create, gives it an ID when it has none and normalises its
// times.
func NewAsset(op, account string, a tenantsync.Asset) (tenantsync.Asset, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return a, err
	}
	if a.ClientID == "" {
		return a, store.Invalid(op, "set the asset's ClientID", "asset %q without a client", a.Name)
	}
	if a.ID == "" {
		a.ID = NewID()
	}
	return AssetTimes(a), nil
}

// CheckAsset validates an asset to update and normalises its times.
func CheckAsset(op, account string, a tenantsync.Asset) (tenantsync.Asset, error) {
	if err := store.CheckAccount(op, account); err != nil {
		return a, err
	}
	if a.ClientID == "" || a.ID == "" {
		return a, store.Invalid(op, "set the asset's ClientID and ID (as ListAssets returned them)", "asset %q without a client or an ID", a.Name)
	}
	return AssetTimes(a), nil
}

// CheckRetire validates RetireAsset's arguments.
func CheckRetire(op, account string, at time.Time) error {
	if err := store.CheckAccount(op, account); err != nil {
		return err
	}
	if at.IsZero() {
		return store.Invalid(op, "pass when the asset was retired; bring an asset back into service with UpdateAsset and a zero RetiredAt", "retire without a time")
	}
	return nil
}

// AssetTimes rounds an asset's times as every store keeps them.
func AssetTimes(a tenantsync.Asset) tenantsync.Asset {
	a.LastCheckIn, a.RetiredAt = store.Time(a.LastCheckIn), store.Time(a.RetiredAt)
	return a
}

// SameDevice reports whether b is an asset for the device a is created for: both carry the same
// idempotency key.
func SameDevice(a, b tenantsync.Asset) bool {
	k := a.IdempotencyKey()
	return k != "" && k == b.IdempotencyKey()
}

// AssetExists is CreateAsset's error for an ID in use.
func AssetExists(op, id string) error {
	return store.Errorf(tenantsync.ErrConflict, op, "", "leave ID empty for the store to assign one", "asset %q exists", id)
}

// AssetNotFound is the error for a missing asset.
func AssetNotFound(op, clientID, assetID string) error {
	return store.Errorf(tenantsync.ErrNotFound, op, "", "list the client's assets; asset IDs are per client",
		"no asset %q of client %q", assetID, clientID)
}

type assetBackend interface {
	CreateAsset(ctx context.Context, account string, a tenantsync.Asset) (tenantsync.Asset, error)
	UpdateAsset(ctx context.Context, account string, a tenantsync.Asset) error
	RetireAsset(ctx context.Context, account, clientID, assetID string, at time.Time) error
	GetAsset(ctx context.Context, account, clientID, assetID string) (tenantsync.Asset, error)
	ListAssets(ctx context.Context, account, clientID string) ([]tenantsync.Asset, error)
}

// AssetDirectory binds b's account-taking asset methods to account.
func AssetDirectory(b assetBackend, account string) store.AssetDirectory {
	return assetDirectory{b: b, account: account}
}

type assetDirectory struct {
	b       assetBackend
	account string
}

var _ store.AssetDirectory = assetDirectory{}

func (d assetDirectory) CreateAsset(ctx context.Context, a tenantsync.Asset) (tenantsync.Asset, error) {
	return d.b.CreateAsset(ctx, d.account, a)
}
func (d assetDirectory) UpdateAsset(ctx context.Context, a tenantsync.Asset) error {
	return d.b.UpdateAsset(ctx, d.account, a)
}
func (d assetDirectory) RetireAsset(ctx context.Context, clientID, assetID string, at time.Time) error {
	return d.b.RetireAsset(ctx, d.account, clientID, assetID, at)
}
func (d assetDirectory) GetAsset(ctx context.Context, clientID, assetID string) (tenantsync.Asset, error) {
	return d.b.GetAsset(ctx, d.account, clientID, assetID)
}
func (d assetDirectory) ListAssets(ctx context.Context, clientID string) ([]tenantsync.Asset, error) {
	return d.b.ListAssets(ctx, d.account, clientID)
}
