package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxtodo/auth"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

const authMeQuery = `{ me { id nickname avatarUrl createdAt } }`

// bindT returns a copy of e that reports failures to tb, for subtests.
func bindT(e *env, tb testing.TB) *env {
	c := *e
	c.t = tb
	return &c
}

// postAuthorization sends a GraphQL request with the Authorization header
// set to header verbatim (none when header is empty).
func postAuthorization(e *env, header, query string, vars map[string]any) *gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	return e.do(req)
}

// wantUnauthenticated checks that r failed with UNAUTHENTICATED and reason.
func wantUnauthenticated(tb testing.TB, r *gqlResponse, reason string) {
	tb.Helper()
	if got := r.code(); got != "UNAUTHENTICATED" {
		tb.Fatalf("got code %q, want UNAUTHENTICATED: %s", got, r.Raw)
	}
	if got := r.ext("reason"); got != reason {
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

// sessionExpiry reads the expires_at of token's session from the database.
func sessionExpiry(e *env, token string) time.Time {
	e.t.Helper()
	var exp time.Time
	if err := e.sqldb.QueryRowContext(context.Background(), "SELECT expires_at FROM sessions WHERE token_hash = $1", tokenHash(e.t, token)).
		Scan(&exp); err != nil {
		e.t.Fatalf("read expires_at: %v", err)
	}
	return exp
}

// setSessionExpiry moves the expiry of token's session in the database.
func setSessionExpiry(e *env, token string, at time.Time) {
	e.t.Helper()
	if _, err := e.sqldb.ExecContext(context.Background(), "UPDATE sessions SET expires_at = $1 WHERE token_hash = $2", at.UTC(), tokenHash(e.t, token)); err != nil {
		e.t.Fatalf("set expires_at: %v", err)
	}
}

// meID returns the caller's user ID; the request must succeed.
func meID(e *env, token string) string {
	e.t.Helper()
	var d struct {
		Me struct {
			ID string `json:"id"`
		} `json:"me"`
	}
	e.ok(token, authMeQuery, nil, &d)
	return d.Me.ID
}

func TestLoginWeChatFailures(t *testing.T) {
	tests := []struct {
		name        string
		reply       wechattest.Reply
		wantCode    string
		wantReason  string // "" means none
		wantErrcode string // "" means none
	}{
		{"invalid code", wechattest.Reply{Errcode: 40029}, "WECHAT_ERROR", "INVALID_CODE", "40029"},
		{"code already used", wechattest.Reply{Errcode: 40163}, "WECHAT_ERROR", "INVALID_CODE", "40163"},
		{"rate limited by WeChat", wechattest.Reply{Errcode: 45011}, "WECHAT_ERROR", "RATE_LIMITED", "45011"},
		{"blocked user", wechattest.Reply{Errcode: 40226}, "WECHAT_ERROR", "BLOCKED_USER", "40226"},
		{"other errcode", wechattest.Reply{Errcode: 40013}, "WECHAT_ERROR", "REJECTED", "40013"},
		{"HTTP 500", wechattest.Reply{Status: http.StatusInternalServerError, Body: "internal error"}, "WECHAT_UNAVAILABLE", "", ""},
		{"garbage body", wechattest.Reply{Body: "<html><body>502 Bad Gateway</body></html>"}, "WECHAT_UNAVAILABLE", "", ""},
		{"answer without openid", wechattest.Reply{Body: "{}"}, "WECHAT_UNAVAILABLE", "", ""},
		{"slower than WECHAT_TIMEOUT", wechattest.Reply{Delay: time.Minute}, "WECHAT_UNAVAILABLE", "", ""},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, "WECHAT_TIMEOUT", "300ms")
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := bindT(e, t)
				code := "failing-code-" + string(rune('a'+i))
				e.wx.On(code, tt.reply)
				r := e.post("", loginMutation, map[string]any{"code": code})
				if got := r.code(); got != tt.wantCode {
					t.Fatalf("got code %q, want %q: %s", got, tt.wantCode, r.Raw)
				}
				if got := r.ext("reason"); got != tt.wantReason {
					t.Errorf("got reason %q, want %q: %s", got, tt.wantReason, r.Raw)
				}
				if got := r.ext("errcode"); got != tt.wantErrcode {
					t.Errorf("got errcode %q, want %q: %s", got, tt.wantErrcode, r.Raw)
				}
				if len(r.Errors) != 1 || len(r.Errors[0].Path) != 1 || r.Errors[0].Path[0] != "login" {
					t.Errorf("got errors %+v, want one error with path [login]", r.Errors)
				}
				if string(r.Data) != "null" {
					t.Errorf("got data %s, want null", r.Data)
				}
				if tt.wantErrcode != "" {
					if n := e.wx.Calls(code); n != 1 {
						t.Errorf("got %d calls to WeChat, want 1 (a refusal is never retried)", n)
					}
				}
				if n := e.count("users", ""); n != 0 {
					t.Errorf("got %d users, want 0 after failed logins", n)
				}
				if n := e.count("sessions", ""); n != 0 {
					t.Errorf("got %d sessions, want 0 after failed logins", n)
				}
			})
		}
	})
}

