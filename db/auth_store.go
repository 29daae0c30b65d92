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
		u, created, err = s.upsertUser(ctx, &tx, id)
		if err != nil {
			return err
		}
		if err := s.insertSession(ctx, &tx, u.ID, sess); err != nil {
			return err
		}
		if codeHash == nil {
			return nil
		}
		_, err = s.db.exec(ctx, &tx, qRecordCodeLogin, codeHash, u.ID, sess.ID)
		return err
	})
	if err != nil {
		return nil, false, translate(err)
	}
	return u, created, nil
}

// ResumeSignIn implements auth.Store.
func (s *AuthStore) ResumeSignIn(ctx context.Context, codeHash []byte, userID int64, sess *auth.Session) (*user.User, error) {
	row := new(userRow)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(row).Where("id = ?", userID).Scan(ctx); err != nil {
			return fmt.Errorf("select user: %w", err)
		}
		// The session_key WeChat gave for the code is the user's since
		// the first login.
		return s.insertSession(ctx, &tx, userID, sess)
	})
	if err != nil {
		return nil, translate(err)
	}
	return row.user(), nil
}

// ClaimCode implements auth.Store: the primary key on the code hash lets
// exactly one of concurrent claims insert.
func (s *AuthStore) ClaimCode(ctx context.Context, codeHash []byte, now time.Time) (bool, auth.CodeLogin, error) {
	res, err := s.db.exec(ctx, nil, qClaimCode, codeHash, now.UTC().Truncate(time.Microsecond))
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

// upsertUser finds or creates the user and stores the session_key WeChat
// gave for this sign-in. INSERT ... ON CONFLICT DO NOTHING waits for a
// concurrent insert of the same identity to commit, so of concurrent first
// logins exactly one inserts and the others update its row.
func (s *AuthStore) upsertUser(ctx context.Context, tx *bun.Tx, id auth.Identity) (*user.User, bool, error) {
	t := now()
	var unionID sql.NullString
	if id.UnionID != "" {
		unionID = sql.NullString{String: id.UnionID, Valid: true}
	}
	var sealed sql.NullString
	if id.SessionKey.Sealed != "" {
		sealed = sql.NullString{String: id.SessionKey.Sealed, Valid: true}
	}
	u := &user.User{CreatedAt: t}
	row, err := s.db.queryRow(ctx, tx, qInsertUser, id.AppID, id.OpenID, unionID, sealed, id.SessionKey.Fingerprint, t)
	if err == nil {
		err = row.Scan(&u.ID)
	}
	if err == nil {
		return u, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("insert user: %w", err)
	}
	row, err = s.db.queryRow(ctx, tx, qSignInUser, id.AppID, id.OpenID, sealed, id.SessionKey.Fingerprint, unionID, t)
	if err == nil {
		err = row.Scan(&u.ID, &u.Nickname, &u.AvatarURL, &u.PhoneNumber, &u.CreatedAt)
	}
	if err != nil {
		return nil, false, fmt.Errorf("update user: %w", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, false, nil
}

func (s *AuthStore) insertSession(ctx context.Context, tx *bun.Tx, userID int64, sess *auth.Session) error {
	row, err := s.db.queryRow(ctx, tx, qInsertSession, sess.TokenHash[:], userID, now(), sess.ExpiresAt)
	if err == nil {
		err = row.Scan(&sess.ID)
	}
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
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
	row, err := s.db.queryRow(ctx, nil, qSessionByToken, h[:])
	if err == nil {
		err = row.Scan(&sess.ID, &sess.UserID, &sess.ExpiresAt,
			&u.Nickname, &u.AvatarURL, &u.PhoneNumber, &u.CreatedAt)
	}
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
