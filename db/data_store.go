package db

import (
	"context"
	"database/sql"

	"wxtodo/user"
	"wxtodo/wxdata"
)

// DataStore keeps what the WeChat data features hold on users: their
// identities' sealed session_keys and their phone numbers.
type DataStore struct {
	db *DB
}

var _ wxdata.Store = (*DataStore)(nil)

// NewDataStore returns the store on db.
func NewDataStore(db *DB) *DataStore { return &DataStore{db: db} }

var (
	// qSessionKeys reads the person's identity in the app (WeChat gives a
	// person one openid per app; should there ever be two, the one signed
	// in last).
	qSessionKeys = statement(`SELECT id, user_id, app_id, open_id, session_key, prev_session_key FROM identities
		WHERE user_id = $1 AND app_id = $2 ORDER BY updated_at DESC, id DESC LIMIT 1`)
	qSealedKeysAfter = statement(`SELECT id, user_id, app_id, open_id, session_key, prev_session_key FROM identities
		WHERE id > $1 AND (session_key IS NOT NULL OR prev_session_key IS NOT NULL)
		ORDER BY id LIMIT $2`)
	// qReplaceSealedKeys writes only while the current key is still the
	// one read (a login in between stored a new one, sealed under the new
	// key already); a NULL fingerprint keeps the stored one.
	qReplaceSealedKeys = statement(`UPDATE identities
		SET session_key = $2, prev_session_key = $3, session_key_fp = COALESCE($4, session_key_fp)
		WHERE id = $1 AND session_key IS NOT DISTINCT FROM $5`)
	qSetPhoneNumber = statement(`UPDATE users SET phone_number = $2, updated_at = $3 WHERE id = $1
		RETURNING ` + userColumns)
)

// scanKeys reads the columns of qSessionKeys and qSealedKeysAfter.
func scanKeys(scan func(dest ...any) error) (wxdata.UserKeys, error) {
	var (
		k                 wxdata.UserKeys
		current, previous sql.NullString
	)
	if err := scan(&k.IdentityID, &k.UserID, &k.AppID, &k.OpenID, &current, &previous); err != nil {
		return wxdata.UserKeys{}, err
	}
	k.Current, k.Previous = current.String, previous.String
	return k, nil
}

// SessionKeys implements wxdata.Store.
func (s *DataStore) SessionKeys(ctx context.Context, userID int64, appID string) (wxdata.UserKeys, error) {
	k, err := scanKeys(s.db.queryRow(ctx, nil, qSessionKeys, userID, appID).Scan)
	return k, translate(err)
}

// SetPhoneNumber implements wxdata.Store.
func (s *DataStore) SetPhoneNumber(ctx context.Context, userID int64, phone string) (*user.User, error) {
	u, err := scanUser(s.db.queryRow(ctx, nil, qSetPhoneNumber, userID, phone, now()).Scan)
	if err != nil {
		return nil, translate(err)
	}
	return u, nil
}

// SealedKeysAfter implements wxdata.Store.
func (s *DataStore) SealedKeysAfter(ctx context.Context, afterID int64, limit int) ([]wxdata.UserKeys, error) {
	rows, err := s.db.query(ctx, nil, qSealedKeysAfter, afterID, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []wxdata.UserKeys
	for rows.Next() {
		k, err := scanKeys(rows.Scan)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, k)
	}
	return out, translate(rows.Err())
}

// ReplaceSealedKeys implements wxdata.Store.
func (s *DataStore) ReplaceSealedKeys(ctx context.Context, was, now wxdata.UserKeys, fingerprint []byte) (bool, error) {
	n, err := s.db.exec(ctx, nil, qReplaceSealedKeys, was.IdentityID,
		orNull(now.Current), orNull(now.Previous), nullBytes(fingerprint), orNull(was.Current))
	if err != nil {
		return false, translate(err)
	}
	return n == 1, nil
}
