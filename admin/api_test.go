package admin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxtodo/admin"
	"wxtodo/apitest"
	"wxtodo/auth"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

const (
	usersQuery = `query($search: String, $first: Int, $after: String) { adminUsers(search: $search, first: $first, after: $after) {
		edges { cursor node { id nickname createdAt disabled disabledReason todoCount phoneNumber sessions { id createdAt lastUsedAt expiresAt } } }
		pageInfo { hasNextPage endCursor } } }`
	userQuery   = `query($id: ID!) { adminUser(id: $id) { id nickname disabled disabledReason todoCount phoneNumber sessions { id lastUsedAt } } }`
	auditQuery  = `query($first: Int, $after: String) { adminAudit(first: $first, after: $after) { edges { cursor node { id at operator action target reason clientIp } } pageInfo { hasNextPage endCursor } } }`
	revokeMut   = `mutation($id: ID!) { adminRevokeSessions(userId: $id) }`
	disableMut  = `mutation($id: ID!, $reason: String!) { adminDisableUser(userId: $id, reason: $reason) { id disabled disabledReason } }`
	enableMut   = `mutation($id: ID!) { adminEnableUser(userId: $id) { id disabled disabledReason } }`
	meQuery     = `{ me { id } }`
	bindPhone   = `mutation($code: String!) { bindPhoneNumber(input: {code: $code}) { phoneNumber } }`
	profileMut  = `mutation($n: String!) { updateProfile(input: {nickname: $n}) { id } }`
	createTodo  = `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`
	loginMutUID = `mutation($code: String!) { login(input: {code: $code}) { token user { id } } }`
)

type adminUser struct {
	ID             string
	Nickname       string
	Disabled       bool
	DisabledReason *string
	TodoCount      int
	PhoneNumber    *string
	Sessions       []struct {
		ID         string
		LastUsedAt *string
	}
}