func TestLoginRetriesSystemBusy(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.wx.On("busy-then-ok", wechattest.Reply{Errcode: -1}, wechattest.Reply{})
		var d loginData
		e.ok("", loginMutation, map[string]any{"code": "busy-then-ok"}, &d)
		if n := e.wx.Calls("busy-then-ok"); n != 2 {
			t.Errorf("got %d calls to WeChat, want 2 (system busy, then success)", n)
		}
		if !d.Login.IsNewUser || d.Login.Token == "" {
			t.Errorf("got %+v, want a new user's session", d.Login)
		}
		if n := e.count("users", "open_id = $1", wechattest.OpenID("busy-then-ok")); n != 1 {
			t.Errorf("got %d users, want 1", n)
		}
		if n := e.count("sessions", ""); n != 1 {
			t.Errorf("got %d sessions, want 1", n)
		}
	})
}

// TestLoginSystemBusyExhaustedIsUnavailable: WeChat's errcode -1 means
// "system busy, try again later"; the client retries it, so when every
// attempt was busy the login failed because WeChat was unavailable, not
// because it refused the code.
func TestLoginSystemBusyExhaustedIsUnavailable(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		e.wx.On("always-busy", wechattest.Reply{Errcode: -1})
		r := e.post("", loginMutation, map[string]any{"code": "always-busy"})
		if n := e.wx.Calls("always-busy"); n < 2 {
			t.Errorf("got %d calls to WeChat, want system busy retried", n)
		}
		if got := r.code(); got != "WECHAT_UNAVAILABLE" {
			t.Errorf("got code %q (reason %q), want WECHAT_UNAVAILABLE: %s", got, r.ext("reason"), r.Raw)
		}
		if n := e.count("users", ""); n != 0 {
			t.Errorf("got %d users, want 0", n)
		}
	})
}

func TestLoginInvalidCodeIsNotRetried(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		// Were the refusal retried, the second reply would sign in.
		e.wx.On("bad-then-ok", wechattest.Reply{Errcode: 40029}, wechattest.Reply{})
		r := e.fails("", loginMutation, map[string]any{"code": "bad-then-ok"}, "WECHAT_ERROR")
		if got := r.ext("reason"); got != "INVALID_CODE" {
			t.Errorf("got reason %q, want INVALID_CODE", got)
		}
		if n := e.wx.Calls("bad-then-ok"); n != 1 {
			t.Errorf("got %d calls to WeChat, want 1", n)
		}
	})
}

