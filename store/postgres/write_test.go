package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantsync/tenantsync/store/internal/sqlstore"
	"github.com/tenantsync/tenantsync/store/postgres"
)

// writeDB returns the package's transactions over a pool working in a schema of its own
// holding the table fin (one row, id 1, v 0) and the table log, and the pool.
func writeDB(t *testing.T) (sqlstore.DB, *pgxpool.Pool) {
	t.Helper()
	needServer(t)
	ctx := t.Context()
	name := schema + "_write"
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = name
	cfg.MaxConns = 2
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer admin.Close(ctx)
	id := pgx.Identifier{name}.Sanitize()
	for _, st := range []string{`DROP SCHEMA IF EXISTS ` + id + ` CASCADE`, `CREATE SCHEMA ` + id,
		`CREATE TABLE ` + id + `.fin (id INT PRIMARY KEY, v INT NOT NULL)`, `INSERT INTO ` + id + `.fin VALUES (1, 0)`,
		`CREATE TABLE ` + id + `.log (x INT NOT NULL)`} {
		_, err := admin.Exec(ctx, st)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), dsn); err == nil {
			_, _ = c.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+id+` CASCADE`)
			_ = c.Close(context.Background())
		}
	})
	cfg.ConnConfig.Tracer = &tripCounter{}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return postgres.DB(pool), pool
}

// tripCounter counts what a pool sends: each statement sent alone and each batch is a round
// trip to the server.
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// trips returns the round trips fn made on pool's connections.
func trips(t *testing.T, pool *pgxpool.Pool, fn func() error) int64 {
	t.Helper()
	c := pool.Config().ConnConfig.Tracer.(*tripCounter)
	before := c.n.Load()
	require.NoError(t, fn())
	return c.n.Load() - before
}

func logged(t *testing.T, pool *pgxpool.Pool) []int {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT x FROM log ORDER BY x`)
	require.NoError(t, err)
	xs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	require.NoError(t, err)
	return xs
}

// A write's finishing statements run after its others and with its COMMIT: a row they lock is
// free while the transaction's other statements run, and everything commits together.
func TestWriteFinishesWithItsCommit(t *testing.T) {
	db, pool := writeDB(t)
	ctx := t.Context()
	err := db.Write(ctx, func(q sqlstore.Q) error {
		if _, err := q.Exec(ctx, `INSERT INTO log VALUES (1)`); err != nil {
			return err
		}
		q.(sqlstore.Finisher).Finish(`UPDATE fin SET v = v + 1 WHERE id = $1`, 1)
		q.(sqlstore.Finisher).Finish(`INSERT INTO log SELECT v * 10 FROM fin WHERE id = 1`)
		// Another session updates the row meanwhile: it is not locked yet.
		c, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer c.Release()
		if _, err := c.Exec(ctx, `SET lock_timeout = '2s'`); err != nil {
			return err
		}
		_, err = c.Exec(ctx, `UPDATE fin SET v = v + 10 WHERE id = 1`)
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 110}, logged(t, pool), "the finishing statements ran in order, after the others, and saw the other session's update")
}

// A finishing statement that fails fails the write and leaves nothing of it; so does a
// statement whose error the transaction's function dropped (its COMMIT reports ROLLBACK). The
// connection is fit for the next write either way.
func TestWriteFailsWholeWhenItsFinishFails(t *testing.T) {
	db, pool := writeDB(t)
	ctx := t.Context()
	err := db.Write(ctx, func(q sqlstore.Q) error {
		if _, err := q.Exec(ctx, `INSERT INTO log VALUES (1)`); err != nil {
			return err
		}
		q.(sqlstore.Finisher).Finish(`INSERT INTO log VALUES (2)`)
		q.(sqlstore.Finisher).Finish(`INSERT INTO log VALUES (1 / (SELECT v FROM fin WHERE id = 1))`)
		q.(sqlstore.Finisher).Finish(`INSERT INTO log VALUES (3)`)
		return nil
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "division by zero")
	assert.Empty(t, logged(t, pool))

	err = db.Write(ctx, func(q sqlstore.Q) error {
		if _, err := q.Exec(ctx, `INSERT INTO log VALUES (4)`); err != nil {
			return err
		}
		_, _ = q.Exec(ctx, `INSERT INTO nowhere VALUES (1)`)
		return nil
	})
	require.ErrorIs(t, err, pgx.ErrTxCommitRollback)
	assert.Empty(t, logged(t, pool))

	failed := errors.New("the write's own failure")
	err = db.Write(ctx, func(q sqlstore.Q) error {
		if _, err := q.Exec(ctx, `INSERT INTO log VALUES (5)`); err != nil {
			return err
		}
		q.(sqlstore.Finisher).Finish(`INSERT INTO log VALUES (6)`)
		return failed
	})
	require.ErrorIs(t, err, failed)
	assert.Empty(t, logged(t, pool), "a write whose function fails runs none of its finishing statements")

	conns := pool.Stat().NewConnsCount()
	for i := range 3 {
		require.NoError(t, db.Write(ctx, func(q sqlstore.Q) error {
			_, err := q.Exec(ctx, `INSERT INTO log VALUES ($1)`, 7+i)
			return err
		}))
	}
	assert.Equal(t, []int{7, 8, 9}, logged(t, pool))
	assert.Equal(t, conns, pool.Stat().NewConnsCount(), "the failed writes' connections were reused, not replaced")
}

// Statements left for later run before the transaction's next statement, which sees them, or
// with its COMMIT; one that fails fails the statement after it and the write.
func TestWriteSendsLaterStatementsBeforeTheNext(t *testing.T) {
	db, pool := writeDB(t)
	ctx := t.Context()
	require.NoError(t, db.Write(ctx, func(q sqlstore.Q) error {
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES ($1)`, 1)
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES ($1)`, 2)
		var n int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM log`).Scan(&n); err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("the read saw %d rows, not the 2 left for later", n)
		}
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES ($1)`, 3)
		rows, err := q.Query(ctx, `SELECT x FROM log ORDER BY x`)
		if err != nil {
			return err
		}
		xs, err := pgx.CollectRows(rows.(pgx.Rows), pgx.RowTo[int])
		if err != nil {
			return err
		}
		if len(xs) != 3 {
			return fmt.Errorf("the query saw %v", xs)
		}
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES ($1)`, 4)
		if _, err := q.Exec(ctx, `INSERT INTO log VALUES ($1)`, 5); err != nil {
			return err
		}
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES ($1)`, 6)
		q.(sqlstore.Finisher).Finish(`INSERT INTO log SELECT count(*) * 10 FROM log`)
		return nil
	}))
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 60}, logged(t, pool), "in order, the last with the finishing statement and COMMIT")

	err := db.Write(ctx, func(q sqlstore.Q) error {
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES (1 / (SELECT v FROM fin WHERE id = 1))`)
		if _, err := q.Exec(ctx, `INSERT INTO log VALUES ($1)`, 7); err != nil {
			return err
		}
		return errors.New("the failure of the statement left for later was not reported")
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "division by zero")
	err = db.Write(ctx, func(q sqlstore.Q) error {
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES ($1)`, 8)
		q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES (1 / (SELECT v FROM fin WHERE id = 1))`)
		return nil
	})
	require.Error(t, err, "a failure left for the COMMIT")
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 60}, logged(t, pool))
}

