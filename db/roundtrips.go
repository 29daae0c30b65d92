package db

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// roundTrips counts the statements sent to PostgreSQL, BEGIN and COMMIT
// included: with pgx's extended protocol each is one round trip. It is a
// pgx query tracer, so it sees every statement whoever sends it.
type roundTrips struct{ n atomic.Uint64 }

var _ pgx.QueryTracer = (*roundTrips)(nil)

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// RoundTrips returns how many statements the pool has sent to PostgreSQL
// since it opened (0 on SQLite, which is in the process): for metrics and
// for the benchmark's round trips per operation.
func (db *DB) RoundTrips() uint64 {
	if db.trips == nil {
		return 0
	}
	return db.trips.n.Load()
}
