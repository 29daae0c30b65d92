package auth_test

import (
	"context"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/auth"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

const meQuery = `{ me { id nickname avatarUrl createdAt } }`

// meID returns the caller's user ID; the request must succeed.
func meID(tb testing.TB, s *apitest.Server, token string) string {
	tb.Helper()
	var d struct {
		Me struct {
			ID string `json:"id"`
		} `json:"me"`
	}
	s.OK(tb, meQuery, &d, apitest.As(token))
	return d.Me.ID
}

// wantUnauthenticated checks that r failed with UNAUTHENTICATED and reason.
func wantUnauthenticated(tb testing.TB, r *apitest.Response, reason string) {
	tb.Helper()
	if got := r.Code(); got != "UNAUTHENTICATED" {
		tb.Fatalf("got code %q, want UNAUTHENTICATED: %s", got, r.Raw)
	}
	if got := r.Ext("reason"); got != reason {
		tb.Errorf("got reason %q, want %q: %s", got, reason, r.Raw)
	}
}

// tokenHash is what the sessions table keeps of token.
func tokenHash(tb testing.TB, token string) []byte {
	tb.Helper()
	h, ok := auth.ParseToken(token)
	if !ok {
		tb.Fatalf("token %q does not parse", token)
	}
	return h[:]
}

// sessionExpiry reads the expires_at of token's session.
func sessionExpiry(tb testing.TB, s *apitest.Server, token string) time.Time {
	tb.Helper()
	var exp time.Time
	if err := s.DB.QueryRow("SELECT expires_at FROM sessions WHERE token_hash = $1", tokenHash(tb, token)).Scan(&exp); err != nil {
		tb.Fatalf("read expires_at: %v", err)
	}
	return exp
}

// setSessionExpiry moves the expiry of token's session.
func setSessionExpiry(tb testing.TB, s *apitest.Server, token string, at time.Time) {
	tb.Helper()
	if n := dbtest.Exec(tb, s.DB, "UPDATE sessions SET expires_at = $1 WHERE token_hash = $2", at.UTC(), tokenHash(tb, token)); n != 1 {
		tb.Fatalf("set expires_at: %d sessions changed, want 1", n)
	}
}

func TestTokenChecks(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		token, userID := s.Login(t, "token-owner")
		changed := []byte(token)
		if changed[5] == 'A' {
			changed[5] = 'B'
		} else {
			changed[5] = 'A'
		}
		unknown, _ := auth.NewToken()

		tests := []struct {
			name, header, reason string
		}{
			{"no header", "", "MISSING_TOKEN"},
			{"garbage bearer token", "Bearer garbage", "INVALID_TOKEN"},
			{"truncated token", "Bearer " + token[:len(token)-1], "INVALID_TOKEN"},
			{"token with one character changed", "Bearer " + string(changed), "INVALID_TOKEN"},
			{"well-formed unknown token", "Bearer " + unknown, "INVALID_TOKEN"},
			{"token twice", "Bearer " + token + token, "INVALID_TOKEN"},
			{"basic scheme", "Basic xyz", "INVALID_TOKEN"},
			{"basic scheme with a real token", "Basic " + token, "INVALID_TOKEN"},
			{"token without scheme", token, "INVALID_TOKEN"},
			{"scheme without token", "Bearer", "INVALID_TOKEN"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.Post(t, meQuery, apitest.Header("Authorization", tt.header))
				wantUnauthenticated(t, r, tt.reason)
				if string(r.Data) != "null" {
					t.Errorf("got data %s, want null (me is non-null)", r.Data)
				}
			})
		}
		t.Run("valid token", func(t *testing.T) {
			if got := meID(t, s, token); got != userID {
				t.Errorf("got user %s, want %s", got, userID)
			}
		})
		t.Run("scheme is case-insensitive", func(t *testing.T) {
			s.OK(t, meQuery, nil, apitest.Header("Authorization", "bearer "+token))
		})
	})
}

func TestExpiredToken(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		token, userID := s.Login(t, "expiring")
		setSessionExpiry(t, s, token, time.Now().Add(-time.Minute))
		wantUnauthenticated(t, s.Post(t, meQuery, apitest.As(token)), "EXPIRED_TOKEN")
		// Still expired: the failed request did not renew it.
		wantUnauthenticated(t, s.Post(t, meQuery, apitest.As(token)), "EXPIRED_TOKEN")

		// A new login, even sent with the expired token, gives a working one.
		var d apitest.LoginData
		s.OK(t, apitest.LoginMutation, &d, apitest.As(token), codeVars("expiring-again"))
		if d.Login.Token == token {
			t.Fatalf("login returned the expired token")
		}
		if got := meID(t, s, d.Login.Token); got == "" || got == userID {
			t.Errorf("new token: got user %q, want the new user's ID (not %s)", got, userID)
		}
	})
}