type usersPage struct {
	AdminUsers struct {
		Edges []struct {
			Cursor string
			Node   adminUser
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

type auditEntry struct {
	ID, At, Operator, Action, Target, Reason, ClientIP string
}

type auditPage struct {
	AdminAudit struct {
		Edges []struct {
			Cursor string
			Node   auditEntry
		}
		PageInfo struct{ HasNextPage bool }
	}
}

func vars(kv ...any) apitest.Option {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return apitest.Vars(m)
}

func ids(p usersPage) []string {
	var out []string
	for _, e := range p.AdminUsers.Edges {
		out = append(out, e.Node.ID)
	}
	return out
}

// TestAdminFieldsNeedAnOperator: every admin field resolves for an
// operator token only: without a token UNAUTHENTICATED, with a user's
// FORBIDDEN; an operator token serves no user's field, and a revoked or
// expired one is UNAUTHENTICATED.
func TestAdminFieldsNeedAnOperator(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	userToken, userID := s.Login(t, "ann")
	op := s.OperatorToken(t, "support-ana")
	for _, f := range []struct {
		name, doc string
		opts      []apitest.Option
	}{
		{"adminUsers", usersQuery, nil},
		{"adminUser", userQuery, []apitest.Option{vars("id", userID)}},
		{"adminAudit", auditQuery, nil},
		{"adminRevokeSessions", revokeMut, []apitest.Option{vars("id", userID)}},
		{"adminDisableUser", disableMut, []apitest.Option{vars("id", userID, "reason", "spam")}},
		{"adminEnableUser", enableMut, []apitest.Option{vars("id", userID)}},
	} {
		t.Run(f.name, func(t *testing.T) {
			s.Fails(t, f.doc, "UNAUTHENTICATED", f.opts...)
			s.Fails(t, f.doc, "FORBIDDEN", append(f.opts, apitest.As(userToken))...)
		})
	}
	if n := s.Count(t, "users", "disabled_at IS NOT NULL"); n != 0 {
		t.Errorf("a user's adminDisableUser disabled %d users", n)
	}
	// An operator reads; the user's own fields are not theirs.
	s.OK(t, usersQuery, nil, apitest.As(op))
	for _, doc := range []string{meQuery, `{ todos { totalCount } }`} {
		s.Fails(t, doc, "FORBIDDEN", apitest.As(op))
	}
	s.Fails(t, createTodo, "FORBIDDEN", apitest.As(op), vars("t", "an operator's todo"))
	if n := s.Count(t, "todos", ""); n != 0 {
		t.Errorf("%d todos after an operator's createTodo, want 0", n)
	}

	// Revoked at once; a forged one never worked.
	if err := s.Admin.RevokeToken(t.Context(), admin.Actor{Operator: admin.CLI}, "support-ana"); err != nil {
		t.Fatal(err)
	}
	if r := s.Fails(t, usersQuery, "UNAUTHENTICATED", apitest.As(op)); r.Ext("reason") != "INVALID_TOKEN" {
		t.Errorf("revoked token: reason %q, want INVALID_TOKEN", r.Ext("reason"))
	}
	s.Fails(t, usersQuery, "UNAUTHENTICATED", apitest.As("wxop_"+strings.Repeat("A", 43)))
	// Expired.
	short := s.OperatorToken(t, "short")
	dbtest.Exec(t, s.DB, `UPDATE operator_tokens SET expires_at = $1 WHERE name = 'short'`, time.Now().Add(-time.Second).UTC())
	if r := s.Fails(t, usersQuery, "UNAUTHENTICATED", apitest.As(short)); r.Ext("reason") != "EXPIRED_TOKEN" {
		t.Errorf("expired token: reason %q, want EXPIRED_TOKEN", r.Ext("reason"))
	}
}

// TestAdminUsersSearch: newest first, in keyset pages; the search finds
// a user by ID, nickname, openid or unionid, exactly or by prefix; the
// phone number is masked and nothing secret is readable.
func TestAdminUsersSearch(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		var uids []string
		for i, name := range []string{"amy", "bea", "cat", "dee", "eve"} {
			if i == 2 {
				s.WeChat.On(name, wechattest.Reply{UnionID: "union-of-cat"})
			}
			tok, id := s.Login(t, name)
			uids = append(uids, id)
			s.OK(t, profileMut, nil, apitest.As(tok), vars("n", "Nick "+name+"_%"))
			if name == "bea" {
				s.OK(t, bindPhone, nil, apitest.As(tok), vars("code", "bea-phone"))
				s.OK(t, createTodo, nil, apitest.As(tok), vars("t", "bea's"))
			}
		}
		op := s.OperatorToken(t, "support")

		var all usersPage
		s.OK(t, usersQuery, &all, apitest.As(op), vars("first", 2))
		if got := ids(all); len(got) != 2 || got[0] != uids[4] || got[1] != uids[3] || !all.AdminUsers.PageInfo.HasNextPage {
			t.Fatalf("first page: %v (more %v), want the two newest", got, all.AdminUsers.PageInfo.HasNextPage)
		}
		var next usersPage
		s.OK(t, usersQuery, &next, apitest.As(op), vars("first", 10, "after", *all.AdminUsers.PageInfo.EndCursor))
		if got := ids(next); len(got) != 3 || got[0] != uids[2] || next.AdminUsers.PageInfo.HasNextPage {
			t.Errorf("second page: %v, want the three older ones and no more", got)
		}
		for name, tt := range map[string]struct {
			search string
			want   []string
		}{
			"an ID":               {uids[1], []string{uids[1]}},
			"a nickname":          {"Nick cat_%", []string{uids[2]}},
			"a nickname prefix":   {"Nick", []string{uids[4], uids[3], uids[2], uids[1], uids[0]}},
			"LIKE's wildcards":    {"Nick _", nil},
			"an openid":           {wechattest.OpenID("dee"), []string{uids[3]}},
			"an openid prefix":    {"oid-e", []string{uids[4]}},
			"a unionid":           {"union-of-cat", []string{uids[2]}},
			"a unionid prefix":    {"union-of", []string{uids[2]}},
			"nothing":             {"no-such-user", nil},
			"spaces around an ID": {" " + uids[0] + " ", []string{uids[0]}},
		} {
			var p usersPage
			s.OK(t, usersQuery, &p, apitest.As(op), vars("search", tt.search))
			if got := ids(p); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("%s (%q): got %v, want %v", name, tt.search, got, tt.want)
			}
		}

		var bea struct{ AdminUser adminUser }
		r := s.OK(t, userQuery, &bea, apitest.As(op), vars("id", uids[1]))
		phone := wechattest.PhoneNumber("bea-phone")
		if bea.AdminUser.PhoneNumber == nil || *bea.AdminUser.PhoneNumber != phone[:3]+"****"+phone[7:] {
			t.Errorf("phone: got %v, want %s masked", bea.AdminUser.PhoneNumber, phone)
		}
		if bea.AdminUser.TodoCount != 1 || len(bea.AdminUser.Sessions) != 1 || bea.AdminUser.Sessions[0].LastUsedAt == nil {
			t.Errorf("bea: %+v, want 1 todo and 1 session with its last use", bea.AdminUser)
		}
		if strings.Contains(r.Raw, phone) || strings.Contains(r.Raw, wechattest.SessionKey("bea")) {
			t.Errorf("the answer shows a secret: %s", r.Raw)
		}
		var none struct{ AdminUser *adminUser }
		s.OK(t, userQuery, &none, apitest.As(op), vars("id", "999999"))
		if none.AdminUser != nil {
			t.Errorf("adminUser of no user: %+v, want null", none.AdminUser)
		}
		for name, opt := range map[string]apitest.Option{
			"a page of 0":      vars("first", 0),
			"a page of 101":    vars("first", 101),
			"a foreign cursor": vars("after", "dG9kbzp2MTox"),
			"a long search":    vars("search", strings.Repeat("x", 129)),
		} {
			if r := s.Fails(t, usersQuery, "BAD_USER_INPUT", apitest.As(op), opt); r.Ext("field") == "" {
				t.Errorf("%s: no field in %s", name, r.Raw)
			}
		}
		s.Fails(t, userQuery, "BAD_USER_INPUT", apitest.As(op), vars("id", "x"))
	})
}

