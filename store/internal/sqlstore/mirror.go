package sqlstore

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// tx is kit.Tx over one SQL transaction for one tenant.
type tx struct {
	s      *Store
	q      bq
	acct   string
	tenant string
	// cursors, when set, holds the tenant's cursors as this transaction has them, read by one
	// statement at the first Cursor and kept by SetCursor: a commit of several kinds reads
	// each kind's cursor for its compare-and-set, one statement a kind otherwise. Only a
	// transaction that holds the tenant's row sets it, so no other writer changes them.
	cursors *map[tenantsync.Kind]string
	// hashes, when set, holds the stored hashes of the kinds a commit lists in full, read by
	// one statement before it applies them (one statement a kind otherwise); Hashes hands out
	// a kind's once, as the commit applies each kind once. Only a transaction that holds the
	// tenant's row sets it.
	hashes map[tenantsync.Kind]map[string]string
}

// readHashes fills x.hashes with the stored hashes of kinds, by one statement.
func (x *tx) readHashes(ctx context.Context, kinds []string) error {
	x.hashes = make(map[tenantsync.Kind]map[string]string, len(kinds))
	for _, k := range kinds {
		x.hashes[tenantsync.Kind(k)] = map[string]string{}
	}
	in, inArgs := x.s.d.In("kind", kinds)
	rows, err := x.q.Query(ctx, `SELECT kind, item_id, hash FROM mirror WHERE account = ? AND tenant_id = ? AND `+in,
		append([]any{x.acct, x.tenant}, inArgs...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, id, h string
		if err := rows.Scan(&k, &id, &h); err != nil {
			return err
		}
		x.hashes[tenantsync.Kind(k)][id] = h
	}
	return rows.Err()
}

func (x tx) Cursor(ctx context.Context, k tenantsync.Kind) (string, error) {
	if x.cursors != nil {
		if *x.cursors == nil {
			all, err := x.allCursors(ctx)
			if err != nil {
				return "", err
			}
			*x.cursors = all
		}
		return (*x.cursors)[k], nil
	}
	var c string
	err := x.q.QueryRow(ctx, `SELECT cursor FROM cursors WHERE account = ? AND tenant_id = ? AND kind = ?`, x.acct, x.tenant, string(k)).Scan(&c)
	if notFound(err) {
		return "", nil
	}
	return c, err
}

// chunks splits ids so each statement stays under the dialect's placeholder limit.
func (x tx) chunks(ids []string, fixed, perRow int) [][]string {
	size := max(1, min(1000, (x.s.d.MaxParams()-fixed)/perRow))
	var out [][]string
	for len(ids) > size {
		out = append(out, ids[:size])
		ids = ids[size:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

func (x tx) Hashes(ctx context.Context, k tenantsync.Kind, ids []string) (map[string]string, error) {
	if h, ok := x.hashes[k]; ok && ids == nil {
		delete(x.hashes, k)
		return h, nil
	}
	out := map[string]string{}
	scan := func(query string, args ...any) error {
		rows, err := x.q.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, h string
			if err := rows.Scan(&id, &h); err != nil {
				return err
			}
			out[id] = h
		}
		return rows.Err()
	}
	if ids == nil {
		return out, scan(`SELECT item_id, hash FROM mirror WHERE account = ? AND tenant_id = ? AND kind = ?`, x.acct, x.tenant, string(k))
	}
	for _, chunk := range x.chunks(ids, 3, 1) {
		in, inArgs := x.s.d.In("item_id", chunk)
		if err := scan(`SELECT item_id, hash FROM mirror WHERE account = ? AND tenant_id = ? AND kind = ? AND `+in,
			append([]any{x.acct, x.tenant, string(k)}, inArgs...)...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (x tx) Upsert(ctx context.Context, k tenantsync.Kind, items []kit.Item) error {
	size := max(1, min(1000, x.s.d.MaxParams()/6))
	for len(items) > 0 {
		n := min(size, len(items))
		batch := items[:n]
		items = items[n:]
		var b strings.Builder
		b.WriteString(`INSERT INTO mirror (account, tenant_id, kind, item_id, hash, data) VALUES `)
		args := make([]any, 0, 6*n)
		for i, it := range batch {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, x.acct, x.tenant, string(k), it.ID, it.Hash, it.Data)
		}
		b.WriteString(` ON CONFLICT (account, tenant_id, kind, item_id) DO UPDATE SET hash = excluded.hash, data = excluded.data`)
		if err := x.q.later(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

func (x tx) Delete(ctx context.Context, k tenantsync.Kind, ids []string) error {
	for _, chunk := range x.chunks(ids, 3, 1) {
		in, inArgs := x.s.d.In("item_id", chunk)
		if err := x.q.later(ctx, `DELETE FROM mirror WHERE account = ? AND tenant_id = ? AND kind = ? AND `+in,
			append([]any{x.acct, x.tenant, string(k)}, inArgs...)...); err != nil {
			return err
		}
	}
	return nil
}

func (x tx) SetCursor(ctx context.Context, k tenantsync.Kind, cursor string) error {
	var err error
	if cursor == "" {
		err = x.q.later(ctx, `DELETE FROM cursors WHERE account = ? AND tenant_id = ? AND kind = ?`, x.acct, x.tenant, string(k))
	} else {
		err = x.q.later(ctx, `INSERT INTO cursors (account, tenant_id, kind, cursor) VALUES (?, ?, ?, ?)
		ON CONFLICT (account, tenant_id, kind) DO UPDATE SET cursor = excluded.cursor`, x.acct, x.tenant, string(k), cursor)
	}
	if err == nil && x.cursors != nil && *x.cursors != nil {
		if cursor == "" {
			delete(*x.cursors, k)
		} else {
			(*x.cursors)[k] = cursor
		}
	}
	return err
}

// Apply implements store.Mirror.
func (s *Store) Apply(ctx context.Context, acct, tenantID string, ch store.KindApply) (store.Applied, error) {
	return kit.ApplyOne(ctx, s.commit, acct, tenantID, ch)
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, acct string, b store.Batch) (store.BatchResult, error) {
	return s.commit(ctx, "Commit", acct, b)
}

func (s *Store) commit(ctx context.Context, op, acct string, b store.Batch) (store.BatchResult, error) {
	b, err := kit.CheckBatch(op, acct, b)
	if err != nil {
		return store.BatchResult{}, err
	}
	var res store.BatchResult
	err = s.write(ctx, op, b.TenantID, func(q bq) error {
		res = store.BatchResult{}
		if _, err := s.lockTenant(ctx, q, op, acct, b.TenantID); err != nil {
			return err
		}
		if b.Holder != "" {
			if err := s.checkHolder(ctx, q, op, acct, b); err != nil {
				return err
			}
		}
		x := tx{s: s, q: q, acct: acct, tenant: b.TenantID}
		if len(b.Kinds) > 1 {
			x.cursors = new(map[tenantsync.Kind]string)
			var complete []string
			for _, k := range b.Kinds {
				if k.Stage == "" && k.Result.Mode == tenantsync.Complete {
					complete = append(complete, string(k.Result.Kind))
				}
			}
			if len(complete) > 1 {
				if err := x.readHashes(ctx, complete); err != nil {
					return err
				}
			}
		}
		at := store.Time(b.Now)
		if at.IsZero() {
			at = s.now()
		}
		// The feed entries are added last (see addFeed), each kind's in the batch's order, then
		// those of the links, reviews and the caller; a staged kind's are read back from its
		// stage a chunk at a time.
		var feeds []func(feed func([]store.Change) error) error
		for _, k := range b.Kinds {
			if k.Stage != "" {
				ap, gone, err := x.applyStaged(ctx, op, k)
				if err != nil {
					return err
				}
				res.Kinds = append(res.Kinds, ap)
				feeds = append(feeds, func(feed func([]store.Change) error) error { return x.stagedFeed(ctx, k, gone, at, feed) })
				continue
			}
			ap, data, err := kit.ApplyData(ctx, x, op, b.TenantID, k)
			if err != nil {
				return err
			}
			res.Kinds = append(res.Kinds, ap)
			entries, err := kit.FeedEntries(store.Batch{TenantID: b.TenantID}, []kit.KindChanges{{Applied: ap, Data: data}}, nil, at)
			if err != nil {
				return err
			}
			feeds = append(feeds, func(feed func([]store.Change) error) error { return feed(entries) })
		}
		for _, lc := range b.Links {
			var err error
			if lc.Delete {
				err = deleteLink(ctx, q, acct, b.TenantID, lc.Link.ObjectID)
			} else {
				err = s.setLink(ctx, q, op, acct, lc.Link)
			}
			if err != nil {
				return err
			}
		}
		for _, r := range b.Reviews {
			stored, err := s.addReview(ctx, q, acct, r)
			if err != nil {
				return err
			}
			res.Reviews = append(res.Reviews, stored)
		}
		if b.State != nil {
			if err := putState(ctx, q, acct, *b.State); err != nil {
				return err
			}
		}
		w := s.newFeedWriter(q, acct, at.Add(-s.retention))
		feed := func(entries []store.Change) error { return w.add(ctx, entries) }
		for _, f := range feeds {
			if err := f(feed); err != nil {
				return err
			}
		}
		entries, err := kit.FeedEntries(b, nil, res.Reviews, at)
		if err != nil {
			return err
		}
		if err := feed(entries); err != nil {
			return err
		}
		return w.close(ctx)
	})
	return res, err
}

// checkHolder locks the tenant's lease and fails unless b.Holder holds it at b.Now.
func (s *Store) checkHolder(ctx context.Context, q bq, op, acct string, b store.Batch) error {
	l, err := s.getLease(ctx, q, acct, b.TenantID, s.d.ForUpdate())
	if err != nil && !notFound(err) {
		return err
	}
	return kit.CheckHolder(op, b, l)
}

// ReadKind implements store.Mirror.
func (s *Store) ReadKind(ctx context.Context, acct, tenantID string, kind tenantsync.Kind) (*tenantsync.KindResult, error) {
	out, err := s.readKinds(ctx, "ReadKind", acct, tenantID, []tenantsync.Kind{kind})
	if err != nil {
		return nil, err
	}
	return out[kind], nil
}

// ReadKinds implements store.KindsReader, in one transaction.
func (s *Store) ReadKinds(ctx context.Context, acct, tenantID string, kinds []tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error) {
	return s.readKinds(ctx, "ReadKinds", acct, tenantID, kinds)
}

// readKinds reads the mirror of each of kinds in one transaction: the tenant's cursors by one
// statement, each kind's items by one or two (see tx.read).
func (s *Store) readKinds(ctx context.Context, op, acct, tenantID string, kinds []tenantsync.Kind) (map[tenantsync.Kind]*tenantsync.KindResult, error) {
	for _, k := range kinds {
		if err := kit.CheckReadKind(op, acct, tenantID, k); err != nil {
			return nil, err
		}
	}
	cached := make(map[tenantsync.Kind]map[string]kit.Item, len(kinds))
	for _, k := range kinds {
		cached[k] = s.cache.Get(kit.CacheKey{Account: acct, Tenant: tenantID, Kind: k})
	}
	items := make(map[tenantsync.Kind][]kit.Item, len(kinds))
	var cursors map[tenantsync.Kind]string
	err := s.read(ctx, op, tenantID, func(q bq) error {
		if err := tenantExists(ctx, q, op, acct, tenantID); err != nil {
			return err
		}
		x := tx{s: s, q: q, acct: acct, tenant: tenantID}
		var err error
		if len(kinds) == 1 {
			var c string
			c, err = x.Cursor(ctx, kinds[0])
			cursors = map[tenantsync.Kind]string{kinds[0]: c}
		} else {
			cursors, err = x.allCursors(ctx)
		}
		if err != nil {
			return err
		}
		for _, k := range kinds {
			if items[k], err = x.read(ctx, k, cached[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[tenantsync.Kind]*tenantsync.KindResult, len(kinds))
	for _, k := range kinds {
		if out[k], err = s.decodeRead(op, acct, tenantID, k, cursors[k], items[k], cached[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadItems implements store.ItemsReader, in one transaction. Items the cache holds at the
// stored hash are not decoded again.
func (s *Store) ReadItems(ctx context.Context, acct, tenantID string, kind tenantsync.Kind, ids []string) (*tenantsync.KindResult, error) {
	const op = "ReadItems"
	if err := kit.CheckReadItems(op, acct, tenantID, kind, ids); err != nil {
		return nil, err
	}
	cached := s.cache.Get(kit.CacheKey{Account: acct, Tenant: tenantID, Kind: kind})
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var items []kit.Item
	err := s.read(ctx, op, tenantID, func(q bq) error {
		if err := tenantExists(ctx, q, op, acct, tenantID); err != nil {
			return err
		}
		x := tx{s: s, q: q, acct: acct, tenant: tenantID}
		for _, chunk := range x.chunks(ids, 3, 1) {
			in, inArgs := s.d.In("item_id", chunk)
			rows, err := q.Query(ctx, `SELECT item_id, hash, data FROM mirror WHERE account = ? AND tenant_id = ? AND kind = ? AND `+in,
				append([]any{acct, tenantID, string(kind)}, inArgs...)...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var it kit.Item
				if err := rows.Scan(&it.ID, &it.Hash, &it.Data); err != nil {
					rows.Close()
					return err
				}
				if c, ok := cached[it.ID]; ok && c.Hash == it.Hash {
					it = c
				}
				items = append(items, it)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return kit.DecodeChosen(op, kind, items)
}

// decodeRead decodes a kind's items as read, and keeps them in the cache when it holds them.
func (s *Store) decodeRead(op, acct, tenantID string, kind tenantsync.Kind, cursor string, items []kit.Item, cached map[string]kit.Item) (*tenantsync.KindResult, error) {
	if s.cache.Holds(len(items)) && !allCached(items, cached) {
		keep := make(map[string]kit.Item, len(items))
		for i, it := range items {
			var err error
			if items[i], err = kit.Decoded(op, kind, it); err != nil {
				return nil, err
			}
			items[i].Data = nil
			keep[it.ID] = items[i]
		}
		s.cache.Put(kit.CacheKey{Account: acct, Tenant: tenantID, Kind: kind}, keep)
	}
	return kit.Decode(op, kind, cursor, items)
}

// allCached reports whether items are exactly the cached ones, so the cache needs no update.
func allCached(items []kit.Item, cached map[string]kit.Item) bool {
	if cached == nil || len(items) != len(cached) {
		return false
	}
	for _, it := range items {
		if it.Value == nil {
			return false
		}
	}
	return true
}

// read returns the stored items of kind. Items whose hash matches their entry in cached are
// taken from it and only the others' data is read, in the same transaction, so the result is
// the transaction's snapshot however much of it came from the cache.
func (x tx) read(ctx context.Context, kind tenantsync.Kind, cached map[string]kit.Item) ([]kit.Item, error) {
	const where = ` FROM mirror WHERE account = ? AND tenant_id = ? AND kind = ?`
	args := []any{x.acct, x.tenant, string(kind)}
	var items []kit.Item
	scan := func(withData bool, query string, args ...any) error {
		rows, err := x.q.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		// Scan assigns every field anew, so one item and one destination list serve all rows.
		var it kit.Item
		dst := []any{&it.ID, &it.Hash}
		if withData {
			dst = append(dst, &it.Data)
		}
		for rows.Next() {
			if err := rows.Scan(dst...); err != nil {
				return err
			}
			items = append(items, it)
		}
		return rows.Err()
	}
	if cached == nil {
		return items, scan(true, `SELECT item_id, hash, data`+where, args...)
	}
	if err := scan(false, `SELECT item_id, hash`+where, args...); err != nil {
		return nil, err
	}
	missing := map[string]int{}
	for i, it := range items {
		if c, ok := cached[it.ID]; ok && c.Hash == it.Hash {
			items[i] = c
		} else {
			missing[it.ID] = i
		}
	}
	if len(missing) == 0 {
		return items, nil
	}
	found := items
	items = nil
	for _, chunk := range x.chunks(slices.Collect(maps.Keys(missing)), 3, 1) {
		in, inArgs := x.s.d.In("item_id", chunk)
		if err := scan(true, `SELECT item_id, hash, data`+where+` AND `+in, append(slices.Clone(args), inArgs...)...); err != nil {
			return nil, err
		}
	}
	for _, it := range items {
		found[missing[it.ID]] = it
	}
	return found, nil
}

// GetUser implements store.Mirror.
func (s *Store) GetUser(ctx context.Context, acct, tenantID, objectID string) (tenantsync.User, error) {
	const op = "GetUser"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return tenantsync.User{}, err
	}
	it := kit.Item{ID: objectID}
	err := s.read(ctx, op, tenantID, func(q bq) error {
		err := q.QueryRow(ctx, `SELECT data FROM mirror WHERE account = ? AND tenant_id = ? AND kind = ? AND item_id = ?`,
			acct, tenantID, string(tenantsync.KindUsers), objectID).Scan(&it.Data)
		if notFound(err) {
			return kit.UserNotFound(op, tenantID, objectID)
		}
		return err
	})
	if err != nil {
		return tenantsync.User{}, err
	}
	return kit.DecodeUser(op, it)
}

// Cursors implements store.Mirror.
func (s *Store) Cursors(ctx context.Context, acct, tenantID string) (map[tenantsync.Kind]string, error) {
	const op = "Cursors"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	var out map[tenantsync.Kind]string
	err := s.readOne(ctx, op, tenantID, func(q bq) error {
		var err error
		out, err = tx{s: s, q: q, acct: acct, tenant: tenantID}.allCursors(ctx)
		return err
	})
	return out, err
}

// allCursors reads the stored cursor of every kind of the tenant that has one.
func (x tx) allCursors(ctx context.Context) (map[tenantsync.Kind]string, error) {
	rows, err := x.q.Query(ctx, `SELECT kind, cursor FROM cursors WHERE account = ? AND tenant_id = ?`, x.acct, x.tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[tenantsync.Kind]string{}
	for rows.Next() {
		var k, c string
		if err := rows.Scan(&k, &c); err != nil {
			return nil, err
		}
		out[tenantsync.Kind(k)] = c
	}
	return out, rows.Err()
}

// MirrorCounts implements store.Mirror.
func (s *Store) MirrorCounts(ctx context.Context, acct, tenantID string) (map[tenantsync.Kind]int, error) {
	const op = "MirrorCounts"
	if err := store.CheckTenant(op, acct, tenantID); err != nil {
		return nil, err
	}
	out := map[tenantsync.Kind]int{}
	err := s.readOne(ctx, op, tenantID, func(q bq) error {
		rows, err := q.Query(ctx, `SELECT kind, COUNT(*) FROM mirror WHERE account = ? AND tenant_id = ? GROUP BY kind`, acct, tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			out[tenantsync.Kind(k)] = int(n)
		}
		return rows.Err()
	})
	return out, err
}