func TestLoginIgnoresAuthorizationHeader(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		expired, _ := s.Login(t, "ignore-expired")
		setSessionExpiry(t, s, expired, time.Now().Add(-time.Hour))
		loggedOut, _ := s.Login(t, "ignore-logged-out")
		s.OK(t, `mutation { logout }`, nil, apitest.As(loggedOut))
		unknown, _ := auth.NewToken()

		headers := []struct{ name, header string }{
			{"garbage", "Bearer garbage"},
			{"basic", "Basic xyz"},
			{"no scheme", "just-junk"},
			{"unknown token", "Bearer " + unknown},
			{"expired token", "Bearer " + expired},
			{"logged-out token", "Bearer " + loggedOut},
		}
		for i, h := range headers {
			t.Run(h.name, func(t *testing.T) {
				var d apitest.LoginData
				s.OK(t, apitest.LoginMutation, &d, apitest.Header("Authorization", h.header), codeVars("ignore-header-"+string(rune('a'+i))))
				if d.Login.Token == "" {
					t.Fatalf("got no token")
				}
				meID(t, s, d.Login.Token)
			})
		}
	})
}

func TestBadTokenFailsOnlyAuthFields(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		expired, _ := s.Login(t, "partial-expired")
		setSessionExpiry(t, s, expired, time.Now().Add(-time.Minute))
		unknown, _ := auth.NewToken()
		tests := []struct{ name, header, reason string }{
			{"garbage", "Bearer garbage", "INVALID_TOKEN"},
			{"unknown", "Bearer " + unknown, "INVALID_TOKEN"},
			{"expired", "Bearer " + expired, "EXPIRED_TOKEN"},
			{"missing", "", "MISSING_TOKEN"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.Post(t, `{ __typename todo(id: "1") { id } }`, apitest.Header("Authorization", tt.header))
				wantUnauthenticated(t, r, tt.reason)
				if len(r.Errors) != 1 {
					t.Fatalf("got %d errors, want 1: %s", len(r.Errors), r.Raw)
				}
				if p := r.Errors[0].Path; len(p) != 1 || p[0] != "todo" {
					t.Errorf("got error path %v, want [todo]", p)
				}
				var data map[string]any
				r.Decode(t, &data)
				if data["__typename"] != "Query" {
					t.Errorf("got __typename %v, want Query: %s", data["__typename"], r.Raw)
				}
				if v, ok := data["todo"]; !ok || v != nil {
					t.Errorf("got todo %v (present %v), want null: %s", v, ok, r.Raw)
				}
			})
		}
	})
}

func TestLogout(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		// Two devices of one WeChat user: two codes, one openid.
		s.WeChat.On("phone", wechattest.Reply{Body: `{"openid":"oid-dave","session_key":"sk-phone"}`})
		s.WeChat.On("tablet", wechattest.Reply{Body: `{"openid":"oid-dave","session_key":"sk-tablet"}`})
		phone, user1 := s.Login(t, "phone")
		tablet, user2 := s.Login(t, "tablet")
		if user1 != user2 {
			t.Fatalf("got users %s and %s, want one user", user1, user2)
		}

		var d struct {
			Logout bool `json:"logout"`
		}
		s.OK(t, `mutation { logout }`, &d, apitest.As(phone))
		if !d.Logout {
			t.Errorf("logout: got false, want true")
		}
		wantUnauthenticated(t, s.Post(t, meQuery, apitest.As(phone)), "INVALID_TOKEN")
		wantUnauthenticated(t, s.Post(t, `mutation { logout }`, apitest.As(phone)), "INVALID_TOKEN")
		if got := meID(t, s, tablet); got != user1 {
			t.Errorf("other session: got user %s, want %s", got, user1)
		}
		if n := s.Count(t, "sessions", ""); n != 1 {
			t.Errorf("got %d sessions, want 1 (the tablet's)", n)
		}
		if n := s.Count(t, "users", ""); n != 1 {
			t.Errorf("got %d users, want 1: logout keeps the user", n)
		}
	})
}

