package auth_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/auth"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// codeVars are the variables of apitest.LoginMutation.
func codeVars(code string) apitest.Option { return apitest.Vars(map[string]any{"code": code}) }

func TestLoginNewAndReturningUser(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		var first, again apitest.LoginData
		s.OK(t, apitest.LoginMutation, &first, codeVars("alice"))
		s.OK(t, apitest.LoginMutation, nil, codeVars("alice-2nd-code"))
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
		s.WeChat.On("alice-again", wechattest.Reply{As: "alice"})
		s.OK(t, apitest.LoginMutation, &again, codeVars("alice-again"))
		if again.Login.IsNewUser || again.Login.User.ID != first.Login.User.ID {
			t.Errorf("alice again: got user %s (new %v), want %s, not new", again.Login.User.ID, again.Login.IsNewUser, first.Login.User.ID)
		}
		if n := s.Count(t, "users", ""); n != 2 {
			t.Errorf("got %d users, want 2 (alice and alice-2nd-code are different openids)", n)
		}
		if n := s.Count(t, "sessions", ""); n != 3 {
			t.Errorf("got %d sessions, want 3", n)
		}
		// The session_key is kept with the user, sealed: never in plaintext.
		if n := s.Count(t, "identities", "session_key IS NOT NULL"); n != 2 {
			t.Errorf("got %d users with a session_key, want 2", n)
		}
		if n := s.Count(t, "identities", "session_key LIKE $1", "%"+wechattest.SessionKey("alice")+"%"); n != 0 {
			t.Errorf("session_key stored in plaintext")
		}
	})
}

func TestConcurrentFirstLoginsMakeOneUser(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		const n = 20
		// Different codes of one WeChat user: each is a real exchange.
		codes := make([]string, n)
		for i := range codes {
			codes[i] = fmt.Sprintf("carol#%d", i)
			s.WeChat.On(codes[i], wechattest.Reply{Body: `{"openid":"oid-carol","session_key":"sk"}`})
		}
		answers := loginConcurrently(t, []*apitest.Server{s}, codes)
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
		if got := s.Count(t, "users", "open_id = $1", "oid-carol"); got != 1 {
			t.Errorf("got %d users rows, want 1", got)
		}
		if got := s.Count(t, "sessions", ""); got != n {
			t.Errorf("got %d sessions, want %d", got, n)
		}
	})
}

// loginConcurrently sends a login for each code at once, spread over the
// servers, and returns their answers; a failed login fails the test.
func loginConcurrently(tb testing.TB, servers []*apitest.Server, codes []string) []apitest.LoginData {
	tb.Helper()
	return sendLogins(tb, servers, codes, func(_ int, code string) (string, apitest.Option) {
		return apitest.LoginMutation, codeVars(code)
	})
}

// sendLogins sends the login doc(i, code) gives for each code at once,
// spread over the servers, and returns their answers; a failed login
// fails the test (from the test's goroutine).
func sendLogins(tb testing.TB, servers []*apitest.Server, codes []string, doc func(i int, code string) (string, apitest.Option)) []apitest.LoginData {
	tb.Helper()
	answers := make([]*apitest.Response, len(codes))
	errs := make([]error, len(codes))
	var wg sync.WaitGroup
	for i, code := range codes {
		wg.Go(func() {
			q, vars := doc(i, code)
			answers[i], errs[i] = servers[i%len(servers)].Send(q, vars)
		})
	}
	wg.Wait()
	out := make([]apitest.LoginData, len(codes))
	for i, r := range answers {
		if errs[i] != nil {
			tb.Fatalf("login %d of %d: %v", i+1, len(codes), errs[i])
		}
		if len(r.Errors) > 0 {
			tb.Fatalf("login %d of %d failed: %s", i+1, len(codes), r.Raw)
		}
		r.Decode(tb, &out[i])
	}
	return out
}

// repeat returns n copies of code.
func repeat(code string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = code
	}
	return out
}

