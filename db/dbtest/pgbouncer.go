package dbtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/db"
)

// PgBouncerBin is the PgBouncer binary the pooled tests start (Debian's
// pgbouncer package).
var PgBouncerBin = "/usr/sbin/pgbouncer"

var (
	bouncer     *PgBouncer
	bouncerErr  error
	bouncerOnce sync.Once

	// pooled maps the pooled URLs PgBouncerURL handed out to the direct
	// URLs of their databases.
	pooledMu sync.Mutex
	pooled   = map[string]string{}
)

// PgBouncer is a PgBouncer in transaction-pooling mode in front of a
// PostgreSQL server, on loopback.
type PgBouncer struct {
	Port int
	dir  string
	cmd  *exec.Cmd
}

// StartPgBouncer starts PgBouncer in transaction mode in front of the
// server at base (a postgres:// URL with a host and port), as the
// postgres OS user when running as root (PgBouncer refuses root).
func StartPgBouncer(base string) (*PgBouncer, error) {
	if _, err := os.Stat(PgBouncerBin); err != nil {
		return nil, fmt.Errorf("pgbouncer not found at %s (apt-get install pgbouncer)", PgBouncerBin)
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("PgBouncer needs a host:port in %s", u.Redacted())
	}
	user := u.User.Username()
	dir, err := os.MkdirTemp("", "wxtodo-pgbouncer-")
	if err != nil {
		return nil, err
	}
	p := &PgBouncer{dir: dir}
	if p.Port, err = FreePort(); err != nil {
		return nil, err
	}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s user=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
server_reset_query =
logfile = %s
pidfile = %s
`, host, port, user, p.Port, filepath.Join(dir, "users.txt"), filepath.Join(dir, "log"), filepath.Join(dir, "pid"))
	files := map[string]string{"pgbouncer.ini": ini, "users.txt": fmt.Sprintf("%q \"\"\n", user)}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		if err := chownToPostgres(dir); err != nil {
			return nil, err
		}
		p.cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", PgBouncerBin}, args...)...)
	} else {
		p.cmd = exec.Command(PgBouncerBin, args...)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pgbouncer: %w", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			p.Stop()
			return nil, fmt.Errorf("pgbouncer did not listen within 10s: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops PgBouncer and removes its files.
func (p *PgBouncer) Stop() {
	// Under runuser, PgBouncer is runuser's child, which killing runuser
	// leaves running: kill it by its pidfile first.
	if b, err := os.ReadFile(filepath.Join(p.dir, "pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			if proc, err := os.FindProcess(pid); err == nil {
				proc.Kill() //nolint:errcheck // may have exited
			}
		}
	}
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill() //nolint:errcheck // may have exited
		p.cmd.Wait()         //nolint:errcheck // killed
	}
	os.RemoveAll(p.dir)
}

// PgBouncerURL returns a DATABASE_URL through a PgBouncer in transaction
// mode (started once, in front of the same cluster as PostgresURL) to a
// new database of the test's own, dropped when the test ends. PgBouncer
// passes no search_path, so pooled tests get databases, not schemas.
// DirectURL tells the database's own URL.
func PgBouncerURL(tb testing.TB) string {
	tb.Helper()
	base := postgresBase(tb)
	bouncerOnce.Do(func() { bouncer, bouncerErr = StartPgBouncer(base) })
	if bouncerErr != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PgBouncer is required under CI=true: %v", bouncerErr)
		}
		tb.Skipf("no PgBouncer: %v", bouncerErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	direct, drop, err := CreateDatabase(ctx, base, "t_")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	through, err := bouncer.URL(direct)
	if err != nil {
		tb.Fatal(err)
	}
	pooledMu.Lock()
	pooled[through] = direct
	pooledMu.Unlock()
	return through
}

// URL returns the URL of database (a postgres:// URL of the server
// PgBouncer fronts) through PgBouncer.
func (p *PgBouncer) URL(database string) (string, error) {
	u, err := url.Parse(database)
	if err != nil {
		return "", err
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port))
	return u.String(), nil
}

// DirectURL returns the database's own URL for a URL from PgBouncerURL,
// and whether databaseURL is one.
func DirectURL(databaseURL string) (string, bool) {
	pooledMu.Lock()
	defer pooledMu.Unlock()
	d, ok := pooled[databaseURL]
	return d, ok
}

// Options returns the db.Options that open databaseURL: pooled, with its
// direct URL, when it came from PgBouncerURL.
func Options(databaseURL string) db.Options {
	if direct, ok := DirectURL(databaseURL); ok {
		return db.Options{Pooled: true, DirectURL: direct}
	}
	return db.Options{}
}

// Env returns the environment that points wxtodo at databaseURL:
// DATABASE_URL, and for a pooled URL DATABASE_POOLER and
// DATABASE_DIRECT_URL.
func Env(databaseURL string) []string {
	env := []string{"DATABASE_URL=" + databaseURL}
	if direct, ok := DirectURL(databaseURL); ok {
		env = append(env, "DATABASE_POOLER=transaction", "DATABASE_DIRECT_URL="+direct)
	}
	return env
}
