package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"wxtodo/auth"
	"wxtodo/user"
)

// WeChatStore keeps what the server holds for WeChat's APIs: users' sealed
// session_keys and phone numbers, and the shared access_token with the
// lease that lets one instance at a time refresh it.
type WeChatStore struct {
	db *DB
}

// NewWeChatStore returns the store on db.
func NewWeChatStore(db *DB) *WeChatStore { return &WeChatStore{db: db} }

// SessionKeys implements auth.DataStore.
func (s *WeChatStore) SessionKeys(ctx context.Context, userID int64) (auth.UserKeys, error) {
	row := new(userRow)
	err := s.db.NewSelect().Model(row).
		Column("app_id", "open_id", "session_key", "prev_session_key").
		Where("id = ?", userID).Scan(ctx)
	if err != nil {
		return auth.UserKeys{}, translate(err)
	}
	k := auth.UserKeys{AppID: row.AppID, OpenID: row.OpenID}
	if row.SessionKey != nil {
		k.Current = *row.SessionKey
	}
	if row.PrevSessionKey != nil {
		k.Previous = *row.PrevSessionKey
	}
	return k, nil
}

// SetPhoneNumber implements auth.DataStore.
func (s *WeChatStore) SetPhoneNumber(ctx context.Context, userID int64, phone string) (*user.User, error) {
	row := new(userRow)
	err := s.db.NewUpdate().Model(row).
		Set("phone_number = ?", phone).
		Set("updated_at = ?", now()).
		Where("id = ?", userID).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return row.user(), nil
}

// SealedKeysAfter implements auth.RekeyStore: up to limit users with a
// stored session_key and an id above afterID, in id order.
func (s *WeChatStore) SealedKeysAfter(ctx context.Context, afterID int64, limit int) ([]auth.UserKeys, error) {
	var rows []userRow
	err := s.db.NewSelect().Model(&rows).
		Column("id", "app_id", "open_id", "session_key", "prev_session_key").
		Where("id > ?", afterID).
		Where("session_key IS NOT NULL OR prev_session_key IS NOT NULL").
		Order("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, translate(err)
	}
	out := make([]auth.UserKeys, len(rows))
	for i, r := range rows {
		out[i] = auth.UserKeys{UserID: r.ID, AppID: r.AppID, OpenID: r.OpenID}
		if r.SessionKey != nil {
			out[i].Current = *r.SessionKey
		}
		if r.PrevSessionKey != nil {
			out[i].Previous = *r.PrevSessionKey
		}
	}
	return out, nil
}

// ReplaceSealedKeys implements auth.RekeyStore: it writes only if the
// user's session_key is still was (a login in between stored a new one,
// sealed under the new key already).
func (s *WeChatStore) ReplaceSealedKeys(ctx context.Context, was auth.UserKeys, now auth.UserKeys, fingerprint []byte) (bool, error) {
	q := s.db.NewUpdate().Model((*userRow)(nil)).
		Set("session_key = ?", orNull(now.Current)).
		Set("prev_session_key = ?", orNull(now.Previous)).
		Where("id = ?", was.UserID)
	if fingerprint != nil {
		q = q.Set("session_key_fp = ?", fingerprint)
	}
	if was.Current == "" {
		q = q.Where("session_key IS NULL")
	} else {
		q = q.Where("session_key = ?", was.Current)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, translate(err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ClearToken implements auth.RekeyStore: the shared access_token is
// dropped rather than resealed; the next use fetches it again.
func (s *WeChatStore) ClearToken(ctx context.Context) error {
	_, err := s.db.NewUpdate().Model((*wechatTokenRow)(nil)).
		Set("token = NULL").Set("expires_at = NULL").Set("refresh_at = NULL").
		Where("token IS NOT NULL").Exec(ctx)
	return translate(err)
}

// orNull is s, or NULL for "".
func orNull(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// LoadToken implements wechat.TokenStore.
func (s *WeChatStore) LoadToken(ctx context.Context, appID string) (string, time.Time, time.Time, error) {
	row := new(wechatTokenRow)
	err := s.db.NewSelect().Model(row).Where("app_id = ?", appID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (row.Token == nil || row.ExpiresAt == nil || row.RefreshAt == nil) {
		return "", time.Time{}, time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, time.Time{}, translate(err)
	}
	return *row.Token, row.ExpiresAt.UTC(), row.RefreshAt.UTC(), nil
}

// AcquireTokenLease implements wechat.TokenStore: one UPDATE decides among
// instances racing for the lease.
func (s *WeChatStore) AcquireTokenLease(ctx context.Context, appID, owner string, at, until time.Time) (bool, error) {
	var won bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&wechatTokenRow{AppID: appID}).On("CONFLICT (app_id) DO NOTHING").Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*wechatTokenRow)(nil)).
			Set("lease_owner = ?", owner).
			Set("lease_until = ?", until.UTC()).
			Where("app_id = ?", appID).
			WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
				return q.Where("lease_until IS NULL").WhereOr("lease_until < ?", at.UTC()).WhereOr("lease_owner = ?", owner)
			}).
			Exec(ctx)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		won = k == 1
		return nil
	})
	return won, translate(err)
}

// SaveToken implements wechat.TokenStore. It stores nothing when owner's
// lease has passed to another instance, whose token is as good.
func (s *WeChatStore) SaveToken(ctx context.Context, appID, owner, sealed string, expiresAt, refreshAt time.Time) error {
	_, err := s.db.NewUpdate().Model((*wechatTokenRow)(nil)).
		Set("token = ?", sealed).
		Set("expires_at = ?", expiresAt.UTC()).
		Set("refresh_at = ?", refreshAt.UTC()).
		Set("lease_owner = NULL").
		Set("lease_until = NULL").
		Where("app_id = ?", appID).
		Where("lease_owner = ?", owner).
		Exec(ctx)
	return translate(err)
}

// ReleaseTokenLease implements wechat.TokenStore.
func (s *WeChatStore) ReleaseTokenLease(ctx context.Context, appID, owner string) error {
	_, err := s.db.NewUpdate().Model((*wechatTokenRow)(nil)).
		Set("lease_owner = NULL").
		Set("lease_until = NULL").
		Where("app_id = ?", appID).
		Where("lease_owner = ?", owner).
		Exec(ctx)
	return translate(err)
}
