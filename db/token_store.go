package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"wxtodo/wechat"
)

// TokenStore shares each app's access_token among the server's instances,
// with the lease that lets one instance at a time refresh it.
type TokenStore struct {
	db *DB
}

var _ wechat.TokenStore = (*TokenStore)(nil)

// NewTokenStore returns the store on db.
func NewTokenStore(db *DB) *TokenStore { return &TokenStore{db: db} }

var (
	qLoadToken = statement(`SELECT token, expires_at, refresh_at FROM wechat_tokens WHERE app_id = $1`)
	// qAcquireTokenLease decides in one statement among instances racing
	// for the lease: the row is created with the lease, or takes the new
	// owner only while no other owner's lease is running.
	qAcquireTokenLease = statement(`INSERT INTO wechat_tokens (app_id, lease_owner, lease_until) VALUES ($1, $2, $4)
		ON CONFLICT (app_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
		WHERE wechat_tokens.lease_until IS NULL OR wechat_tokens.lease_until < $3 OR wechat_tokens.lease_owner = $2`)
	qSaveToken = statement(`UPDATE wechat_tokens
		SET token = $3, expires_at = $4, refresh_at = $5, lease_owner = NULL, lease_until = NULL
		WHERE app_id = $1 AND lease_owner = $2`)
	qReleaseTokenLease = statement(`UPDATE wechat_tokens SET lease_owner = NULL, lease_until = NULL
		WHERE app_id = $1 AND lease_owner = $2`)
	qClearTokens = statement(`UPDATE wechat_tokens SET token = NULL, expires_at = NULL, refresh_at = NULL
		WHERE token IS NOT NULL`)
)

// LoadToken implements wechat.TokenStore.
func (s *TokenStore) LoadToken(ctx context.Context, appID string) (string, time.Time, time.Time, error) {
	var (
		token              sql.NullString
		expiresAt, refresh sql.NullTime
	)
	err := s.db.queryRow(ctx, nil, qLoadToken, appID).Scan(&token, &expiresAt, &refresh)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !(token.Valid && expiresAt.Valid && refresh.Valid) {
		return "", time.Time{}, time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, time.Time{}, translate(err)
	}
	return token.String, expiresAt.Time.UTC(), refresh.Time.UTC(), nil
}

// AcquireTokenLease implements wechat.TokenStore.
func (s *TokenStore) AcquireTokenLease(ctx context.Context, appID, owner string, at, until time.Time) (bool, error) {
	n, err := s.db.exec(ctx, nil, qAcquireTokenLease, appID, owner, dbTime(at), dbTime(until))
	if err != nil {
		return false, translate(err)
	}
	return n == 1, nil
}

// SaveToken implements wechat.TokenStore. It stores nothing when owner's
// lease has passed to another instance, whose token is as good.
func (s *TokenStore) SaveToken(ctx context.Context, appID, owner, sealed string, expiresAt, refreshAt time.Time) error {
	_, err := s.db.exec(ctx, nil, qSaveToken, appID, owner, sealed, dbTime(expiresAt), dbTime(refreshAt))
	return translate(err)
}

// ReleaseTokenLease implements wechat.TokenStore.
func (s *TokenStore) ReleaseTokenLease(ctx context.Context, appID, owner string) error {
	_, err := s.db.exec(ctx, nil, qReleaseTokenLease, appID, owner)
	return translate(err)
}

// ClearTokens drops every stored access_token rather than re-sealing it
// (wxdata.Rekey): the next use fetches it again.
func (s *TokenStore) ClearTokens(ctx context.Context) error {
	_, err := s.db.exec(ctx, nil, qClearTokens)
	return translate(err)
}
