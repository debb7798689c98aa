package postgres

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store in a PostgreSQL database.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

type options struct {
	clock     func() time.Time
	schema    string
	maxConns  int32
	readCache int
}

// Option configures Open.
type Option func(*options)

// WithClock sets the clock for times the caller does not pass.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithSchema keeps the store's tables in the named schema, created when missing, instead of
// the connection's default search path.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithMaxConns bounds the pool (default: pgxpool's, the larger of 4 and the CPU count).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// WithReadCache sets how many decoded mirror items the store keeps so that ReadKind decodes
// only the items that changed since the kind was last read (default 50,000, about a kilobyte
// each; 0 turns the cache off).
func WithReadCache(items int) Option { return func(o *options) { o.readCache = items } }

// Open connects to the database named by dsn (a postgres:// URL or key=value string) and
// migrates the schema.
func Open(ctx context.Context, dsn string, keys store.KeyProvider, opts ...Option) (*Store, error) {
	const op = "Open"
	o := options{clock: time.Now, readCache: sqlstore.DefaultReadCache}
	for _, fn := range opts {
		fn(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, store.Invalid(op, "pass a postgres:// URL or a key=value connection string", "cannot parse the connection string")
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	if o.schema != "" {
		if err := createSchema(ctx, cfg.ConnConfig.Copy(), o.schema); err != nil {
			return nil, err
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = o.schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unreachable(op, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, unreachable(op, err)
	}
	c := &conn{pool: pool}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		pool.Close()
		return nil, store.Internal(op, "", err)
	}
	st := sqlstore.New(c, dialect{}, keys, o.clock, o.readCache)
	if err := sqlstore.Migrate(ctx, c, dialect{}, sub, sqlstore.Upgrades(st)); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{Store: st, pool: pool}, nil
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

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the connection pool, for callers that share it (health checks, metrics).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

type conn struct{ pool *pgxpool.Pool }

func (c *conn) Read(ctx context.Context, fn func(sqlstore.Q) error) error {
	return c.run(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, fn)
}

func (c *conn) Write(ctx context.Context, fn func(sqlstore.Q) error) error {
	return c.run(ctx, pgx.TxOptions{}, fn)
}

func (c *conn) run(ctx context.Context, opts pgx.TxOptions, fn func(sqlstore.Q) error) error {
	tx, err := c.pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(q{tx}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

type q struct{ tx pgx.Tx }

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