func TestLoginAfterUnavailableWeChatCanRetrySameCode(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, "WECHAT_TIMEOUT", "300ms")
		// The first exchange times out (not retried: the deadline has
		// passed); the client's retry of the same code must reach WeChat
		// again instead of being remembered as failed or in progress.
		e.wx.On("flaky", wechattest.Reply{Delay: time.Minute}, wechattest.Reply{})
		e.fails("", loginMutation, map[string]any{"code": "flaky"}, "WECHAT_UNAVAILABLE")
		var d loginData
		e.ok("", loginMutation, map[string]any{"code": "flaky"}, &d)
		if !d.Login.IsNewUser {
			t.Errorf("got isNewUser false, want true: the first attempt created nobody")
		}
		if n := e.wx.Calls("flaky"); n != 2 {
			t.Errorf("got %d calls to WeChat, want 2", n)
		}
		if n := e.count("users", ""); n != 1 {
			t.Errorf("got %d users, want 1", n)
		}
	})
}

func TestLoginStoresUnionID(t *testing.T) {
	unionID := func(e *env, openID string) string {
		e.t.Helper()
		var u sql.NullString
		if err := e.sqldb.QueryRowContext(context.Background(), "SELECT union_id FROM users WHERE open_id = $1", openID).
			Scan(&u); err != nil {
			e.t.Fatalf("read union_id of %s: %v", openID, err)
		}
		if !u.Valid {
			return "<NULL>"
		}
		return u.String
	}
	answer := func(openID, sessionKey, unionID string) wechattest.Reply {
		m := map[string]string{"openid": openID, "session_key": sessionKey}
		if unionID != "" {
			m["unionid"] = unionID
		}
		b, _ := json.Marshal(m)
		return wechattest.Reply{Body: string(b)}
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("stored on first login", func(t *testing.T) {
			e := bindT(e, t)
			e.wx.On("with-union", wechattest.Reply{UnionID: "union-first"})
			e.login("with-union")
			if got := unionID(e, wechattest.OpenID("with-union")); got != "union-first" {
				t.Errorf("got union_id %q, want %q", got, "union-first")
			}
		})
		t.Run("none without one", func(t *testing.T) {
			e := bindT(e, t)
			e.login("without-union")
			if got := unionID(e, wechattest.OpenID("without-union")); got != "<NULL>" {
				t.Errorf("got union_id %q, want NULL", got)
			}
		})
		t.Run("kept when a later login has none", func(t *testing.T) {
			e := bindT(e, t)
			e.wx.On("kept-1", answer("oid-kept", "sk-kept-1", "union-kept"))
			e.wx.On("kept-2", answer("oid-kept", "sk-kept-2", ""))
			_, first := e.login("kept-1")
			_, second := e.login("kept-2")
			if first != second {
				t.Fatalf("got users %s and %s, want one user for one openid", first, second)
			}
			if got := unionID(e, "oid-kept"); got != "union-kept" {
				t.Errorf("got union_id %q, want %q", got, "union-kept")
			}
		})
		t.Run("added when it arrives later", func(t *testing.T) {
			e := bindT(e, t)
			e.wx.On("late-1", answer("oid-late", "sk-late-1", ""))
			e.wx.On("late-2", answer("oid-late", "sk-late-2", "union-late"))
			e.login("late-1")
			e.login("late-2")
			if got := unionID(e, "oid-late"); got != "union-late" {
				t.Errorf("got union_id %q, want %q", got, "union-late")
			}
			if n := e.count("users", "open_id = $1", "oid-late"); n != 1 {
				t.Errorf("got %d users, want 1", n)
			}
		})
	})
}