// TestAdminRevokeSessions signs a user out on every device, at once, and
// records who did it, from where.
func TestAdminRevokeSessions(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{TrustProxy: true})
		phone, uid := s.Login(t, "fay")
		s.WeChat.On("fay-tablet", wechattest.Reply{As: "fay"})
		tablet, _ := s.Login(t, "fay-tablet")
		other, _ := s.Login(t, "gil")
		op := s.OperatorToken(t, "support-bo")
		from := apitest.Header("X-Forwarded-For", "203.0.113.9")

		var d struct{ AdminRevokeSessions int }
		s.OK(t, revokeMut, &d, apitest.As(op), vars("id", uid), from)
		if d.AdminRevokeSessions != 2 {
			t.Errorf("revoked %d sessions, want 2", d.AdminRevokeSessions)
		}
		for _, tok := range []string{phone, tablet} {
			s.Fails(t, meQuery, "UNAUTHENTICATED", apitest.As(tok))
		}
		s.OK(t, meQuery, nil, apitest.As(other))
		var a auditPage
		s.OK(t, auditQuery, &a, apitest.As(op))
		e := a.AdminAudit.Edges[0].Node
		if e.Operator != "support-bo" || e.Action != "revoke_sessions" || e.Target != "user:"+uid || e.ClientIP != "203.0.113.9" || e.At == "" {
			t.Errorf("newest audit entry %+v, want support-bo's revoke_sessions of user:%s from 203.0.113.9", e, uid)
		}
		s.Fails(t, revokeMut, "NOT_FOUND", apitest.As(op), vars("id", "999999"))
	})
}

