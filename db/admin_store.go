package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"wxtodo/admin"
	"wxtodo/auth"
	"wxtodo/errcode"
)

// AdminStore keeps what operators read and change, their tokens and the
// audit trail.
type AdminStore struct {
	db *DB
}

var (
	_ admin.Store        = (*AdminStore)(nil)
	_ auth.OperatorStore = (*AdminStore)(nil)
)

// NewAdminStore returns the admin store on db.
func NewAdminStore(db *DB) *AdminStore { return &AdminStore{db: db} }

// adminColumns are what scanAdminUser reads, of users AS u.
const (
	adminColumns     = `id, nickname, created_at, disabled_at, disabled_reason, todo_count, phone_number`
	adminUserColumns = `u.id, u.nickname, u.created_at, u.disabled_at, u.disabled_reason, u.todo_count, u.phone_number`
)

var (
	// qSearchUsers: $1 the search ("" for all), $3 its LIKE prefix
	// pattern, $5 the ID it names (0 for none), $2 the keyset bound, $4
	// the limit. It scans users newest first: an operator's tool, not a
	// request path (see README).
	qSearchUsers = statement(`SELECT ` + adminUserColumns + ` FROM users AS u
		WHERE u.id < $2
		AND ($1 = '' OR u.id = $5 OR CAST(u.id AS TEXT) LIKE $3 ESCAPE '\' OR u.nickname LIKE $3 ESCAPE '\' OR u.union_id LIKE $3 ESCAPE '\'
			OR EXISTS (SELECT 1 FROM identities AS i WHERE i.user_id = u.id AND (i.open_id LIKE $3 ESCAPE '\' OR i.union_id LIKE $3 ESCAPE '\')))
		ORDER BY u.id DESC LIMIT $4`)
	qAdminUser = statement(`SELECT ` + adminUserColumns + ` FROM users AS u WHERE u.id = $1`)
	// qAdminSessions are the user's live sessions (expired ones stay a
	// while for EXPIRED_TOKEN answers).
	qAdminSessions = statement(`SELECT id, created_at, last_used_at, expires_at FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY id DESC LIMIT 200`)
	qUserExists    = statement(`SELECT id FROM users WHERE id = $1`)
	// qRetireUserCodes keeps a login code the user signed in with lately
	// from opening a session again (a retried login resumes its session).
	qRetireUserCodes = statement(`DELETE FROM login_codes WHERE user_id = $1
		OR open_id IN (SELECT open_id FROM identities WHERE user_id = $1)`)
	// qEndUserSockets tells every instance to close the user's sockets,
	// those without a session (Cloud Hosting's callers) too.
	qEndUserSockets = pgStatement(`SELECT pg_notify('wxtodo_sessions', json_build_object('s', current_schema(), 'u', CAST($1 AS BIGINT))::text)`)
	qDeleteUserSess = statement(`DELETE FROM sessions WHERE user_id = $1 RETURNING id`)
	// qSetDisabled keeps when a disabled user was first disabled; the
	// audit trail has every reason given.
	qSetDisabled = statement(`UPDATE users SET disabled_at = CASE WHEN CAST($3 AS TEXT) IS NULL THEN NULL ELSE COALESCE(disabled_at, $2) END,
		disabled_reason = $3, updated_at = $4 WHERE id = $1 RETURNING ` + adminColumns)
	qAddAudit         = statement(`INSERT INTO admin_audit (at, operator, action, target, reason, client_ip) VALUES ($1, $2, $3, $4, $5, $6)`)
	qAudit            = statement(`SELECT id, at, operator, action, target, reason, client_ip FROM admin_audit WHERE id < $1 ORDER BY id DESC LIMIT $2`)
	qDropExpiredToken = statement(`DELETE FROM operator_tokens WHERE name = $1 AND expires_at <= $2`)
	qAddToken         = statement(`INSERT INTO operator_tokens (name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING RETURNING id`)
	qTokens      = statement(`SELECT name, created_at, expires_at, last_used_at FROM operator_tokens ORDER BY id DESC`)
	qDeleteToken = statement(`DELETE FROM operator_tokens WHERE name = $1`)
	// qUseToken records a use of a token that has not expired.
	qUseToken = statement(`UPDATE operator_tokens SET last_used_at = CASE WHEN expires_at > $2 THEN $2 ELSE last_used_at END
		WHERE token_hash = $1 RETURNING name, expires_at`)
)

