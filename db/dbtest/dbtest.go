// Package dbtest gives tests real databases: a SQLite file in a temporary
// directory, and a PostgreSQL schema of their own, either in the cluster
// named by TEST_DATABASE_URL or in a throwaway cluster started from the
// local PostgreSQL binaries (as the postgres OS user when running as root).
//
// Under CI=true a PostgreSQL test that cannot get a database fails instead
// of skipping.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// PGBinDir is where the PostgreSQL server binaries are looked for first.
var PGBinDir = "/usr/lib/postgresql/15/bin"

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// Run runs the tests of a package and stops the throwaway cluster, if one
// was started: use it as `func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }`.
func Run(m *testing.M) int {
	code := m.Run()
	if bouncer != nil {
		bouncer.Stop()
	}
	if shared != nil {
		shared.Remove()
	}
	return code
}

// SQLiteURL returns a DATABASE_URL for a fresh SQLite file.
func SQLiteURL(tb testing.TB) string {
	tb.Helper()
	return "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
}

// PostgresURL returns a DATABASE_URL for an empty schema of the test's own,
// dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	return NewSchema(tb, postgresBase(tb))
}

// postgresBase returns TEST_DATABASE_URL or the throwaway cluster's URL.
func postgresBase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		sharedOnce.Do(func() { shared, sharedErr = StartCluster() })
		if sharedErr != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("PostgreSQL is required under CI=true: %v", sharedErr)
			}
			tb.Skipf("no PostgreSQL (set TEST_DATABASE_URL or install the server binaries): %v", sharedErr)
		}
		base = shared.URL
	}
	return base
}

// NewSchema creates a schema in the database at base, dropped when the
// test ends, and returns base with its search_path set to it.
func NewSchema(tb testing.TB, base string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, drop, err := CreateSchema(ctx, base, "t_")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	return u
}

// CreateSchema creates a schema named prefix plus random hex in the
// PostgreSQL database at base. It returns base with its search_path set to
// the schema, and a function that drops the schema.
func CreateSchema(ctx context.Context, base, prefix string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("parse database URL: %w", err)
	}
	schema := randomName(prefix)
	if err := adminExec(ctx, base, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		adminExec(ctx, base, "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck // best effort
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// CreateDatabase creates a database of its own on the server at base (a
// postgres:// URL) and returns its URL and a function that drops it. A
// database rather than a schema is what PgBouncer can reach: it passes
// no search_path.
func CreateDatabase(ctx context.Context, base, prefix string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("parse database URL: %w", err)
	}
	name := randomName(prefix)
	if err := adminExec(ctx, base, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		adminExec(ctx, base, "DROP DATABASE "+name+" WITH (FORCE)") //nolint:errcheck // best effort
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// randomName returns prefix and 12 random hex digits: a schema's or a
// database's name of a test's own.
func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand never fails
	return prefix + hex.EncodeToString(b[:])
}

// adminExec runs one statement on the server at base, on a connection of
// its own.
func adminExec(ctx context.Context, base, statement string) error {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer admin.Close()
	_, err = admin.ExecContext(ctx, statement)
	return err
}

// Open returns a plain database/sql handle on the database a
// DATABASE_URL from SQLiteURL or PostgresURL names, closed when the test
// ends, for a test to look at and change rows as an outsider would.
// Queries take $1, $2, ... on both dialects.
func Open(tb testing.TB, databaseURL string) *sql.DB {
	tb.Helper()
	driver, dsn := "pgx", databaseURL
	if direct, ok := DirectURL(databaseURL); ok {
		dsn = direct // an outsider's look needs no pooler
	}
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		// Wait for the server's writers rather than fail while they write.
		driver, dsn = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatalf("open %s: %v", driver, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Count returns how many rows of table match where ("" for all), with
// args for its $1, $2, ...
func Count(tb testing.TB, db *sql.DB, table, where string, args ...any) int {
	tb.Helper()
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// Exec runs a statement that must succeed and returns how many rows it
// changed.
func Exec(tb testing.TB, db *sql.DB, query string, args ...any) int64 {
	tb.Helper()
	res, err := db.ExecContext(context.Background(), query, args...)
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	n, _ := res.RowsAffected()
	return n
}

// Dump renders every row of the tables as text, to check what a database
// dump would reveal.
func Dump(tb testing.TB, db *sql.DB, tables ...string) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table)
		if err != nil {
			tb.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				tb.Fatalf("scan %s: %v", table, err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteByte('\n')
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			tb.Fatalf("dump %s: %v", table, err)
		}
	}
	return b.String()
}

// EachDB runs f as a subtest on SQLite, on PostgreSQL, and on PostgreSQL
// through PgBouncer in transaction mode (see DirectURL).
func EachDB(t *testing.T, f func(t *testing.T, databaseURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLiteURL(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, PostgresURL(t)) })
	t.Run("pgbouncer", func(t *testing.T) { f(t, PgBouncerURL(t)) })
}

// Cluster is a throwaway PostgreSQL server.
type Cluster struct {
	URL  string
	Dir  string
	Port int
	asPG bool // run the binaries as the postgres OS user
}

// StartCluster initialises and starts a new cluster in a temporary
// directory, listening on 127.0.0.1 at a free port.
func StartCluster() (*Cluster, error) {
	if _, err := os.Stat(filepath.Join(PGBinDir, "initdb")); err != nil {
		return nil, fmt.Errorf("initdb not found in %s", PGBinDir)
	}
	c := &Cluster{asPG: os.Geteuid() == 0}
	dir, err := os.MkdirTemp("", "wxtodo-pg-")
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	if c.asPG {
		if err := chownToPostgres(dir); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.pg("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	c.Port = port
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// Start starts the server (again, after Stop or Kill).
func (c *Cluster) Start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", c.Port, c.Dir)
	out, err := c.pg("pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-o", opts, "-l", filepath.Join(c.Dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return nil
}

// Stop shuts the server down at once, cutting off clients; the data stay.
func (c *Cluster) Stop() error {
	out, err := c.pg("pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "not running") {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Remove stops the server and deletes its files.
func (c *Cluster) Remove() {
	c.Stop() //nolint:errcheck // best effort
	os.RemoveAll(c.Dir)
}

func (c *Cluster) pg(bin string, args ...string) *exec.Cmd {
	path := filepath.Join(PGBinDir, bin)
	if c.asPG {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// chownToPostgres gives dir and what is in it to the postgres OS user.
func chownToPostgres(dir string) error {
	pg, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, uid, gid)
	})
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP address")
	}
	return addr.Port, nil
}
