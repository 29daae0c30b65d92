package auth_test

import (
	"fmt"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// TestLiveSessionsPerUserAreCapped: past MaxSessions a user's login
// revokes their oldest sessions, so logins in a loop cannot grow the
// session table; the newest devices stay signed in, other users' sessions
// are untouched, and a same-code retry (which replaces its own session)
// counts once.
func TestLiveSessionsPerUserAreCapped(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		const max = 3
		s := apitest.New(t, url, apitest.Options{MaxSessions: max})
		other, _ := s.Login(t, "someone-else")

		var tokens []string
		var userID string
		for i := range max + 2 {
			code := fmt.Sprintf("device-%d", i)
			if i > 0 {
				s.WeChat.On(code, wechattest.Reply{As: "device-0"})
			}
			token, id := s.Login(t, code)
			if userID != "" && id != userID {
				t.Fatalf("login %d: got user %s, want %s (one WeChat user)", i, id, userID)
			}
			userID = id
			tokens = append(tokens, token)
		}
		for i, token := range tokens {
			r := s.Post(t, meQuery, apitest.As(token))
			if i < len(tokens)-max {
				wantUnauthenticated(t, r, "INVALID_TOKEN")
				continue
			}
			if len(r.Errors) > 0 {
				t.Errorf("session %d of %d, among the newest %d: %s", i+1, len(tokens), max, r.Raw)
			}
		}
		if n := s.Count(t, "sessions", "user_id = $1", userID); n != max {
			t.Errorf("got %d sessions of the user, want %d", n, max)
		}
		if got := meID(t, s, other); got == userID {
			t.Errorf("the other user's session: got user %s", got)
		}

		// A retry of the newest login replaces its session: still max.
		retry, _ := s.Login(t, fmt.Sprintf("device-%d", max+1))
		if got := meID(t, s, retry); got != userID {
			t.Errorf("retry: got user %s, want %s", got, userID)
		}
		if got := meID(t, s, tokens[len(tokens)-2]); got != userID {
			t.Errorf("the second newest session after a retry of the newest: got user %q, want %s", got, userID)
		}
		if n := s.Count(t, "sessions", "user_id = $1", userID); n != max {
			t.Errorf("after a retry: got %d sessions of the user, want %d", n, max)
		}
	})
}
