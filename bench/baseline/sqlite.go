package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteStore runs the same statements as pgStore on database/sql and
// modernc.org/sqlite, opened as wxtodo opens it (WAL, immediate
// transactions, busy timeout), with each statement prepared once.
// modernc binds $n to the n-th argument, so the SQL text is shared; times
// are written as text in the format bun writes them.
type sqliteStore struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt // SQL text -> statement, prepared by openSQLite
}

// sqliteStatements are prepared when the store opens: preparing later, in
// a transaction, would wait for a second connection of the small pool.
var sqliteStatements = []string{
	sqlSessionByToken, sqlExtendSession, sqlListFirst, sqlListAfter, sqlCount,
	sqlInsertTodo, sqlDeleteTodo, sqlRevokeOld,
	updateSQL(true, false), updateSQL(false, true), updateSQL(true, true),
	sqlClaimCode, sqlReleaseCode, sqlSignInIdentity, sqlPersonByUnion, sqlInsertPerson,
	sqlInsertIdentity, sqlUserByID, sqlInsertSession, sqlSetCodeUser,
}

func openSQLite(ctx context.Context, dbURL string, maxConns int) (*sqliteStore, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if maxConns == 0 {
		maxConns = 4 // as wxtodo
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxLifetime(0)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s := &sqliteStore{db: db, stmts: make(map[string]*sql.Stmt, len(sqliteStatements))}
	for _, q := range sqliteStatements {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		s.stmts[q] = st
	}
	return s, nil
}

func (s *sqliteStore) close() {
	for _, st := range s.stmts {
		st.Close()
	}
	s.db.Close()
}

// stmt returns the prepared statement for query, in tx if tx is not nil.
// (database/sql prepares it on the transaction's connection the first time
// it is used there.)
func (s *sqliteStore) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, ok := s.stmts[query]
	if !ok {
		return nil, fmt.Errorf("statement not prepared: %q", query)
	}
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	return st, nil
}

func (s *sqliteStore) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sqlRow {
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return &sqlRow{err: err}
	}
	return &sqlRow{row: st.QueryRowContext(ctx, args...)}
}

func (s *sqliteStore) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// inTx runs f in an (immediate) transaction.
func (s *sqliteStore) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback() //nolint:errcheck // the error that matters is f's
		return err
	}
	return tx.Commit()
}

// sqlRow is a *sql.Row or the error of preparing it.
type sqlRow struct {
	row *sql.Row
	err error
}

func (r *sqlRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	err := r.row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRows
	}
	return err
}

// sqliteTime is a time as bun writes it to SQLite.
func sqliteTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999-07:00") }

// timeScanner reads a SQLite time: modernc returns time.Time for columns
// declared TIMESTAMP and text where it cannot tell (RETURNING).
type timeScanner struct{ t *time.Time }

var sqliteTimeFormats = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