// userIDs returns the set of users the answers signed in.
func userIDs(answers []apitest.LoginData) map[string]bool {
	ids := map[string]bool{}
	for _, a := range answers {
		ids[a.Login.User.ID] = true
	}
	return ids
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
		s := apitest.New(t, url, apitest.Options{WeChatTimeout: 300 * time.Millisecond})
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code := fmt.Sprintf("failing-code-%d", i)
				s.WeChat.On(code, tt.reply)
				r := s.Post(t, apitest.LoginMutation, codeVars(code))
				if got := r.Code(); got != tt.wantCode {
					t.Fatalf("got code %q, want %q: %s", got, tt.wantCode, r.Raw)
				}
				if got := r.Ext("reason"); got != tt.wantReason {
					t.Errorf("got reason %q, want %q: %s", got, tt.wantReason, r.Raw)
				}
				if got := r.Ext("errcode"); got != tt.wantErrcode {
					t.Errorf("got errcode %q, want %q: %s", got, tt.wantErrcode, r.Raw)
				}
				if len(r.Errors) != 1 || len(r.Errors[0].Path) != 1 || r.Errors[0].Path[0] != "login" {
					t.Errorf("got errors %+v, want one error with path [login]", r.Errors)
				}
				if string(r.Data) != "null" {
					t.Errorf("got data %s, want null", r.Data)
				}
				if tt.wantErrcode != "" {
					if n := s.WeChat.Calls(code); n != 1 {
						t.Errorf("got %d calls to WeChat, want 1 (a refusal is never retried)", n)
					}
				}
				if n := s.Count(t, "users", ""); n != 0 {
					t.Errorf("got %d users, want 0 after failed logins", n)
				}
				if n := s.Count(t, "sessions", ""); n != 0 {
					t.Errorf("got %d sessions, want 0 after failed logins", n)
				}
			})
		}
		// The operator sees a refusal that is the server's own fault.
		if logs := s.Logs.String(); !strings.Contains(logs, "WeChat rejected") || !strings.Contains(logs, "40013") {
			t.Errorf("the REJECTED refusal (40013) is not in the log:\n%s", logs)
		}
	})
}

func TestLoginRetriesSystemBusy(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		s.WeChat.On("busy-then-ok", wechattest.Reply{Errcode: -1}, wechattest.Reply{})
		var d apitest.LoginData
		s.OK(t, apitest.LoginMutation, &d, codeVars("busy-then-ok"))
		if n := s.WeChat.Calls("busy-then-ok"); n != 2 {
			t.Errorf("got %d calls to WeChat, want 2 (system busy, then success)", n)
		}
		if !d.Login.IsNewUser || d.Login.Token == "" {
			t.Errorf("got %+v, want a new user's session", d.Login)
		}
		if n := s.Count(t, "users", "open_id = $1", wechattest.OpenID("busy-then-ok")); n != 1 {
			t.Errorf("got %d users, want 1", n)
		}
		if n := s.Count(t, "sessions", ""); n != 1 {
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
		s := apitest.New(t, url, apitest.Options{})
		s.WeChat.On("always-busy", wechattest.Reply{Errcode: -1})
		r := s.Post(t, apitest.LoginMutation, codeVars("always-busy"))
		if n := s.WeChat.Calls("always-busy"); n < 2 {
			t.Errorf("got %d calls to WeChat, want system busy retried", n)
		}
		if got := r.Code(); got != "WECHAT_UNAVAILABLE" {
			t.Errorf("got code %q (reason %q), want WECHAT_UNAVAILABLE: %s", got, r.Ext("reason"), r.Raw)
		}
		if n := s.Count(t, "users", ""); n != 0 {
			t.Errorf("got %d users, want 0", n)
		}
	})
}

func TestLoginInvalidCodeIsNotRetried(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		// Were the refusal retried, the second reply would sign in.
		s.WeChat.On("bad-then-ok", wechattest.Reply{Errcode: 40029}, wechattest.Reply{})
		r := s.Fails(t, apitest.LoginMutation, "WECHAT_ERROR", codeVars("bad-then-ok"))
		if got := r.Ext("reason"); got != "INVALID_CODE" {
			t.Errorf("got reason %q, want INVALID_CODE", got)
		}
		if n := s.WeChat.Calls("bad-then-ok"); n != 1 {
			t.Errorf("got %d calls to WeChat, want 1", n)
		}
	})
}

func TestLoginAfterUnavailableWeChatCanRetrySameCode(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{WeChatTimeout: 300 * time.Millisecond})
		// The first exchange times out (not retried: the deadline has
		// passed); the client's retry of the same code must reach WeChat
		// again instead of being remembered as failed or in progress.
		s.WeChat.On("flaky", wechattest.Reply{Delay: time.Minute}, wechattest.Reply{})
		s.Fails(t, apitest.LoginMutation, "WECHAT_UNAVAILABLE", codeVars("flaky"))
		var d apitest.LoginData
		s.OK(t, apitest.LoginMutation, &d, codeVars("flaky"))
		if !d.Login.IsNewUser {
			t.Errorf("got isNewUser false, want true: the first attempt created nobody")
		}
		if n := s.WeChat.Calls("flaky"); n != 2 {
			t.Errorf("got %d calls to WeChat, want 2", n)
		}
		if n := s.Count(t, "users", ""); n != 1 {
			t.Errorf("got %d users, want 1", n)
		}
	})
}

