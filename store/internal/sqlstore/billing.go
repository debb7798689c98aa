package sqlstore

import (
	"context"
	"math"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// PutBillingSnapshot implements store.BillingHistory.
func (s *Store) PutBillingSnapshot(ctx context.Context, acct string, snap store.BillingSnapshot) error {
	const op = "PutBillingSnapshot"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	snap, err := store.CheckBillingSnapshot(op, snap)
	if err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		_, err := q.Exec(ctx, `INSERT INTO billing_snapshots (account, client_id, day, snapshot) VALUES (?, ?, ?, ?)
			ON CONFLICT (account, client_id, day) DO UPDATE SET snapshot = excluded.snapshot`,
			acct, snap.ClientID, snap.Day.Unix(), asJSON(snap))
		return err
	})
}

// BillingSnapshots implements store.BillingHistory.
func (s *Store) BillingSnapshots(ctx context.Context, acct string, bqy store.BillingQuery) ([]store.BillingSnapshot, error) {
	const op = "BillingSnapshots"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	from, to, err := store.CheckBillingQuery(op, bqy)
	if err != nil {
		return nil, err
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.Unix()
	}
	if !to.IsZero() {
		hi = to.Unix()
	}
	var out []store.BillingSnapshot
	err = s.read(ctx, op, "", func(q bq) (err error) {
		query := `SELECT snapshot FROM billing_snapshots WHERE account = ? AND day >= ? AND day <= ?`
		args := []any{acct, lo, hi}
		if bqy.ClientID != "" {
			query += ` AND client_id = ?`
			args = append(args, bqy.ClientID)
		}
		out, err = scanAll(ctx, q, scanJSONRow[store.BillingSnapshot], query+` ORDER BY client_id, day`, args...)
		return err
	})
	return out, err
}

// GetSettings returns the settings of clientID ("" for the account's defaults).
func (s *Store) GetSettings(ctx context.Context, acct, clientID string) (store.ClientSettings, error) {
	const op = "GetSettings"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.ClientSettings{}, err
	}
	var out store.ClientSettings
	err := s.readOne(ctx, op, "", func(q bq) error {
		cs, err := scanJSONRow[store.ClientSettings](q.QueryRow(ctx, `SELECT settings FROM client_settings WHERE account = ? AND client_id = ?`, acct, clientID))
		if notFound(err) {
			return nil
		}
		out = cs
		return err
	})
	return out, err
}

// PutSettings replaces the settings of clientID ("" for the account's defaults); a client's
// settings that set nothing are removed.
func (s *Store) PutSettings(ctx context.Context, acct, clientID string, cs store.ClientSettings) error {
	const op = "PutSettings"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	cs, err := store.CheckSettings(op, cs)
	if err != nil {
		return err
	}
	return s.write(ctx, op, "", func(q bq) error {
		if cs.Unset() && clientID != "" {
			_, err := q.Exec(ctx, `DELETE FROM client_settings WHERE account = ? AND client_id = ?`, acct, clientID)
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO client_settings (account, client_id, settings) VALUES (?, ?, ?)
			ON CONFLICT (account, client_id) DO UPDATE SET settings = excluded.settings`, acct, clientID, asJSON(cs))
		return err
	})
}

// ListClientSettings implements store.Settings.
func (s *Store) ListClientSettings(ctx context.Context, acct string) (map[string]store.ClientSettings, error) {
	const op = "ListSettings"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	out := map[string]store.ClientSettings{}
	err := s.read(ctx, op, "", func(q bq) error {
		rows, err := q.Query(ctx, `SELECT client_id, settings FROM client_settings WHERE account = ? AND client_id <> '' ORDER BY client_id`, acct)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var data []byte
			if err := rows.Scan(&id, &data); err != nil {
				return err
			}
			var cs store.ClientSettings
			if err := scanJSON(data, &cs); err != nil {
				return err
			}
			out[id] = cs
		}
		return rows.Err()
	})
	return out, err
}

// Disconnect implements store.Connections: the connection's row, the tenants' links and the
// feed entries change in one transaction.
func (s *Store) Disconnect(ctx context.Context, acct string, r store.DisconnectRequest) (store.Disconnection, error) {
	const op = "Disconnect"
	r, err := kit.CheckDisconnect(op, acct, r)
	if err != nil {
		return store.Disconnection{}, err
	}
	at := store.Time(r.At)
	if at.IsZero() {
		at = s.now()
	}
	var out store.Disconnection
	var purged []string
	err = s.write(ctx, op, "", func(q bq) error {
		out, purged = store.Disconnection{Unlinked: map[string]string{}}, nil
		// Tenants are locked in ID order, as every writer of several tenants locks them, so two
		// disconnects cannot deadlock.
		for _, id := range r.TenantIDs {
			rec, err := s.lockTenant(ctx, q, op, acct, id)
			if err != nil {
				return err
			}
			if !rec.Linked() {
				continue
			}
			out.Unlinked[id] = rec.ClientID
			if err := unlinkIn(ctx, q, acct, rec, r.Mode); err != nil {
				return err
			}
			if r.Mode == store.UnlinkPurge {
				purged = append(purged, id)
			}
		}
		n, err := q.Exec(ctx, `DELETE FROM connections WHERE account = ? AND name = ?`, acct, r.Name)
		if err != nil {
			return err
		}
		if n == 0 {
			return kit.ConnectionNotFound(op, r.Name)
		}
		return s.addFeed(ctx, q, acct, kit.DisconnectEntries(r, out.Unlinked, at), at)
	})
	if err != nil {
		return store.Disconnection{}, err
	}
	for _, id := range purged {
		s.cache.Drop(acct, id)
	}
	return out, nil
}
