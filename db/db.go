// Package db is wxtodo's storage on bun: PostgreSQL in production, an
// embedded SQLite file by default. It opens the database, applies the
// versioned migrations, runs every statement as a prepared handle (see
// stmt.go) and implements the stores the other packages declare
// (auth.Store, user.Store, todo.Store, wxdata.Store, wechat.TokenStore),
// translating database errors into errcode's codes and keeping storage
// details such as time precision to itself.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultSQLitePath is where the embedded database lives when DATABASE_URL
// is unset.
const DefaultSQLitePath = "data/wxtodo.db"

//go:embed migrations
var migrationFS embed.FS

// DB is an open database. Its stores run statements only after Prepare.
type DB struct {
	bun   *bun.DB
	pg    bool
	stmts []*sql.Stmt // by stmt.index; read-only once prepared
	// pooled: behind a transaction pooler (PgBouncer), statements are
	// sent unprepared and migrations go through directURL.
	pooled    bool
	directURL string
	trips     *roundTrips // PostgreSQL only
	// listenURL is where the change listener connects: PostgreSQL
	// itself, never a pooler (see Listen).
	listenURL string
	// sink takes the SQLite stores' changes while Listen runs.
	sink atomic.Pointer[liveSink]
}

// Close closes the prepared statements and the pool.
func (db *DB) Close() error {
	closeAll(db.stmts)
	return db.bun.Close()
}

// IsPostgres reports whether db runs on PostgreSQL.
func (db *DB) IsPostgres() bool { return db.pg }

// Pool is the connection pool, for its statistics (metrics).
func (db *DB) Pool() *sql.DB { return db.bun.DB }

// Prepare prepares the statements the stores run. Call it after Migrate:
// the tables must exist.
func (db *DB) Prepare(ctx context.Context) error { return db.prepare(ctx) }

// Options tune Open.
type Options struct {
	// MaxOpenConns caps the pool; 0 picks a default for the dialect.
	MaxOpenConns int
	// Pooled says that a PostgreSQL URL leads to a transaction-pooling
	// PgBouncer: each transaction may run on another server connection,
	// so nothing may outlive one. No runtime parameters are sent at
	// connect (PgBouncer refuses them: set them on the role instead),
	// statements are sent unprepared (named prepared statements need
	// PgBouncer 1.21), and migrations, whose lock is a session's, run
	// through DirectURL, which must name the database itself.
	Pooled    bool
	DirectURL string
	// SQLiteSync is SQLite's synchronous setting: "NORMAL" (the default)
	// or "FULL". In WAL mode NORMAL loses nothing to a crash of the
	// process, but a power loss or OS crash may roll back the
	// transactions committed since the WAL was last synced (at a
	// checkpoint); FULL syncs the WAL at every commit, so none is lost.
	SQLiteSync string
}

// Open connects to databaseURL: "" for the SQLite file under ./data/,
// "postgres://..." or "postgresql://..." for PostgreSQL, "sqlite:PATH" or
// "file:PATH" for another SQLite file. It does not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string, opt Options) (*DB, error) {
	var (
		bdb   *bun.DB
		pg    bool
		trips *roundTrips
	)
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		cfg, err := pgx.ParseConfig(databaseURL)
		if err != nil {
			return nil, fmt.Errorf("parse DATABASE_URL: %w", scrubURL(err))
		}
		// The stores run prepared statements; what else runs (migrations,
		// whose arguments bun renders into the SQL text, so that every
		// statement is unique) spends one round trip per query with the
		// simple protocol instead of a prepare and an execute.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		// A cancelled request context asks the server to cancel the query
		// (a query waiting on a lock never notices a closed socket), and
		// cuts the socket if the server does not answer within a second.
		cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
		}
		for param, value := range runtimeParams {
			if _, ok := cfg.RuntimeParams[param]; !ok && !opt.Pooled {
				cfg.RuntimeParams[param] = value
			}
		}
		trips = &roundTrips{}
		cfg.Tracer = trips
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
		bdb, pg = bun.NewDB(sqldb, pgdialect.New()), true
	case databaseURL == "" || strings.HasPrefix(databaseURL, "sqlite:") || strings.HasPrefix(databaseURL, "file:"):
		path, _ := SQLitePath(databaseURL)
		if path == "" {
			return nil, errors.New("DATABASE_URL: sqlite path is empty")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		if err := createPrivate(path); err != nil {
			return nil, fmt.Errorf("create sqlite %s: %w", path, err)
		}
		sqldb, err := sql.Open("sqlite", sqliteDSN(path, opt.SQLiteSync))
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
	if opt.Pooled && (!pg || opt.DirectURL == "") {
		bdb.Close()
		return nil, errors.New("a transaction pooler needs PostgreSQL and a direct URL for migrations")
	}
	listenURL := databaseURL
	if opt.Pooled {
		listenURL = opt.DirectURL
	}
	return &DB{bun: bdb, pg: pg, pooled: opt.Pooled, directURL: opt.DirectURL, trips: trips, listenURL: listenURL}, nil
}

// runtimeParams are sent at connect, unless the URL sets them or the
// connection is pooled (README says how to set them on the role then).
var runtimeParams = map[string]string{
	// A backstop for statements no request context bounds.
	"statement_timeout": "60000",
	// The prepared statements (see stmt.go) are index lookups whose best
	// plan does not depend on the user: plan them once. A custom plan for
	// a user who owns most rows can pick a scan that walks everyone
	// else's todos.
	"plan_cache_mode": "force_generic_plan",
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

// createPrivate creates the SQLite file, empty, readable by its owner
// only (a umask only clears bits), unless it exists. SQLite would create
// it 0644 less the umask, world-readable under umask 0; it gives its -wal
// and -shm files the mode of the database file, so they are private too.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func sqliteDSN(path, sync string) string {
	if sync != "FULL" {
		sync = "NORMAL"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Ping checks that the database answers, in one round trip. Errors are
// translated as the stores' are.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return translate(db.queryRow(ctx, nil, qPing).Scan(&one))
}
