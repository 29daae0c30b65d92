package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"wxtodo/auth"
	"wxtodo/live"
)

// A user is a person with one identity per app (table identities): a
// sign-in finds the identity, else the person by the unionid, else
// creates both. The unique keys on identities (app_id, open_id) and on
// users (union_id) decide races: of concurrent first sign-ins one
// inserts, and the others, finding its row on a second try, join it.

var (
	// qLockIdentity is the identity and its person, locked on
	// PostgreSQL: sign-ins of one identity take turns, so that one that
	// read the person before another linked or merged it cannot act on
	// what it read (SQLite's write lock covers the transaction).
	qLockIdentity = dialectStatement(`SELECT id, user_id FROM identities WHERE app_id = $1 AND open_id = $2`,
		`SELECT id, user_id FROM identities WHERE app_id = $1 AND open_id = $2 FOR UPDATE`)
	// qPersonUnion is read after the lock, as it is now.
	qPersonUnion = statement(`SELECT union_id FROM users WHERE id = $1`)
	// qIdentityUser is the identity's person, whether a unionid would
	// link it or fill the identity's ($3 not NULL, and the person or the
	// identity has none), and whether an operator disabled the person.
	qIdentityUser = statement(`SELECT u.id, u.nickname, u.avatar_url, u.phone_number, u.created_at,
		CAST($3 AS TEXT) IS NOT NULL AND (u.union_id IS NULL OR i.union_id IS NULL), u.disabled_at IS NOT NULL
		FROM identities AS i JOIN users AS u ON u.id = i.user_id
		WHERE i.app_id = $1 AND i.open_id = $2`)
	// qSignInIdentity stores a sign-in's session_key on its identity,
	// keeping the one before it unless WeChat handed out the same key
	// again, and a unionid once WeChat sends one.
	qSignInIdentity = statement(`UPDATE identities SET
		prev_session_key = CASE WHEN session_key_fp = $3 THEN prev_session_key ELSE session_key END,
		session_key = $2, session_key_fp = $3,
		union_id = COALESCE($4, union_id), updated_at = $5
		WHERE id = $1`)
	qFillIdentityUnion = statement(`UPDATE identities SET union_id = $2, updated_at = $3 WHERE id = $1 AND union_id IS NULL`)
	qPersonByUnion     = statement(`SELECT id FROM users WHERE union_id = $1`)
	qSetPersonUnion    = statement(`UPDATE users SET union_id = $2, updated_at = $3 WHERE id = $1 AND union_id IS NULL`)
	qInsertPerson      = statement(`INSERT INTO users (app_id, open_id, union_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT DO NOTHING
		RETURNING id`)
	qInsertIdentity = statement(`INSERT INTO identities (user_id, app_id, open_id, union_id, session_key, session_key_fp, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT DO NOTHING
		RETURNING id`)
)

// qUserDisabled locks the person's row on PostgreSQL (FOR SHARE), so
// that a disable committing meanwhile either waits for this sign-in (and
// then ends its session) or is seen.
var qUserDisabled = dialectStatement(`SELECT disabled_at IS NOT NULL FROM users WHERE id = $1`,
	`SELECT disabled_at IS NOT NULL FROM users WHERE id = $1 FOR SHARE`)

// refuseDisabled fails a sign-in of a disabled person, before it makes a
// session (the transaction rolls back).
func (s *AuthStore) refuseDisabled(ctx context.Context, tx *sql.Tx, userID int64) error {
	var disabled bool
	if err := s.db.queryRow(ctx, tx, qUserDisabled, userID).Scan(&disabled); err != nil {
		return fmt.Errorf("read user: %w", err)
	}
	if disabled {
		return auth.ErrUserDisabled
	}
	return nil
}

// errRaced ends a sign-in's transaction that lost a race with another
// (whose rows it could not see yet): it runs again, and then sees them.
var errRaced = errors.New("raced with a concurrent sign-in")