func TestLoginRejectsMalformedCode(t *testing.T) {
	tests := []struct {
		name, code string
	}{
		{"empty", ""},
		{"129 bytes", strings.Repeat("a", 129)},
		{"far too long", strings.Repeat("a", 10_000)},
		{"space inside", "abc def"},
		{"leading space", " abcdef"},
		{"tab", "abc\tdef"},
		{"newline", "abc\ndef"},
		{"carriage return", "abc\rdef"},
		{"NUL", "abc\x00def"},
		{"DEL", "abc\x7fdef"},
		{"escape", "abc\x1bdef"},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := bindT(e, t)
				r := e.fails("", loginMutation, map[string]any{"code": tt.code}, "BAD_USER_INPUT")
				if got := r.ext("field"); got != "code" {
					t.Errorf("got field %q, want %q: %s", got, "code", r.Raw)
				}
			})
		}
		if n := e.wx.TotalCalls(); n != 0 {
			t.Errorf("got %d calls to WeChat, want 0 for malformed codes", n)
		}
		if n := e.count("users", ""); n != 0 {
			t.Errorf("got %d users, want 0", n)
		}
		if n := e.count("sessions", ""); n != 0 {
			t.Errorf("got %d sessions, want 0", n)
		}
		t.Run("128 bytes is accepted", func(t *testing.T) {
			e := bindT(e, t)
			code := strings.Repeat("b", 128)
			e.login(code)
			if n := e.wx.Calls(code); n != 1 {
				t.Errorf("got %d calls to WeChat, want 1", n)
			}
		})
	})
}

func TestTokenChecks(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		token, userID := e.login("token-owner")
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
				e := bindT(e, t)
				r := postAuthorization(e, tt.header, authMeQuery, nil)
				wantUnauthenticated(t, r, tt.reason)
				if string(r.Data) != "null" {
					t.Errorf("got data %s, want null (me is non-null)", r.Data)
				}
			})
		}
		t.Run("valid token", func(t *testing.T) {
			e := bindT(e, t)
			if got := meID(e, token); got != userID {
				t.Errorf("got user %s, want %s", got, userID)
			}
		})
		t.Run("scheme is case-insensitive", func(t *testing.T) {
			e := bindT(e, t)
			r := postAuthorization(e, "bearer "+token, authMeQuery, nil)
			if len(r.Errors) > 0 {
				t.Errorf("got errors, want success: %s", r.Raw)
			}
		})
	})
}

func TestExpiredToken(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		token, userID := e.login("expiring")
		if _, err := e.sqldb.ExecContext(context.Background(), "UPDATE sessions SET expires_at = $1", time.Now().Add(-time.Minute).UTC()); err != nil {
			t.Fatalf("expire sessions: %v", err)
		}
		wantUnauthenticated(t, e.post(token, authMeQuery, nil), "EXPIRED_TOKEN")
		// Still expired: the failed request did not renew it.
		wantUnauthenticated(t, e.post(token, authMeQuery, nil), "EXPIRED_TOKEN")

		// A new login, even sent with the expired token, gives a working one.
		var d loginData
		r := postAuthorization(e, "Bearer "+token, loginMutation, map[string]any{"code": "expiring-again"})
		if len(r.Errors) > 0 {
			t.Fatalf("login with an expired token in the header: %s", r.Raw)
		}
		r.decode(t, &d)
		if d.Login.Token == token {
			t.Fatalf("login returned the expired token")
		}
		if got := meID(e, d.Login.Token); got == "" || got == userID {
			t.Errorf("new token: got user %q, want the new user's ID (not %s)", got, userID)
		}
	})
}

func TestLoginIgnoresAuthorizationHeader(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		expired, _ := e.login("ignore-expired")
		setSessionExpiry(e, expired, time.Now().Add(-time.Hour))
		loggedOut, _ := e.login("ignore-logged-out")
		e.ok(loggedOut, `mutation { logout }`, nil, nil)
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
				e := bindT(e, t)
				code := "ignore-header-" + string(rune('a'+i))
				r := postAuthorization(e, h.header, loginMutation, map[string]any{"code": code})
				if len(r.Errors) > 0 {
					t.Fatalf("login with Authorization %q: got errors, want success: %s", h.header, r.Raw)
				}
				var d loginData
				r.decode(t, &d)
				if d.Login.Token == "" {
					t.Fatalf("got no token: %s", r.Raw)
				}
				meID(e, d.Login.Token)
			})
		}
	})
}

