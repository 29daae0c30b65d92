package main

import (
	"fmt"
	"testing"
	"time"

	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

func TestLoginNewAndReturningUser(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		var first, again loginData
		e.ok("", loginMutation, map[string]any{"code": "alice"}, &first)
		e.ok("", loginMutation, map[string]any{"code": "alice-2nd-code"}, nil)
		if !first.Login.IsNewUser {
			t.Errorf("first login: got isNewUser false, want true")
		}
		if len(first.Login.Token) != 43 {
			t.Errorf("token %q: got length %d, want 43 (32 bytes base64url)", first.Login.Token, len(first.Login.Token))
		}
		exp, err := time.Parse(time.RFC3339, first.Login.ExpiresAt)
		if err != nil {
			t.Fatalf("expiresAt %q is not RFC 3339: %v", first.Login.ExpiresAt, err)
		}
		if d := time.Until(exp); d < 167*time.Hour || d > 169*time.Hour {
			t.Errorf("expiresAt in %v, want about 168h", d)
		}
		// The same WeChat user with a new code: the same user, not new.
		e.wx.On("alice-again") // default answer
		e.ok("", loginMutation, map[string]any{"code": "alice"}, &again)
		_ = again
		if e.count("users", "") != 2 {
			t.Errorf("got %d users, want 2 (alice and alice-2nd-code are different openids)", e.count("users", ""))
		}
		if e.count("sessions", "") != 3 {
			t.Errorf("got %d sessions, want 3", e.count("sessions", ""))
		}
		// The session_key is kept with the user, sealed: never in plaintext.
		if e.count("users", "session_key IS NOT NULL") != 2 {
			t.Errorf("session_key is not stored with the user")
		}
		if n := e.count("users", "session_key LIKE $1", "%"+wechattest.SessionKey("alice")+"%"); n != 0 {
			t.Errorf("session_key stored in plaintext")
		}
	})
}

func TestConcurrentFirstLoginsMakeOneUser(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		const n = 20
		// Different codes of one WeChat user: each is a real exchange.
		answers := loginConcurrently(t, []*env{e}, n, func(i int) string {
			code := fmt.Sprintf("carol#%d", i)
			e.wx.On(code, wechattest.Reply{Body: `{"openid":"oid-carol","session_key":"sk"}`})
			return code
		})
		news := 0
		for _, a := range answers {
			if a.Login.IsNewUser {
				news++
			}
		}
		if ids := userIDs(answers); len(ids) != 1 {
			t.Errorf("got %d user IDs, want 1", len(ids))
		}
		if news != 1 {
			t.Errorf("got isNewUser on %d logins, want exactly 1", news)
		}
		if got := e.count("users", "open_id = $1", "oid-carol"); got != 1 {
			t.Errorf("got %d users rows, want 1", got)
		}
		if got := e.count("sessions", ""); got != n {
			t.Errorf("got %d sessions, want %d", got, n)
		}
	})
}