// identifyTx finds or creates the person of the identity in a
// transaction, storing its session_key when withKey, then runs then in
// the same transaction. A transaction that loses a race runs again.
func (s *AuthStore) identifyTx(ctx context.Context, id auth.Identity, withKey bool, then func(tx *sql.Tx, userID int64) error) (auth.SignedIn, error) {
	for attempt := 1; ; attempt++ {
		var (
			in auth.SignedIn
			mg *merged
		)
		err := s.db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			if in, mg, err = s.identify(ctx, tx, id, withKey); err != nil {
				return err
			}
			if err := s.refuseDisabled(ctx, tx, in.User.ID); err != nil {
				return err
			}
			if then != nil {
				return then(tx, in.User.ID)
			}
			return nil
		})
		if (errors.Is(err, errRaced) || isRetryable(err)) && attempt < 4 && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return auth.SignedIn{}, translate(err)
		}
		if mg != nil {
			in.Merged = &mg.Merge
			s.afterMerge(mg)
		}
		return in, nil
	}
}

// identify finds or creates the person of the identity in tx; mg is set
// when it merged two persons.
func (s *AuthStore) identify(ctx context.Context, tx *sql.Tx, id auth.Identity, withKey bool) (in auth.SignedIn, mg *merged, err error) {
	t := now()
	unionID := orNull(id.UnionID)
	var (
		identityID, userID int64
		personUnion        sql.NullString
	)
	err = s.db.queryRow(ctx, tx, qLockIdentity, id.AppID, id.OpenID).Scan(&identityID, &userID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		in, err = s.addIdentity(ctx, tx, id, t)
		return in, nil, err
	case err != nil:
		return in, nil, fmt.Errorf("find identity: %w", err)
	}
	if err := s.db.queryRow(ctx, tx, qPersonUnion, userID).Scan(&personUnion); err != nil {
		return in, nil, fmt.Errorf("read person: %w", err)
	}
	if withKey {
		_, err = s.db.exec(ctx, tx, qSignInIdentity, identityID, orNull(id.SessionKey.Sealed), nullBytes(id.SessionKey.Fingerprint), unionID, t)
	} else if unionID.Valid {
		_, err = s.db.exec(ctx, tx, qFillIdentityUnion, identityID, unionID, t)
	}
	if err != nil {
		return in, nil, fmt.Errorf("update identity: %w", err)
	}
	if unionID.Valid && !personUnion.Valid {
		// WeChat sent the unionid late (the app was bound to the Open
		// Platform account after this person first signed in): the
		// person takes it, or joins the person who has it.
		var other int64
		switch err := s.db.queryRow(ctx, tx, qPersonByUnion, unionID).Scan(&other); {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := s.db.exec(ctx, tx, qSetPersonUnion, userID, unionID, t); err != nil {
				return in, nil, fmt.Errorf("link unionid: %w", err)
			}
		case err != nil:
			return in, nil, fmt.Errorf("find person by unionid: %w", err)
		case other == userID:
			// Linked meanwhile, by a sign-in of another identity.
		default:
			if mg, err = s.merge(ctx, tx, userID, other, id.UnionID); err != nil {
				return in, nil, err
			}
			userID = mg.Kept
		}
	}
	switch in.User, err = scanUser(s.db.queryRow(ctx, tx, qUser, userID).Scan); {
	case errors.Is(err, sql.ErrNoRows):
		return in, nil, errRaced
	case err != nil:
		return in, nil, fmt.Errorf("select user: %w", err)
	}
	return in, mg, nil
}