// TestAdminDisableUser: a disabled user's sessions end at once (their
// live socket closes), their login is FORBIDDEN with reason
// USER_DISABLED and makes no session, until an operator enables them;
// both actions are in the audit trail, with the reason.
func TestAdminDisableUser(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		tok, uid := s.Login(t, "hal")
		op := s.OperatorToken(t, "trust-and-safety")
		ws, err := s.DialSocket(t, apitest.TransportWS, map[string][]string{"Authorization": {"Bearer " + tok}})
		if err != nil {
			t.Fatal(err)
		}
		ws.MustInit(t, nil)
		ws.Subscribe(t, "1", `subscription { todoChanged { kind } }`)

		s.Fails(t, disableMut, "BAD_USER_INPUT", apitest.As(op), vars("id", uid, "reason", "  "))
		var d struct{ AdminDisableUser adminUser }
		s.OK(t, disableMut, &d, apitest.As(op), vars("id", uid, "reason", "sends spam to other users"))
		if !d.AdminDisableUser.Disabled || d.AdminDisableUser.DisabledReason == nil || *d.AdminDisableUser.DisabledReason != "sends spam to other users" {
			t.Errorf("after disable: %+v", d.AdminDisableUser)
		}
		s.Fails(t, meQuery, "UNAUTHENTICATED", apitest.As(tok))
		if code, _ := ws.Closed(t, 5*time.Second); code != 4401 {
			t.Errorf("the user's socket: close code %d, want 4401", code)
		}
		// A session that a login racing the disable made is refused too.
		raced, hash := auth.NewToken()
		dbtest.Exec(t, s.DB, `INSERT INTO sessions (token_hash, user_id, app_id, created_at, expires_at) VALUES ($1, $2, 'app', $3, $4)`,
			hash[:], uid, time.Now().UTC(), time.Now().Add(time.Hour).UTC())
		s.Fails(t, meQuery, "UNAUTHENTICATED", apitest.As(raced))
		dbtest.Exec(t, s.DB, `DELETE FROM sessions WHERE token_hash = $1`, hash[:])
		sessions := s.Count(t, "sessions", "")
		s.WeChat.On("hal-again", wechattest.Reply{As: "hal"})
		r := s.Fails(t, loginMutUID, "FORBIDDEN", vars("code", "hal-again"))
		if r.Ext("reason") != "USER_DISABLED" {
			t.Errorf("a disabled user's login: reason %q, want USER_DISABLED", r.Ext("reason"))
		}
		if n := s.Count(t, "sessions", ""); n != sessions {
			t.Errorf("a refused login made a session: %d sessions, want %d", n, sessions)
		}
		if _, other := s.Login(t, "ivy"); other == uid {
			t.Fatal("ivy is hal")
		}

		var e struct{ AdminEnableUser adminUser }
		s.OK(t, enableMut, &e, apitest.As(op), vars("id", uid))
		if e.AdminEnableUser.Disabled || e.AdminEnableUser.DisabledReason != nil {
			t.Errorf("after enable: %+v", e.AdminEnableUser)
		}
		s.WeChat.On("hal-back", wechattest.Reply{As: "hal"})
		var back struct {
			Login struct{ User struct{ ID string } }
		}
		s.OK(t, loginMutUID, &back, vars("code", "hal-back"))
		if back.Login.User.ID != uid {
			t.Errorf("hal back is user %s, want %s", back.Login.User.ID, uid)
		}

		var a auditPage
		s.OK(t, auditQuery, &a, apitest.As(op), vars("first", 2))
		got := []string{}
		for _, x := range a.AdminAudit.Edges {
			got = append(got, x.Node.Action+":"+x.Node.Reason)
		}
		if strings.Join(got, ",") != "enable_user:,disable_user:sends spam to other users" || !a.AdminAudit.PageInfo.HasNextPage {
			t.Errorf("audit, newest first: %v, want enable then disable (and the token's issue after them)", got)
		}
		s.Fails(t, disableMut, "NOT_FOUND", apitest.As(op), vars("id", "999999", "reason", "x"))
	})
}

