package sqlstore

import (
	"context"
	"time"

	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
)

// SetChangeRetention sets how long the change feed keeps entries (zero: the default).
func (s *Store) SetChangeRetention(d time.Duration) { s.retention = kit.Retention(d) }

// feedWriter numbers and stores a transaction's feed entries, which may arrive in several
// parts (each kind's, a staged kind's a chunk at a time). A commit adds them last in its
// transaction: the first part locks the account's head row, which stays locked until the
// commit ends, so entries of concurrent commits take their Seq in the order the commits
// become visible, and a consumer that has read up to a Seq can never later see a smaller one
// appear. Everything the commit does while it holds the row delays every other commit of the
// account, so the writer holds it for as few statements as it can: one to lock the row, one
// insert per feedRowsPerInsert entries (the parts are buffered together), and one to move the
// head at the end. It does not prune: the commit prunes once (pruneFeed).
type feedWriter struct {
	s    *Store
	q    bq
	acct string
	head int64 // the Seq of the last entry numbered; valid once locked
	lock bool  // the head row is locked: add has taken at least one entry
	buf  []store.Change
}

// feedRowsPerInsert is the most entries one INSERT carries.
const feedRowsPerInsert = 500

func (s *Store) newFeedWriter(q bq, acct string) *feedWriter {
	return &feedWriter{s: s, q: q, acct: acct}
}

// add numbers entries after those added before and buffers them.
func (w *feedWriter) add(ctx context.Context, entries []store.Change) error {
	if len(entries) == 0 {
		return nil
	}
	if !w.lock {
		if err := w.lockHead(ctx); err != nil {
			return err
		}
	}
	kit.Number(entries, w.head)
	w.head += int64(len(entries))
	w.buf = append(w.buf, entries...)
	if len(w.buf) >= feedRowsPerInsert {
		return w.flush(ctx)
	}
	return nil
}

// lockHead locks the account's head row, creating it for the account's first entries. The
// row is read for update first: an INSERT ... ON CONFLICT against a row another commit holds
// would wait for that commit, and then the read would wait again for the next.
func (w *feedWriter) lockHead(ctx context.Context) error {
	query := `SELECT head FROM change_heads WHERE account = ?` + w.s.d.ForUpdate()
	err := w.q.QueryRow(ctx, query, w.acct).Scan(&w.head)
	if notFound(err) {
		if _, err := w.q.Exec(ctx, `INSERT INTO change_heads (account, head, pruned) VALUES (?, 0, 0) ON CONFLICT (account) DO NOTHING`, w.acct); err != nil {
			return err
		}
		err = w.q.QueryRow(ctx, query, w.acct).Scan(&w.head)
	}
	if err != nil {
		return err
	}
	w.lock = true
	return nil
}

// flush stores the buffered entries, feedRowsPerInsert at most per statement.
func (w *feedWriter) flush(ctx context.Context) error {
	const cols = 6
	size := max(1, min(feedRowsPerInsert, w.s.d.MaxParams()/cols))
	for rest := w.buf; len(rest) > 0; {
		n := min(size, len(rest))
		query := `INSERT INTO change_feed (account, seq, at, tenant_id, entry, data) VALUES `
		args := make([]any, 0, cols*n)
		for i, c := range rest[:n] {
			if i > 0 {
				query += ", "
			}
			query += "(?, ?, ?, ?, ?, ?)"
			// The data is stored apart, as it is: encoding it inside the entry would validate
			// and copy every item's JSON again.
			data := []byte(c.Data)
			if data == nil {
				data = []byte{}
			}
			c.Data = nil
			args = append(args, w.acct, c.Seq, micros(c.At), c.TenantID, asJSON(c), data)
		}
		if _, err := w.q.Exec(ctx, query, args...); err != nil {
			return err
		}
		rest = rest[n:]
	}
	clear(w.buf)
	w.buf = w.buf[:0]
	return nil
}