func TestBadTokenFailsOnlyAuthFields(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		expired, _ := e.login("partial-expired")
		setSessionExpiry(e, expired, time.Now().Add(-time.Minute))
		unknown, _ := auth.NewToken()
		tests := []struct{ name, header, reason string }{
			{"garbage", "Bearer garbage", "INVALID_TOKEN"},
			{"unknown", "Bearer " + unknown, "INVALID_TOKEN"},
			{"expired", "Bearer " + expired, "EXPIRED_TOKEN"},
			{"missing", "", "MISSING_TOKEN"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := bindT(e, t)
				r := postAuthorization(e, tt.header, `{ __typename todo(id: "1") { id } }`, nil)
				wantUnauthenticated(t, r, tt.reason)
				if len(r.Errors) != 1 {
					t.Errorf("got %d errors, want 1: %s", len(r.Errors), r.Raw)
				}
				if p := r.Errors[0].Path; len(p) != 1 || p[0] != "todo" {
					t.Errorf("got error path %v, want [todo]", p)
				}
				var data map[string]any
				r.decode(t, &data)
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
		e := newEnv(t, url)
		// Two devices of one WeChat user: two codes, one openid.
		e.wx.On("phone", wechattest.Reply{Body: `{"openid":"oid-dave","session_key":"sk-phone"}`})
		e.wx.On("tablet", wechattest.Reply{Body: `{"openid":"oid-dave","session_key":"sk-tablet"}`})
		phone, user1 := e.login("phone")
		tablet, user2 := e.login("tablet")
		if user1 != user2 {
			t.Fatalf("got users %s and %s, want one user", user1, user2)
		}

		var d struct {
			Logout bool `json:"logout"`
		}
		e.ok(phone, `mutation { logout }`, nil, &d)
		if !d.Logout {
			t.Errorf("logout: got false, want true")
		}
		wantUnauthenticated(t, e.post(phone, authMeQuery, nil), "INVALID_TOKEN")
		wantUnauthenticated(t, e.post(phone, `mutation { logout }`, nil), "INVALID_TOKEN")
		if got := meID(e, tablet); got != user1 {
			t.Errorf("other session: got user %s, want %s", got, user1)
		}
		if n := e.count("sessions", ""); n != 1 {
			t.Errorf("got %d sessions, want 1 (the tablet's)", n)
		}
		if n := e.count("users", ""); n != 1 {
			t.Errorf("got %d users, want 1: logout keeps the user", n)
		}
	})
}

func TestSlidingSessionRenewal(t *testing.T) {
	const ttl = 168 * time.Hour
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		if e.cfg.SessionTTL != ttl {
			t.Fatalf("SessionTTL: got %v, want the default %v", e.cfg.SessionTTL, ttl)
		}

		t.Run("fresh session is not written", func(t *testing.T) {
			e := bindT(e, t)
			token, _ := e.login("renew-fresh")
			before := sessionExpiry(e, token)
			meID(e, token)
			meID(e, token)
			if after := sessionExpiry(e, token); !after.Equal(before) {
				t.Errorf("got expires_at %v, want unchanged %v", after, before)
			}
		})
		t.Run("session used recently is not written", func(t *testing.T) {
			e := bindT(e, t)
			token, _ := e.login("renew-recent")
			setSessionExpiry(e, token, time.Now().Add(ttl-30*time.Minute))
			before := sessionExpiry(e, token)
			meID(e, token)
			if after := sessionExpiry(e, token); !after.Equal(before) {
				t.Errorf("got expires_at %v, want unchanged %v", after, before)
			}
		})
		t.Run("session near its end is extended by the TTL", func(t *testing.T) {
			e := bindT(e, t)
			token, _ := e.login("renew-old")
			other, _ := e.login("renew-other")
			setSessionExpiry(e, token, time.Now().Add(time.Hour))
			otherBefore := sessionExpiry(e, other)

			start := time.Now()
			meID(e, token)
			end := time.Now()
			got := sessionExpiry(e, token)
			lo, hi := start.Add(ttl-time.Second), end.Add(ttl+time.Second)
			if got.Before(lo) || got.After(hi) {
				t.Errorf("got expires_at %v (in %v), want about now+%v", got, time.Until(got).Round(time.Minute), ttl)
			}
			if after := sessionExpiry(e, other); !after.Equal(otherBefore) {
				t.Errorf("another session: got expires_at %v, want unchanged %v", after, otherBefore)
			}
			// The renewed session is fresh again: the next request does not write.
			meID(e, token)
			if again := sessionExpiry(e, token); !again.Equal(got) {
				t.Errorf("after a second request: got expires_at %v, want unchanged %v", again, got)
			}
		})
	})
}

