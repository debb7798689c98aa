package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store in a PostgreSQL database, shareable by several engine processes. It
// also holds the default client list and contact directory (Directory).
type Store struct {
	b    *sqlstore.Store
	pool *pgxpool.Pool
}

var (
	_ store.Store                  = (*Store)(nil)
	_ store.DirectoryProvider      = (*Store)(nil)
	_ store.AssetDirectoryProvider = (*Store)(nil)
)

// Config configures Open. The zero Config is valid, but a store without Keys can hold no
// secrets and cannot upgrade a database whose audit log predates keying.
type Config struct {
	// Keys seal connection secrets and key the audit chain.
	Keys store.KeyProvider
	// Now is the clock for times the caller does not pass. Nil uses time.Now.
	Now func() time.Time
	// Schema keeps the store's tables in the named schema, created when missing, instead of
	// the connection's default search path.
	Schema string
	// MaxConns bounds the pool. Zero uses pgxpool's default, the larger of 4 and the CPU count.
	MaxConns int32
	// ReadCache is how many decoded mirror items the store keeps so that ReadKind decodes only
	// the items that changed since the kind was last read, about a kilobyte each. Zero uses
	// 50,000; a negative value turns the cache off.
	ReadCache int
	// ChangeRetention is how long change-feed entries are kept; a consumer whose cursor is
	// older must resync. Zero uses store.DefaultChangeRetention.
	ChangeRetention time.Duration
}