// addIdentity stores an identity seen for the first time: for the person
// with its unionid, or for a new person.
func (s *AuthStore) addIdentity(ctx context.Context, tx *sql.Tx, id auth.Identity, t time.Time) (auth.SignedIn, error) {
	unionID := orNull(id.UnionID)
	var in auth.SignedIn
	var userID int64
	if unionID.Valid {
		switch err := s.db.queryRow(ctx, tx, qPersonByUnion, unionID).Scan(&userID); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return auth.SignedIn{}, fmt.Errorf("find person by unionid: %w", err)
		}
	}
	if userID == 0 {
		switch err := s.db.queryRow(ctx, tx, qInsertPerson, id.AppID, id.OpenID, unionID, t).Scan(&userID); {
		case errors.Is(err, sql.ErrNoRows):
			return auth.SignedIn{}, errRaced // the person came meanwhile
		case err != nil:
			return auth.SignedIn{}, fmt.Errorf("insert user: %w", err)
		}
		in.Created = true
	}
	var identityID int64
	switch err := s.db.queryRow(ctx, tx, qInsertIdentity, userID, id.AppID, id.OpenID, unionID,
		orNull(id.SessionKey.Sealed), nullBytes(id.SessionKey.Fingerprint), t).Scan(&identityID); {
	case errors.Is(err, sql.ErrNoRows):
		return auth.SignedIn{}, errRaced // the identity came meanwhile
	case err != nil:
		return auth.SignedIn{}, fmt.Errorf("insert identity: %w", err)
	}
	u, err := scanUser(s.db.queryRow(ctx, tx, qUser, userID).Scan)
	if err != nil {
		return auth.SignedIn{}, fmt.Errorf("select user: %w", err)
	}
	in.User = u
	return in, nil
}

// IdentifyUser implements auth.Store: one read for a person seen before
// that needs no link (every request of a Cloud Hosting caller comes
// here); a transaction as SignIn's otherwise.
func (s *AuthStore) IdentifyUser(ctx context.Context, id auth.Identity) (auth.SignedIn, error) {
	var links, disabled bool
	u, err := scanUser(func(dest ...any) error {
		return s.db.queryRow(ctx, nil, qIdentityUser, id.AppID, id.OpenID, orNull(id.UnionID)).Scan(append(dest, &links, &disabled)...)
	})
	switch {
	case err == nil && disabled:
		return auth.SignedIn{}, auth.ErrUserDisabled
	case err == nil && !links:
		return auth.SignedIn{User: u}, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return auth.SignedIn{}, translate(fmt.Errorf("find user: %w", err))
	}
	return s.identifyTx(ctx, id, false, nil)
}

var (
	qLockPersons = pgStatement(`SELECT id FROM users WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`)
	// qFreeMutationIDs drops the removed person's client mutation IDs
	// that the kept one uses too (unique per user): the todos move, and
	// only a retry of the create within its window would have used it.
	qFreeMutationIDs = statement(`UPDATE todos SET client_mutation_id = NULL
		WHERE user_id = $1 AND client_mutation_id IN
			(SELECT client_mutation_id FROM todos WHERE user_id = $2 AND client_mutation_id IS NOT NULL)`)
	qMoveTodos = statement(`UPDATE todos SET user_id = $2 WHERE user_id = $1`)
	// qEndMovedSessions tells every instance's listener that the removed
	// person's sessions end there: their sockets close, and reconnect as
	// the kept person (as the sessions_ended trigger does for a delete).
	qEndMovedSessions = pgStatement(`SELECT pg_notify('wxtodo_sessions', json_build_object('s', current_schema(), 'id', id)::text)
		FROM sessions WHERE user_id = $1`)
	qMoveSessions   = statement(`UPDATE sessions SET user_id = $2 WHERE user_id = $1 RETURNING id`)
	qMoveIdentities = statement(`UPDATE identities SET user_id = $2 WHERE user_id = $1`)
	qMoveCodes      = statement(`UPDATE login_codes SET user_id = $2 WHERE user_id = $1`)
	qDeletePerson   = statement(`DELETE FROM users WHERE id = $1 RETURNING nickname, avatar_url, phone_number, disabled_at, disabled_reason`)
	// qFillPerson gives the kept person what it lacks of the removed one,
	// and the unionid that joined them. A disable stays with the person:
	// signing in from another app is no way around it.
	qFillPerson = statement(`UPDATE users SET
		nickname = CASE WHEN nickname = '' THEN $2 ELSE nickname END,
		avatar_url = CASE WHEN avatar_url = '' THEN $3 ELSE avatar_url END,
		phone_number = COALESCE(phone_number, $4),
		union_id = COALESCE(union_id, $5), updated_at = $6,
		disabled_at = COALESCE(disabled_at, $7), disabled_reason = COALESCE(disabled_reason, $8)
		WHERE id = $1
		RETURNING todo_version, todo_count`)
)

