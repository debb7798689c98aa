package sqlstore

import (
	"context"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// Assets

// CreateAsset implements store.AssetDirectory.
func (s *Store) CreateAsset(ctx context.Context, acct string, a tenantsync.Asset) (tenantsync.Asset, error) {
	const op = "CreateAsset"
	a, err := kit.NewAsset(op, acct, a)
	if err != nil {
		return tenantsync.Asset{}, err
	}
	out := a
	err = s.write(ctx, op, "", func(q bq) error {
		out = a
		if a.IdempotencyKey() != "" {
			// An asset for the same device is the one a lost answer made: it is returned.
			have, err := scanAll(ctx, q, scanJSONRow[tenantsync.Asset], `SELECT data FROM assets WHERE account = ? AND client_id = ?`, acct, a.ClientID)
			if err != nil {
				return err
			}
			for _, h := range have {
				if kit.SameDevice(a, h) {
					out = h
					return nil
				}
			}
		}
		var one int
		err := q.QueryRow(ctx, `SELECT 1 FROM assets WHERE account = ? AND client_id = ? AND id = ?`, acct, a.ClientID, a.ID).Scan(&one)
		if err == nil {
			return kit.AssetExists(op, a.ID)
		}
		if !notFound(err) {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO assets (account, client_id, id, data) VALUES (?, ?, ?, ?)`, acct, a.ClientID, a.ID, asJSON(a))
		return err
	})
	if err != nil {
		return tenantsync.Asset{}, err
	}
	return out, nil
}

// UpdateAsset implements store.AssetDirectory.
func (s *Store) UpdateAsset(ctx context.Context, acct string, a tenantsync.Asset) error {
	const op = "UpdateAsset"
	a, err := kit.CheckAsset(op, acct, a)
	if err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		n, err := q.Exec(ctx, `UPDATE assets SET data = ? WHERE account = ? AND client_id = ? AND id = ?`, asJSON(a), acct, a.ClientID, a.ID)
		if err == nil && n == 0 {
			return kit.AssetNotFound(op, a.ClientID, a.ID)
		}
		return err
	})
}

// RetireAsset implements store.AssetDirectory.
func (s *Store) RetireAsset(ctx context.Context, acct, clientID, assetID string, at time.Time) error {
	const op = "RetireAsset"
	if err := kit.CheckRetire(op, acct, at); err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		a, err := s.getAsset(ctx, q, op, acct, clientID, assetID, s.d.ForUpdate())
		if err != nil {
			return err
		}
		a.RetiredAt = at
		_, err = q.Exec(ctx, `UPDATE assets SET data = ? WHERE account = ? AND client_id = ? AND id = ?`, asJSON(kit.AssetTimes(a)), acct, clientID, assetID)
		return err
	})
}

func (s *Store) getAsset(ctx context.Context, q bq, op, acct, clientID, assetID, lock string) (tenantsync.Asset, error) {
	a, err := scanJSONRow[tenantsync.Asset](q.QueryRow(ctx, `SELECT data FROM assets WHERE account = ? AND client_id = ? AND id = ?`+lock, acct, clientID, assetID))
	if notFound(err) {
		return a, kit.AssetNotFound(op, clientID, assetID)
	}
	return a, err
}

// GetAsset implements store.AssetDirectory.
func (s *Store) GetAsset(ctx context.Context, acct, clientID, assetID string) (tenantsync.Asset, error) {
	const op = "GetAsset"
	if err := store.CheckAccount(op, acct); err != nil {
		return tenantsync.Asset{}, err
	}
	var a tenantsync.Asset
	err := s.read(ctx, op, "", func(q bq) error {
		var err error
		a, err = s.getAsset(ctx, q, op, acct, clientID, assetID, "")
		return err
	})
	return a, err
}

// ListAssets implements store.AssetDirectory.
func (s *Store) ListAssets(ctx context.Context, acct, clientID string) ([]tenantsync.Asset, error) {
	return listJSON[tenantsync.Asset](ctx, s, "ListAssets", acct, "", `SELECT data FROM assets WHERE account = ? AND client_id = ? ORDER BY id`, acct, clientID)
}