func TestLoginStoresUnionID(t *testing.T) {
	unionID := func(tb testing.TB, s *apitest.Server, openID string) string {
		tb.Helper()
		var u *string
		if err := s.DB.QueryRow("SELECT union_id FROM identities WHERE open_id = $1", openID).Scan(&u); err != nil {
			tb.Fatalf("read union_id of %s: %v", openID, err)
		}
		if u == nil {
			return "<NULL>"
		}
		return *u
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
		s := apitest.New(t, url, apitest.Options{})
		t.Run("stored on first login", func(t *testing.T) {
			s.WeChat.On("with-union", wechattest.Reply{UnionID: "union-first"})
			s.Login(t, "with-union")
			if got := unionID(t, s, wechattest.OpenID("with-union")); got != "union-first" {
				t.Errorf("got union_id %q, want %q", got, "union-first")
			}
		})
		t.Run("none without one", func(t *testing.T) {
			s.Login(t, "without-union")
			if got := unionID(t, s, wechattest.OpenID("without-union")); got != "<NULL>" {
				t.Errorf("got union_id %q, want NULL", got)
			}
		})
		t.Run("kept when a later login has none", func(t *testing.T) {
			s.WeChat.On("kept-1", answer("oid-kept", "sk-kept-1", "union-kept"))
			s.WeChat.On("kept-2", answer("oid-kept", "sk-kept-2", ""))
			_, first := s.Login(t, "kept-1")
			_, second := s.Login(t, "kept-2")
			if first != second {
				t.Fatalf("got users %s and %s, want one user for one openid", first, second)
			}
			if got := unionID(t, s, "oid-kept"); got != "union-kept" {
				t.Errorf("got union_id %q, want %q", got, "union-kept")
			}
		})
		t.Run("added when it arrives later", func(t *testing.T) {
			s.WeChat.On("late-1", answer("oid-late", "sk-late-1", ""))
			s.WeChat.On("late-2", answer("oid-late", "sk-late-2", "union-late"))
			s.Login(t, "late-1")
			s.Login(t, "late-2")
			if got := unionID(t, s, "oid-late"); got != "union-late" {
				t.Errorf("got union_id %q, want %q", got, "union-late")
			}
			if n := s.Count(t, "users", "open_id = $1", "oid-late"); n != 1 {
				t.Errorf("got %d users, want 1", n)
			}
		})
	})
}

// TestLoginRejectsMalformedCode: the code rules themselves are input's
// (TestCode there); a login with a code they refuse answers BAD_USER_INPUT
// on field code and reaches neither WeChat nor the database.
func TestLoginRejectsMalformedCode(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		for _, code := range []string{"", strings.Repeat("a", 129), "abc def", "abc\x00def"} {
			t.Run(fmt.Sprintf("%.20q", code), func(t *testing.T) {
				r := s.Fails(t, apitest.LoginMutation, "BAD_USER_INPUT", codeVars(code))
				if got := r.Ext("field"); got != "code" {
					t.Errorf("got field %q, want %q: %s", got, "code", r.Raw)
				}
			})
		}
		if n := s.WeChat.TotalCalls(); n != 0 {
			t.Errorf("got %d calls to WeChat, want 0 for malformed codes", n)
		}
		if n := s.Count(t, "users", ""); n != 0 {
			t.Errorf("got %d users, want 0", n)
		}
		if n := s.Count(t, "sessions", ""); n != 0 {
			t.Errorf("got %d sessions, want 0", n)
		}
		t.Run("128 bytes is accepted", func(t *testing.T) {
			code := strings.Repeat("b", 128)
			s.Login(t, code)
			if n := s.WeChat.Calls(code); n != 1 {
				t.Errorf("got %d calls to WeChat, want 1", n)
			}
		})
	})
}

