package db

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun/migrate"
)

// MigrationStatus is one migration and whether it has run.
type MigrationStatus struct {
	Name      string // the version, e.g. 20261121000001
	Comment   string // the rest of the file name, e.g. init
	Applied   bool
	AppliedAt time.Time // zero when not applied
	Group     int64     // the batch it ran in; Down undoes the last batch
}

// Migrate applies the migrations that have not run yet. On PostgreSQL an
// advisory lock makes instances that start together take turns.
func (db *DB) Migrate(ctx context.Context) error {
	return db.withMigrator(ctx, nil, func(m *migrate.Migrator) error {
		if _, err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
}

// MigrateDown undoes the last batch of migrations, the ones one Migrate
// applied together, and returns the names it undid (none when nothing has
// run).
func (db *DB) MigrateDown(ctx context.Context) ([]string, error) {
	var names []string
	err := db.withMigrator(ctx, nil, func(m *migrate.Migrator) error {
		g, err := m.Rollback(ctx)
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		for _, mig := range g.Migrations {
			names = append(names, mig.Name+"_"+mig.Comment)
		}
		return nil
	})
	return names, err
}

// MigrationStatus lists every migration, oldest first.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	var out []MigrationStatus
	err := db.withMigrator(ctx, nil, func(m *migrate.Migrator) error {
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return fmt.Errorf("migration status: %w", err)
		}
		for _, mig := range ms {
			out = append(out, MigrationStatus{
				Name: mig.Name, Comment: mig.Comment, Applied: mig.IsApplied(),
				AppliedAt: mig.MigratedAt, Group: mig.GroupID,
			})
		}
		return nil
	})
	return out, err
}

// withMigrator runs fn with a migrator over this dialect's migrations
// (those keep accepts, when not nil), under the migration lock on
// PostgreSQL.
func (db *DB) withMigrator(ctx context.Context, keep func(name string) bool, fn func(*migrate.Migrator) error) error {
	if db.pooled {
		// The lock is a session's: through the database itself.
		direct, err := Open(ctx, db.directURL, Options{MaxOpenConns: 2})
		if err != nil {
			return fmt.Errorf("migrations' direct connection: %w", err)
		}
		defer direct.Close()
		return direct.withMigrator(ctx, keep, fn)
	}
	dir := "migrations/sqlite"
	if db.IsPostgres() {
		dir = "migrations/pg"
	}
	sub, err := fs.Sub(migrationFS, dir)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
		return fmt.Errorf("discover migrations: %w", err)
	}
	if keep != nil {
		some := migrate.NewMigrations()
		for _, m := range ms.Sorted() {
			if keep(m.Name) {
				some.Add(m)
			}
		}
		ms = some
	}
	if db.IsPostgres() {
		conn, err := db.bun.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		const lockKey = 0x77787464 // "wxtd"
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", lockKey); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", lockKey) //nolint:errcheck // the lock ends with the connection anyway
	}
	m := migrate.NewMigrator(db.bun, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", err)
	}
	return fn(m)
}
