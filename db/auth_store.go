package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"wxtodo/auth"
	"wxtodo/user"
)

// AuthStore keeps users' WeChat identities and their sessions.
type AuthStore struct {
	db *DB
}

var _ auth.Store = (*AuthStore)(nil)

// NewAuthStore returns the auth store on db.
func NewAuthStore(db *DB) *AuthStore { return &AuthStore{db: db} }

// SignIn implements auth.Store.
func (s *AuthStore) SignIn(ctx context.Context, id auth.Identity, sess *auth.Session, codeHash []byte) (*user.User, bool, error) {
	var (
		u       *user.User
		created bool
	)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		u, created, err = upsertUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := insertSession(ctx, tx, u.ID, sess); err != nil {
			return err
		}
		if codeHash == nil {
			return nil
		}
		_, err = tx.NewUpdate().Model((*loginCodeRow)(nil)).
			Set("user_id = ?", u.ID).
			Where("code_hash = ?", codeHash).
			Exec(ctx)
		return err
	})
	if err != nil {
		return nil, false, translate(err)
	}
	return u, created, nil
}

// ResumeSignIn implements auth.Store.
func (s *AuthStore) ResumeSignIn(ctx context.Context, userID int64, sess *auth.Session) (*user.User, error) {
	row := new(userRow)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(row).Where("id = ?", userID).Scan(ctx); err != nil {
			return fmt.Errorf("select user: %w", err)
		}
		if sess.SessionKey == "" {
			// The code's session_key came with the login being retried.
			err := tx.NewSelect().Model((*sessionRow)(nil)).Column("session_key").
				Where("user_id = ?", userID).OrderExpr("id DESC").Limit(1).
				Scan(ctx, &sess.SessionKey)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("select session key: %w", err)
			}
		}
		return insertSession(ctx, tx, userID, sess)
	})
	if err != nil {
		return nil, translate(err)
	}
	return row.user(), nil
}

// ClaimCode implements auth.Store: the primary key on the code hash lets
// exactly one of concurrent claims insert.
func (s *AuthStore) ClaimCode(ctx context.Context, codeHash []byte, now time.Time) (bool, auth.CodeLogin, error) {
	row := &loginCodeRow{CodeHash: codeHash, CreatedAt: now.UTC()}
	res, err := s.db.NewInsert().Model(row).On("CONFLICT (code_hash) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, auth.CodeLogin{}, translate(err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, auth.CodeLogin{}, nil
	}
	prior := new(loginCodeRow)
	err = s.db.NewSelect().Model(prior).Where("code_hash = ?", codeHash).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		// Released between our insert and select: claim again.
		return s.ClaimCode(ctx, codeHash, now)
	}
	if err != nil {
		return false, auth.CodeLogin{}, translate(err)
	}
	cl := auth.CodeLogin{CreatedAt: prior.CreatedAt.UTC()}
	if prior.UserID != nil {
		cl.UserID = *prior.UserID
	}
	return false, cl, nil
}

// ReleaseCode implements auth.Store.
func (s *AuthStore) ReleaseCode(ctx context.Context, codeHash []byte) error {
	_, err := s.db.NewDelete().Model((*loginCodeRow)(nil)).Where("code_hash = ?", codeHash).Exec(ctx)
	return translate(err)
}

// upsertUser finds or creates the user. INSERT ... ON CONFLICT DO NOTHING
// waits for a concurrent insert of the same identity to commit, so of
// concurrent first logins exactly one inserts and the others find its row.
func upsertUser(ctx context.Context, db bun.IDB, id auth.Identity) (*user.User, bool, error) {
	t := now()
	row := &userRow{AppID: id.AppID, OpenID: id.OpenID, CreatedAt: t, UpdatedAt: t}
	if id.UnionID != "" {
		row.UnionID = &id.UnionID
	}
	err := db.NewInsert().Model(row).
		On("CONFLICT (app_id, open_id) DO NOTHING").
		Returning("*").
		Scan(ctx)
	if err == nil {
		return row.user(), true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("insert user: %w", err)
	}
	row = new(userRow)
	if err := db.NewSelect().Model(row).
		Where("app_id = ? AND open_id = ?", id.AppID, id.OpenID).
		Scan(ctx); err != nil {
		return nil, false, fmt.Errorf("select user: %w", err)
	}
	if id.UnionID != "" && (row.UnionID == nil || *row.UnionID != id.UnionID) {
		// WeChat sends unionid only once the app is bound to an open
		// platform account: keep it when it arrives.
		if _, err := db.NewUpdate().Model((*userRow)(nil)).
			Set("union_id = ?", id.UnionID).
			Set("updated_at = ?", t).
			Where("id = ?", row.ID).
			Exec(ctx); err != nil {
			return nil, false, fmt.Errorf("update unionid: %w", err)
		}
	}
	return row.user(), false, nil
}

func insertSession(ctx context.Context, db bun.IDB, userID int64, sess *auth.Session) error {
	row := &sessionRow{
		TokenHash:  sess.TokenHash[:],
		UserID:     userID,
		SessionKey: sess.SessionKey,
		CreatedAt:  now(),
		ExpiresAt:  sess.ExpiresAt,
	}
	if _, err := db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	sess.ID = row.ID
	sess.UserID = userID
	return nil
}

// SessionByToken implements auth.Store with one query for the session and
// its user.
func (s *AuthStore) SessionByToken(ctx context.Context, h auth.TokenHash) (*auth.Session, *user.User, error) {
	var (
		sess auth.Session
		u    user.User
	)
	err := s.db.NewRaw(`SELECT s.id, s.user_id, s.session_key, s.expires_at,
		u.nickname, u.avatar_url, u.created_at
		FROM sessions AS s JOIN users AS u ON u.id = s.user_id
		WHERE s.token_hash = ?`, h[:]).
		Scan(ctx, &sess.ID, &sess.UserID, &sess.SessionKey, &sess.ExpiresAt,
			&u.Nickname, &u.AvatarURL, &u.CreatedAt)
	if err != nil {
		return nil, nil, translate(err)
	}
	sess.TokenHash = h
	sess.ExpiresAt = sess.ExpiresAt.UTC()
	u.ID = sess.UserID
	u.CreatedAt = u.CreatedAt.UTC()
	return &sess, &u, nil
}

// ExtendSession implements auth.Store.
func (s *AuthStore) ExtendSession(ctx context.Context, sessionID int64, expiresAt time.Time) error {
	_, err := s.db.NewUpdate().Model((*sessionRow)(nil)).
		Set("expires_at = ?", expiresAt).
		Where("id = ?", sessionID).
		Exec(ctx)
	return translate(err)
}

// DeleteSession implements auth.Store.
func (s *AuthStore) DeleteSession(ctx context.Context, sessionID int64) error {
	_, err := s.db.NewDelete().Model((*sessionRow)(nil)).Where("id = ?", sessionID).Exec(ctx)
	return translate(err)
}

// DeleteExpired removes sessions that expired before cutoff and login codes
// created before codeCutoff.
func (s *AuthStore) DeleteExpired(ctx context.Context, cutoff, codeCutoff time.Time) (int64, error) {
	res, err := s.db.NewDelete().Model((*sessionRow)(nil)).Where("expires_at < ?", cutoff.UTC()).Exec(ctx)
	if err != nil {
		return 0, translate(err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.db.NewDelete().Model((*loginCodeRow)(nil)).Where("created_at < ?", codeCutoff.UTC()).Exec(ctx); err != nil {
		return n, translate(err)
	}
	return n, nil
}