// Open connects to the database named by dsn (a postgres:// URL or key=value string) and
// migrates the schema.
func Open(ctx context.Context, dsn string, c Config) (*Store, error) {
	const op = "Open"
	switch {
	case c.ReadCache == 0:
		c.ReadCache = sqlstore.DefaultReadCache
	case c.ReadCache < 0:
		c.ReadCache = 0
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, store.Invalid(op, "pass a postgres:// URL or a key=value connection string", "cannot parse the connection string")
	}
	if c.MaxConns > 0 {
		cfg.MaxConns = c.MaxConns
	}
	if c.Schema != "" {
		if err := createSchema(ctx, cfg.ConnConfig.Copy(), c.Schema); err != nil {
			return nil, err
		}
		// Quoted as CREATE SCHEMA named it: unquoted, "Billing" would be read as billing.
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{c.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unreachable(op, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, unreachable(op, err)
	}
	cn := &conn{pool: pool}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		pool.Close()
		return nil, store.Internal(op, "", err)
	}
	st := sqlstore.New(cn, dialect{}, c.Keys, c.Now, c.ReadCache)
	st.SetChangeRetention(c.ChangeRetention)
	if err := sqlstore.Migrate(ctx, cn, dialect{}, sub, sqlstore.Upgrades(st)); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{b: st, pool: pool}, nil
}

func unreachable(op string, err error) error {
	return &tenantsync.Error{Class: tenantsync.ErrUnavailable, Service: store.Service, Op: op,
		Hint: "check the database host, port, credentials and that the server accepts connections", Err: err}
}

func createSchema(ctx context.Context, cfg *pgx.ConnConfig, schema string) error {
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return unreachable("Open", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
		var pe *pgconn.PgError
		// Two processes creating the schema at once: the loser sees a unique violation.
		if !errors.As(err, &pe) || pe.Code != "23505" {
			return store.Internal("Open", "", err)
		}
	}
	return nil
}

// Account returns the handle of one account. It does no I/O.
func (s *Store) Account(id string) store.Account { return kit.Scope(s.b, id) }

// Accounts lists the accounts that have at least one tenant, sorted.
func (s *Store) Accounts(ctx context.Context) ([]string, error) { return s.b.Accounts(ctx) }

// Directory returns the account's default client list and contact directory, kept in the
// same database as the rest of the store.
func (s *Store) Directory(account string) store.Directory { return kit.Directory(s.b, account) }

// AssetDirectory returns the account's default asset directory, kept in the same database as
// the rest of the store.
func (s *Store) AssetDirectory(account string) store.AssetDirectory {
	return kit.AssetDirectory(s.b, account)
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the connection pool, for callers that share it (health checks, metrics).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

type conn struct{ pool *pgxpool.Pool }

// Read runs fn in a read-only transaction on one snapshot (REPEATABLE READ), whose BEGIN is
// sent with its first statement, as a write transaction's is.
func (c *conn) Read(ctx context.Context, fn func(sqlstore.Q) error) error {
	return c.run(ctx, "begin isolation level repeatable read read only", fn)
}

// Write runs fn in a read-write transaction whose Q is a sqlstore.Finisher and a
// sqlstore.Deferrer: the BEGIN and the statements fn leaves for later are sent with its next
// statement, and those it finishes with after them with the COMMIT, in one batch. The
// transaction is run on a pooled connection directly rather than through pgx.Tx, which would
// send its BEGIN and COMMIT on their own.
func (c *conn) Write(ctx context.Context, fn func(sqlstore.Q) error) error {
	return c.run(ctx, "begin", fn)
}

// run runs fn in a transaction begun by begin, on a pooled connection: the BEGIN goes with
// fn's first statement, and the COMMIT with the statements fn finishes with.
func (c *conn) run(ctx context.Context, begin string, fn func(sqlstore.Q) error) (err error) {
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left in a transaction (a failed ROLLBACK, a cancelled batch) is closed by
	// the pool at its release rather than reused.
	defer pc.Release()
	w := &txQ{q: q{pc}, conn: pc, later: []statement{{query: begin}}}
	defer func() {
		w.closeRow()
		if err != nil && pc.Conn().PgConn().TxStatus() != 'I' {
			_, _ = pc.Exec(context.WithoutCancel(ctx), "rollback")
		}
	}()
	if err := fn(w); err != nil {
		return err
	}
	w.closeRow()
	switch {
	case w.err != nil:
		// A batch failed and fn went on: what it held (perhaps the BEGIN) was never run.
		return fmt.Errorf("%w: %w", pgx.ErrTxCommitRollback, w.err)
	case pc.Conn().PgConn().TxStatus() == 'E':
		// A statement failed and fn went on: the COMMIT would roll back.
		return pgx.ErrTxCommitRollback
	}
	tag, err := w.send(ctx, append(w.finish, statement{query: "commit"}))
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// txQ is the Q of a transaction (a read's or a write's), with the statements left for later
// (the BEGIN first) and those it finishes with.
type txQ struct {
	q
	conn   *pgxpool.Conn
	later  []statement
	size   int // bytes of the arguments of later, roughly
	finish []statement
	row    pgx.BatchResults // the open batch of a QueryRow not yet scanned, or of a Query's rows
	// err is the failure of a batch: the statements it held may not have run (a statement
	// that fails to prepare stops the batch before it is sent), so the transaction fails.
	err error
}

type statement struct {
	query string
	args  []any
}

// maxLater is how many bytes of arguments txQ queues before it sends them: the batch is
// encoded whole before it is sent, so a commit of many large items would hold them twice.
const maxLater = 4 << 20

// Later implements sqlstore.Deferrer.
func (w *txQ) Later(ctx context.Context, query string, args ...any) error {
	if w.err != nil {
		return w.err
	}
	w.later = append(w.later, statement{query, args})
	for _, a := range args {
		switch v := a.(type) {
		case string:
			w.size += len(v)
		case []byte:
			w.size += len(v)
		default:
			w.size += 8
		}
	}
	if w.size > maxLater {
		return w.flush(ctx)
	}
	return nil
}

// Finish implements sqlstore.Finisher.
func (w *txQ) Finish(query string, args ...any) {
	w.finish = append(w.finish, statement{query, args})
}

// closeRow closes the batch a QueryRow or a Query left open.
func (w *txQ) closeRow() {
	if w.row != nil {
		_ = w.row.Close()
		w.row = nil
	}
}

// batch sends the statements left for later followed by then in one batch and reads the
// results of those left for later; the caller reads then's and closes it. A failure of one left
// for later fails the transaction (err): the batch may not have run them at all, nor the BEGIN
// (a statement that fails to prepare stops the batch before it is sent).
func (w *txQ) batch(ctx context.Context, then ...statement) (pgx.BatchResults, error) {
	var b pgx.Batch
	for _, st := range append(w.later, then...) {
		b.Queue(st.query, st.args...)
	}
	queued := w.later
	w.later, w.size = nil, 0
	br := w.conn.SendBatch(ctx, &b)
	for i, st := range queued {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			if i == 0 && strings.HasPrefix(st.query, "begin") {
				// A statement that fails to prepare fails the batch at its first result.
				w.err = fmt.Errorf("the transaction's first statements (sent with its BEGIN): %w", err)
			} else {
				w.err = fmt.Errorf("a write sent with the transaction's next statement (%d of %d): %w", i+1, len(queued), err)
			}
			return nil, w.err
		}
	}
	return br, nil
}

// send runs the statements left for later and then then, and returns the last one's command
// tag; the first error stops it, and fails the transaction when any were left for later.
func (w *txQ) send(ctx context.Context, then []statement) (pgconn.CommandTag, error) {
	w.closeRow()
	if w.err != nil {
		return pgconn.CommandTag{}, w.err
	}
	if len(w.later) == 0 && len(then) == 1 {
		return w.conn.Exec(ctx, then[0].query, then[0].args...)
	}
	queued := len(w.later) > 0
	br, err := w.batch(ctx, then...)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	var tag pgconn.CommandTag
	for range then {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil && queued {
		w.err = err
	}
	return tag, err
}

// flush runs the statements left for later, if any.
func (w *txQ) flush(ctx context.Context) error {
	if len(w.later) == 0 {
		w.closeRow()
		return w.err
	}
	_, err := w.send(ctx, nil)
	return err
}

func (w *txQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if len(args) == 0 {
		// Perhaps several statements, which only run alone (the simple protocol).
		if err := w.flush(ctx); err != nil {
			return 0, err
		}
		return w.q.Exec(ctx, query)
	}
	tag, err := w.send(ctx, []statement{{query, args}})
	return tag.RowsAffected(), err
}

// Query sends the statements left for later and the query in one batch; the batch stays open
// until the rows are closed (or the transaction's next statement).
func (w *txQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	w.closeRow()
	if w.err != nil {
		return nil, w.err
	}
	if len(w.later) == 0 {
		return w.q.Query(ctx, query, args...)
	}
	br, err := w.batch(ctx, statement{query, args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	w.row = br
	return &batchRows{Rows: rows, w: w, br: br}, nil
}

// batchRows are the rows of a Query sent in a batch.
type batchRows struct {
	pgx.Rows
	w   *txQ
	br  pgx.BatchResults
	err error // the batch's own failure, seen at Close
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.w.row == r.br {
		r.w.row = nil
	}
	if err := r.br.Close(); err != nil && r.err == nil {
		r.err = err
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// QueryRow sends the statements left for later and the query in one batch; the batch stays
// open until the row is scanned (or the transaction's next statement).
func (w *txQ) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	w.closeRow()
	if w.err != nil {
		return errRow{w.err}
	}
	if len(w.later) == 0 {
		return w.q.QueryRow(ctx, query, args...)
	}
	br, err := w.batch(ctx, statement{query, args})
	if err != nil {
		return errRow{err}
	}
	w.row = br
	return batchRow{w: w, br: br}
}

// batchRow is the row of a QueryRow sent in a batch.
type batchRow struct {
	w  *txQ
	br pgx.BatchResults
}

func (r batchRow) Scan(dst ...any) error {
	err := row{r.br.QueryRow()}.Scan(dst...)
	if r.w.row == r.br {
		r.w.row = nil
	}
	// The batch's own failure outranks the row's absence.
	if cerr := r.br.Close(); cerr != nil && (err == nil || errors.Is(err, sqlstore.ErrNoRows)) {
		err = cerr
	}
	return err
}

// ReadOne implements sqlstore.OneReader: the statement runs on its own, which is a snapshot
// of its own, without the BEGIN and COMMIT round trips of a transaction.
func (c *conn) ReadOne(ctx context.Context, fn func(sqlstore.Q) error) error {
	return fn(&oneQ{q: q{c.pool}})
}

// oneQ runs one statement; a second fails, as it would not see the first one's snapshot.
type oneQ struct {
	q    q
	used bool
}

var errSecondStatement = errors.New("postgres: a second statement in a read of one statement")

func (o *oneQ) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if o.used {
		return 0, errSecondStatement
	}
	o.used = true
	return o.q.Exec(ctx, query, args...)
}

func (o *oneQ) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	if o.used {
		return nil, errSecondStatement
	}
	o.used = true
	return o.q.Query(ctx, query, args...)
}

func (o *oneQ) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	if o.used {
		return errRow{errSecondStatement}
	}
	o.used = true
	return o.q.QueryRow(ctx, query, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// querier is what a transaction and the pool both run statements with.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type q struct{ tx querier }

func (q q) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q q) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	r, err := q.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (q q) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return row{q.tx.QueryRow(ctx, query, args...)}
}

type row struct{ r pgx.Row }

func (r row) Scan(dst ...any) error {
	err := r.r.Scan(dst...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}

type dialect struct{}

func (dialect) Rebind(query string) string { return sqlstore.Rebind(query) }

// FOR NO KEY UPDATE rather than FOR UPDATE: rows inserted elsewhere that reference the tenant
// (a lease) take a key-share lock, which this does not block.
func (dialect) ForUpdate() string  { return " FOR NO KEY UPDATE" }
func (dialect) SkipLocked() string { return " FOR NO KEY UPDATE OF t SKIP LOCKED" }
func (dialect) MaxParams() int     { return 65535 }

func (dialect) In(column string, values []string) (string, []any) {
	return column + " = ANY(?)", []any{values}
}

func (dialect) LockAccount(ctx context.Context, q sqlstore.Q, account, purpose string) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "tenantsync/"+purpose+"/"+account)
	return err
}

func (dialect) Retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "23505", "40001", "40P01": // unique_violation, serialization_failure, deadlock_detected
		return true
	}
	return false
}