// TestAdminActionsAndTheirAuditCommitTogether: an action whose audit
// entry cannot be written does not happen.
func TestAdminActionsAndTheirAuditCommitTogether(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		tok, uid := s.Login(t, "jo")
		op := s.OperatorToken(t, "support")
		// Make every audit insert fail: a check no entry passes.
		dbtest.Exec(t, s.DB, `DROP TABLE admin_audit`)
		dbtest.Exec(t, s.DB, `CREATE TABLE admin_audit (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, operator TEXT NOT NULL CHECK (operator = ''),
			action TEXT NOT NULL, target TEXT NOT NULL, reason TEXT NOT NULL, client_ip TEXT NOT NULL)`)
		for _, m := range []struct {
			doc  string
			opts []apitest.Option
		}{{revokeMut, []apitest.Option{vars("id", uid)}}, {disableMut, []apitest.Option{vars("id", uid, "reason", "r")}}} {
			if r := s.Post(t, m.doc, append(m.opts, apitest.As(op))...); r.Code() != "INTERNAL_SERVER_ERROR" {
				t.Errorf("with the audit failing: %s", r.Raw)
			}
		}
		s.OK(t, meQuery, nil, apitest.As(tok))
		if n := s.Count(t, "users", "disabled_at IS NOT NULL"); n != 0 {
			t.Errorf("%d users disabled without an audit entry", n)
		}
	})
}

// TestAdminAuditPages: the audit trail pages newest first.
func TestAdminAuditPages(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	_, uid := s.Login(t, "kim")
	op := s.OperatorToken(t, "a")
	for range 3 {
		s.OK(t, revokeMut, nil, apitest.As(op), vars("id", uid))
	}
	var first, second auditPage
	s.OK(t, auditQuery, &first, apitest.As(op), vars("first", 2))
	if len(first.AdminAudit.Edges) != 2 || !first.AdminAudit.PageInfo.HasNextPage {
		t.Fatalf("first page: %+v", first)
	}
	s.OK(t, auditQuery, &second, apitest.As(op), vars("first", 10, "after", first.AdminAudit.Edges[1].Cursor))
	var actions []string
	for _, p := range []auditPage{first, second} {
		for _, e := range p.AdminAudit.Edges {
			actions = append(actions, e.Node.Action)
		}
	}
	if strings.Join(actions, ",") != "revoke_sessions,revoke_sessions,revoke_sessions,issue_token" {
		t.Errorf("audit: %v", actions)
	}
	idA, _ := strconv.Atoi(first.AdminAudit.Edges[0].Node.ID)
	idB, _ := strconv.Atoi(first.AdminAudit.Edges[1].Node.ID)
	if idA <= idB {
		t.Errorf("IDs %d, %d: want newest first", idA, idB)
	}
}

// TestDisabledCloudHostingCallerIsForbidden: in Cloud Hosting mode the
// platform's headers name a disabled user: FORBIDDEN, USER_DISABLED.
func TestDisabledCloudHostingCallerIsForbidden(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{CloudHosting: true})
		as := []apitest.Option{apitest.Header("X-WX-SOURCE", "wx_client"), apitest.Header("X-WX-APPID", wechattest.AppID),
			apitest.Header("X-WX-OPENID", "oid-platform-lu")}
		var me struct{ Me struct{ ID string } }
		s.OK(t, meQuery, &me, as...)
		op := s.OperatorToken(t, "support")
		s.OK(t, disableMut, nil, apitest.As(op), vars("id", me.Me.ID, "reason", "abuse"))
		if r := s.Fails(t, meQuery, "FORBIDDEN", as...); r.Ext("reason") != "USER_DISABLED" {
			t.Errorf("a disabled platform caller: %s", r.Raw)
		}
		s.OK(t, enableMut, nil, apitest.As(op), vars("id", me.Me.ID))
		s.OK(t, meQuery, nil, as...)
	})
}

