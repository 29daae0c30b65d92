package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// store is the baseline's data access: each job in the fewest statements
// that keep wxtodo's guarantees (the counters are the database's
// triggers; a write is one statement; on PostgreSQL the sign-in is one
// statement too), written by hand.
type store interface {
	sessionByToken(ctx context.Context, hash []byte) (*session, error)
	extendSession(ctx context.Context, id int64, expiresAt time.Time) error
	listTodos(ctx context.Context, userID, beforeID int64, limit int) ([]todo, error)
	countTodos(ctx context.Context, userID int64) (int64, error)
	createTodo(ctx context.Context, userID int64, title string, now time.Time) (*todo, error)
	updateTodo(ctx context.Context, userID, id int64, title *string, done *bool, now time.Time) (*todo, error)
	deleteTodo(ctx context.Context, userID, id int64) error
	claimCode(ctx context.Context, codeHash []byte, now time.Time) (bool, error)
	releaseCode(ctx context.Context, codeHash []byte) error
	signIn(ctx context.Context, in signIn) (*user, bool, error)
	// roundTrips is how many statements went to PostgreSQL (0 on SQLite).
	roundTrips() uint64
	close()
}

// errNoRows is what a store returns for a missing row.
var errNoRows = errors.New("no rows")

// session is a session joined with its user.
type session struct {
	ID          int64
	UserID      int64
	ExpiresAt   time.Time
	Nickname    string
	AvatarURL   string
	PhoneNumber *string
	CreatedAt   time.Time
}