func (ts timeScanner) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case time.Time:
		*ts.t = v.UTC()
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("cannot read %T as a time", v)
	}
	for _, f := range sqliteTimeFormats {
		if t, err := time.Parse(f, s); err == nil {
			*ts.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("cannot parse time %q", s)
}

func (s *sqliteStore) sessionByToken(ctx context.Context, hash []byte) (*session, error) {
	var ss session
	err := s.queryRow(ctx, nil, sqlSessionByToken, hash).
		Scan(&ss.ID, &ss.UserID, timeScanner{&ss.ExpiresAt}, &ss.Nickname, &ss.AvatarURL, &ss.PhoneNumber, timeScanner{&ss.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &ss, nil
}

func (s *sqliteStore) extendSession(ctx context.Context, id int64, expiresAt time.Time) error {
	_, err := s.exec(ctx, nil, sqlExtendSession, sqliteTime(expiresAt), id)
	return err
}

type scanner interface{ Scan(dest ...any) error }

func scanTodoSQLite(row scanner) (*todo, error) {
	var t todo
	err := row.Scan(&t.ID, &t.UserID, &t.Title, &t.Done, &t.ClientMutationID, timeScanner{&t.CreatedAt}, timeScanner{&t.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *sqliteStore) listTodos(ctx context.Context, userID, beforeID int64, limit int) ([]todo, error) {
	query, args := sqlListFirst, []any{userID, limit}
	if beforeID > 0 {
		query, args = sqlListAfter, []any{userID, beforeID, limit}
	}
	st, err := s.stmt(ctx, nil, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]todo, 0, limit)
	for rows.Next() {
		t, err := scanTodoSQLite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

func (s *sqliteStore) countTodos(ctx context.Context, userID int64) (int64, error) {
	var total, done int64
	err := s.queryRow(ctx, nil, sqlCount, userID).Scan(&total, &done)
	return total, err
}

func (s *sqliteStore) createTodo(ctx context.Context, userID int64, title string, now time.Time) (*todo, error) {
	return scanTodoSQLite(s.queryRow(ctx, nil, sqlInsertTodo, userID, title, sqliteTime(now)))
}

func (s *sqliteStore) updateTodo(ctx context.Context, userID, id int64, title *string, done *bool, now time.Time) (*todo, error) {
	return scanTodoSQLite(s.queryRow(ctx, nil, updateSQL(title != nil, done != nil), updateArgs(id, userID, title, done, sqliteTime(now))...))
}

func (s *sqliteStore) deleteTodo(ctx context.Context, userID, id int64) error {
	var deleted int64
	return s.queryRow(ctx, nil, sqlDeleteTodo, id, userID).Scan(&deleted)
}

func (s *sqliteStore) roundTrips() uint64 { return 0 }

func (s *sqliteStore) claimCode(ctx context.Context, codeHash []byte, now time.Time) (bool, error) {
	res, err := s.exec(ctx, nil, sqlClaimCode, codeHash, sqliteTime(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) releaseCode(ctx context.Context, codeHash []byte) error {
	_, err := s.exec(ctx, nil, sqlReleaseCode, codeHash)
	return err
}

func scanUserSQLite(row scanner) (*user, error) {
	var u user
	err := row.Scan(&u.ID, &u.AppID, &u.OpenID, &u.UnionID, &u.Nickname, &u.AvatarURL, &u.TodoCount, &u.DoneCount,
		timeScanner{&u.CreatedAt}, timeScanner{&u.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func (s *sqliteStore) signIn(ctx context.Context, in signIn) (*user, bool, error) {
	var (
		u       *user
		created bool
	)
	now := sqliteTime(in.Now)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var userID int64
		err := s.queryRow(ctx, tx, sqlSignInIdentity, in.AppID, in.OpenID, in.SealedKey, in.KeyFingerprint, nullable(in.UnionID), now).Scan(&userID)
		if errors.Is(err, errNoRows) && in.UnionID != "" {
			err = s.queryRow(ctx, tx, sqlPersonByUnion, in.UnionID).Scan(&userID)
			if err == nil {
				_, err = s.exec(ctx, tx, sqlInsertIdentity, userID, in.AppID, in.OpenID, nullable(in.UnionID), in.SealedKey, in.KeyFingerprint, now)
			}
		}
		if errors.Is(err, errNoRows) {
			created = true
			err = s.queryRow(ctx, tx, sqlInsertPerson, in.AppID, in.OpenID, nullable(in.UnionID), now).Scan(&userID)
			if err == nil {
				_, err = s.exec(ctx, tx, sqlInsertIdentity, userID, in.AppID, in.OpenID, nullable(in.UnionID), in.SealedKey, in.KeyFingerprint, now)
			}
		}
		if err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		if u, err = scanUserSQLite(s.queryRow(ctx, tx, sqlUserByID, userID)); err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		var sessionID int64
		if err := s.queryRow(ctx, tx, sqlInsertSession, in.TokenHash, u.ID, in.AppID, now, sqliteTime(in.ExpiresAt)).Scan(&sessionID); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		if _, err := s.exec(ctx, tx, sqlRevokeOld, u.ID); err != nil {
			return fmt.Errorf("revoke old sessions: %w", err)
		}
		_, err = s.exec(ctx, tx, sqlSetCodeUser, u.ID, in.CodeHash)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return u, created, nil
}
