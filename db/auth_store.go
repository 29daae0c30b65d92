package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"wxtodo/auth"
	"wxtodo/user"
)

// AuthStore keeps users' WeChat identities, their sessions and the login
// codes being claimed.
type AuthStore struct {
	db *DB
}

var _ auth.Store = (*AuthStore)(nil)

// NewAuthStore returns the auth store on db.
func NewAuthStore(db *DB) *AuthStore { return &AuthStore{db: db} }

// userColumns are what scanUser reads.
const userColumns = `id, nickname, avatar_url, phone_number, created_at`

// scanUser reads the userColumns of one row.
func scanUser(scan func(dest ...any) error) (*user.User, error) {
	var u user.User
	if err := scan(&u.ID, &u.Nickname, &u.AvatarURL, &u.PhoneNumber, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

var (
	qClaimCode = statement(`INSERT INTO login_codes (code_hash, created_at) VALUES ($1, $2)
		ON CONFLICT (code_hash) DO NOTHING`)
	qCodeLogin    = statement(`SELECT user_id, created_at, open_id, union_id, session_key, session_key_fp FROM login_codes WHERE code_hash = $1`)
	qSaveExchange = statement(`UPDATE login_codes SET open_id = $2, union_id = $3, session_key = $4, session_key_fp = $5 WHERE code_hash = $1`)
	// qDeleteCodeSession ends the session an earlier login with the code
	// made, which its retry replaces.
	qDeleteCodeSession = statement(`DELETE FROM sessions WHERE id = (SELECT session_id FROM login_codes WHERE code_hash = $1) RETURNING id`)
	qRetireCode        = statement(`DELETE FROM login_codes WHERE session_id = $1`)
	qRecordCodeLogin   = statement(`UPDATE login_codes SET user_id = $2, session_id = $3 WHERE code_hash = $1`)
	qReleaseCode       = statement(`DELETE FROM login_codes WHERE code_hash = $1`)
	qDeleteOldCodes    = statement(`DELETE FROM login_codes WHERE created_at < $1`)

	qUser = statement(`SELECT ` + userColumns + ` FROM users WHERE id = $1`)

	// qSignInPG is SignIn on PostgreSQL in one statement, unless a
	// unionid links a known identity's person (found matches nothing
	// then, and neither do the inserts). It stores the new session_key
	// of a known identity (keeping the one before it, unless WeChat
	// handed out the same key again); a new identity joins the person
	// with its unionid, or comes with a new person, whose ID is drawn
	// first so that the person is inserted only if the identity was (ON
	// CONFLICT lets one of concurrent first sign-ins in; the foreign key,
	// checked at the statement's end, fails the statement should the
	// identity go in without its person). Then the new session, the
	// revocation of the user's sessions past the cap (the statement's
	// snapshot does not see the new session, so $10 old ones stay beside
	// it) and the code's record; $9 NULL matches no code. No row, or a
	// lost race, or a disabled person: identifyTx's transaction takes
	// over (and refuses the disabled).
	qSignInPG = pgStatement(`WITH found AS (
		UPDATE identities SET
			prev_session_key = CASE WHEN session_key_fp = $4 THEN prev_session_key ELSE session_key END,
			session_key = $3, session_key_fp = $4,
			union_id = COALESCE($5, union_id), updated_at = $6
		WHERE app_id = $1 AND open_id = $2
			AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM users WHERE users.id = identities.user_id AND users.union_id IS NOT NULL))
		RETURNING user_id
	), known AS (
		SELECT 1 FROM identities WHERE app_id = $1 AND open_id = $2
	), person AS (
		SELECT id FROM users WHERE union_id = $5 AND NOT EXISTS (SELECT 1 FROM known)
	), pid AS (
		SELECT nextval(pg_get_serial_sequence('users', 'id')) AS id
		WHERE NOT EXISTS (SELECT 1 FROM known) AND NOT EXISTS (SELECT 1 FROM person)
	), newi AS (
		INSERT INTO identities (user_id, app_id, open_id, union_id, session_key, session_key_fp, created_at, updated_at)
		SELECT id, $1::text, $2::text, $5::text, $3::text, $4::bytea, $6::timestamptz, $6::timestamptz
		FROM (SELECT id FROM person UNION ALL SELECT id FROM pid) AS p
		ON CONFLICT DO NOTHING
		RETURNING user_id
	), newp AS (
		INSERT INTO users (id, app_id, open_id, union_id, created_at, updated_at)
		SELECT user_id, $1::text, $2::text, $5::text, $6::timestamptz, $6::timestamptz FROM newi WHERE user_id IN (SELECT id FROM pid)
		ON CONFLICT DO NOTHING
		RETURNING ` + userColumns + `
	), known_user AS (
		-- FOR SHARE: a disable waits for this sign-in, and then ends its
		-- session too, or this one waits for the disable, and then finds
		-- the person disabled.
		-- One ID, by the primary key (an OR of IN lists would scan users).
		SELECT ` + userColumns + ` FROM users
		WHERE id = COALESCE((SELECT user_id FROM found), (SELECT id FROM person WHERE EXISTS (SELECT 1 FROM newi)))
			AND disabled_at IS NULL
		FOR SHARE
	), u AS (
		SELECT ` + userColumns + `, true AS created FROM newp
		UNION ALL
		SELECT ` + userColumns + `, false FROM known_user
	), s AS (
		INSERT INTO sessions (token_hash, user_id, app_id, created_at, expires_at, last_used_at)
		SELECT $7::bytea, id, $1::text, $6::timestamptz, $8::timestamptz, $6::timestamptz FROM u
		RETURNING id
	), revoked AS (
		DELETE FROM sessions WHERE user_id = (SELECT id FROM u) AND id <=
			(SELECT id FROM sessions WHERE user_id = (SELECT id FROM u) ORDER BY id DESC LIMIT 1 OFFSET $10)
	), code AS (
		UPDATE login_codes SET user_id = (SELECT id FROM u), session_id = (SELECT id FROM s) WHERE code_hash = $9
	)
	SELECT u.id, u.nickname, u.avatar_url, u.phone_number, u.created_at, u.created, s.id FROM u, s`)

	qInsertSession = statement(`INSERT INTO sessions (token_hash, user_id, app_id, created_at, expires_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $4) RETURNING id`)
	// qRevokeOldSessions revokes the user's sessions older than the $2
	// newest (IDs grow with time); with fewer the subquery is NULL.
	qRevokeOldSessions = statement(`DELETE FROM sessions WHERE user_id = $1 AND id <=
		(SELECT id FROM sessions WHERE user_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)
		RETURNING id`)
	qSessionByToken = statement(`SELECT s.id, s.user_id, s.app_id, s.expires_at,
		u.nickname, u.avatar_url, u.phone_number, u.created_at
		FROM sessions AS s JOIN users AS u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND u.disabled_at IS NULL`)
	// qExtendSession moves the expiry and records the use: the sessions an
	// operator sees say when they were last used, to within renewAfter.
	qExtendSession         = statement(`UPDATE sessions SET expires_at = $2, last_used_at = $3 WHERE id = $1`)
	qDeleteSession         = statement(`DELETE FROM sessions WHERE id = $1`)
	qDeleteExpiredSessions = statement(`DELETE FROM sessions WHERE expires_at < $1`)
)

// SignIn implements auth.Store.
func (s *AuthStore) SignIn(ctx context.Context, id auth.Identity, sess *auth.Session, codeHash []byte, keep int) (auth.SignedIn, error) {
	if s.db.pg {
		in, ok, err := s.signInPG(ctx, id, sess, codeHash, keep)
		if ok || err != nil {
			return in, err
		}
	}
	var revoked []int64
	in, err := s.identifyTx(ctx, id, true, func(tx *sql.Tx, userID int64) error {
		var err error
		if revoked, err = s.insertSession(ctx, tx, userID, sess, keep); err != nil {
			return err
		}
		if codeHash == nil {
			return nil
		}
		if _, err := s.db.exec(ctx, tx, qRecordCodeLogin, codeHash, userID, sess.ID); err != nil {
			return fmt.Errorf("record code login: %w", err)
		}
		return nil
	})
	if err != nil {
		return auth.SignedIn{}, err
	}
	s.db.endSessions(revoked...)
	return in, nil
}

// signInPG is SignIn in one round trip (qSignInPG) instead of a
// transaction of eight or more, for every sign-in but one that links a
// unionid (or merges); ok is false when it did not apply.
func (s *AuthStore) signInPG(ctx context.Context, id auth.Identity, sess *auth.Session, codeHash []byte, keep int) (in auth.SignedIn, ok bool, err error) {
	older := int64(math.MaxInt64) // sessions kept beside the new one
	if keep > 0 {
		older = int64(keep - 1)
	}
	t, exp := now(), dbTime(sess.ExpiresAt)
	var (
		u       user.User
		created bool
	)
	err = s.db.queryRow(ctx, nil, qSignInPG, id.AppID, id.OpenID, orNull(id.SessionKey.Sealed),
		nullBytes(id.SessionKey.Fingerprint), orNull(id.UnionID), t, sess.TokenHash[:], exp, nullBytes(codeHash), older).
		Scan(&u.ID, &u.Nickname, &u.AvatarURL, &u.PhoneNumber, &u.CreatedAt, &created, &sess.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows), isRetryable(err):
		return auth.SignedIn{}, false, nil
	case err != nil:
		return auth.SignedIn{}, false, translate(fmt.Errorf("sign in: %w", err))
	}
	u.CreatedAt = u.CreatedAt.UTC()
	sess.UserID, sess.ExpiresAt = u.ID, exp
	return auth.SignedIn{User: &u, Created: created}, true, nil
}

// ResumeSignIn implements auth.Store.
func (s *AuthStore) ResumeSignIn(ctx context.Context, codeHash []byte, userID int64, sess *auth.Session, keep int) (*user.User, error) {
	var (
		u       *user.User
		revoked []int64
	)
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if u, err = scanUser(s.db.queryRow(ctx, tx, qUser, userID).Scan); err != nil {
			return fmt.Errorf("select user: %w", err)
		}
		if err := s.refuseDisabled(ctx, tx, userID); err != nil {
			return err
		}
		// The session_key WeChat gave for the code is the user's since
		// the first login. The retry's session replaces that login's, so
		// replays of a code add no sessions.
		var replaced int64
		switch err := s.db.queryRow(ctx, tx, qDeleteCodeSession, codeHash).Scan(&replaced); {
		case errors.Is(err, sql.ErrNoRows): // its session is gone already
		case err != nil:
			return fmt.Errorf("delete the code's session: %w", err)
		}
		if revoked, err = s.insertSession(ctx, tx, userID, sess, keep); err != nil {
			return err
		}
		if replaced != 0 {
			// Its sockets close too, once this commits.
			revoked = append(revoked, replaced)
		}
		if _, err := s.db.exec(ctx, tx, qRecordCodeLogin, codeHash, userID, sess.ID); err != nil {
			return fmt.Errorf("record code login: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	s.db.endSessions(revoked...)
	return u, nil
}

// ClaimCode implements auth.Store: the primary key on the code hash lets
// exactly one of concurrent claims insert.
func (s *AuthStore) ClaimCode(ctx context.Context, codeHash []byte, at time.Time) (bool, auth.CodeLogin, error) {
	for {
		n, err := s.db.exec(ctx, nil, qClaimCode, codeHash, dbTime(at))
		if err != nil {
			return false, auth.CodeLogin{}, translate(err)
		}
		if n == 1 {
			return true, auth.CodeLogin{}, nil
		}
		var (
			userID                  sql.NullInt64
			createdAt               time.Time
			openID, unionID, sealed sql.NullString
			fingerprint             []byte
		)
		err = s.db.queryRow(ctx, nil, qCodeLogin, codeHash).Scan(&userID, &createdAt, &openID, &unionID, &sealed, &fingerprint)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released between the insert and the select: claim again
		}
		if err != nil {
			return false, auth.CodeLogin{}, translate(err)
		}
		prior := auth.CodeLogin{UserID: userID.Int64, CreatedAt: createdAt.UTC()}
		if openID.Valid {
			prior.Exchanged = &auth.Identity{
				OpenID: openID.String, UnionID: unionID.String,
				SessionKey: auth.SealedKey{Sealed: sealed.String, Fingerprint: fingerprint},
			}
		}
		return false, prior, nil
	}
}

// SaveExchange implements auth.Store.
func (s *AuthStore) SaveExchange(ctx context.Context, codeHash []byte, id auth.Identity) error {
	_, err := s.db.exec(ctx, nil, qSaveExchange, codeHash, id.OpenID, orNull(id.UnionID), orNull(id.SessionKey.Sealed), nullBytes(id.SessionKey.Fingerprint))
	return translate(err)
}

// ReleaseCode implements auth.Store.
func (s *AuthStore) ReleaseCode(ctx context.Context, codeHash []byte) error {
	_, err := s.db.exec(ctx, nil, qReleaseCode, codeHash)
	return translate(err)
}

// insertSession stores sess for the user and sets its ID, its user and
// its expiry as stored; keep > 0 then revokes all but the user's keep
// newest sessions, whose IDs it returns (their sockets close once the
// transaction commits).
func (s *AuthStore) insertSession(ctx context.Context, tx *sql.Tx, userID int64, sess *auth.Session, keep int) (revoked []int64, err error) {
	exp := dbTime(sess.ExpiresAt)
	if err := s.db.queryRow(ctx, tx, qInsertSession, sess.TokenHash[:], userID, sess.AppID, now(), exp).Scan(&sess.ID); err != nil {
		return nil, fmt.Errorf("insert session: %w", err)
	}
	if keep > 0 {
		rows, err := s.db.query(ctx, tx, qRevokeOldSessions, userID, keep)
		if err != nil {
			return nil, fmt.Errorf("revoke old sessions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("revoke old sessions: %w", err)
			}
			revoked = append(revoked, id)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("revoke old sessions: %w", err)
		}
	}
	sess.UserID, sess.ExpiresAt = userID, exp
	return revoked, nil
}

// SessionByToken implements auth.Store with one query for the session and
// its user.
func (s *AuthStore) SessionByToken(ctx context.Context, h auth.TokenHash) (*auth.Session, *user.User, error) {
	var (
		sess auth.Session
		u    user.User
	)
	err := s.db.queryRow(ctx, nil, qSessionByToken, h[:]).Scan(&sess.ID, &sess.UserID, &sess.AppID, &sess.ExpiresAt,
		&u.Nickname, &u.AvatarURL, &u.PhoneNumber, &u.CreatedAt)
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
	_, err := s.db.exec(ctx, nil, qExtendSession, sessionID, dbTime(expiresAt), now())
	return translate(err)
}

// DeleteSession implements auth.Store. The code goes first: should the
// session's delete then fail, the logout fails but no replay of the code
// can open a session.
func (s *AuthStore) DeleteSession(ctx context.Context, sessionID int64) error {
	if _, err := s.db.exec(ctx, nil, qRetireCode, sessionID); err != nil {
		return translate(err)
	}
	if _, err := s.db.exec(ctx, nil, qDeleteSession, sessionID); err != nil {
		return translate(err)
	}
	s.db.endSessions(sessionID)
	return nil
}

// DeleteExpired implements auth.Store.
func (s *AuthStore) DeleteExpired(ctx context.Context, cutoff, codeCutoff time.Time) (int64, error) {
	n, err := s.db.exec(ctx, nil, qDeleteExpiredSessions, dbTime(cutoff))
	if err != nil {
		return 0, translate(err)
	}
	if _, err := s.db.exec(ctx, nil, qDeleteOldCodes, dbTime(codeCutoff)); err != nil {
		return n, translate(err)
	}
	return n, nil
}
