package sqlstore

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantsync/tenantsync"
	"github.com/tenantsync/tenantsync/store"
)

// Q runs statements within one transaction.
type Q interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows iterates a result set.
type Rows interface {
	Next() bool
	Scan(dst ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns ErrNoRows when there was none.
type Row interface {
	Scan(dst ...any) error
}

// ErrNoRows is what adapters return from Row.Scan when the query matched nothing.
var ErrNoRows = errors.New("no rows")

// DB runs transactions.
type DB interface {
	// Read runs fn in a read-only transaction (or with snapshot-free reads).
	Read(ctx context.Context, fn func(Q) error) error
	// Write runs fn in a read-write transaction and commits when it returns nil. Writers that
	// the database cannot run side by side are serialised by the implementation.
	Write(ctx context.Context, fn func(Q) error) error
}

// OneReader is implemented by databases that run a read of one statement outside a
// transaction: a statement sees one snapshot on its own, and a transaction's BEGIN and COMMIT
// are two round trips more than the statement (most of the engine's reads are one statement).
type OneReader interface {
	// ReadOne runs fn, which issues one statement at most; a second one fails.
	ReadOne(ctx context.Context, fn func(Q) error) error
}

// Finisher is implemented by a write transaction's Q that can send statements with its
// COMMIT, in one round trip (PostgreSQL's). Finish queues a statement to run, in the order
// given, after every other statement of the transaction and just before its COMMIT; its error
// fails the transaction. Statements given to Finish may use PostgreSQL's data-modifying WITH.
// A lock a finishing statement takes is held only while the database runs it and the COMMIT,
// never across a round trip to the client.
type Finisher interface {
	Finish(query string, args ...any)
}

// Deferrer is implemented by a write transaction's Q that can send a write whose result its
// caller does not need together with the statement after it (PostgreSQL's): Later queues the
// statement to run, in order, before the transaction's next one (or its finishing statements
// and COMMIT), in the same round trip. Its error fails that next statement, and so the
// transaction. Later sends what is queued at once when it holds more than a few megabytes of
// arguments, and returns that error.
type Deferrer interface {
	Later(ctx context.Context, query string, args ...any) error
}

// Dialect is what differs between the databases.
type Dialect interface {
	// Rebind turns ?-placeholders into the database's own.
	Rebind(query string) string
	// ForUpdate is the clause that locks selected rows until the transaction ends ("" where
	// writers are already serialised).
	ForUpdate() string
	// SkipLocked is the clause that locks selected rows and skips rows others locked.
	SkipLocked() string
	// LockAccount serialises transactions that take the same (account, purpose) lock until
	// they end.
	LockAccount(ctx context.Context, q Q, account, purpose string) error
	// Retryable reports whether err is a unique violation or serialisation failure that a
	// fresh attempt of the same transaction resolves.
	Retryable(err error) bool
	// MaxParams is the most placeholders one statement may carry.
	MaxParams() int
	// In returns a condition that column is one of values, and its arguments. PostgreSQL
	// takes one array (a list of placeholders would get a generic plan that scans), SQLite a
	// list.
	In(column string, values []string) (string, []any)
}

// InList is In for databases without arrays: column IN (?, ?, ...).
func InList(column string, values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return column + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", args
}

// micros stores times as Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// Rebind replaces each ? with $1, $2, ... for PostgreSQL.
func Rebind(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Upgrade is a step of a migration that SQL cannot express (it needs a key, say). It runs
// right after the migration's SQL, in the same transaction.
type Upgrade func(ctx context.Context, q Q) error

// Upgrades returns the Upgrade of each migration version that has one.
func Upgrades(s *Store) map[int64]Upgrade {
	return map[int64]Upgrade{2: keyAuditLogs(s)}
}

// Migrate applies the numbered SQL files of migrations ("0001_init.sql", ...) that are not yet
// recorded in schema_migrations, in order, each followed by its entry in upgrades, in one
// transaction holding the migration lock, so concurrent processes opening the same database
// migrate it once and a crash leaves it as it was.
func Migrate(ctx context.Context, db DB, d Dialect, migrations fs.FS, upgrades map[int64]Upgrade) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return store.Internal("Migrate", "", err)
	}
	slices.Sort(names)
	err = db.Write(ctx, func(q Q) error {
		if err := d.LockAccount(ctx, q, "", "migrate"); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		applied := map[int64]bool{}
		rows, err := q.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, name := range names {
			num, _, _ := strings.Cut(name, "_")
			v, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return store.Invalid("Migrate", "name migrations NNNN_what.sql", "migration %q has no version number", name)
			}
			if applied[v] {
				continue
			}
			body, err := fs.ReadFile(migrations, name)
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, string(body)); err != nil {
				return store.Internal("Migrate", "", errors.Join(errors.New("migration "+name), err))
			}
			if up := upgrades[v]; up != nil {
				if err := up(ctx, q); err != nil {
					return err
				}
			}
			if _, err := q.Exec(ctx, d.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), v, name, time.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return wrap("Migrate", "", err)
	}
	return nil
}

// wrap turns a driver error into a store error, leaving store errors as they are.
func wrap(op, tenant string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := tenantsync.Details(err); ok {
		return err
	}
	return store.Internal(op, tenant, err)
}