func TestLoginCodeWithURLMetacharacters(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		// Printable ASCII is a valid code; it must reach WeChat as one
		// js_code value and not add or override query parameters.
		for _, code := range []string{"a+b", "x&appid=other", "c%20d", "e#f", "g=h;i", "j?k/l"} {
			t.Run(code, func(t *testing.T) {
				_, id := s.Login(t, code)
				if n := s.WeChat.Calls(code); n != 1 {
					t.Errorf("got %d calls to WeChat with js_code %q, want 1", n, code)
				}
				if n := s.Count(t, "users", "id = $1 AND open_id = $2", id, wechattest.OpenID(code)); n != 1 {
					t.Errorf("user %s: got %d rows with openid %q, want 1", id, n, wechattest.OpenID(code))
				}
			})
		}
	})
}

func TestLoginRetriedWithSameCode(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		t.Run("a retry signs in the same user without a second WeChat call", func(t *testing.T) {
			s := apitest.New(t, url, apitest.Options{})
			var first, retry apitest.LoginData
			s.OK(t, apitest.LoginMutation, &first, codeVars("dave"))
			s.OK(t, apitest.LoginMutation, &retry, codeVars("dave"))
			if retry.Login.User.ID != first.Login.User.ID {
				t.Errorf("retry: got user %s, want %s", retry.Login.User.ID, first.Login.User.ID)
			}
			if retry.Login.Token == first.Login.Token {
				t.Errorf("retry returned the same token; want a new session")
			}
			if retry.Login.IsNewUser {
				t.Errorf("retry: got isNewUser true, want false (first login only)")
			}
			if got := s.WeChat.Calls("dave"); got != 1 {
				t.Errorf("got %d WeChat calls, want 1", got)
			}
			if got := meID(t, s, retry.Login.Token); got != first.Login.User.ID {
				t.Errorf("retry's token: got user %s, want %s", got, first.Login.User.ID)
			}
		})
		t.Run("concurrent retries wait for the first exchange", func(t *testing.T) {
			s := apitest.New(t, url, apitest.Options{})
			s.WeChat.On("erin", wechattest.Reply{Delay: 300 * time.Millisecond})
			if ids := userIDs(loginConcurrently(t, []*apitest.Server{s}, repeat("erin", 8))); len(ids) != 1 {
				t.Errorf("got users %v, want one", ids)
			}
			if got := s.WeChat.Calls("erin"); got != 1 {
				t.Errorf("got %d WeChat calls, want 1", got)
			}
		})
		t.Run("a failed exchange lets the retry ask WeChat again", func(t *testing.T) {
			s := apitest.New(t, url, apitest.Options{})
			s.WeChat.On("frank", wechattest.Reply{Body: "<html>garbage</html>"}, wechattest.Reply{})
			s.Fails(t, apitest.LoginMutation, "WECHAT_UNAVAILABLE", codeVars("frank"))
			s.OK(t, apitest.LoginMutation, nil, codeVars("frank"))
			if got := s.WeChat.Calls("frank"); got < 2 {
				t.Errorf("got %d WeChat calls, want a second call after the failure", got)
			}
		})
		t.Run("only a hash of the code is kept", func(t *testing.T) {
			s := apitest.New(t, url, apitest.Options{})
			const code = "plaintext-code-0xBEEF"
			s.WeChat.On(code, wechattest.Reply{Body: `{"openid":"oid-hash-test","session_key":"sk"}`})
			s.Login(t, code)
			if got := s.Count(t, "login_codes", "code_hash = $1", auth.CodeHash(wechattest.AppID, code)); got != 1 {
				t.Errorf("got %d login_codes rows with the code's hash, want 1", got)
			}
			if strings.Contains(s.Dump(t), code) {
				t.Errorf("the database holds the plaintext code")
			}
		})
	})
}

func TestLoginRateLimitPerClientIP(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{LoginPerMinute: 2, LoginBurst: 2, TrustProxy: true})
	loginFrom := func(tb testing.TB, ip, code string) *apitest.Response {
		tb.Helper()
		return s.Post(tb, apitest.LoginMutation, codeVars(code), apitest.Header("X-Forwarded-For", ip))
	}
	for i := 0; i < 2; i++ {
		if r := loginFrom(t, "203.0.113.7", fmt.Sprintf("rl-%d", i)); len(r.Errors) > 0 {
			t.Fatalf("login %d within the burst failed: %s", i, r.Raw)
		}
	}
	r := loginFrom(t, "203.0.113.7", "rl-3")
	if r.Code() != "RATE_LIMITED" {
		t.Fatalf("third login: got code %q, want RATE_LIMITED: %s", r.Code(), r.Raw)
	}
	if after, _ := r.Errors[0].Extensions["retryAfter"].(float64); after < 1 {
		t.Errorf("RATE_LIMITED without a retryAfter hint: %s", r.Raw)
	}
	if s.WeChat.Calls("rl-3") != 0 {
		t.Errorf("a rate-limited login reached WeChat")
	}
	if r := loginFrom(t, "198.51.100.9", "rl-other"); len(r.Errors) > 0 {
		t.Errorf("another client IP is limited too: %s", r.Raw)
	}
	// A client cannot pose as someone else by prepending to the header:
	// the proxy appends the address it saw, and only that one counts.
	if r := loginFrom(t, "192.0.2.1, 203.0.113.7", "rl-spoof"); r.Code() != "RATE_LIMITED" {
		t.Errorf("a spoofed X-Forwarded-For entry escaped the limit: %s", r.Raw)
	}
}

