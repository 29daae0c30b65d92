//go:build unix

package db_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"wxtodo/db"
)

// TestSQLiteFilesArePrivateWhateverTheUmask: the database file and its
// -wal and -shm files hold sessions and sealed keys; they are created
// readable by their owner only, even under umask 0.
func TestSQLiteFilesArePrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	path := filepath.Join(t.TempDir(), "sub", "wxtodo.db")
	store, err := db.Open(context.Background(), "sqlite:"+path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(context.Background()); err != nil { // writes: the WAL exists
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group or others", filepath.Base(f), perm)
		}
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("database directory: mode %v, want no access for group or others", perm)
	}
}

// TestSQLiteSynchronous: every pooled connection runs with the
// synchronous setting asked for, NORMAL unless FULL is.
func TestSQLiteSynchronous(t *testing.T) {
	for _, tt := range []struct {
		setting string
		want    int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{"", 1}, {"NORMAL", 1}, {"FULL", 2}} {
		store, err := db.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"), db.Options{SQLiteSync: tt.setting, MaxOpenConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Two connections at once: the setting holds on each.
		ctx := context.Background()
		c1, err := store.Pool().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := store.Pool().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range []interface {
			QueryRowContext(context.Context, string, ...any) *sql.Row
		}{c1, c2} {
			var got int
			if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("SQLiteSync %q, connection %d: PRAGMA synchronous is %d, want %d", tt.setting, i+1, got, tt.want)
			}
		}
		c1.Close()
		c2.Close()
		store.Close()
	}
}
