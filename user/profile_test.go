package user_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
	"wxtodo/user"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// GraphQL documents of the profile API.
const (
	userFields            = `id nickname avatarUrl createdAt`
	updateProfileMutation = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { ` + userFields + ` } }`
	meQuery               = `{ me { ` + userFields + ` } }`
)

type userJSON struct {
	ID        string `json:"id"`
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"avatarUrl"`
	CreatedAt string `json:"createdAt"`
}

// me returns the caller's user.
func me(tb testing.TB, s *apitest.Server, token string) userJSON {
	tb.Helper()
	var d struct {
		Me userJSON `json:"me"`
	}
	s.OK(tb, meQuery, &d, apitest.As(token))
	return d.Me
}

// updateProfile sends an update that must succeed and returns the user.
func updateProfile(tb testing.TB, s *apitest.Server, token string, input map[string]any) userJSON {
	tb.Helper()
	var d struct {
		UpdateProfile userJSON `json:"updateProfile"`
	}
	s.OK(tb, updateProfileMutation, &d, apitest.As(token), apitest.Vars(map[string]any{"input": input}))
	return d.UpdateProfile
}

// wantRejected sends an update that must fail with BAD_USER_INPUT on
// field, without data.
func wantRejected(tb testing.TB, s *apitest.Server, token string, input map[string]any, field string) {
	tb.Helper()
	r := s.Fails(tb, updateProfileMutation, errcode.BadUserInput, apitest.As(token), apitest.Vars(map[string]any{"input": input}))
	if got := r.Ext("field"); got != field {
		tb.Errorf("got extensions.field %q, want %q: %s", got, field, r.Raw)
	}
	var d map[string]json.RawMessage
	if string(r.Data) != "null" {
		r.Decode(tb, &d)
	}
	if v, ok := d["updateProfile"]; ok && string(v) != "null" {
		tb.Errorf("got data.updateProfile %s, want null: %s", v, r.Raw)
	}
}

// The rule tables' helpers, shared with them (rules_test.go).
var (
	httpsURL = user.HTTPSURL
	brief    = user.Brief
)