func TestSecretsStayOnServer(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, "WECHAT_TIMEOUT", "300ms")
		const code = "secret-keeper-code-91f"
		var responses []string
		send := func(token, query string, vars map[string]any) *gqlResponse {
			r := e.post(token, query, vars)
			responses = append(responses, r.Raw)
			if len(r.Errors) > 0 {
				t.Fatalf("unexpected errors: %s", r.Raw)
			}
			return r
		}

		var d loginData
		login := send("", loginMutation, map[string]any{"code": code})
		login.decode(t, &d)
		token := d.Login.Token
		send(token, authMeQuery, nil)
		send(token, `mutation($in: CreateTodoInput!) { createTodo(input: $in) { id title } }`,
			map[string]any{"in": map[string]any{"title": "buy milk"}})
		send(token, `{ todos { edges { node { id title } } totalCount } }`, nil)
		send(token, `mutation { logout }`, nil)

		// Failed logins log their cause: it must not carry secrets either.
		failing := map[string]wechattest.Reply{
			"secret-fail-http-500": {Status: http.StatusInternalServerError, Body: "upstream broke"},
			"secret-fail-timeout":  {Delay: time.Minute},
			"secret-fail-garbage":  {Body: "not json"},
			"secret-fail-40029":    {Errcode: 40029},
		}
		var failCodes []string
		for c, rep := range failing {
			e.wx.On(c, rep)
			r := e.post("", loginMutation, map[string]any{"code": c})
			responses = append(responses, r.Raw)
			if len(r.Errors) == 0 {
				t.Fatalf("login %s: got success, want an error", c)
			}
			failCodes = append(failCodes, c)
		}

		logs := e.logs.String()
		if !strings.Contains(logs, `"path":"/query"`) {
			t.Fatalf("the server logged no requests, so this test proves nothing:\n%s", logs)
		}
		secrets := map[string]string{
			"app secret":  wechattest.Secret,
			"session_key": wechattest.SessionKey(code),
			"openid":      wechattest.OpenID(code),
		}
		for i, raw := range responses {
			for what, s := range secrets {
				if strings.Contains(raw, s) {
					t.Errorf("response %d contains the %s %q: %s", i, what, s, raw)
				}
			}
			if i > 0 && strings.Contains(raw, token) {
				t.Errorf("response %d (not the login) contains the token: %s", i, raw)
			}
		}
		secrets["token"] = token
		secrets["login code"] = code
		for _, c := range failCodes {
			secrets["login code "+c] = c
		}
		for what, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("logs contain the %s %q:\n%s", what, s, logs)
			}
		}
	})
}

func TestWeChatNetworkErrorIsUnavailableAndNotLogged(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		e := newEnv(t, url, "WECHAT_API_BASE", closed.URL)
		const code = "network-error-code-3c7"
		e.fails("", loginMutation, map[string]any{"code": code}, "WECHAT_UNAVAILABLE")
		if n := e.count("users", ""); n != 0 {
			t.Errorf("got %d users, want 0", n)
		}
		if n := e.count("sessions", ""); n != 0 {
			t.Errorf("got %d sessions, want 0", n)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "WECHAT_UNAVAILABLE") && !strings.Contains(logs, "unavailable") {
			t.Errorf("the failure was not logged:\n%s", logs)
		}
		for _, s := range []string{wechattest.Secret, code, "jscode2session"} {
			if strings.Contains(logs, s) {
				t.Errorf("logs contain %q:\n%s", s, logs)
			}
		}
	})
}

// httpResult is a plain HTTP answer.
type httpResult struct {
	status int
	header http.Header
	body   string
}

