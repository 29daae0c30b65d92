// Package user provides the signed-in person of a mini-program and the rules
// for editing their profile.
package user

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"wxtodo/errcode"
	"wxtodo/input"
)

// Limits on profile fields.
const (
	MaxNicknameLen  = 64   // characters
	MaxAvatarURLLen = 1024 // bytes
)

// User is a person signed in through WeChat. Their WeChat identifiers stay
// in the database: clients only ever see the server's own ID.
type User struct {
	ID        int64
	Nickname  string
	AvatarURL string
	// PhoneNumber is the number bound through WeChat (with its country
	// code for numbers outside mainland China), nil until bound. Only the
	// user themself is ever shown it.
	PhoneNumber *string
	CreatedAt   time.Time
}

// ProfileInput changes a user's profile; a nil field stays as it is.
type ProfileInput struct {
	Nickname  *string
	AvatarURL *string
}

// Store persists profiles.
type Store interface {
	// UpdateProfile applies the non-nil fields and returns the user, or a
	// NOT_FOUND error when the user does not exist.
	UpdateProfile(ctx context.Context, userID int64, in ProfileInput) (*User, error)
}

// Service holds the profile rules.
type Service struct {
	Store Store
}

// UpdateProfile validates in and applies it to the user's profile. It
// returns a BAD_USER_INPUT error naming the field at fault.
func (s *Service) UpdateProfile(ctx context.Context, userID int64, in ProfileInput) (*User, error) {
	clean, err := NormalizeProfile(in)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.UpdateProfile(ctx, userID, clean)
	if err != nil {
		return nil, fmt.Errorf("update profile: %w", err)
	}
	return u, nil
}

// NormalizeProfile trims and checks in: a nickname of at most 64
// characters without control characters, empty or visible, and an avatar URL that is empty
// (to clear it) or an absolute https URL of at most 1024 bytes.
func NormalizeProfile(in ProfileInput) (ProfileInput, error) {
	var out ProfileInput
	if in.Nickname != nil {
		n := strings.TrimSpace(*in.Nickname)
		if err := input.Chars("nickname", n, 0, MaxNicknameLen); err != nil {
			return out, err
		}
		// Empty clears the nickname; invisible is not empty.
		if err := input.Visible("nickname", n); err != nil {
			return out, err
		}
		out.Nickname = &n
	}
	if in.AvatarURL != nil {
		a := strings.TrimSpace(*in.AvatarURL)
		if err := input.Bytes("avatarUrl", a, 0, MaxAvatarURLLen); err != nil {
			return out, err
		}
		if a != "" {
			u, err := url.Parse(a)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || strings.ContainsAny(a, " \t\r\n") {
				return out, errcode.Input("avatarUrl", "avatarUrl must be an https URL")
			}
		}
		out.AvatarURL = &a
	}
	return out, nil
}
