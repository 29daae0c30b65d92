package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Every statement the stores run is a stmt handle declared below with
// statement: Prepare prepares each declared handle once, through bun, when
// the database opens, and the stores run them with queryRow, query and
// exec, on the pool or in a transaction (inTx). A statement is named by
// its handle, so one that is used is always prepared: a typo is a compile
// error, never a runtime "not prepared". The database parses and plans
// each once instead of on every request. They are prepared up front
// because preparing one later could need a free connection while every
// connection is held by a transaction waiting for it.
//
// Each statement is written for both dialects where it can be, with $1,
// $2, ... parameters, which PostgreSQL and SQLite both read as positional.

// stmt is the handle of one prepared statement.
type stmt struct {
	index      int // into DB.stmts
	sqlite, pg string
}

// statements lists every handle in declaration order; it is written only
// while the package's variables are initialised.
var statements []*stmt

// statement declares a statement written the same for both dialects.
func statement(query string) *stmt { return dialectStatement(query, query) }

// dialectStatement declares a statement written for each dialect.
func dialectStatement(sqlite, pg string) *stmt {
	s := &stmt{index: len(statements), sqlite: sqlite, pg: pg}
	statements = append(statements, s)
	return s
}

// pgStatement declares a statement that only PostgreSQL runs (SQLite
// has no data-modifying CTEs); the stores run it only when db.pg.
func pgStatement(query string) *stmt { return dialectStatement("", query) }

// prepare prepares every declared statement. Call it after Migrate: the
// tables must exist.
func (db *DB) prepare(ctx context.Context) error {
	if db.pooled {
		return nil // a prepared statement lives on one server connection
	}
	stmts := make([]*sql.Stmt, len(statements))
	for _, s := range statements {
		q := s.sqlite
		if db.pg {
			q = s.pg
		}
		if q == "" {
			continue // not of this dialect
		}
		ps, err := db.bun.PrepareContext(ctx, q)
		if err != nil {
			closeAll(stmts)
			return fmt.Errorf("prepare %.40q: %w", q, err)
		}
		stmts[s.index] = ps.Stmt
	}
	db.stmts = stmts
	return nil
}

func closeAll(stmts []*sql.Stmt) {
	for _, s := range stmts {
		if s != nil {
			s.Close()
		}
	}
}

// querier runs SQL text: the pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// on returns the prepared statement s, in tx when tx is not nil; nil when
// statements are not prepared (behind a pooler).
func (db *DB) on(ctx context.Context, tx *sql.Tx, s *stmt) *sql.Stmt {
	if db.pooled {
		return nil
	}
	ps := db.stmts[s.index]
	if tx != nil {
		ps = tx.StmtContext(ctx, ps)
	}
	return ps
}

// unprepared returns where s runs as text, and its text for the dialect.
func (db *DB) unprepared(tx *sql.Tx, s *stmt) (querier, string) {
	q := s.sqlite
	if db.pg {
		q = s.pg
	}
	if tx != nil {
		return tx, q
	}
	return db.bun.DB, q
}

// queryRow runs s for one row, in tx when tx is not nil.
func (db *DB) queryRow(ctx context.Context, tx *sql.Tx, s *stmt, args ...any) *sql.Row {
	if ps := db.on(ctx, tx, s); ps != nil {
		return ps.QueryRowContext(ctx, args...)
	}
	on, q := db.unprepared(tx, s)
	return on.QueryRowContext(ctx, q, args...)
}

// query runs s, in tx when tx is not nil.
func (db *DB) query(ctx context.Context, tx *sql.Tx, s *stmt, args ...any) (*sql.Rows, error) {
	if ps := db.on(ctx, tx, s); ps != nil {
		return ps.QueryContext(ctx, args...)
	}
	on, q := db.unprepared(tx, s)
	return on.QueryContext(ctx, q, args...)
}

// exec runs s and returns how many rows it changed, in tx when tx is not
// nil.
func (db *DB) exec(ctx context.Context, tx *sql.Tx, s *stmt, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if ps := db.on(ctx, tx, s); ps != nil {
		res, err = ps.ExecContext(ctx, args...)
	} else {
		on, q := db.unprepared(tx, s)
		res, err = on.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// inTx runs fn in a transaction, committed when fn returns nil and rolled
// back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.bun.RunInTx(ctx, nil, func(_ context.Context, tx bun.Tx) error { return fn(tx.Tx) })
}

// Times are stored in UTC at the microsecond, the precision both dialects
// keep, so that what is written reads back equal; dbTime normalises a time
// the stores write, and the stores return what they read in UTC.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// now is the database clock.
func now() time.Time { return dbTime(time.Now()) }

// nullString is s, or NULL for nil.
func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

// orNull is s, or NULL for "".
func orNull(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// nullBytes is b, or NULL for nil (a driver may bind a nil slice as an
// empty value instead).
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// The statements that are not a store's own.
var qPing = statement(`SELECT 1`)
