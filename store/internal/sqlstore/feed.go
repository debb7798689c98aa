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
// parts (each kind's, a staged kind's a chunk at a time), and prunes the feed after them. A
// commit adds them last in its transaction: the first statement that stores entries moves the
// account's head row past them, which locks the row until the commit ends, so entries of
// concurrent commits take their Seq in the order the commits become visible, and a consumer
// that has read up to a Seq can never later see a smaller one appear. Everything the commit does
// while it holds the row delays every other commit of the account, so the writer holds it for
// as few statements as it can: the parts are buffered together and numbered when they are
// stored, each feedRowsPerInsert entries by one statement that moves the head and one insert,
// and whether anything is old enough to prune is read before the row is locked.
type feedWriter struct {
	s      *Store
	q      bq
	acct   string
	cutoff time.Time // entries stamped before it are pruned at close
	head   int64     // the Seq of the last entry stored
	lock   bool      // the head row is locked: entries were stored
	prune  bool      // some entries are older than cutoff
	buf    []store.Change
}

// feedRowsPerInsert is the most entries one INSERT carries.
const feedRowsPerInsert = 500

// newFeedWriter returns a writer of the account's feed in q that prunes the entries stamped
// before cutoff once it has added any.
func (s *Store) newFeedWriter(q bq, acct string, cutoff time.Time) *feedWriter {
	return &feedWriter{s: s, q: q, acct: acct, cutoff: cutoff}
}

// add buffers entries after those added before; they are numbered when they are stored.
func (w *feedWriter) add(ctx context.Context, entries []store.Change) error {
	w.buf = append(w.buf, entries...)
	if len(w.buf) >= feedRowsPerInsert {
		return w.flush(ctx)
	}
	return nil
}

// advance moves the account's head past n entries, locking its row, and reads where it is. The
// row is created for the account's first entries; it is updated first, as an INSERT ... ON
// CONFLICT against a row another commit holds would wait for that commit, and then the update
// would wait again for the next.
func (w *feedWriter) advance(ctx context.Context, n int) error {
	const query = `UPDATE change_heads SET head = head + ? WHERE account = ? RETURNING head`
	err := w.q.QueryRow(ctx, query, n, w.acct).Scan(&w.head)
	if notFound(err) {
		if _, err := w.q.Exec(ctx, `INSERT INTO change_heads (account, head, pruned) VALUES (?, 0, 0) ON CONFLICT (account) DO NOTHING`, w.acct); err != nil {
			return err
		}
		err = w.q.QueryRow(ctx, query, n, w.acct).Scan(&w.head)
	}
	if err != nil {
		return err
	}
	w.lock = true
	return nil
}

// flush numbers the buffered entries after the head and stores them, feedRowsPerInsert at most
// per statement.
func (w *feedWriter) flush(ctx context.Context) error {
	if len(w.buf) == 0 {
		return nil
	}
	if !w.lock {
		var err error
		if w.prune, err = w.s.prunable(ctx, w.q, w.acct, w.cutoff); err != nil {
			return err
		}
	}
	const cols = 6
	size := max(1, min(feedRowsPerInsert, w.s.d.MaxParams()/cols))
	for rest := w.buf; len(rest) > 0; {
		n := min(size, len(rest))
		if err := w.advance(ctx, n); err != nil {
			return err
		}
		kit.Number(rest[:n], w.head-int64(n))
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

// close stores what is buffered and, when entries were added, prunes the feed.
func (w *feedWriter) close(ctx context.Context) error {
	if err := w.flush(ctx); err != nil || !w.lock || !w.prune {
		return err
	}
	return w.s.pruneFeed(ctx, w.q, w.acct, w.cutoff)
}

// addFeed numbers entries after the account's head and stores them, in one part (see
// feedWriter), and prunes the feed.
func (s *Store) addFeed(ctx context.Context, q bq, acct string, entries []store.Change, at time.Time) error {
	w := s.newFeedWriter(q, acct, at.Add(-s.retention))
	if err := w.add(ctx, entries); err != nil {
		return err
	}
	return w.close(ctx)
}

// prunable reads whether the account has entries stamped before cutoff. The common case
// (nothing old enough) must not depend on the planner: asked for MAX(seq) of the entries before
// cutoff, PostgreSQL without fresh statistics walks the primary key backwards and filters every
// entry of the account when none qualifies. The oldest entry's time, read from the (account, at)
// index, says whether there is anything to remove. It needs no lock: entries are only added
// stamped with their commit's time, and a prune another commit makes first leaves pruneFeed
// nothing to do.
func (s *Store) prunable(ctx context.Context, q bq, acct string, cutoff time.Time) (bool, error) {
	var oldest int64
	switch err := q.QueryRow(ctx, `SELECT at FROM change_feed WHERE account = ? ORDER BY at LIMIT 1`, acct).Scan(&oldest); {
	case notFound(err):
		return false, nil
	case err != nil:
		return false, err
	default:
		return oldest < micros(cutoff), nil
	}
}

// pruneFeed removes the account's entries stamped before cutoff, and everything before the
// newest of them, and records the highest Seq removed. A commit that adds entries runs it, while
// it holds the account's feed head, when prunable said there is something to remove.
func (s *Store) pruneFeed(ctx context.Context, q bq, acct string, cutoff time.Time) error {
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
