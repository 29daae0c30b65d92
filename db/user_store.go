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

// UpdateProfile implements user.Store.
func (s *UserStore) UpdateProfile(ctx context.Context, userID int64, in user.ProfileInput) (*user.User, error) {
	row := new(userRow)
	q := s.db.NewUpdate().Model(row).
		Set("updated_at = ?", now()).
		Where("id = ?", userID).
		Returning("*")
	if in.Nickname != nil {
		q = q.Set("nickname = ?", *in.Nickname)
	}
	if in.AvatarURL != nil {
		q = q.Set("avatar_url = ?", *in.AvatarURL)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, translate(err)
	}
	return row.user(), nil
}
