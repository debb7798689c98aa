package sqlstore

import (
	"context"
	"time"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// setLink stores l, refusing a contact linked to another user. Two writers racing to link one
// contact both pass the check; the unique index stops the second, whose retry then sees the
// first's link and reports it.
func (s *Store) setLink(ctx context.Context, q bq, op, acct string, l store.ContactLink) error {
	var tenant, object string
	err := q.QueryRow(ctx, `SELECT tenant_id, object_id FROM contact_links WHERE account = ? AND client_id = ? AND contact_id = ?`,
		acct, l.ClientID, l.ContactID).Scan(&tenant, &object)
	switch {
	case err == nil && (tenant != l.TenantID || object != l.ObjectID):
		return store.NewContactTakenError(op, l.ContactID, tenant, object)
	case err != nil && !notFound(err):
		return err
	}
	var old *store.ContactLink
	if l.LinkedAt.IsZero() {
		cur, err := scanLink(q.QueryRow(ctx, `SELECT `+linkCols+` FROM contact_links WHERE account = ? AND tenant_id = ? AND object_id = ?`,
			acct, l.TenantID, l.ObjectID))
		switch {
		case err == nil:
			old = &cur
		case !notFound(err):
			return err
		}
	}
	l = kit.Link(l, old, s.now())
	_, err = q.Exec(ctx, `INSERT INTO contact_links (account, tenant_id, object_id, client_id, contact_id, linked_at, deactivated)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, tenant_id, object_id) DO UPDATE SET client_id = excluded.client_id, contact_id = excluded.contact_id,
		linked_at = excluded.linked_at, deactivated = excluded.deactivated`,
		acct, l.TenantID, l.ObjectID, l.ClientID, l.ContactID, micros(l.LinkedAt), l.Deactivated)
	return err
}

// SetContactLink implements store.ContactLinks.
func (s *Store) SetContactLink(ctx context.Context, acct string, l store.ContactLink) error {
	const op = "SetContactLink"
	if err := store.CheckAccount(op, acct); err != nil {
		return err
	}
	if err := kit.CheckLink(op, l, false); err != nil {
		return err
	}
	return s.write(ctx, op, l.TenantID, func(q bq) error {
		if _, err := s.lockTenant(ctx, q, op, acct, l.TenantID); err != nil {
			return err
		}
		return s.setLink(ctx, q, op, acct, l)
	})
}

// DeleteContactLink implements store.ContactLinks.
func (s *Store) DeleteContactLink(ctx context.Context, acct, tenantID, objectID string) error {
	const op = "DeleteContactLink"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error { return deleteLink(ctx, q, acct, tenantID, objectID) })
}

func deleteLink(ctx context.Context, q bq, acct, tenantID, objectID string) error {
	_, err := q.Exec(ctx, `DELETE FROM contact_links WHERE account = ? AND tenant_id = ? AND object_id = ?`, acct, tenantID, objectID)
	return err
}

const linkCols = `tenant_id, object_id, client_id, contact_id, linked_at, deactivated`

func scanLink(r Row) (store.ContactLink, error) {
	var l store.ContactLink
	var linked int64
	err := r.Scan(&l.TenantID, &l.ObjectID, &l.ClientID, &l.ContactID, &linked, &l.Deactivated)
	l.LinkedAt = fromMicros(linked)
	return l, err
}

// GetContactLink implements store.ContactLinks.
func (s *Store) GetContactLink(ctx context.Context, acct, tenantID, objectID string) (store.ContactLink, error) {
	const op = "GetContactLink"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.ContactLink{}, err
	}
	var l store.ContactLink
	err := s.read(ctx, op, tenantID, func(q bq) error {
		var err error
		l, err = scanLink(q.QueryRow(ctx, `SELECT `+linkCols+` FROM contact_links WHERE account = ? AND tenant_id = ? AND object_id = ?`, acct, tenantID, objectID))
		if notFound(err) {
			return kit.LinkNotFound(op, tenantID, objectID)
		}
		return err
	})
	return l, err
}

// ListContactLinks implements store.ContactLinks.
func (s *Store) ListContactLinks(ctx context.Context, acct, tenantID string) ([]store.ContactLink, error) {
	const op = "ListContactLinks"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	var out []store.ContactLink
	err := s.readOne(ctx, op, tenantID, func(q bq) (err error) {
		out, err = scanAll(ctx, q, scanLink, `SELECT `+linkCols+` FROM contact_links WHERE account = ? AND tenant_id = ? ORDER BY object_id`, acct, tenantID)
		return err
	})
	return out, err
}