// merge makes persons a and b one, in tx: the older (lower ID) is kept,
// whichever signed in, so that the outcome is the same on every instance
// and in any order. See auth.Merge.
func (s *AuthStore) merge(ctx context.Context, tx *sql.Tx, a, b int64, unionID string) (*merged, error) {
	m := &merged{Merge: auth.Merge{Kept: min(a, b), Removed: max(a, b)}}
	if s.db.pg {
		rows, err := s.db.query(ctx, tx, qLockPersons, m.Kept, m.Removed)
		if err != nil {
			return nil, fmt.Errorf("merge: lock users: %w", err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("merge: lock users: %w", err)
		}
		if n != 2 {
			return nil, errRaced // one was merged away meanwhile
		}
	}
	if _, err := s.db.exec(ctx, tx, qFreeMutationIDs, m.Removed, m.Kept); err != nil {
		return nil, fmt.Errorf("merge: client mutation ids: %w", err)
	}
	var err error
	if m.Todos, err = s.db.exec(ctx, tx, qMoveTodos, m.Removed, m.Kept); err != nil {
		return nil, fmt.Errorf("merge: move todos: %w", err)
	}
	if s.db.pg {
		if _, err := s.db.exec(ctx, tx, qEndMovedSessions, m.Removed); err != nil {
			return nil, fmt.Errorf("merge: end sockets: %w", err)
		}
	}
	rows, err := s.db.query(ctx, tx, qMoveSessions, m.Removed, m.Kept)
	if err != nil {
		return nil, fmt.Errorf("merge: move sessions: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("merge: move sessions: %w", err)
		}
		m.Sessions++
		m.movedSessions = append(m.movedSessions, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("merge: move sessions: %w", err)
	}
	if _, err := s.db.exec(ctx, tx, qMoveIdentities, m.Removed, m.Kept); err != nil {
		return nil, fmt.Errorf("merge: move identities: %w", err)
	}
	if _, err := s.db.exec(ctx, tx, qMoveCodes, m.Removed, m.Kept); err != nil {
		return nil, fmt.Errorf("merge: move login codes: %w", err)
	}
	var (
		nickname, avatar      string
		phone, disabledReason sql.NullString
		disabledAt            sql.NullTime
	)
	switch err := s.db.queryRow(ctx, tx, qDeletePerson, m.Removed).Scan(&nickname, &avatar, &phone, &disabledAt, &disabledReason); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errRaced // merged away meanwhile
	case err != nil:
		return nil, fmt.Errorf("merge: delete user: %w", err)
	}
	if err := s.db.queryRow(ctx, tx, qFillPerson, m.Kept, nickname, avatar, phone, orNull(unionID), now(), disabledAt, disabledReason).
		Scan(&m.version, &m.count); err != nil {
		return nil, fmt.Errorf("merge: fill user: %w", err)
	}
	return m, nil
}

// merged is a merge and what the live feed needs of it on SQLite.
type merged struct {
	auth.Merge
	movedSessions  []int64
	version, count int64
}

// afterMerge tells this process's subscribers on SQLite, once the merge
// has committed, what PostgreSQL's triggers and notifications tell every
// instance: the removed person's sockets close (their sessions reconnect
// as the kept person), and the kept person's list changed.
func (s *AuthStore) afterMerge(m *merged) {
	if s.db.pg {
		return
	}
	s.db.endSessions(m.movedSessions...)
	s.db.publish(live.Change{UserID: m.Kept, Kind: live.Resync, Version: m.version, TotalCount: m.count})
}