func TestLogoutRevokesTheRestOfTheRequest(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "leaver")
	r := s.Post(t, `mutation { logout createTodo(input: {title: "after logout"}) { id } }`, apitest.As(token))
	if len(r.Errors) != 1 || r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("got %s, want one UNAUTHENTICATED error for the field after logout", r.Raw)
	}
	if p := r.Errors[0].Path; len(p) != 1 || p[0] != "createTodo" {
		t.Errorf("got the error on %v, want on createTodo", p)
	}
	if got := s.Count(t, "todos", ""); got != 0 {
		t.Errorf("got %d todos, want 0: a field after logout acted with the revoked token", got)
	}
}

func TestSlidingSessionRenewal(t *testing.T) {
	const ttl = auth.DefaultTTL
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})

		t.Run("fresh session is not written", func(t *testing.T) {
			token, _ := s.Login(t, "renew-fresh")
			before := sessionExpiry(t, s, token)
			meID(t, s, token)
			meID(t, s, token)
			if after := sessionExpiry(t, s, token); !after.Equal(before) {
				t.Errorf("got expires_at %v, want unchanged %v", after, before)
			}
		})
		t.Run("session used recently is not written", func(t *testing.T) {
			token, _ := s.Login(t, "renew-recent")
			setSessionExpiry(t, s, token, time.Now().Add(ttl-30*time.Minute))
			before := sessionExpiry(t, s, token)
			meID(t, s, token)
			if after := sessionExpiry(t, s, token); !after.Equal(before) {
				t.Errorf("got expires_at %v, want unchanged %v", after, before)
			}
		})
		t.Run("session near its end is extended by the TTL", func(t *testing.T) {
			token, _ := s.Login(t, "renew-old")
			other, _ := s.Login(t, "renew-other")
			setSessionExpiry(t, s, token, time.Now().Add(time.Hour))
			otherBefore := sessionExpiry(t, s, other)

			start := time.Now()
			meID(t, s, token)
			end := time.Now()
			got := sessionExpiry(t, s, token)
			lo, hi := start.Add(ttl-time.Second), end.Add(ttl+time.Second)
			if got.Before(lo) || got.After(hi) {
				t.Errorf("got expires_at %v (in %v), want about now+%v", got, time.Until(got).Round(time.Minute), ttl)
			}
			if after := sessionExpiry(t, s, other); !after.Equal(otherBefore) {
				t.Errorf("another session: got expires_at %v, want unchanged %v", after, otherBefore)
			}
			// The renewed session is fresh again: the next request does not write.
			meID(t, s, token)
			if again := sessionExpiry(t, s, token); !again.Equal(got) {
				t.Errorf("after a second request: got expires_at %v, want unchanged %v", again, got)
			}
		})
	})
}

// TestExpiredSessionsAreDeletedLater: the janitor deletes a session a TTL
// after it expired; until then its token answers EXPIRED_TOKEN, not
// INVALID_TOKEN, so the client knows to log in again. Login codes go once
// WeChat has forgotten them.
func TestExpiredSessionsAreDeletedLater(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{SessionTTL: time.Hour})
		live, _ := s.Login(t, "janitor-live")
		recent, _ := s.Login(t, "janitor-recent")
		old, _ := s.Login(t, "janitor-old")
		setSessionExpiry(t, s, recent, time.Now().Add(-30*time.Minute))
		setSessionExpiry(t, s, old, time.Now().Add(-2*time.Hour))
		dbtest.Exec(t, s.DB, "UPDATE login_codes SET created_at = $1 WHERE code_hash = $2",
			time.Now().Add(-auth.CodeReuseWindow-time.Minute).UTC(), auth.CodeHash(wechattest.AppID, "janitor-old"))

		n, err := s.Auth.DeleteExpired(context.Background())
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		if n != 1 {
			t.Errorf("DeleteExpired removed %d sessions, want 1 (the one expired longer than the TTL)", n)
		}
		if got := s.Count(t, "login_codes", ""); got != 2 {
			t.Errorf("got %d login codes, want 2 (the old one deleted)", got)
		}
		meID(t, s, live)
		wantUnauthenticated(t, s.Post(t, meQuery, apitest.As(recent)), "EXPIRED_TOKEN")
		wantUnauthenticated(t, s.Post(t, meQuery, apitest.As(old)), "INVALID_TOKEN")
	})
}
