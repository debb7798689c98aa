package sqlstore

import (
	"context"
	"encoding/json"
	"strings"
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
// as little as it can: the parts are buffered together, and whether anything is old enough to
// prune is read before the row is locked. Where the transaction is a Finisher (PostgreSQL), one
// statement moves the head and inserts the entries numbered after it, the last of them and the
// prune are sent with the COMMIT, and a commit of up to feedRowsPerInsert entries holds the row
// for no round trip to the engine (under load, a round trip waits for the engine's process to be
// scheduled); a larger one holds it from its first statement of entries on. Elsewhere (SQLite,
// whose writers are serialised anyway) the head is moved and the entries inserted by two
// statements.
type feedWriter struct {
	s      *Store
	q      bq
	acct   string
	cutoff time.Time // entries stamped before it are pruned at close
	head   int64     // the Seq of the last entry stored (not known where the database numbers them)
	lock   bool      // the head row is locked, or will be by a finishing statement: entries were stored
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

// add buffers entries after those added before; they are numbered when they are stored. It
// stores whole statements' worth as they fill, and keeps the rest for close, so that the last
// statement (which close sends with the COMMIT where it can) carries at least one entry.
func (w *feedWriter) add(ctx context.Context, entries []store.Change) error {
	w.buf = append(w.buf, entries...)
	if n := w.chunk(); len(w.buf) > n {
		full := (len(w.buf) - 1) / n * n
		if err := w.store(ctx, w.buf[:full], false); err != nil {
			return err
		}
		w.buf = append(w.buf[:0], w.buf[full:]...)
		clear(w.buf[len(w.buf):full])
	}
	return nil
}

// chunk is how many entries one statement stores: feedRowsPerInsert, or fewer where the
// database takes fewer parameters.
func (w *feedWriter) chunk() int {
	if _, ok := w.q.q.(Finisher); ok {
		return feedRowsPerInsert // numberedInsert passes arrays
	}
	return max(1, min(feedRowsPerInsert, w.s.d.MaxParams()/feedCols))
}

// advance moves the account's head past n entries, locking its row, and reads where it is.
func (w *feedWriter) advance(ctx context.Context, n int) error {
	const query = `UPDATE change_heads SET head = head + ? WHERE account = ? RETURNING head`
	if err := w.q.QueryRow(ctx, query, n, w.acct).Scan(&w.head); err != nil {
		return err
	}
	w.lock = true
	return nil
}

// feedCols are the columns of an entry insert sends.
const feedCols = 6

// store numbers entries after the head and stores them, chunk() per statement; last says no
// entry follows them, so that a Finisher sends the last statement with the COMMIT.
func (w *feedWriter) store(ctx context.Context, entries []store.Change, last bool) error {
	if len(entries) == 0 {
		return nil
	}
	if !w.lock {
		if err := w.prepare(ctx); err != nil {
			return err
		}
	}
	fin, _ := w.q.q.(Finisher)
	size := w.chunk()
	for rest := entries; len(rest) > 0; {
		n := min(size, len(rest))
		var err error
		if fin != nil {
			err = w.insertNumbered(ctx, fin, rest[:n], last && n == len(rest))
		} else {
			err = w.insert(ctx, rest[:n])
		}
		if err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// prepare reads, before the head row is locked, whether anything is old enough to prune, and
// creates the account's head row for its first entries: it is created apart, as an INSERT ...
// ON CONFLICT against a row another commit holds would wait for that commit, and then the
// update would wait again for the next. Whether to prune must not depend on the planner: asked
// for MAX(seq) of the entries before the cutoff, PostgreSQL without fresh statistics walks the
// primary key backwards and filters every entry of the account when none qualifies; the oldest
// entry's time, read from the (account, at) index, says whether there is anything to remove.
// It needs no lock: entries are only added stamped with their commit's time, and a prune
// another commit makes first leaves pruneFeed nothing to do.
func (w *feedWriter) prepare(ctx context.Context) error {
	var oldest *int64
	var head bool
	err := w.q.QueryRow(ctx, `SELECT (SELECT at FROM change_feed WHERE account = ? ORDER BY at LIMIT 1), `+
		`EXISTS (SELECT 1 FROM change_heads WHERE account = ?)`, w.acct, w.acct).Scan(&oldest, &head)
	if err != nil {
		return err
	}
	w.prune = oldest != nil && *oldest < micros(w.cutoff)
	if !head {
		_, err = w.q.Exec(ctx, `INSERT INTO change_heads (account, head, pruned) VALUES (?, 0, 0) ON CONFLICT (account) DO NOTHING`, w.acct)
	}
	return err
}

// splitData returns c without its data, and the data: the data is stored apart, as it is
// (encoding it inside the entry would validate and copy every item's JSON again).
func splitData(c store.Change) (store.Change, []byte) {
	data := []byte(c.Data)
	if data == nil {
		data = []byte{}
	}
	c.Data = nil
	return c, data
}

// insert moves the head past entries and inserts them numbered after it.
func (w *feedWriter) insert(ctx context.Context, entries []store.Change) error {
	n := len(entries)
	if err := w.advance(ctx, n); err != nil {
		return err
	}
	kit.Number(entries, w.head-int64(n))
	var query strings.Builder
	query.WriteString(`INSERT INTO change_feed (account, seq, at, tenant_id, entry, data) VALUES `)
	args := make([]any, 0, feedCols*n)
	for i, c := range entries {
		if i > 0 {
			query.WriteString(", ")
		}
		query.WriteString("(?, ?, ?, ?, ?, ?)")
		entry, data := splitData(c)
		args = append(args, w.acct, c.Seq, micros(c.At), c.TenantID, asJSON(entry), data)
	}
	_, err := w.q.Exec(ctx, query.String(), args...)
	return err
}

// changeIDPrefix is what store.ChangeID puts before a Seq.
var changeIDPrefix = strings.TrimSuffix(store.ChangeID(0), "0")

// numberedInsert moves the head past entries and inserts them numbered after it, the entries'
// columns passed as arrays so that its text, and so its prepared statement and plan, is the
// same whatever their number (a VALUES list of one row an entry was planned anew at each
// commit, about 2 ms of the server's CPU). The entry's JSON gets its Seq and ID
// (store.ChangeID) there, as readers take them from the JSON.
const numberedInsert = `WITH h AS (UPDATE change_heads SET head = head + ? WHERE account = ? RETURNING head) ` +
	`INSERT INTO change_feed (account, seq, at, tenant_id, entry, data) ` +
	`SELECT ?, s.seq, v.at, v.tenant_id, v.entry::jsonb || jsonb_build_object('seq', s.seq, 'id', ? || s.seq), v.data ` +
	`FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bytea[]) WITH ORDINALITY AS v (at, tenant_id, entry, data, ord) ` +
	`CROSS JOIN LATERAL (SELECT (SELECT head FROM h) - ? + v.ord AS seq) AS s`

// insertNumbered stores entries by numberedInsert, sent with the COMMIT when finish is set. A
// head row gone (prepare creates it) leaves the Seq NULL, which the column refuses: the commit
// fails rather than store entries out of the feed.
func (w *feedWriter) insertNumbered(ctx context.Context, fin Finisher, entries []store.Change, finish bool) error {
	n := len(entries)
	ats := make([]int64, n)
	tenants := make([]string, n)
	docs := make([]string, n)
	data := make([][]byte, n)
	for i, c := range entries {
		var entry store.Change
		entry, data[i] = splitData(c)
		ats[i], tenants[i] = micros(c.At), c.TenantID
		doc, err := json.Marshal(entry)
		if err != nil {
			return err
		}
		docs[i] = string(doc)
	}
	args := []any{n, w.acct, w.acct, changeIDPrefix, ats, tenants, docs, data, n}
	w.lock = true
	if finish {
		fin.Finish(w.s.bind(numberedInsert), args...)
		return nil
	}
	_, err := w.q.Exec(ctx, numberedInsert, args...)
	return err
}

// close stores what is buffered and, when entries were added, prunes the feed.
func (w *feedWriter) close(ctx context.Context) error {
	err := w.store(ctx, w.buf, true)
	clear(w.buf)
	w.buf = w.buf[:0]
	if err != nil || !w.lock || !w.prune {
		return err
	}
	if fin, ok := w.q.q.(Finisher); ok {
		fin.Finish(w.s.bind(pruneFinishing), w.acct, micros(w.cutoff), w.acct, w.acct)
		return nil
	}
	return w.s.pruneFeed(ctx, w.q, w.acct, w.cutoff)
}

// pruneFinishing is pruneFeed in one statement, for a Finisher.
const pruneFinishing = `WITH last AS (SELECT MAX(seq) AS seq FROM change_feed WHERE account = ? AND at < ?), ` +
	`gone AS (DELETE FROM change_feed WHERE account = ? AND seq <= (SELECT seq FROM last)) ` +
	`UPDATE change_heads SET pruned = (SELECT seq FROM last) WHERE account = ? AND pruned < (SELECT seq FROM last)`

// addFeed numbers entries after the account's head and stores them, in one part (see
// feedWriter), and prunes the feed.
func (s *Store) addFeed(ctx context.Context, q bq, acct string, entries []store.Change, at time.Time) error {
	w := s.newFeedWriter(q, acct, at.Add(-s.retention))
	if err := w.add(ctx, entries); err != nil {
		return err
	}
	return w.close(ctx)
}

// pruneFeed removes the account's entries stamped before cutoff, and everything before the
// newest of them, and records the highest Seq removed. A commit that adds entries runs it, while
// it holds the account's feed head, when prepare found something to remove.
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
