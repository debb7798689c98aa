package memory

import (
	"context"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

type assetKey struct{ client, asset string }

// CreateAsset implements store.AssetDirectory.
func (s *backend) CreateAsset(_ context.Context, acct string, a tenantsync.Asset) (tenantsync.Asset, error) {
	const op = "CreateAsset"
	a, err := kit.NewAsset(op, acct, a)
	if err != nil {
		return tenantsync.Asset{}, err
	}
	err = s.view(op, acct, true, func(ac *account) error {
		for k, have := range ac.assets {
			if k.client == a.ClientID && kit.SameDevice(a, have) {
				a = have
				return nil
			}
		}
		k := assetKey{a.ClientID, a.ID}
		if _, ok := ac.assets[k]; ok {
			return kit.AssetExists(op, a.ID)
		}
		ac.assets[k] = a
		return nil
	})
	if err != nil {
		return tenantsync.Asset{}, err
	}
	return a, nil
}

// asset runs fn under the lock on a stored asset; ErrNotFound when absent.
func (s *backend) asset(op, acct, clientID, assetID string, fn func(ac *account, k assetKey, a tenantsync.Asset)) error {
	return s.view(op, acct, false, func(ac *account) error {
		k := assetKey{clientID, assetID}
		a, ok := ac.assets[k]
		if !ok {
			return kit.AssetNotFound(op, clientID, assetID)
		}
		fn(ac, k, a)
		return nil
	})
}

// UpdateAsset implements store.AssetDirectory.
func (s *backend) UpdateAsset(_ context.Context, acct string, a tenantsync.Asset) error {
	const op = "UpdateAsset"
	a, err := kit.CheckAsset(op, acct, a)
	if err != nil {
		return err
	}
	return s.asset(op, acct, a.ClientID, a.ID, func(ac *account, k assetKey, _ tenantsync.Asset) {
		ac.assets[k] = a
	})
}

// RetireAsset implements store.AssetDirectory.
func (s *backend) RetireAsset(_ context.Context, acct, clientID, assetID string, at time.Time) error {
	const op = "RetireAsset"
	if err := kit.CheckRetire(op, acct, at); err != nil {
		return err
	}
	return s.asset(op, acct, clientID, assetID, func(ac *account, k assetKey, a tenantsync.Asset) {
		a.RetiredAt = at
		ac.assets[k] = kit.AssetTimes(a)
	})
}

// GetAsset implements store.AssetDirectory.
func (s *backend) GetAsset(_ context.Context, acct, clientID, assetID string) (out tenantsync.Asset, err error) {
	err = s.asset("GetAsset", acct, clientID, assetID, func(_ *account, _ assetKey, a tenantsync.Asset) { out = a })
	return out, err
}

// ListAssets implements store.AssetDirectory.
func (s *backend) ListAssets(_ context.Context, acct, clientID string) (out []tenantsync.Asset, err error) {
	err = s.view("ListAssets", acct, false, func(ac *account) error {
		ofClient := map[string]tenantsync.Asset{}
		for k, a := range ac.assets {
			if k.client == clientID {
				ofClient[k.asset] = a
			}
		}
		out = sorted(ofClient, same[tenantsync.Asset])
		return nil
	})
	return out, err
}
