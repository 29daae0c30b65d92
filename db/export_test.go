package db

import (
	"context"
	"fmt"

	"github.com/uptrace/bun/migrate"
)

// MigrateBefore applies the migrations older than version only: the
// database as the release before that migration left it.
func (db *DB) MigrateBefore(ctx context.Context, version string) error {
	return db.withMigrator(ctx, func(name string) bool { return name < version }, func(m *migrate.Migrator) error {
		if _, err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
}