// TestOperatorTokenOnUserPaths: an operator token on a user's paths that
// read the caller outside a field (a subscription socket, a GET of the
// list with its ETag) is refused, never a server error.
func TestOperatorTokenOnUserPaths(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	op := s.OperatorToken(t, "support")
	req := httptest.NewRequest(http.MethodGet, "/query?query="+url.QueryEscape(`{ todos { totalCount } }`), nil)
	req.Header.Set("Authorization", "Bearer "+op)
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"FORBIDDEN"`) {
		t.Errorf("GET todos with an operator token: %d %s", rec.Code, rec.Body.String())
	}
	ws, err := s.DialSocket(t, apitest.TransportWS, http.Header{"Authorization": {"Bearer " + op}})
	if err != nil {
		t.Fatal(err)
	}
	ws.Init(t, nil)
	if code, reason := ws.Closed(t, 5*time.Second); code != 4403 || !strings.Contains(reason, "FORBIDDEN") {
		t.Errorf("a socket with an operator token: closed %d %q, want 4403 FORBIDDEN", code, reason)
	}
	if strings.Contains(s.Logs.String(), "panic") {
		t.Error("the server panicked")
	}
}

// TestDisableReachesEverySocketAndApp: a disable closes the user's
// sockets that have no session (Cloud Hosting's callers), and a person
// who is disabled stays disabled when a late unionid merges them into
// another.
func TestDisableReachesEverySocketAndApp(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{CloudHosting: true, Apps: []string{wechattest.AppID, wechattest.OtherAppID}})
		as := http.Header{"X-Wx-Source": {"wx_client"}, "X-Wx-Appid": {wechattest.AppID}, "X-Wx-Openid": {"oid-platform-mo"}}
		var me struct{ Me struct{ ID string } }
		opts := []apitest.Option{}
		for k, v := range as {
			opts = append(opts, apitest.Header(k, v[0]))
		}
		s.OK(t, meQuery, &me, opts...)
		ws, err := s.DialSocket(t, apitest.TransportWS, as)
		if err != nil {
			t.Fatal(err)
		}
		ws.MustInit(t, nil)
		op := s.OperatorToken(t, "support")
		s.OK(t, disableMut, nil, apitest.As(op), vars("id", me.Me.ID, "reason", "abuse"))
		if code, _ := ws.Closed(t, 5*time.Second); code != 4401 {
			t.Errorf("the disabled caller's socket: close code %d, want 4401", code)
		}

		// nia, disabled in app B (no unionid yet), then bound: her login
		// merges her into her older person of app A, and is refused.
		_, older := s.LoginTo(t, wechattest.AppID, "nia")
		s.WeChat.On("nia-b", wechattest.Reply{As: "nia", NoUnionID: true})
		_, newer := s.LoginTo(t, wechattest.OtherAppID, "nia-b")
		s.OK(t, disableMut, nil, apitest.As(op), vars("id", newer, "reason", "fraud in app B"))
		s.WeChat.On("nia-b-bound", wechattest.Reply{As: "nia"})
		if r := s.Fails(t, apitest.LoginAppMutation, "FORBIDDEN", apitest.Vars(map[string]any{"code": "nia-b-bound", "appId": wechattest.OtherAppID})); r.Ext("reason") != "USER_DISABLED" {
			t.Errorf("a disabled person's login after the bind: %s", r.Raw)
		}
		if n := s.Count(t, "users", "disabled_at IS NOT NULL AND id = $1", newer); n != 1 {
			t.Errorf("the disable of user %s (older %s) is gone", newer, older)
		}
	})
}

// TestAdminPagesPastInt32: keyset cursors hold IDs past 2^31.
func TestAdminPagesPastInt32(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		if strings.HasPrefix(url, "sqlite") {
			s.Login(t, "first")
			dbtest.Exec(t, s.DB, `UPDATE sqlite_sequence SET seq = 3000000000 WHERE name = 'users'`)
		} else {
			dbtest.Exec(t, s.DB, `SELECT setval(pg_get_serial_sequence('users', 'id'), 3000000000)`)
		}
		for _, name := range []string{"p1", "p2", "p3"} {
			s.Login(t, name)
		}
		op := s.OperatorToken(t, "support")
		var p usersPage
		s.OK(t, usersQuery, &p, apitest.As(op), vars("first", 1))
		var next usersPage
		s.OK(t, usersQuery, &next, apitest.As(op), vars("first", 1, "after", *p.AdminUsers.PageInfo.EndCursor))
		if got := ids(next); len(got) != 1 || got[0] == ids(p)[0] {
			t.Errorf("pages %v then %v", ids(p), got)
		}
	})
}