// RememberMerge implements store.ContactLinks.
func (s *Store) RememberMerge(ctx context.Context, acct string, m store.Merge) error {
	const op = "RememberMerge"
	m, err := kit.CheckMerge(op, acct, m, s.now())
	if err != nil {
		return err
	}
	return s.write(ctx, op, m.TenantID, func(q bq) error {
		if _, err := s.lockTenant(ctx, q, op, acct, m.TenantID); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO merges (account, tenant_id, object_id, data) VALUES (?, ?, ?, ?)
			ON CONFLICT (account, tenant_id, object_id) DO UPDATE SET data = excluded.data`, acct, m.TenantID, m.ObjectID, asJSON(m))
		return err
	})
}

// ForgetMerge implements store.ContactLinks.
func (s *Store) ForgetMerge(ctx context.Context, acct, tenantID, objectID string) error {
	const op = "ForgetMerge"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		_, err := q.Exec(ctx, `DELETE FROM merges WHERE account = ? AND tenant_id = ? AND object_id = ?`, acct, tenantID, objectID)
		return err
	})
}

// ListMerges implements store.ContactLinks.
func (s *Store) ListMerges(ctx context.Context, acct, tenantID string) ([]store.Merge, error) {
	const op = "ListMerges"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	return listJSON[store.Merge](ctx, s, op, acct, tenantID, `SELECT data FROM merges WHERE account = ? AND tenant_id = ? ORDER BY object_id`, acct, tenantID)
}

// Reviews

func saveReview(ctx context.Context, q bq, acct string, r store.Review) error {
	_, err := q.Exec(ctx, `INSERT INTO reviews (account, id, tenant_id, object_id, resolved, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, id) DO UPDATE SET resolved = excluded.resolved, data = excluded.data`,
		acct, r.ID, r.TenantID, r.ObjectID, r.Resolved, micros(r.CreatedAt), asJSON(r))
	return err
}

// addReview stores r as the user's open review, refreshing the one that is open already. Two
// writers racing to open one meet at the partial unique index; the retry finds the winner's.
func (s *Store) addReview(ctx context.Context, q bq, acct string, r store.Review) (store.Review, error) {
	var open *store.Review
	old, err := scanJSONRow[store.Review](q.QueryRow(ctx, `SELECT data FROM reviews WHERE account = ? AND tenant_id = ? AND object_id = ? AND resolved = ?`,
		acct, r.TenantID, r.ObjectID, false))
	switch {
	case err == nil:
		open = &old
	case !notFound(err):
		return store.Review{}, err
	}
	r = kit.OpenReview(r, open, s.now())
	return r, saveReview(ctx, q, acct, r)
}

// AddReview implements store.Reviews.
func (s *Store) AddReview(ctx context.Context, acct string, r store.Review) (store.Review, error) {
	const op = "AddReview"
	if err := store.CheckAccount(op, acct); err != nil {
		return store.Review{}, err
	}
	if err := kit.CheckReview(op, r); err != nil {
		return store.Review{}, err
	}
	var out store.Review
	err := s.write(ctx, op, r.TenantID, func(q bq) error {
		if _, err := s.lockTenant(ctx, q, op, acct, r.TenantID); err != nil {
			return err
		}
		var err error
		out, err = s.addReview(ctx, q, acct, r)
		return err
	})
	return out, err
}

// ListReviews implements store.Reviews.
func (s *Store) ListReviews(ctx context.Context, acct string, f store.ReviewFilter) ([]store.Review, error) {
	const op = "ListReviews"
	if err := store.CheckAccount(op, acct); err != nil {
		return nil, err
	}
	query := `SELECT data FROM reviews WHERE account = ?`
	args := []any{acct}
	if f.TenantID != "" {
		query += ` AND tenant_id = ?`
		args = append(args, f.TenantID)
	}
	if !f.IncludeResolved {
		query += ` AND resolved = ?`
		args = append(args, false)
	}
	query += ` ORDER BY created_at, id`
	return listJSON[store.Review](ctx, s, op, acct, f.TenantID, query, args...)
}

// ResolveReview implements store.Reviews.
func (s *Store) ResolveReview(ctx context.Context, acct, id, resolution, by string, at time.Time) (store.Review, error) {
	const op = "ResolveReview"
	if err := kit.CheckResolution(op, acct, resolution); err != nil {
		return store.Review{}, err
	}
	if at.IsZero() {
		at = s.now()
	}
	var r store.Review
	err := s.write(ctx, op, "", func(q bq) error {
		old, err := scanJSONRow[store.Review](q.QueryRow(ctx, `SELECT data FROM reviews WHERE account = ? AND id = ?`+s.d.ForUpdate(), acct, id))
		if notFound(err) {
			return kit.ReviewNotFound(op, id)
		}
		if err != nil {
			return err
		}
		if r, err = kit.Resolve(op, old, resolution, by, at); err != nil {
			return err
		}
		return saveReview(ctx, q, acct, r)
	})
	if err != nil {
		return store.Review{}, err
	}
	return r, nil
}

// Sync state

func putState(ctx context.Context, q bq, acct string, st store.SyncState) error {
	st = kit.NormalizeState(st)
	// Migration 0011's triggers copy next_due to the tenant's row, AcquireDue's claim queue.
	return q.later(ctx, `INSERT INTO sync_state (account, tenant_id, next_due, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (account, tenant_id) DO UPDATE SET next_due = excluded.next_due, data = excluded.data`,
		acct, st.TenantID, micros(st.NextDue), asJSON(st))
}

// PutSyncState implements store.SyncStates.
func (s *Store) PutSyncState(ctx context.Context, acct string, st store.SyncState) error {
	const op = "PutSyncState"
	if err := store.CheckTenant(op, acct, st.TenantID); err != nil {
		return err
	}
	return s.write(ctx, op, st.TenantID, func(q bq) error {
		if _, err := s.lockTenant(ctx, q, op, acct, st.TenantID); err != nil {
			return err
		}
		return putState(ctx, q, acct, st)
	})
}

// GetSyncState implements store.SyncStates.
func (s *Store) GetSyncState(ctx context.Context, acct, tenantID string) (store.SyncState, error) {
	const op = "GetSyncState"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return store.SyncState{}, err
	}
	var st store.SyncState
	err := s.readOne(ctx, op, tenantID, func(q bq) (err error) {
		st, err = scanJSONRow[store.SyncState](q.QueryRow(ctx, `SELECT data FROM sync_state WHERE account = ? AND tenant_id = ?`, acct, tenantID))
		if notFound(err) {
			return kit.StateNotFound(op, tenantID)
		}
		return err
	})
	return st, err
}

// ListSyncStates implements store.SyncStates.
func (s *Store) ListSyncStates(ctx context.Context, acct string) ([]store.SyncState, error) {
	return listJSON[store.SyncState](ctx, s, "ListSyncStates", acct, "", `SELECT data FROM sync_state WHERE account = ? ORDER BY tenant_id`, acct)
}