func scanAdminUser(scan func(dest ...any) error) (*admin.User, error) {
	var (
		u        admin.User
		disabled sql.NullTime
	)
	if err := scan(&u.ID, &u.Nickname, &u.CreatedAt, &disabled, &u.DisabledReason, &u.TodoCount, &u.Phone); err != nil {
		return nil, err
	}
	u.CreatedAt, u.DisabledAt = u.CreatedAt.UTC(), utcOrNil(disabled)
	return &u, nil
}

// utcOrNil is t in UTC, or nil for NULL.
func utcOrNil(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// bound is a keyset's upper bound: beforeID, or none (0).
func bound(beforeID int64) int64 {
	if beforeID == 0 {
		return math.MaxInt64
	}
	return beforeID
}

// likePrefix is the LIKE pattern of what starts with s.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// SearchUsers implements admin.Store.
func (s *AdminStore) SearchUsers(ctx context.Context, search string, beforeID int64, limit int) ([]*admin.User, error) {
	id, _ := strconv.ParseInt(search, 10, 64)
	rows, err := s.db.query(ctx, nil, qSearchUsers, search, bound(beforeID), likePrefix(search), limit, id)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*admin.User
	for rows.Next() {
		u, err := scanAdminUser(rows.Scan)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, u)
	}
	return out, translate(rows.Err())
}

// UserByID implements admin.Store.
func (s *AdminStore) UserByID(ctx context.Context, id int64) (*admin.User, error) {
	u, err := scanAdminUser(s.db.queryRow(ctx, nil, qAdminUser, id).Scan)
	return u, translate(err)
}

// Sessions implements admin.Store.
func (s *AdminStore) Sessions(ctx context.Context, userID int64) ([]*admin.Session, error) {
	rows, err := s.db.query(ctx, nil, qAdminSessions, userID, now())
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*admin.Session
	for rows.Next() {
		var (
			ss   admin.Session
			used sql.NullTime
		)
		if err := rows.Scan(&ss.ID, &ss.CreatedAt, &used, &ss.ExpiresAt); err != nil {
			return nil, translate(err)
		}
		ss.CreatedAt, ss.ExpiresAt, ss.LastUsedAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC(), utcOrNil(used)
		out = append(out, &ss)
	}
	return out, translate(rows.Err())
}

