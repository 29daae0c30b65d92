package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"
)

// The hot statements are prepared once, through bun, when the database
// opens (Prepare), and reused on every connection: the database parses and
// plans them once instead of on every request, as it must for queries with
// their values written into the SQL. They are prepared up front because
// preparing one later could need a free connection while every connection
// is held by a transaction waiting for it.

// Prepare prepares the statements of the request path. Call it after
// Migrate: the tables must exist.
func (db *DB) Prepare(ctx context.Context) error {
	stmts := make(map[string]*sql.Stmt)
	for _, q := range preparedQueries(db.IsPostgres()) {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, s := range stmts {
				s.Close()
			}
			return fmt.Errorf("prepare %.40q: %w", q, err)
		}
		stmts[q] = s.Stmt
	}
	db.stmts = stmts
	return nil
}

// stmt returns the prepared statement for query, in tx when tx is not nil.
func (db *DB) stmt(ctx context.Context, tx *bun.Tx, query string) (*sql.Stmt, error) {
	s, ok := db.stmts[query]
	if !ok {
		return nil, fmt.Errorf("statement not prepared (Prepare not called?): %.40q", query)
	}
	if tx != nil {
		s = tx.StmtContext(ctx, s)
	}
	return s, nil
}

// queryRow runs a prepared query, in tx when tx is not nil.
func (db *DB) queryRow(ctx context.Context, tx *bun.Tx, query string, args ...any) (*sql.Row, error) {
	s, err := db.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryRowContext(ctx, args...), nil
}

// query runs a prepared query, in tx when tx is not nil.
func (db *DB) query(ctx context.Context, tx *bun.Tx, query string, args ...any) (*sql.Rows, error) {
	s, err := db.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// exec runs a prepared statement, in tx when tx is not nil.
func (db *DB) exec(ctx context.Context, tx *bun.Tx, query string, args ...any) (sql.Result, error) {
	s, err := db.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// The statements of the request path, prepared by Prepare. Each is written
// once for both dialects: $1, $2, ... in order of first use, which both
// PostgreSQL and SQLite read as positional parameters.
const (
	todoColumns = `id, title, done, client_mutation_id, created_at, updated_at`

	qRecordCodeLogin = `UPDATE login_codes SET user_id = $2, session_id = $3 WHERE code_hash = $1`
	qClaimCode       = `INSERT INTO login_codes (code_hash, created_at) VALUES ($1, $2)
		ON CONFLICT (code_hash) DO NOTHING`
	qInsertUser = `INSERT INTO users (app_id, open_id, union_id, session_key, session_key_fp, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (app_id, open_id) DO NOTHING
		RETURNING id`
	// qSignInUser updates a known user at sign-in: the new session_key
	// (keeping the one before it, unless WeChat handed out the same key
	// again), a unionid once WeChat sends one.
	qSignInUser = `UPDATE users SET
		prev_session_key = CASE WHEN session_key_fp = $4 THEN prev_session_key ELSE session_key END,
		session_key = $3, session_key_fp = $4,
		union_id = COALESCE($5, union_id), updated_at = $6
		WHERE app_id = $1 AND open_id = $2
		RETURNING id, nickname, avatar_url, phone_number, created_at`
	qInsertSession = `INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4) RETURNING id`
	qSessionByToken = `SELECT s.id, s.user_id, s.expires_at,
		u.nickname, u.avatar_url, u.phone_number, u.created_at
		FROM sessions AS s JOIN users AS u ON u.id = s.user_id
		WHERE s.token_hash = $1`
	qInsertTodo = `INSERT INTO todos (user_id, title, done, client_mutation_id, created_at, updated_at)
		VALUES ($1, $2, FALSE, $3, $4, $4)
		ON CONFLICT (user_id, client_mutation_id) DO NOTHING
		RETURNING ` + todoColumns
	qTodoByClientMutationID = `SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND client_mutation_id = $2`
	qCountNewTodo = `UPDATE users SET todo_count = todo_count + 1 WHERE id = $1`
	qTodo         = `SELECT ` + todoColumns + ` FROM todos WHERE id = $1 AND user_id = $2`
	qListTodos    = `SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`
	qListTodosByDone = `SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND done = $2 AND id < $3 ORDER BY id DESC LIMIT $4`
	qTodoCounts = `SELECT todo_count, done_count FROM users WHERE id = $1`
	qUpdateTodo = `UPDATE todos
		SET title = COALESCE($3, title), done = COALESCE($4, done), updated_at = $5
		WHERE id = $1 AND user_id = $2
		RETURNING ` + todoColumns
	qCountDoneChange = `UPDATE users SET done_count = done_count + $2 WHERE id = $1`
	qLockTodo        = `SELECT done FROM todos WHERE id = $1 AND user_id = $2`
	qLockTodoPG      = qLockTodo + ` FOR UPDATE`
)

// preparedQueries lists the statements Prepare prepares for a dialect.
func preparedQueries(pg bool) []string {
	lock := qLockTodo
	if pg {
		lock = qLockTodoPG
	}
	return []string{qRecordCodeLogin, qClaimCode, qInsertUser, qSignInUser, qInsertSession, qSessionByToken, qInsertTodo, qTodoByClientMutationID, qCountNewTodo, qTodo, qListTodos, qListTodosByDone, qTodoCounts, qUpdateTodo, qCountDoneChange, lock}
}
