package db

import (
	"context"

	"wxtodo/user"
)

// UserStore keeps profiles.
type UserStore struct {
	db *DB
}

var _ user.Store = (*UserStore)(nil)

// NewUserStore returns the user store on db.
func NewUserStore(db *DB) *UserStore { return &UserStore{db: db} }

// qUpdateProfile changes the fields that are not NULL.
var qUpdateProfile = statement(`UPDATE users
	SET nickname = COALESCE($2, nickname), avatar_url = COALESCE($3, avatar_url), updated_at = $4
	WHERE id = $1
	RETURNING ` + userColumns)

// UpdateProfile implements user.Store.
func (s *UserStore) UpdateProfile(ctx context.Context, userID int64, in user.ProfileInput) (*user.User, error) {
	u, err := scanUser(s.db.queryRow(ctx, nil, qUpdateProfile, userID, nullString(in.Nickname), nullString(in.AvatarURL), now()).Scan)
	if err != nil {
		return nil, translate(err)
	}
	return u, nil
}