type todo struct {
	ID               int64
	UserID           int64
	Title            string
	Done             bool
	ClientMutationID *string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

type user struct {
	ID        int64
	AppID     string
	OpenID    string
	UnionID   *string
	Nickname  string
	AvatarURL string
	TodoCount int64
	DoneCount int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// signIn is what a login stores.
type signIn struct {
	AppID, OpenID, UnionID string
	TokenHash              []byte
	SealedKey              string // the session_key, sealed as wxtodo seals it
	KeyFingerprint         []byte
	ExpiresAt              time.Time
	CodeHash               []byte
	Now                    time.Time
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// SQL shared by both dialects (PostgreSQL's $n placeholders; the SQLite
// store rewrites them). The column lists are what bun selects for wxtodo's
// row structs (RETURNING * there).
const (
	todoCols = `id, user_id, title, done, client_mutation_id, created_at, updated_at`
	userCols = `id, app_id, open_id, union_id, nickname, avatar_url, todo_count, done_count, created_at, updated_at`

	sqlSessionByToken = `SELECT s.id, s.user_id, s.expires_at, u.nickname, u.avatar_url, u.phone_number, u.created_at
		FROM sessions AS s JOIN users AS u ON u.id = s.user_id WHERE s.token_hash = $1`
	sqlExtendSession = `UPDATE sessions SET expires_at = $1 WHERE id = $2`
	sqlListFirst     = `SELECT ` + todoCols + ` FROM todos WHERE user_id = $1 ORDER BY id DESC LIMIT $2`
	sqlListAfter     = `SELECT ` + todoCols + ` FROM todos WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`
	sqlCount         = `SELECT todo_count, done_count FROM users WHERE id = $1`
	sqlInsertTodo    = `INSERT INTO todos (user_id, title, done, client_mutation_id, created_at, updated_at) VALUES ($1, $2, FALSE, NULL, $3, $3) RETURNING ` + todoCols
	sqlDeleteTodo    = `DELETE FROM todos WHERE id = $1 AND user_id = $2 RETURNING id`
	sqlClaimCode     = `INSERT INTO login_codes (code_hash, user_id, created_at) VALUES ($1, NULL, $2) ON CONFLICT (code_hash) DO NOTHING`
	sqlReleaseCode   = `DELETE FROM login_codes WHERE code_hash = $1`
	// A user is a person with an identity per app, as in wxtodo.
	sqlSignInIdentity = `UPDATE identities SET prev_session_key = CASE WHEN session_key_fp = $4 THEN prev_session_key ELSE session_key END, session_key = $3, session_key_fp = $4, union_id = COALESCE($5, union_id), updated_at = $6 WHERE app_id = $1 AND open_id = $2 RETURNING user_id`
	sqlPersonByUnion  = `SELECT id FROM users WHERE union_id = $1`
	sqlInsertPerson   = `INSERT INTO users (app_id, open_id, union_id, nickname, avatar_url, todo_count, done_count, created_at, updated_at) VALUES ($1, $2, $3, '', '', 0, 0, $4, $4) RETURNING id`
	sqlInsertIdentity = `INSERT INTO identities (user_id, app_id, open_id, union_id, session_key, session_key_fp, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`
	sqlUserByID       = `SELECT ` + userCols + ` FROM users WHERE id = $1`
	sqlInsertSession  = `INSERT INTO sessions (token_hash, user_id, app_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`
	sqlSetCodeUser    = `UPDATE login_codes SET user_id = $1 WHERE code_hash = $2`
	// sqlSignInPG finds the identity (storing its session_key), or the
	// person by unionid, or creates both, inserts the session, revokes the
	// user's sessions past 20 and records the code, in one statement. (The
	// baseline serves no late unionids: no links, no merges.)
	sqlSignInPG = `WITH found AS (
		UPDATE identities SET prev_session_key = CASE WHEN session_key_fp = $5 THEN prev_session_key ELSE session_key END,
			session_key = $4, session_key_fp = $5, union_id = COALESCE($3, union_id), updated_at = $6
		WHERE app_id = $1 AND open_id = $2 RETURNING user_id
	), person AS (
		SELECT id FROM users WHERE union_id = $3 AND NOT EXISTS (SELECT 1 FROM found)
	), pid AS (
		SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id WHERE NOT EXISTS (SELECT 1 FROM found) AND NOT EXISTS (SELECT 1 FROM person)
	), newi AS (
		INSERT INTO identities (user_id, app_id, open_id, union_id, session_key, session_key_fp, created_at, updated_at)
		SELECT id, $1::text, $2::text, $3::text, $4::text, $5::bytea, $6::timestamptz, $6::timestamptz FROM (SELECT id FROM person UNION ALL SELECT id FROM pid) AS p
		ON CONFLICT DO NOTHING RETURNING user_id
	), newp AS (
		INSERT INTO users (id, app_id, open_id, union_id, nickname, avatar_url, todo_count, done_count, created_at, updated_at)
		SELECT user_id, $1::text, $2::text, $3::text, '', '', 0, 0, $6::timestamptz, $6::timestamptz FROM newi WHERE user_id IN (SELECT id FROM pid)
		RETURNING ` + userCols + `
	), u AS (
		SELECT ` + userCols + `, true AS created FROM newp
		UNION ALL
		SELECT ` + userCols + `, false FROM users WHERE id = COALESCE((SELECT user_id FROM found), (SELECT id FROM person WHERE EXISTS (SELECT 1 FROM newi)))
	), s AS (
		INSERT INTO sessions (token_hash, user_id, app_id, created_at, expires_at) SELECT $7::bytea, id, $1::text, $6::timestamptz, $8::timestamptz FROM u RETURNING id
	), revoked AS (
		DELETE FROM sessions WHERE user_id = (SELECT id FROM u) AND id <=
			(SELECT id FROM sessions WHERE user_id = (SELECT id FROM u) ORDER BY id DESC LIMIT 1 OFFSET 19)
	), code AS (
		UPDATE login_codes SET user_id = (SELECT id FROM u), session_id = (SELECT id FROM s) WHERE code_hash = $9
	)
	SELECT u.* FROM u, s` // u's columns: userCols, created
	sqlRevokeOld = `DELETE FROM sessions WHERE user_id = $1 AND id <= (SELECT id FROM sessions WHERE user_id = $1 ORDER BY id DESC LIMIT 1 OFFSET 20)`
)

// updateSQL is the UPDATE of a todo for the fields being set: $1 id,
// $2 user_id, $3 updated_at, then title and done if set.
func updateSQL(title, done bool) string {
	q := `UPDATE todos SET updated_at = $3`
	n := 3
	if title {
		n++
		q += fmt.Sprintf(", title = $%d", n)
	}
	if done {
		n++
		q += fmt.Sprintf(", done = $%d", n)
	}
	return q + ` WHERE id = $1 AND user_id = $2 RETURNING ` + todoCols
}

func updateArgs(id, userID int64, title *string, done *bool, now any) []any {
	args := []any{id, userID, now}
	if title != nil {
		args = append(args, *title)
	}
	if done != nil {
		args = append(args, *done)
	}
	return args
}

// pgStore runs on a pgx pool with pgx's default statement cache, so each
// statement is prepared once per connection.
type pgStore struct {
	pool  *pgxpool.Pool
	trips *tripCounter
}

// tripCounter counts the statements sent, as wxtodo's query tracer does.
type tripCounter struct{ n atomic.Uint64 }

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *pgStore) roundTrips() uint64 { return s.trips.n.Load() }

func openPG(ctx context.Context, url string, maxConns int) (*pgStore, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if maxConns == 0 {
		maxConns = 16 // as wxtodo
	}
	cfg.MaxConns = int32(maxConns)
	cfg.MinConns = 0
	trips := &tripCounter{}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &pgStore{pool: pool, trips: trips}, nil
}

func (s *pgStore) close() { s.pool.Close() }

func pgErr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRows
	}
	return err
}