// errorCode returns errors[0].extensions.code of a JSON error body.
func (h httpResult) errorCode() string {
	var b struct {
		Errors []gqlError `json:"errors"`
	}
	if json.Unmarshal([]byte(h.body), &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	code, _ := b.Errors[0].Extensions["code"].(string)
	return code
}

func sendHTTP(tb testing.TB, req *http.Request) httpResult {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func getHTTP(tb testing.TB, e *env, path string) httpResult {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	return sendHTTP(tb, req)
}

func TestHealthAndReadiness(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for _, tt := range []struct{ path, status string }{
			{"/healthz", "ok"},
			{"/readyz", "ready"},
		} {
			t.Run(tt.path, func(t *testing.T) {
				r := getHTTP(t, e, tt.path)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: got status %d, want 200: %s", tt.path, r.status, r.body)
				}
				var b struct{ Status string }
				if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.Status != tt.status {
					t.Errorf("GET %s: got body %s, want status %q", tt.path, r.body, tt.status)
				}
			})
		}
	})
}

func TestReadinessFollowsDatabase(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		if r := getHTTP(t, e, "/readyz"); r.status != http.StatusOK {
			t.Fatalf("GET /readyz: got status %d, want 200: %s", r.status, r.body)
		}
		e.app.DB.Close() // the app's Close at cleanup closes it again, harmlessly
		r := getHTTP(t, e, "/readyz")
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz without a database: got status %d, want 503: %s", r.status, r.body)
		}
		if strings.Contains(r.body, url) {
			t.Errorf("GET /readyz reveals DATABASE_URL: %s", r.body)
		}
		if r := getHTTP(t, e, "/healthz"); r.status != http.StatusOK {
			t.Errorf("GET /healthz without a database: got status %d, want 200 (the process is alive)", r.status)
		}
	})
}

func TestLoginCodeWithURLMetacharacters(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		// Printable ASCII is a valid code; it must reach WeChat as one
		// js_code value and not add or override query parameters.
		for _, code := range []string{"a+b", "x&appid=other", "c%20d", "e#f", "g=h;i", "j?k/l"} {
			t.Run(code, func(t *testing.T) {
				e := bindT(e, t)
				_, id := e.login(code)
				if n := e.wx.Calls(code); n != 1 {
					t.Errorf("got %d calls to WeChat with js_code %q, want 1", n, code)
				}
				if n := e.count("users", "id = $1 AND open_id = $2", id, wechattest.OpenID(code)); n != 1 {
					t.Errorf("user %s: got %d rows with openid %q, want 1", id, n, wechattest.OpenID(code))
				}
			})
		}
	})
}

func TestPlaygroundOnlyWhenEnabled(t *testing.T) {
	tests := []struct {
		name       string
		vars       []string
		wantStatus int
	}{
		{"production", nil, http.StatusNotFound},
		{"production with PLAYGROUND=true", []string{"PLAYGROUND", "true"}, http.StatusOK},
		{"development", []string{"WECHAT_APPID", "", "WECHAT_SECRET", ""}, http.StatusOK},
		{"development with PLAYGROUND=false", []string{"WECHAT_APPID", "", "WECHAT_SECRET", "", "PLAYGROUND", "false"}, http.StatusNotFound},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, url, tt.vars...)
				r := getHTTP(t, e, "/")
				if r.status != tt.wantStatus {
					t.Fatalf("GET /: got status %d, want %d: %.200s", r.status, tt.wantStatus, r.body)
				}
				if tt.wantStatus == http.StatusOK {
					if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
						t.Errorf("GET /: got Content-Type %q, want text/html", ct)
					}
					if !strings.Contains(r.body, "/query") {
						t.Errorf("GET /: the page does not point at /query: %.300s", r.body)
					}
				}
				// Only / is the playground: other paths stay 404.
				if r := getHTTP(t, e, "/nope"); r.status != http.StatusNotFound {
					t.Errorf("GET /nope: got status %d, want 404", r.status)
				}
			})
		}
	})
}

