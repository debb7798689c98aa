package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
	"github.com/tenantsync/tenantsync/store/internal/kit"
	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store in one SQLite file. It also holds the default client list and
// contact directory (Directory).
type Store struct {
	b    *sqlstore.Store
	db   *sql.DB
	path string
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
	// BusyTimeout is how long a statement waits for another process's write lock before
	// failing. Zero uses 10s.
	BusyTimeout time.Duration
	// ReadCache is how many decoded mirror items the store keeps so that ReadKind decodes only
	// the items that changed since the kind was last read, about a kilobyte each. Zero uses
	// 50,000; a negative value turns the cache off.
	ReadCache int
	// ChangeRetention is how long change-feed entries are kept; a consumer whose cursor is
	// older must resync. Zero uses store.DefaultChangeRetention.
	ChangeRetention time.Duration
}

// Open opens (creating when absent) the store at path and migrates its schema.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	const op = "Open"
	if path == "" {
		return nil, store.Invalid(op, "pass the path of the database file", "no path")
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	switch {
	case cfg.ReadCache == 0:
		cfg.ReadCache = sqlstore.DefaultReadCache
	case cfg.ReadCache < 0:
		cfg.ReadCache = 0
	}
	// The file holds sealed secrets and the audit log: only its owner may read it. A missing
	// directory is created for the owner alone; an existing one is left as its owner set it.
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, store.Errorf(tenantsync.ErrInvalidInput, op, "", "choose a path in a writable directory", "create directory of the database: %v", err)
		}
	}
	// Create the file before SQLite does, with mode 0600: SQLite would create it 0644 (less
	// the umask), and it gives the -wal and -shm files it creates later the database file's
	// mode. An existing file keeps the mode its owner gave it.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, store.Errorf(tenantsync.ErrInvalidInput, op, "", "check that the path is a writable SQLite file", "open %s: %v", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return nil, store.Internal(op, "", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, store.Internal(op, "", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	conn := &conn{db: db}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, store.Errorf(tenantsync.ErrUnavailable, op, "", "check that the path is a writable SQLite file", "open %s: %v", filepath.Base(path), err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		_ = db.Close()
		return nil, store.Internal(op, "", err)
	}
	st := sqlstore.New(conn, dialect{}, cfg.Keys, cfg.Now, cfg.ReadCache)
	st.SetChangeRetention(cfg.ChangeRetention)
	if err := sqlstore.Migrate(ctx, conn, dialect{}, sub, sqlstore.Upgrades(st)); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Store{b: st, db: db, path: path}, nil
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

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// conn runs sqlstore's transactions. SQLite has one writer at a time; taking turns here rather
// than in SQLite's busy loop keeps writers of this process fair and fast, while the
// busy timeout still covers other processes on the same file.
type conn struct {
	db      *sql.DB
	writeMu sync.Mutex
}

// Read runs fn in a deferred transaction, which in WAL mode reads one snapshot throughout.
func (c *conn) Read(ctx context.Context, fn func(sqlstore.Q) error) error {
	return c.run(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

// Write runs fn in an immediate transaction, one writer of this process at a time.
func (c *conn) Write(ctx context.Context, fn func(sqlstore.Q) error) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.run(ctx, nil, fn)
}

func (c *conn) run(ctx context.Context, opts *sql.TxOptions, fn func(sqlstore.Q) error) error {
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(q{tx}); err != nil {
		return err
	}
	return tx.Commit()
}

type q struct{ tx *sql.Tx }

func (q q) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q q) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	r, err := q.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (q q) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return row{q.tx.QueryRowContext(ctx, query, args...)}
}

type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }

type row struct{ r *sql.Row }

func (r row) Scan(dst ...any) error {
	err := r.r.Scan(dst...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}

type dialect struct{}

func (dialect) Rebind(query string) string { return query }
func (dialect) ForUpdate() string          { return "" }
func (dialect) SkipLocked() string         { return "" }
func (dialect) MaxParams() int             { return 32766 }

func (dialect) In(column string, values []string) (string, []any) {
	return sqlstore.InList(column, values)
}

// LockAccount has nothing to do: this process's writers already take turns, and SQLite's
// write lock serialises other processes.
func (dialect) LockAccount(context.Context, sqlstore.Q, string, string) error { return nil }

func (dialect) Retryable(err error) bool {
	var se interface{ Code() int }
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}
