package db

import (
	"time"

	"github.com/uptrace/bun"

	"wxtodo/user"
)

// Row structs mirror the tables; the domain types stay free of bun.

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID        int64   `bun:",pk,autoincrement"`
	AppID     string  `bun:",notnull"`
	OpenID    string  `bun:",notnull"`
	UnionID   *string `bun:""`
	Nickname  string  `bun:",notnull"`
	AvatarURL string  `bun:",notnull"`
	TodoCount int64   `bun:",notnull"`
	DoneCount int64   `bun:",notnull"`
	// SessionKey and PrevSessionKey are sealed (package secret), never
	// plaintext; SessionKeyFP fingerprints the current one.
	SessionKey     *string `bun:""`
	SessionKeyFP   []byte  `bun:"session_key_fp"`
	PrevSessionKey *string `bun:""`
	PhoneNumber    *string `bun:""`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (r *userRow) user() *user.User {
	return &user.User{ID: r.ID, Nickname: r.Nickname, AvatarURL: r.AvatarURL, PhoneNumber: r.PhoneNumber, CreatedAt: r.CreatedAt.UTC()}
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	ID        int64  `bun:",pk,autoincrement"`
	TokenHash []byte `bun:",notnull"`
	UserID    int64  `bun:",notnull"`
	CreatedAt time.Time
	ExpiresAt time.Time
}

type wechatTokenRow struct {
	bun.BaseModel `bun:"table:wechat_tokens"`

	AppID      string     `bun:",pk"`
	Token      *string    `bun:""` // sealed
	ExpiresAt  *time.Time `bun:""`
	LeaseOwner *string    `bun:""`
	LeaseUntil *time.Time `bun:""`
	RefreshAt  *time.Time `bun:""` // when the token is due to be fetched again
}

type todoRow struct {
	bun.BaseModel `bun:"table:todos"`

	ID               int64   `bun:",pk,autoincrement"`
	UserID           int64   `bun:",notnull"`
	Title            string  `bun:",notnull"`
	Done             bool    `bun:",notnull"`
	ClientMutationID *string `bun:""`
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

type loginCodeRow struct {
	bun.BaseModel `bun:"table:login_codes"`

	CodeHash  []byte `bun:",pk"`
	UserID    *int64 `bun:""`
	SessionID *int64 `bun:""`
	CreatedAt time.Time
}

// now is the database clock: UTC, at the microsecond precision both
// dialects keep, so what is written reads back equal.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