// close stores what is buffered and moves the head past the entries added. It reports whether
// any entry was added.
func (w *feedWriter) close(ctx context.Context) (bool, error) {
	if !w.lock {
		return false, nil
	}
	if err := w.flush(ctx); err != nil {
		return true, err
	}
	_, err := w.q.Exec(ctx, `UPDATE change_heads SET head = ? WHERE account = ?`, w.head, w.acct)
	return true, err
}

// addFeed numbers entries after the account's head and stores them, in one part (see
// feedWriter), without pruning.
func (s *Store) addFeed(ctx context.Context, q bq, acct string, entries []store.Change) error {
	w := s.newFeedWriter(q, acct)
	if err := w.add(ctx, entries); err != nil {
		return err
	}
	_, err := w.close(ctx)
	return err
}

// pruneFeed removes the account's entries stamped before cutoff, and everything before the
// newest of them, and records the highest Seq removed.
//
// It runs in every commit that adds entries, while the commit holds the account's feed head, so
// the common case (nothing old enough) must not depend on the planner: asked for MAX(seq) of the
// entries before cutoff, PostgreSQL without fresh statistics walks the primary key backwards and
// filters every entry of the account when none qualifies, and every commit of the account waits
// for that walk. The oldest entry's time, read from the (account, at) index, says first whether
// there is anything to remove.
func (s *Store) pruneFeed(ctx context.Context, q bq, acct string, cutoff time.Time) error {
	var oldest int64
	switch err := q.QueryRow(ctx, `SELECT at FROM change_feed WHERE account = ? ORDER BY at LIMIT 1`, acct).Scan(&oldest); {
	case notFound(err):
		return nil
	case err != nil:
		return err
	case oldest >= micros(cutoff):
		return nil
	}
	var last *int64
	if err := q.QueryRow(ctx, `SELECT MAX(seq) FROM change_feed WHERE account = ? AND at < ?`, acct, micros(cutoff)).Scan(&last); err != nil {
		return err
	}
	if last == nil {
		return nil
	}
	if _, err := q.Exec(ctx, `DELETE FROM change_feed WHERE account = ? AND seq <= ?`, acct, *last); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `UPDATE change_heads SET pruned = ? WHERE account = ? AND pruned < ?`, *last, acct, *last)
	return err
}

// feedHeads reads the account's latest and highest pruned Seq, zeros when it has no feed.
func feedHeads(ctx context.Context, q bq, acct string) (head, pruned int64, err error) {
	err = q.QueryRow(ctx, `SELECT head, pruned FROM change_heads WHERE account = ?`, acct).Scan(&head, &pruned)
	if notFound(err) {
		return 0, 0, nil
	}
	return head, pruned, err
}

// Changes implements store.ChangeFeed.
func (s *Store) Changes(ctx context.Context, acct string, after int64, limit int) ([]store.Change, error) {
	const op = "Changes"
	limit, err := kit.CheckChangesPage(op, acct, after, limit)
	if err != nil {
		return nil, err
	}
	var out []store.Change
	err = s.read(ctx, op, "", func(q bq) error {
		head, pruned, err := feedHeads(ctx, q, acct)
		if err != nil {
			return err
		}
		if err := kit.FeedWindow(op, after, pruned, head); err != nil {
			return err
		}
		out, err = scanAll(ctx, q, scanChange,
			`SELECT entry, data FROM change_feed WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?`, acct, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FeedHead implements store.ChangeFeed.
func (s *Store) FeedHead(ctx context.Context, acct string) (int64, error) {
	const op = "Head"
	if err := store.CheckAccount(op, acct); err != nil {
		return 0, err
	}
	var head int64
	err := s.read(ctx, op, "", func(q bq) error {
		var err error
		head, _, err = feedHeads(ctx, q, acct)
		return err
	})
	return head, err
}

// scanChange reads an entry and its data.
func scanChange(r Row) (store.Change, error) {
	var entry, data []byte
	var c store.Change
	if err := r.Scan(&entry, &data); err != nil {
		return c, err
	}
	if err := scanJSON(entry, &c); err != nil {
		return c, err
	}
	if len(data) > 0 {
		c.Data = data
	}
	return c, nil
}
