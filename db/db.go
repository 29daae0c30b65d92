// Package db provides wxtodo's storage on bun: PostgreSQL in production,
// an embedded SQLite file by default. It opens the database, applies the
// versioned migrations and implements the stores the domain packages
// declare, translating database errors into the domain's error codes.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite" // registers the "sqlite" driver

	"wxtodo/errcode"
)

// DefaultSQLitePath is where the embedded database lives when DATABASE_URL
// is unset.
const DefaultSQLitePath = "data/wxtodo.db"

//go:embed migrations
var migrationFS embed.FS

// DB is an open, migrated database.
type DB struct {
	*bun.DB
	stmts map[string]*sql.Stmt // see Prepare; read-only once prepared
}

// Close closes the prepared statements and the pool.
func (db *DB) Close() error {
	for _, s := range db.stmts {
		s.Close()
	}
	return db.DB.Close()
}

// IsPostgres reports whether db runs on PostgreSQL.
func (db *DB) IsPostgres() bool { return db.Dialect().Name() == dialect.PG }

// Options tune Open.
type Options struct {
	// MaxOpenConns caps the pool; 0 picks a default for the dialect.
	MaxOpenConns int
}

// Open connects to databaseURL: "" for the SQLite file under ./data/,
// "postgres://..." or "postgresql://..." for PostgreSQL, "sqlite:PATH" or
// "file:PATH" for another SQLite file. It does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string, opt Options) (*DB, error) {
	var bdb *bun.DB
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		cfg, err := pgx.ParseConfig(databaseURL)
		if err != nil {
			return nil, fmt.Errorf("parse DATABASE_URL: %w", scrubURL(err))
		}
		// bun renders arguments into the SQL text, so every statement is
		// unique: the simple protocol spends one round trip per query
		// instead of a prepare and an execute.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		// A cancelled request context asks the server to cancel the query
		// (a query waiting on a lock never notices a closed socket), and
		// cuts the socket if the server does not answer within a second.
		cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
		}
		// A backstop for statements no request context bounds.
		if _, ok := cfg.RuntimeParams["statement_timeout"]; !ok {
			cfg.RuntimeParams["statement_timeout"] = "60000"
		}
		// The prepared statements (see Prepare) are index lookups whose
		// best plan does not depend on the user: plan them once. A custom
		// plan for a user who owns most rows can pick a scan that walks
		// everyone else's todos.
		if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
			cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 5 * time.Second
		}
		sqldb := stdlib.OpenDB(*cfg)
		n := opt.MaxOpenConns
		if n == 0 {
			n = 16
		}
		// Migrate holds one connection for its lock while it works on another.
		n = max(n, 2)
		sqldb.SetMaxOpenConns(n)
		sqldb.SetMaxIdleConns(n)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		bdb = bun.NewDB(sqldb, pgdialect.New())
	case databaseURL == "" || strings.HasPrefix(databaseURL, "sqlite:") || strings.HasPrefix(databaseURL, "file:"):
		path, _ := SQLitePath(databaseURL)
		if path == "" {
			return nil, errors.New("DATABASE_URL: sqlite path is empty")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		sqldb, err := sql.Open("sqlite", sqliteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// WAL lets readers run beside the single writer; immediate
		// transactions and a busy timeout make writers queue instead of
		// failing with "database is locked".
		n := opt.MaxOpenConns
		if n == 0 {
			n = 4
		}
		sqldb.SetMaxOpenConns(n)
		sqldb.SetMaxIdleConns(n)
		sqldb.SetConnMaxLifetime(0)
		bdb = bun.NewDB(sqldb, sqlitedialect.New())
	default:
		return nil, errors.New("DATABASE_URL must be a postgres:// or postgresql:// URL, or sqlite:PATH")
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := bdb.PingContext(pctx); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("connect to database: %w", scrubURL(err))
	}
	return &DB{DB: bdb}, nil
}

// SQLitePath returns the file a SQLite DATABASE_URL names ("" for the
// default), and false for any other database.
func SQLitePath(databaseURL string) (string, bool) {
	switch {
	case databaseURL == "":
		return DefaultSQLitePath, true
	case strings.HasPrefix(databaseURL, "sqlite:"), strings.HasPrefix(databaseURL, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		return path, true
	}
	return "", false
}

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Ping checks that the database answers (one round trip).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return translate(db.NewRaw("SELECT 1").Scan(ctx, &one))
}

// translate maps a database error to the domain's: no rows is NOT_FOUND, a
// lost or refused connection is SERVICE_UNAVAILABLE, a cancelled context
// stays itself; anything else is internal.
func translate(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &errcode.Error{Code: errcode.NotFound, Message: "not found", Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case isQueryCanceled(err):
		// The request's deadline (or statement_timeout) cancelled it.
		return &errcode.Error{Code: errcode.Timeout, Message: "the request took too long", Err: err}
	case isConnError(err):
		return &errcode.Error{Code: errcode.Unavailable, Message: "the database is unavailable, try again", Err: err}
	}
	return err
}

func isQueryCanceled(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014"
}

func isConnError(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	var se *sqlite.Error
	switch {
	case errors.As(err, &ce):
		// Refused, unreachable, too many connections, bad password: the
		// database cannot be used now, whatever the server said.
		return true
	case errors.As(err, &se):
		// SQLITE_BUSY, SQLITE_LOCKED: the busy timeout ran out.
		return se.Code()&0xff == 5 || se.Code()&0xff == 6
	}
	if errors.As(err, &pe) {
		// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now,
		// class 08 connection exceptions.
		// class 53: insufficient resources (e.g. too many connections).
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, sql.ErrConnDone) || pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// scrubURL drops a connection string (and its password) from err.
func scrubURL(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid PostgreSQL connection string")
	}
	return err
}