func (s *pgStore) sessionByToken(ctx context.Context, hash []byte) (*session, error) {
	var ss session
	err := s.pool.QueryRow(ctx, sqlSessionByToken, hash).
		Scan(&ss.ID, &ss.UserID, &ss.ExpiresAt, &ss.Nickname, &ss.AvatarURL, &ss.PhoneNumber, &ss.CreatedAt)
	if err != nil {
		return nil, pgErr(err)
	}
	ss.ExpiresAt, ss.CreatedAt = ss.ExpiresAt.UTC(), ss.CreatedAt.UTC()
	return &ss, nil
}

func (s *pgStore) extendSession(ctx context.Context, id int64, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, sqlExtendSession, expiresAt, id)
	return err
}

func scanTodoPG(row pgx.Row) (*todo, error) {
	var t todo
	if err := row.Scan(&t.ID, &t.UserID, &t.Title, &t.Done, &t.ClientMutationID, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, pgErr(err)
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

func (s *pgStore) listTodos(ctx context.Context, userID, beforeID int64, limit int) ([]todo, error) {
	var rows pgx.Rows
	var err error
	if beforeID > 0 {
		rows, err = s.pool.Query(ctx, sqlListAfter, userID, beforeID, limit)
	} else {
		rows, err = s.pool.Query(ctx, sqlListFirst, userID, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]todo, 0, limit)
	for rows.Next() {
		t, err := scanTodoPG(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

func (s *pgStore) countTodos(ctx context.Context, userID int64) (int64, error) {
	var total, done int64
	err := s.pool.QueryRow(ctx, sqlCount, userID).Scan(&total, &done)
	return total, pgErr(err)
}

func (s *pgStore) createTodo(ctx context.Context, userID int64, title string, now time.Time) (*todo, error) {
	return scanTodoPG(s.pool.QueryRow(ctx, sqlInsertTodo, userID, title, now))
}

func (s *pgStore) updateTodo(ctx context.Context, userID, id int64, title *string, done *bool, now time.Time) (*todo, error) {
	return scanTodoPG(s.pool.QueryRow(ctx, updateSQL(title != nil, done != nil), updateArgs(id, userID, title, done, now)...))
}

func (s *pgStore) deleteTodo(ctx context.Context, userID, id int64) error {
	var deleted int64
	return pgErr(s.pool.QueryRow(ctx, sqlDeleteTodo, id, userID).Scan(&deleted))
}

func (s *pgStore) claimCode(ctx context.Context, codeHash []byte, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, sqlClaimCode, codeHash, now)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func (s *pgStore) releaseCode(ctx context.Context, codeHash []byte) error {
	_, err := s.pool.Exec(ctx, sqlReleaseCode, codeHash)
	return err
}

func (s *pgStore) signIn(ctx context.Context, in signIn) (*user, bool, error) {
	var (
		u       user
		created bool
	)
	err := s.pool.QueryRow(ctx, sqlSignInPG, in.AppID, in.OpenID, nullable(in.UnionID), in.SealedKey, in.KeyFingerprint,
		in.Now, in.TokenHash, in.ExpiresAt, in.CodeHash).
		Scan(&u.ID, &u.AppID, &u.OpenID, &u.UnionID, &u.Nickname, &u.AvatarURL, &u.TodoCount, &u.DoneCount, &u.CreatedAt, &u.UpdatedAt, &created)
	if err != nil {
		return nil, false, pgErr(err)
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, created, nil
}