// The edges of statements left for later: a read of no row, a row never scanned, several
// statements in one Exec, a dropped error, a failure named as a queued write's (its SQLSTATE
// kept), and a queue of large arguments sent before the next statement.
func TestWriteLaterEdges(t *testing.T) {
	db, pool := writeDB(t)
	ctx := t.Context()
	require.NoError(t, db.Write(ctx, func(q sqlstore.Q) error {
		d := q.(sqlstore.Deferrer)
		if err := d.Later(ctx, `INSERT INTO log VALUES ($1)`, 1); err != nil {
			return err
		}
		var x int
		if err := q.QueryRow(ctx, `SELECT x FROM log WHERE x = $1`, 99).Scan(&x); !errors.Is(err, sqlstore.ErrNoRows) {
			return fmt.Errorf("a read of no row: %v", err)
		}
		if err := d.Later(ctx, `INSERT INTO log VALUES ($1)`, 2); err != nil {
			return err
		}
		_ = q.QueryRow(ctx, `SELECT x FROM log WHERE x = $1`, 1) // never scanned
		if err := d.Later(ctx, `INSERT INTO log VALUES ($1)`, 3); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO log VALUES (4); INSERT INTO log VALUES (5)`)
		return err
	}))
	assert.Equal(t, []int{1, 2, 3, 4, 5}, logged(t, pool))

	err := db.Write(ctx, func(q sqlstore.Q) error {
		if err := q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO log VALUES ($1)`, 6); err != nil {
			return err
		}
		_, _ = q.Exec(ctx, `INSERT INTO nowhere VALUES ($1)`, 1)
		q.(sqlstore.Finisher).Finish(`INSERT INTO log VALUES ($1)`, 7)
		return nil
	})
	require.ErrorIs(t, err, pgx.ErrTxCommitRollback, "a dropped error with a statement still to finish")

	err = db.Write(ctx, func(q sqlstore.Q) error {
		if err := q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO fin VALUES ($1, 0)`, 1); err != nil {
			return err
		}
		var n int
		return q.QueryRow(ctx, `SELECT count(*) FROM log`).Scan(&n)
	})
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe, "the primary key's violation, reported by the read after it")
	assert.Equal(t, "23505", pe.Code)
	assert.Contains(t, err.Error(), "a write sent with the transaction's next statement")

	err = db.Write(ctx, func(q sqlstore.Q) error {
		d := q.(sqlstore.Deferrer)
		if err := d.Later(ctx, `INSERT INTO log VALUES (1 / (SELECT v FROM fin WHERE id = 1))`); err != nil {
			return err
		}
		if err := d.Later(ctx, `INSERT INTO log SELECT length($1::bytea)`, make([]byte, 5<<20)); err != nil {
			return err
		}
		return errors.New("a queue of 5 MB was not sent at once")
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "division by zero")
	assert.Equal(t, []int{1, 2, 3, 4, 5}, logged(t, pool))
}

// A read runs on one snapshot, read-only, though its BEGIN travels with its first statement:
// a row another session commits between its statements is not seen, a write in it fails,
// and a failed read leaves its connection fit for the next transaction.
func TestReadIsOneReadOnlySnapshot(t *testing.T) {
	db, pool := writeDB(t)
	ctx := t.Context()
	count := func(q sqlstore.Q) (n int, err error) {
		return n, q.QueryRow(ctx, `SELECT count(*) FROM log`).Scan(&n)
	}
	var first, second int
	require.NoError(t, db.Read(ctx, func(q sqlstore.Q) (err error) {
		if first, err = count(q); err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, `INSERT INTO log VALUES (7)`); err != nil {
			return err
		}
		second, err = count(q)
		return err
	}))
	assert.Equal(t, 0, first)
	assert.Equal(t, first, second, "a row committed between a read's statements is seen: not one snapshot")
	assert.Equal(t, []int{7}, logged(t, pool))

	err := db.Read(ctx, func(q sqlstore.Q) error {
		_, err := q.Exec(ctx, `INSERT INTO log VALUES ($1)`, 8)
		return err
	})
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "25006", pe.Code, "a write in a read: read_only_sql_transaction")

	// The pool holds two connections: each is used again after a failed read.
	for range 4 {
		err := db.Read(ctx, func(q sqlstore.Q) error {
			var x int
			return q.QueryRow(ctx, `SELECT x FROM no_such_table`).Scan(&x)
		})
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "42P01", pe.Code)
		assert.NotContains(t, err.Error(), "write", "a read's failure named as a write's")
	}
	require.NoError(t, db.Read(ctx, func(q sqlstore.Q) error {
		n, err := count(q)
		assert.Equal(t, 1, n)
		return err
	}))
	require.NoError(t, db.Read(ctx, func(sqlstore.Q) error { return nil }), "a read of no statement")
}

// drain reads rows to their end and closes them.
func drain(rows sqlstore.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// A Query goes in one batch with the BEGIN and the writes left for later, after them: its rows
// see those writes, its failure is the query's, and a queued write's failure is the write's.
func TestQuerySentWithTheStatementsBefore(t *testing.T) {
	db, pool := writeDB(t)
	ctx := t.Context()
	var got []int
	require.NoError(t, db.Write(ctx, func(q sqlstore.Q) error {
		d := q.(sqlstore.Deferrer)
		for _, x := range []int{3, 1, 2} {
			if err := d.Later(ctx, `INSERT INTO log VALUES ($1)`, x); err != nil {
				return err
			}
		}
		rows, err := q.Query(ctx, `SELECT x FROM log ORDER BY x`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x int
			if err := rows.Scan(&x); err != nil {
				return err
			}
			got = append(got, x)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		// The connection is free for the next statement.
		_, err = q.Exec(ctx, `INSERT INTO log VALUES ($1)`, 4)
		return err
	}))
	assert.Equal(t, []int{1, 2, 3}, got, "the query ran after the writes queued before it")
	assert.Equal(t, []int{1, 2, 3, 4}, logged(t, pool))

	// A read of one Query: the BEGIN and the query, then the COMMIT.
	n := trips(t, pool, func() error {
		return db.Read(ctx, func(q sqlstore.Q) error { return drain(q.Query(ctx, `SELECT x FROM log`)) })
	})
	assert.EqualValues(t, 2, n, "round trips of a read of one Query")

	// Rows of a batch left open are closed with it by the next statement.
	require.NoError(t, db.Read(ctx, func(q sqlstore.Q) error {
		rows, err := q.Query(ctx, `SELECT x FROM log`)
		if err != nil {
			return err
		}
		require.True(t, rows.Next())
		var n int
		return q.QueryRow(ctx, `SELECT count(*) FROM log`).Scan(&n)
	}))

	err := db.Read(ctx, func(q sqlstore.Q) error { return drain(q.Query(ctx, `SELECT x FROM no_such_table`)) })
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "42P01", pe.Code)

	err = db.Write(ctx, func(q sqlstore.Q) error {
		if err := q.(sqlstore.Deferrer).Later(ctx, `INSERT INTO fin VALUES ($1, 0)`, 1); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT x FROM log`)
		if err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
	require.ErrorAs(t, err, &pe, "the primary key's violation, reported by the query after it")
	assert.Equal(t, "23505", pe.Code)
	assert.Contains(t, err.Error(), "a write sent with the transaction's next statement")
	assert.Equal(t, []int{1, 2, 3, 4}, logged(t, pool))
}