func TestQueryEndpointRejectsBadBodies(t *testing.T) {
	post := func(e *env, contentType string, body io.Reader, length int64) httpResult {
		e.t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", body)
		req.ContentLength = length
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return sendHTTP(e.t, req)
	}
	valid := `{"query":"{ __typename }"}`
	big := func() string {
		// Valid JSON, so only its size is at fault.
		return `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`
	}
	tests := []struct {
		name        string
		contentType string
		body        func() string
		chunked     bool
		wantStatus  int
		wantCode    string
	}{
		{"text/plain", "text/plain", func() string { return valid }, false, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{"no content type", "", func() string { return valid }, false, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{"form", "application/x-www-form-urlencoded", func() string { return "query=%7B__typename%7D" }, false, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{"malformed JSON", "application/json", func() string { return `{"query": "{ __typename }"` }, false, http.StatusBadRequest, "BAD_REQUEST"},
		{"not JSON at all", "application/json", func() string { return `query { __typename }` }, false, http.StatusBadRequest, "BAD_REQUEST"},
		{"over 1 MiB with Content-Length", "application/json", big, false, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE"},
		{"over 1 MiB chunked", "application/json", big, true, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE"},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := bindT(e, t)
				body := tt.body()
				var r httpResult
				if tt.chunked {
					// A reader of unknown length: sent chunked, without Content-Length.
					r = post(e, tt.contentType, io.MultiReader(strings.NewReader(body)), -1)
				} else {
					r = post(e, tt.contentType, strings.NewReader(body), int64(len(body)))
				}
				if r.status != tt.wantStatus {
					t.Errorf("got status %d, want %d: %.300s", r.status, tt.wantStatus, r.body)
				}
				if got := r.errorCode(); got != tt.wantCode {
					t.Errorf("got errors[0].extensions.code %q, want %q: %.300s", got, tt.wantCode, r.body)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("got Content-Type %q, want application/json", ct)
				}
			})
		}
		t.Run("exactly 1 MiB is accepted", func(t *testing.T) {
			e := bindT(e, t)
			head, tail := `{"query":"{ __typename }","variables":{"pad":"`, `"}}`
			body := head + strings.Repeat("x", 1<<20-len(head)-len(tail)) + tail
			if len(body) != 1<<20 {
				t.Fatalf("body is %d bytes, want %d", len(body), 1<<20)
			}
			r := post(e, "application/json", strings.NewReader(body), int64(len(body)))
			if r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
				t.Errorf("got status %d, body %.300s; want 200 with data", r.status, r.body)
			}
		})
		t.Run("method other than GET and POST", func(t *testing.T) {
			e := bindT(e, t)
			req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/query", strings.NewReader(valid))
			req.Header.Set("Content-Type", "application/json")
			r := sendHTTP(t, req)
			if r.status != http.StatusMethodNotAllowed || r.errorCode() != "METHOD_NOT_ALLOWED" {
				t.Errorf("PUT /query: got status %d, code %q; want 405 METHOD_NOT_ALLOWED: %s", r.status, r.errorCode(), r.body)
			}
		})
		t.Run("JSON with a charset is accepted", func(t *testing.T) {
			e := bindT(e, t)
			r := post(e, "application/json; charset=utf-8", strings.NewReader(valid), int64(len(valid)))
			if r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
				t.Errorf("got status %d, body %s; want 200 with data", r.status, r.body)
			}
		})
		t.Run("server keeps answering", func(t *testing.T) {
			e := bindT(e, t)
			var d struct {
				Typename string `json:"__typename"`
			}
			e.ok("", `{ __typename }`, nil, &d)
			if d.Typename != "Query" {
				t.Errorf("got __typename %q, want Query", d.Typename)
			}
			token, _ := e.login("after-bad-bodies")
			meID(e, token)
			if r := getHTTP(t, e, "/readyz"); r.status != http.StatusOK {
				t.Errorf("GET /readyz: got status %d, want 200", r.status)
			}
		})
	})
}