// endUserSessions deletes the user's sessions and recent login codes in
// tx and returns the sessions' IDs. On PostgreSQL the sessions_ended
// trigger tells every instance; on SQLite endSessions does, once tx has
// committed.
func (s *AdminStore) endUserSessions(ctx context.Context, tx *sql.Tx, userID int64) ([]int64, error) {
	if _, err := s.db.exec(ctx, tx, qRetireUserCodes, userID); err != nil {
		return nil, fmt.Errorf("retire login codes: %w", err)
	}
	rows, err := s.db.query(ctx, tx, qDeleteUserSess, userID)
	if err != nil {
		return nil, fmt.Errorf("delete sessions: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("delete sessions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("delete sessions: %w", err)
	}
	if s.db.pg {
		if _, err := s.db.exec(ctx, tx, qEndUserSockets, userID); err != nil {
			return nil, fmt.Errorf("end sockets: %w", err)
		}
	}
	return ids, nil
}

// endUserSockets closes, on SQLite, the sockets of the user whose
// sessions a committed transaction ended (PostgreSQL's notification
// does it on every instance).
func (s *AdminStore) endUserSockets(userID int64, ended []int64) {
	if s.db.pg {
		return
	}
	s.db.endSessions(ended...)
	s.db.endUser(userID)
}

func (s *AdminStore) audit(ctx context.Context, tx *sql.Tx, e admin.AuditEntry) error {
	if _, err := s.db.exec(ctx, tx, qAddAudit, dbTime(e.At), e.Operator, e.Action, e.Target, e.Reason, e.ClientIP); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// RevokeSessions implements admin.Store.
func (s *AdminStore) RevokeSessions(ctx context.Context, userID int64, e admin.AuditEntry) (int, error) {
	var ended []int64
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.db.queryRow(ctx, tx, qUserExists, userID).Scan(new(int64)); err != nil {
			return err
		}
		var err error
		if ended, err = s.endUserSessions(ctx, tx, userID); err != nil {
			return err
		}
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return 0, translate(err)
	}
	s.endUserSockets(userID, ended)
	return len(ended), nil
}

// SetDisabled implements admin.Store.
func (s *AdminStore) SetDisabled(ctx context.Context, userID int64, reason *string, e admin.AuditEntry) (*admin.User, error) {
	var (
		u     *admin.User
		ended []int64
	)
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		var at sql.NullTime
		if reason != nil {
			at = sql.NullTime{Time: dbTime(e.At), Valid: true}
		}
		var err error
		if u, err = scanAdminUser(s.db.queryRow(ctx, tx, qSetDisabled, userID, at, nullString(reason), dbTime(e.At)).Scan); err != nil {
			return err
		}
		if reason != nil {
			if ended, err = s.endUserSessions(ctx, tx, userID); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, translate(err)
	}
	if reason != nil {
		s.endUserSockets(userID, ended)
	}
	return u, nil
}

// Audit implements admin.Store.
func (s *AdminStore) Audit(ctx context.Context, beforeID int64, limit int) ([]*admin.AuditEntry, error) {
	rows, err := s.db.query(ctx, nil, qAudit, bound(beforeID), limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*admin.AuditEntry
	for rows.Next() {
		var e admin.AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.Operator, &e.Action, &e.Target, &e.Reason, &e.ClientIP); err != nil {
			return nil, translate(err)
		}
		e.At = e.At.UTC()
		out = append(out, &e)
	}
	return out, translate(rows.Err())
}

// AddToken implements admin.Store: a name's expired token makes room.
func (s *AdminStore) AddToken(ctx context.Context, t admin.Token, hash auth.TokenHash, e admin.AuditEntry) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.exec(ctx, tx, qDropExpiredToken, t.Name, dbTime(t.CreatedAt)); err != nil {
			return fmt.Errorf("drop expired token: %w", err)
		}
		switch err := s.db.queryRow(ctx, tx, qAddToken, t.Name, hash[:], dbTime(t.CreatedAt), dbTime(t.ExpiresAt)).Scan(new(int64)); {
		case errors.Is(err, sql.ErrNoRows):
			return errcode.Input("name", "operator %q has a token that has not expired: revoke it first (wxtodo admin revoke %s)", t.Name, t.Name)
		case err != nil:
			return fmt.Errorf("add token: %w", err)
		}
		return s.audit(ctx, tx, e)
	})
	return translate(err)
}

// Tokens implements admin.Store.
func (s *AdminStore) Tokens(ctx context.Context) ([]*admin.Token, error) {
	rows, err := s.db.query(ctx, nil, qTokens)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*admin.Token
	for rows.Next() {
		var (
			t    admin.Token
			used sql.NullTime
		)
		if err := rows.Scan(&t.Name, &t.CreatedAt, &t.ExpiresAt, &used); err != nil {
			return nil, translate(err)
		}
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), utcOrNil(used)
		out = append(out, &t)
	}
	return out, translate(rows.Err())
}

// DeleteToken implements admin.Store.
func (s *AdminStore) DeleteToken(ctx context.Context, name string, e admin.AuditEntry) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.db.exec(ctx, tx, qDeleteToken, name)
		if err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		if n == 0 {
			return sql.ErrNoRows
		}
		return s.audit(ctx, tx, e)
	})
	return translate(err)
}

// UseOperatorToken implements auth.OperatorStore.
func (s *AdminStore) UseOperatorToken(ctx context.Context, h auth.TokenHash, now time.Time) (string, time.Time, error) {
	var (
		name string
		exp  time.Time
	)
	if err := s.db.queryRow(ctx, nil, qUseToken, h[:], dbTime(now)).Scan(&name, &exp); err != nil {
		return "", time.Time{}, translate(err)
	}
	return name, exp.UTC(), nil
}