func TestSecretsStayOnServer(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{WeChatTimeout: 300 * time.Millisecond})
		const code = "secret-keeper-code-91f"
		var responses []string
		send := func(tb testing.TB, query string, opts ...apitest.Option) *apitest.Response {
			tb.Helper()
			r := s.OK(tb, query, nil, opts...)
			responses = append(responses, r.Raw)
			return r
		}
		var d apitest.LoginData
		send(t, apitest.LoginMutation, codeVars(code)).Decode(t, &d)
		token := d.Login.Token
		send(t, `{ me { id nickname avatarUrl createdAt } }`, apitest.As(token))
		send(t, `mutation($in: CreateTodoInput!) { createTodo(input: $in) { id title } }`, apitest.As(token),
			apitest.Vars(map[string]any{"in": map[string]any{"title": "buy milk"}}))
		send(t, `{ todos { edges { node { id title } } totalCount } }`, apitest.As(token))
		send(t, `mutation { logout }`, apitest.As(token))

		// Failed logins log their cause: it must not carry secrets either.
		failing := map[string]wechattest.Reply{
			"secret-fail-http-500": {Status: http.StatusInternalServerError, Body: "upstream broke"},
			"secret-fail-timeout":  {Delay: time.Minute},
			"secret-fail-garbage":  {Body: "not json"},
			"secret-fail-40029":    {Errcode: 40029},
		}
		for c, rep := range failing {
			s.WeChat.On(c, rep)
			r := s.Post(t, apitest.LoginMutation, codeVars(c))
			responses = append(responses, r.Raw)
			if len(r.Errors) == 0 {
				t.Fatalf("login %s: got success, want an error", c)
			}
		}

		logs := s.Logs.String()
		if !strings.Contains(logs, `"path":"/query"`) {
			t.Fatalf("the server logged no requests, so this test proves nothing:\n%s", logs)
		}
		secrets := map[string]string{
			"app secret":  wechattest.Secret,
			"session_key": wechattest.SessionKey(code),
			"openid":      wechattest.OpenID(code),
		}
		for i, raw := range responses {
			for what, secret := range secrets {
				if strings.Contains(raw, secret) {
					t.Errorf("response %d contains the %s %q: %s", i, what, secret, raw)
				}
			}
			if i > 0 && strings.Contains(raw, token) {
				t.Errorf("response %d (not the login) contains the token: %s", i, raw)
			}
		}
		secrets["token"] = token
		secrets["login code"] = code
		for c := range failing {
			secrets["login code "+c] = c
		}
		for what, secret := range secrets {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain the %s %q:\n%s", what, secret, logs)
			}
		}
	})
}

func TestWeChatNetworkErrorIsUnavailableAndNotLogged(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		// A WeChat that is gone: its port refuses connections.
		wx := wechattest.New(t)
		wx.Close()
		s := apitest.New(t, url, apitest.Options{WeChat: wx})
		const code = "network-error-code-3c7"
		s.Fails(t, apitest.LoginMutation, "WECHAT_UNAVAILABLE", codeVars(code))
		if n := s.Count(t, "users", ""); n != 0 {
			t.Errorf("got %d users, want 0", n)
		}
		if n := s.Count(t, "sessions", ""); n != 0 {
			t.Errorf("got %d sessions, want 0", n)
		}
		logs := s.Logs.String()
		if !strings.Contains(logs, "WECHAT_UNAVAILABLE") {
			t.Errorf("the failure was not logged:\n%s", logs)
		}
		// The request URL carries the secret and the code: no part of it
		// may reach the log.
		for _, secret := range []string{wechattest.Secret, code, "jscode2session"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain %q:\n%s", secret, logs)
			}
		}
	})
}
