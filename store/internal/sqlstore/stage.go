package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// stageChunk is how many staged items a staged apply reads, diffs and writes at a time: what it
// holds of a listing at once.
const stageChunk = 500

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkStage fails unless id is the tenant's open stage.
func checkStage(ctx context.Context, q bq, op, acct, tenantID, id string) error {
	var cur string
	err := q.QueryRow(ctx, `SELECT stage_id FROM stages WHERE account = ? AND tenant_id = ?`, acct, tenantID).Scan(&cur)
	if notFound(err) || (err == nil && cur != id) {
		return kit.NoStage(op, tenantID, id)
	}
	return err
}

// StageOpen implements the stage backend.
func (s *Store) StageOpen(ctx context.Context, acct, tenantID, id string) error {
	const op = "Stage"
	return s.write(ctx, op, tenantID, func(q bq) error {
		if err := tenantExists(ctx, q, op, acct, tenantID); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM staged_items WHERE account = ? AND tenant_id = ?`, acct, tenantID); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO stages (account, tenant_id, stage_id) VALUES (?, ?, ?)
			ON CONFLICT (account, tenant_id) DO UPDATE SET stage_id = excluded.stage_id`, acct, tenantID, id)
		return err
	})
}

// StagePut implements the stage backend.
func (s *Store) StagePut(ctx context.Context, acct, tenantID, id string, kind tenantsync.Kind, items []kit.StagedItem, removed []string, mode tenantsync.Mode) error {
	const op = "Stage.Put"
	return s.write(ctx, op, tenantID, func(q bq) error {
		if err := checkStage(ctx, q, op, acct, tenantID, id); err != nil {
			return err
		}
		rows := slices.Clone(items)
		var drop []string
		for _, rid := range removed {
			if mode == tenantsync.Changes {
				rows = append(rows, kit.StagedItem{Item: kit.Item{ID: rid, Data: []byte{}}, Removed: true})
			} else {
				drop = append(drop, rid)
			}
		}
		const cols = 9
		size := max(1, min(500, s.d.MaxParams()/cols))
		for len(rows) > 0 {
			n := min(size, len(rows))
			query := `INSERT INTO staged_items (account, tenant_id, stage_id, kind, item_id, hash, data, removed, blocked) VALUES `
			args := make([]any, 0, cols*n)
			for i, it := range rows[:n] {
				if i > 0 {
					query += ", "
				}
				query += "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
				data := it.Data
				if data == nil {
					data = []byte{}
				}
				args = append(args, acct, tenantID, id, string(kind), it.ID, it.Hash, data, flag(it.Removed), flag(it.Blocked))
			}
			query += ` ON CONFLICT (account, tenant_id, stage_id, kind, item_id) DO UPDATE SET hash = excluded.hash,
				data = excluded.data, removed = excluded.removed, blocked = excluded.blocked`
			if _, err := q.Exec(ctx, query, args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
		x := tx{s: s, q: q, acct: acct, tenant: tenantID}
		for _, chunk := range x.chunks(drop, 4, 1) {
			in, inArgs := s.d.In("item_id", chunk)
			if _, err := q.Exec(ctx, `DELETE FROM staged_items WHERE account = ? AND tenant_id = ? AND stage_id = ? AND kind = ? AND `+in,
				append([]any{acct, tenantID, id, string(kind)}, inArgs...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// StageReset implements the stage backend.
func (s *Store) StageReset(ctx context.Context, acct, tenantID, id string, kind tenantsync.Kind) error {
	const op = "Stage.Reset"
	return s.write(ctx, op, tenantID, func(q bq) error {
		if err := checkStage(ctx, q, op, acct, tenantID, id); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM staged_items WHERE account = ? AND tenant_id = ? AND stage_id = ? AND kind = ?`, acct, tenantID, id, string(kind))
		return err
	})
}

// StageCount implements the stage backend.
func (s *Store) StageCount(ctx context.Context, acct, tenantID, id string, kind tenantsync.Kind) (int, error) {
	const op = "Stage.Count"
	var n int64
	err := s.read(ctx, op, tenantID, func(q bq) error {
		if err := checkStage(ctx, q, op, acct, tenantID, id); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT COUNT(*) FROM staged_items WHERE account = ? AND tenant_id = ? AND stage_id = ? AND kind = ? AND removed = 0`,
			acct, tenantID, id, string(kind)).Scan(&n)
	})
	return int(n), err
}

// StageRead implements the stage backend.
func (s *Store) StageRead(ctx context.Context, acct, tenantID, id string, kind tenantsync.Kind, after string, limit int) ([]kit.StagedItem, error) {
	const op = "Stage.Read"
	var out []kit.StagedItem
	err := s.read(ctx, op, tenantID, func(q bq) error {
		if err := checkStage(ctx, q, op, acct, tenantID, id); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT item_id, hash, data, removed FROM staged_items
			WHERE account = ? AND tenant_id = ? AND stage_id = ? AND kind = ? AND item_id > ? ORDER BY item_id LIMIT ?`,
			acct, tenantID, id, string(kind), after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it kit.StagedItem
			var removed int
			if err := rows.Scan(&it.ID, &it.Hash, &it.Data, &removed); err != nil {
				return err
			}
			it.Removed = removed != 0
			out = append(out, it)
		}
		return rows.Err()
	})
	return out, err
}

// StageLoss implements the stage backend.
func (s *Store) StageLoss(ctx context.Context, acct, tenantID, id string, kind tenantsync.Kind, mode tenantsync.Mode) (store.StagedLoss, error) {
	const op = "Stage.Loss"
	var out store.StagedLoss
	err := s.read(ctx, op, tenantID, func(q bq) error {
		out = store.StagedLoss{}
		if err := checkStage(ctx, q, op, acct, tenantID, id); err != nil {
			return err
		}
		var of int64
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM mirror WHERE account = ? AND tenant_id = ? AND kind = ?`, acct, tenantID, string(kind)).Scan(&of); err != nil {
			return err
		}
		out.Of = int(of)
		var err error
		if out.Removed, err = stagedRemovals(ctx, q, acct, tenantID, id, kind, mode); err != nil {
			return err
		}
		if kind != tenantsync.KindUsers {
			return nil
		}
		rows, err := q.Query(ctx, `SELECT s.item_id, m.data FROM staged_items s
			JOIN mirror m ON m.account = s.account AND m.tenant_id = s.tenant_id AND m.kind = s.kind AND m.item_id = s.item_id
			WHERE s.account = ? AND s.tenant_id = ? AND s.stage_id = ? AND s.kind = ? AND s.removed = 0 AND s.blocked = 1 ORDER BY s.item_id`,
			acct, tenantID, id, string(kind))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it kit.Item
			if err := rows.Scan(&it.ID, &it.Data); err != nil {
				return err
			}
			u, err := kit.DecodeUser(op, it)
			if err != nil {
				return err
			}
			if u.AccountEnabled {
				out.Disabled = append(out.Disabled, it.ID)
			}
		}
		return rows.Err()
	})
	return out, err
}

// stagedRemovals returns, sorted, the mirrored items of kind a staged listing omits (Complete)
// or a staged change set removes (Changes).
func stagedRemovals(ctx context.Context, q bq, acct, tenantID, id string, kind tenantsync.Kind, mode tenantsync.Mode) ([]string, error) {
	query := `SELECT m.item_id FROM mirror m WHERE m.account = ? AND m.tenant_id = ? AND m.kind = ? AND NOT EXISTS (
		SELECT 1 FROM staged_items s WHERE s.account = m.account AND s.tenant_id = m.tenant_id AND s.stage_id = ?
		AND s.kind = m.kind AND s.item_id = m.item_id AND s.removed = 0) ORDER BY m.item_id`
	if mode == tenantsync.Changes {
		query = `SELECT m.item_id FROM mirror m WHERE m.account = ? AND m.tenant_id = ? AND m.kind = ? AND EXISTS (
			SELECT 1 FROM staged_items s WHERE s.account = m.account AND s.tenant_id = m.tenant_id AND s.stage_id = ?
			AND s.kind = m.kind AND s.item_id = m.item_id AND s.removed = 1) ORDER BY m.item_id`
	}
	var out []string
	rows, err := q.Query(ctx, query, acct, tenantID, string(kind), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var rid string
		if err := rows.Scan(&rid); err != nil {
			return nil, err
		}
		out = append(out, rid)
	}
	return out, rows.Err()
}

// StageDiscard implements the stage backend.
func (s *Store) StageDiscard(ctx context.Context, acct, tenantID, id string) error {
	const op = "Stage.Discard"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return err
	}
	return s.write(ctx, op, tenantID, func(q bq) error {
		if _, err := q.Exec(ctx, `DELETE FROM staged_items WHERE account = ? AND tenant_id = ? AND stage_id = ?`, acct, tenantID, id); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM stages WHERE account = ? AND tenant_id = ? AND stage_id = ?`, acct, tenantID, id)
		return err
	})
}

// applyStaged applies a kind from the tenant's stage inside the commit's transaction: the
// staged items stageChunk at a time (diffed against the mirror's hashes, written, and marked
// with what was done for the feed), then the removals, then the cursor. It returns the IDs it
// removed, for the feed entries stagedFeed adds at the end of the commit.
func (x tx) applyStaged(ctx context.Context, op string, ch store.KindApply) (store.Applied, []string, error) {
	if err := kit.CheckStagedApply(op, ch); err != nil {
		return store.Applied{}, nil, err
	}
	r := ch.Result
	if err := checkStage(ctx, x.q, op, x.acct, x.tenant, ch.Stage); err != nil {
		return store.Applied{}, nil, err
	}
	cur, err := x.Cursor(ctx, r.Kind)
	if err != nil {
		return store.Applied{}, nil, err
	}
	if cur != ch.ExpectCursor {
		return store.Applied{}, nil, store.CursorConflict(op, x.tenant, r.Kind)
	}
	keep := map[string]bool{}
	for _, id := range ch.Keep {
		keep[id] = true
	}
	res := store.Applied{Kind: r.Kind, Cursor: r.Cursor}
	type row struct {
		it     kit.Item
		stored string // the mirror's hash, "" when absent
	}
	mark := func(action string, ids []string) error {
		for _, chunk := range x.chunks(ids, 5, 1) {
			in, inArgs := x.s.d.In("item_id", chunk)
			if _, err := x.q.Exec(ctx, `UPDATE staged_items SET action = ? WHERE account = ? AND tenant_id = ? AND stage_id = ? AND kind = ? AND `+in,
				append([]any{action, x.acct, x.tenant, ch.Stage, string(r.Kind)}, inArgs...)...); err != nil {
				return err
			}
		}
		return nil
	}
	for after := ""; ; {
		var chunk []row
		err := func() error {
			rows, err := x.q.Query(ctx, `SELECT s.item_id, s.hash, s.data, COALESCE(m.hash, '') FROM staged_items s
				LEFT JOIN mirror m ON m.account = s.account AND m.tenant_id = s.tenant_id AND m.kind = s.kind AND m.item_id = s.item_id
				WHERE s.account = ? AND s.tenant_id = ? AND s.stage_id = ? AND s.kind = ? AND s.removed = 0 AND s.item_id > ?
				ORDER BY s.item_id LIMIT ?`, x.acct, x.tenant, ch.Stage, string(r.Kind), after, stageChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var w row
				if err := rows.Scan(&w.it.ID, &w.it.Hash, &w.it.Data, &w.stored); err != nil {
					return err
				}
				chunk = append(chunk, w)
			}
			return rows.Err()
		}()
		if err != nil {
			return store.Applied{}, nil, err
		}
		if len(chunk) == 0 {
			break
		}
		after = chunk[len(chunk)-1].it.ID
		var write []kit.Item
		var added, updated []string
		for _, w := range chunk {
			switch {
			case keep[w.it.ID]:
			case w.stored == "":
				added = append(added, w.it.ID)
				write = append(write, w.it)
			case w.stored != w.it.Hash:
				updated = append(updated, w.it.ID)
				write = append(write, w.it)
			default:
				res.Unchanged++
			}
		}
		res.AddedCount += len(added)
		res.UpdatedCount += len(updated)
		if len(write) > 0 {
			if err := x.Upsert(ctx, r.Kind, write); err != nil {
				return store.Applied{}, nil, err
			}
		}
		if err := mark("added", added); err != nil {
			return store.Applied{}, nil, err
		}
		if err := mark("updated", updated); err != nil {
			return store.Applied{}, nil, err
		}
	}
	gone, err := stagedRemovals(ctx, x.q, x.acct, x.tenant, ch.Stage, r.Kind, r.Mode)
	if err != nil {
		return store.Applied{}, nil, err
	}
	gone = slices.DeleteFunc(gone, func(id string) bool { return keep[id] })
	if len(gone) > 0 {
		if err := x.Delete(ctx, r.Kind, gone); err != nil {
			return store.Applied{}, nil, err
		}
	}
	res.RemovedCount = len(gone)
	if r.Cursor != cur {
		if err := x.SetCursor(ctx, r.Kind, r.Cursor); err != nil {
			return store.Applied{}, nil, err
		}
	}
	return res, gone, nil
}

// stagedFeed adds the feed entries of a staged apply, reading the items it wrote back from the
// stage stageChunk at a time, then its removals, and drops the kind's staged rows.
func (x tx) stagedFeed(ctx context.Context, ch store.KindApply, gone []string, at time.Time, feed func([]store.Change) error) error {
	kind := ch.Result.Kind
	for after := ""; ; {
		var entries []store.Change
		err := func() error {
			rows, err := x.q.Query(ctx, `SELECT item_id, action, data FROM staged_items
				WHERE account = ? AND tenant_id = ? AND stage_id = ? AND kind = ? AND action <> '' AND item_id > ?
				ORDER BY item_id LIMIT ?`, x.acct, x.tenant, ch.Stage, string(kind), after, stageChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				c := store.Change{At: at, TenantID: x.tenant, Type: store.ChangeUpserted, Kind: kind}
				var data []byte
				if err := rows.Scan(&c.ItemID, &c.Action, &data); err != nil {
					return err
				}
				c.Data = json.RawMessage(data)
				entries = append(entries, c)
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			break
		}
		after = entries[len(entries)-1].ItemID
		if err := feed(entries); err != nil {
			return err
		}
	}
	removed := make([]store.Change, 0, len(gone))
	for _, id := range gone {
		removed = append(removed, store.Change{At: at, TenantID: x.tenant, Type: store.ChangeRemoved, Kind: kind, ItemID: id})
	}
	if err := feed(removed); err != nil {
		return err
	}
	_, err := x.q.Exec(ctx, `DELETE FROM staged_items WHERE account = ? AND tenant_id = ? AND stage_id = ? AND kind = ?`,
		x.acct, x.tenant, ch.Stage, string(kind))
	return err
}