// TestUpdateProfile: the profile through the API, stored on each
// database. The rules themselves are NormalizeProfile's (rules_test.go);
// here the longest values must fit the columns, trimming and clearing
// must reach the database, and a refused update must change nothing.
func TestUpdateProfile(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})

		t.Run("a new user has an empty profile", func(t *testing.T) {
			tok, id := s.Login(t, "newbie")
			got := me(t, s, tok)
			if got.ID != id || got.Nickname != "" || got.AvatarURL != "" {
				t.Errorf("got %+v, want id %s with empty nickname and avatarUrl", got, id)
			}
			if _, err := time.Parse(time.RFC3339Nano, got.CreatedAt); err != nil {
				t.Errorf("createdAt %q is not RFC 3339: %v", got.CreatedAt, err)
			}
		})

		t.Run("a valid nickname is stored trimmed", func(t *testing.T) {
			tok, _ := s.Login(t, "nick")
			for _, c := range []struct{ name, nickname, want string }{
				{"plain", "Alice", "Alice"},
				{"surrounded by whitespace", " \t Alice Liddell \n", "Alice Liddell"},
				{"64 ASCII characters", strings.Repeat("n", 64), strings.Repeat("n", 64)},
				{"64 multi-byte characters", strings.Repeat("好", 64), strings.Repeat("好", 64)},
				{"64 emoji", strings.Repeat("🐱", 64), strings.Repeat("🐱", 64)},
				{"empty clears it", "", ""},
				{"only spaces clear it", "   ", ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					got := updateProfile(t, s, tok, map[string]any{"nickname": c.nickname})
					if got.Nickname != c.want {
						t.Errorf("updateProfile: got nickname %s, want %s", brief(got.Nickname), brief(c.want))
					}
					if m := me(t, s, tok); m.Nickname != c.want {
						t.Errorf("me: got nickname %s, want %s", brief(m.Nickname), brief(c.want))
					}
				})
			}
		})

		t.Run("a valid avatarUrl is stored trimmed; empty clears it", func(t *testing.T) {
			tok, _ := s.Login(t, "avatar")
			for _, c := range []struct{ name, avatarURL, want string }{
				{"https URL", "https://example.com/a.png", "https://example.com/a.png"},
				{"surrounded by spaces", "  https://example.com/b.png  ", "https://example.com/b.png"},
				{"1024 bytes", httpsURL(1024), httpsURL(1024)},
				{"empty clears it", "", ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					got := updateProfile(t, s, tok, map[string]any{"avatarUrl": c.avatarURL})
					if got.AvatarURL != c.want {
						t.Errorf("updateProfile: got avatarUrl %s, want %s", brief(got.AvatarURL), brief(c.want))
					}
					if m := me(t, s, tok); m.AvatarURL != c.want {
						t.Errorf("me: got avatarUrl %s, want %s", brief(m.AvatarURL), brief(c.want))
					}
				})
			}
		})

		t.Run("a bad field is BAD_USER_INPUT on that field and changes nothing", func(t *testing.T) {
			tok, _ := s.Login(t, "badfield")
			before := updateProfile(t, s, tok, map[string]any{"nickname": "Before", "avatarUrl": "https://example.com/before.png"})
			for _, c := range []struct {
				name  string
				input map[string]any
				field string
			}{
				{"65-character nickname", map[string]any{"nickname": strings.Repeat("好", 65)}, "nickname"},
				{"nickname with NUL", map[string]any{"nickname": "Al\u0000ice"}, "nickname"},
				{"http avatarUrl", map[string]any{"avatarUrl": "http://example.com/a.png"}, "avatarUrl"},
				{"1025-byte avatarUrl", map[string]any{"avatarUrl": httpsURL(1025)}, "avatarUrl"},
				// One bad field rejects the whole update.
				{"a good nickname with a bad avatarUrl", map[string]any{"nickname": "New", "avatarUrl": "http://x"}, "avatarUrl"},
				{"a bad nickname with a good avatarUrl", map[string]any{"nickname": strings.Repeat("n", 65), "avatarUrl": "https://example.com/new.png"}, "nickname"},
			} {
				t.Run(c.name, func(t *testing.T) {
					wantRejected(t, s, tok, c.input, c.field)
					if got := me(t, s, tok); got != before {
						t.Errorf("me: got %+v, want unchanged %+v", got, before)
					}
				})
			}
		})

		t.Run("fields left out or null stay as they are", func(t *testing.T) {
			tok, id := s.Login(t, "partial")
			start := updateProfile(t, s, tok, map[string]any{"nickname": "Nick", "avatarUrl": "https://example.com/1.png"})
			for _, c := range []struct {
				name       string
				input      map[string]any
				wantNick   string
				wantAvatar string
			}{
				{"nickname only", map[string]any{"nickname": "Nick2"}, "Nick2", "https://example.com/1.png"},
				{"avatarUrl only", map[string]any{"avatarUrl": "https://example.com/2.png"}, "Nick2", "https://example.com/2.png"},
				{"empty input", map[string]any{}, "Nick2", "https://example.com/2.png"},
				{"both null", map[string]any{"nickname": nil, "avatarUrl": nil}, "Nick2", "https://example.com/2.png"},
				{"clear avatarUrl only", map[string]any{"avatarUrl": ""}, "Nick2", ""},
				{"clear nickname, null avatarUrl", map[string]any{"nickname": "", "avatarUrl": nil}, "", ""},
				{"both", map[string]any{"nickname": "Both", "avatarUrl": "https://example.com/3.png"}, "Both", "https://example.com/3.png"},
			} {
				// One user's profile, changed step by step: a failed
				// step leaves the next ones meaningless, so they run in
				// this test, not as subtests.
				got := updateProfile(t, s, tok, c.input)
				want := userJSON{ID: id, Nickname: c.wantNick, AvatarURL: c.wantAvatar, CreatedAt: start.CreatedAt}
				for _, u := range []struct {
					src string
					got userJSON
				}{{"updateProfile", got}, {"me", me(t, s, tok)}} {
					if u.got != want {
						t.Errorf("%s: %s: got %+v, want %+v", c.name, u.src, u.got, want)
					}
				}
			}
		})

		t.Run("bob's update does not touch alice", func(t *testing.T) {
			alice, aliceID := s.Login(t, "alice")
			bob, bobID := s.Login(t, "bob")
			a := updateProfile(t, s, alice, map[string]any{"nickname": "Alice", "avatarUrl": "https://example.com/alice.png"})
			b := updateProfile(t, s, bob, map[string]any{"nickname": "Bob", "avatarUrl": "https://example.com/bob.png"})
			if b.ID != bobID {
				t.Errorf("bob's update: got id %s, want %s", b.ID, bobID)
			}
			updateProfile(t, s, bob, map[string]any{"nickname": "", "avatarUrl": ""})
			if got := me(t, s, alice); got != a || got.ID != aliceID {
				t.Errorf("alice: got %+v, want unchanged %+v", got, a)
			}
			if got := me(t, s, bob); got.ID != bobID || got.Nickname != "" || got.AvatarURL != "" {
				t.Errorf("bob: got %+v, want id %s with a cleared profile", got, bobID)
			}
		})
	})
}
