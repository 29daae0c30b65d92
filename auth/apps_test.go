package auth_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// Two mini-programs on one server, bound to one Open Platform account:
// the fake gives a person an openid per app and one unionid.
var (
	appA = wechattest.AppID
	appB = wechattest.OtherAppID
)

func twoApps(tb testing.TB, url string, opt apitest.Options) *apitest.Server {
	tb.Helper()
	opt.Apps = []string{appA, appB}
	return apitest.New(tb, url, opt)
}

// appVars are the variables of apitest.LoginAppMutation.
func appVars(appID, code string) apitest.Option {
	return apitest.Vars(map[string]any{"code": code, "appId": appID})
}

const (
	createTodoMut = `mutation($t: String!, $cmi: String) { createTodo(input: {title: $t, clientMutationId: $cmi}) { id } }`
	listTodos     = `{ me { id phoneNumber } todos(first: 100) { totalCount edges { node { id title done } } } }`
)

type listData struct {
	Me struct {
		ID          string  `json:"id"`
		PhoneNumber *string `json:"phoneNumber"`
	} `json:"me"`
	Todos struct {
		TotalCount int `json:"totalCount"`
		Edges      []struct {
			Node struct {
				ID    string `json:"id"`
				Title string `json:"title"`
				Done  bool   `json:"done"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"todos"`
}

// list returns the caller's user ID and todo titles, and the totalCount.
func list(tb testing.TB, s *apitest.Server, token string) (userID string, titles []string, total int) {
	tb.Helper()
	var d listData
	s.OK(tb, listTodos, &d, apitest.As(token))
	for _, e := range d.Todos.Edges {
		titles = append(titles, e.Node.Title)
	}
	return d.Me.ID, titles, d.Todos.TotalCount
}

func create(tb testing.TB, s *apitest.Server, token, title string) {
	tb.Helper()
	s.OK(tb, createTodoMut, nil, apitest.As(token), apitest.Vars(map[string]any{"t": title}))
}

// TestOnePersonAcrossApps: alice signs in from both apps (two openids,
// one unionid) and is one user, with one todo list; each app's code is
// exchanged with that app's credentials, and she has an identity in
// each.
func TestOnePersonAcrossApps(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := twoApps(t, url, apitest.Options{})
		var inA, inB apitest.LoginData
		s.OK(t, apitest.LoginAppMutation, &inA, appVars(appA, "alice"))
		s.OK(t, apitest.LoginAppMutation, &inB, appVars(appB, "alice"))
		if !inA.Login.IsNewUser || inB.Login.IsNewUser {
			t.Errorf("isNewUser: got %v from the first app, %v from the second; want true, then false", inA.Login.IsNewUser, inB.Login.IsNewUser)
		}
		if inA.Login.User.ID != inB.Login.User.ID {
			t.Fatalf("alice is user %s in one app and %s in the other, want one user", inA.Login.User.ID, inB.Login.User.ID)
		}
		tokA, tokB := inA.Login.Token, inB.Login.Token
		create(t, s, tokA, "from the shop")
		create(t, s, tokB, "from the membership app")
		for _, tok := range []string{tokA, tokB} {
			id, titles, total := list(t, s, tok)
			if id != inA.Login.User.ID || total != 2 || len(titles) != 2 {
				t.Errorf("list: got user %s, totalCount %d, titles %q; want user %s and both todos", id, total, titles, inA.Login.User.ID)
			}
		}
		if n := s.Count(t, "users", "1 = 1"); n != 1 {
			t.Errorf("got %d users, want 1", n)
		}
		for _, app := range []string{appA, appB} {
			if n := s.Count(t, "identities", "app_id = $1 AND open_id = $2 AND union_id = $3 AND session_key IS NOT NULL",
				app, wechattest.OpenIDIn(app, "alice"), wechattest.UnionID("alice")); n != 1 {
				t.Errorf("%s: got %d identities with its openid, the unionid and a session_key, want 1", app, n)
			}
			if n := s.Count(t, "sessions", "app_id = $1", app); n != 1 {
				t.Errorf("%s: got %d sessions of the app, want 1", app, n)
			}
		}
		// bob is another person.
		_, bob := s.LoginTo(t, appB, "bob")
		if bob == inA.Login.User.ID {
			t.Error("bob signed in as alice")
		}
	})
}

// TestLoginNamesItsApp: with several apps a login must name one of them,
// and nothing reaches WeChat otherwise; with one app it may be left out.
func TestLoginNamesItsApp(t *testing.T) {
	s := twoApps(t, dbtest.SQLiteURL(t), apitest.Options{})
	for _, tt := range []struct {
		name, appID, want string // want: in the message
	}{
		{"left out", "", "appId is required"},
		{"unknown", "wx_someone_else", "is not a mini-program this server serves"},
		{"empty", " ", "is not a mini-program this server serves"},
		{"huge", strings.Repeat("w", 10_000), "is not a mini-program this server serves"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]any{"code": "carol-" + tt.name}
			if tt.appID != "" {
				vars["appId"] = tt.appID
			}
			r := s.Fails(t, apitest.LoginAppMutation, "BAD_USER_INPUT", apitest.Vars(vars))
			if f := r.Ext("field"); f != "appId" {
				t.Errorf("field: got %q, want appId", f)
			}
			if msg := r.Errors[0].Message; !strings.Contains(msg, tt.want) || !strings.Contains(msg, appA) || len(msg) > 400 {
				t.Errorf("message %q: want %q and the served AppIDs, briefly", msg, tt.want)
			}
		})
	}
	if n := s.WeChat.TotalCalls(); n != 0 {
		t.Errorf("WeChat got %d exchanges for refused logins, want 0", n)
	}

	one := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	one.OK(t, apitest.LoginMutation, nil, codeVars("dan"))
	one.OK(t, apitest.LoginAppMutation, nil, appVars(appA, "dan-2"))
	if r := one.Fails(t, apitest.LoginAppMutation, "BAD_USER_INPUT", appVars(appB, "dan-3")); r.Ext("field") != "appId" {
		t.Errorf("one app, another appId: got field %q, want appId", r.Ext("field"))
	}
}

// TestConcurrentFirstLoginsFromTwoAppsMakeOnePerson: a person's first
// logins from both apps at once (several devices each) make one person,
// with one identity per app, and exactly one login is the new user's.
func TestConcurrentFirstLoginsFromTwoAppsMakeOnePerson(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := twoApps(t, url, apitest.Options{})
		const n = 12
		codes := make([]string, n)
		for i := range codes {
			codes[i] = "zoe-device-" + strconv.Itoa(i)
			s.WeChat.On(codes[i], wechattest.Reply{As: "zoe"})
		}
		answers := sendLogins(t, []*apitest.Server{s}, codes, func(i int, code string) (string, apitest.Option) {
			return apitest.LoginAppMutation, appVars([]string{appA, appB}[i%2], code)
		})
		news := 0
		for _, a := range answers {
			if a.Login.IsNewUser {
				news++
			}
		}
		if users := userIDs(answers); len(users) != 1 || news != 1 {
			t.Errorf("got users %v and %d new-user logins, want one user and one", users, news)
		}
		if got := s.Count(t, "users", "1 = 1"); got != 1 {
			t.Errorf("got %d users, want 1", got)
		}
		if got := s.Count(t, "identities", "1 = 1"); got != 2 {
			t.Errorf("got %d identities, want 2 (one per app)", got)
		}
	})
}

// TestLateUnionIDLinks: WeChat sends no unionid until the app is bound
// to the Open Platform account; the unionid that comes later links the
// identity to its person, and then a login from the other app joins it.
func TestLateUnionIDLinks(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := twoApps(t, url, apitest.Options{})
		s.WeChat.On("ivy-before", wechattest.Reply{As: "ivy", NoUnionID: true})
		tok, first := s.LoginTo(t, appA, "ivy-before")
		create(t, s, tok, "kept")
		if n := s.Count(t, "users", "union_id IS NULL"); n != 1 {
			t.Fatalf("got %d users without a unionid, want 1", n)
		}
		s.WeChat.On("ivy-after", wechattest.Reply{As: "ivy"})
		if _, again := s.LoginTo(t, appA, "ivy-after"); again != first {
			t.Fatalf("the second login is user %s, want %s", again, first)
		}
		if n := s.Count(t, "users", "union_id = $1", wechattest.UnionID("ivy")); n != 1 {
			t.Errorf("got %d users with the late unionid, want 1", n)
		}
		tokB, inB := s.LoginTo(t, appB, "ivy")
		if inB != first {
			t.Errorf("from the other app: user %s, want %s", inB, first)
		}
		if _, titles, _ := list(t, s, tokB); len(titles) != 1 || titles[0] != "kept" {
			t.Errorf("from the other app: todos %q, want [kept]", titles)
		}
		if strings.Contains(s.Logs.String(), "merged") {
			t.Error("a link merged users, want no merge")
		}
	})
}

// TestLateUnionIDMergesTwoPersons: jay signed in from app A (with the
// unionid) and from app B before B was bound (without it): two persons,
// each with todos and sessions, and on B a phone number. B's next login
// brings the unionid: the two are merged, in one transaction, into the
// older one although the newer one is signing in, keeping every todo (a
// client mutation ID used by both included), the counts and every
// session, and the merge is logged.
func TestLateUnionIDMergesTwoPersons(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := twoApps(t, url, apitest.Options{})
		tokA, older := s.LoginTo(t, appA, "jay")
		s.WeChat.On("jay-b", wechattest.Reply{As: "jay", NoUnionID: true})
		tokB, newer := s.LoginTo(t, appB, "jay-b")
		if older == newer {
			t.Fatalf("without a unionid from B, jay is one user (%s) already", older)
		}
		for i, title := range []string{"a1", "a2", "a3"} {
			s.OK(t, createTodoMut, nil, apitest.As(tokA), apitest.Vars(map[string]any{"t": title, "cmi": "cmi-" + strconv.Itoa(i)}))
		}
		s.OK(t, `mutation { updateTodo(id: "`+firstTodo(t, s, tokA)+`", input: {done: true}) { id } }`, nil, apitest.As(tokA))
		s.OK(t, createTodoMut, nil, apitest.As(tokB), apitest.Vars(map[string]any{"t": "b1", "cmi": "cmi-0"}))
		s.OK(t, createTodoMut, nil, apitest.As(tokB), apitest.Vars(map[string]any{"t": "b2", "cmi": "cmi-b-only"}))
		s.OK(t, `mutation($c: String!) { bindPhoneNumber(input: {code: $c}) { phoneNumber } }`, nil, apitest.As(tokB),
			apitest.Vars(map[string]any{"c": "jay-phone"}))

		// B's next login carries the unionid A's person has.
		s.WeChat.On("jay-b-bound", wechattest.Reply{As: "jay"})
		var again apitest.LoginData
		s.OK(t, apitest.LoginAppMutation, &again, appVars(appB, "jay-b-bound"))
		olderN, _ := strconv.Atoi(older)
		newerN, _ := strconv.Atoi(newer)
		if olderN > newerN {
			t.Fatalf("user IDs %d, %d do not grow", olderN, newerN)
		}
		if again.Login.User.ID != older || again.Login.IsNewUser {
			t.Fatalf("after the merge: user %s (new %v), want %s, the older", again.Login.User.ID, again.Login.IsNewUser, older)
		}
		if n := s.Count(t, "users", "1 = 1"); n != 1 {
			t.Errorf("got %d users, want 1", n)
		}
		// Every session, the new one and both old ones, is the kept user's
		// now, and sees one list of all five todos.
		for name, tok := range map[string]string{"A's old": tokA, "B's old": tokB, "new": again.Login.Token} {
			id, titles, total := list(t, s, tok)
			if id != older || total != 5 || len(titles) != 5 {
				t.Errorf("%s session: user %s, totalCount %d, todos %q; want user %s and 5 todos", name, id, total, titles, older)
			}
		}
		var d listData
		s.OK(t, listTodos, &d, apitest.As(tokA))
		if d.Me.PhoneNumber == nil || *d.Me.PhoneNumber != wechattest.PhoneNumber("jay-phone") {
			t.Errorf("phone number after the merge: got %v, want B's", d.Me.PhoneNumber)
		}
		if n := s.Count(t, "users", "todo_count = 5 AND done_count = 1 AND union_id = $1", wechattest.UnionID("jay")); n != 1 {
			t.Errorf("the kept user's counters or unionid are off: %s", s.Dump(t))
		}
		// The ID both used stays with the kept user's todo; the others stay.
		for cmi, want := range map[string]int{"cmi-0": 1, "cmi-1": 1, "cmi-b-only": 1} {
			if n := s.Count(t, "todos", "client_mutation_id = $1 AND user_id = $2", cmi, olderN); n != want {
				t.Errorf("%d todos with client mutation ID %s, want %d", n, cmi, want)
			}
		}
		if n := s.Count(t, "identities", "user_id = $1", olderN); n != 2 {
			t.Errorf("got %d identities of the kept user, want 2", n)
		}
		logs := s.Logs.String()
		want := fmt.Sprintf(`"kept_user":%d,"removed_user":%d,"todos_moved":2,"sessions_moved":1`, olderN, newerN)
		if !strings.Contains(logs, "merged two users") || !strings.Contains(logs, want) {
			t.Errorf("the merge is not logged with %s", want)
		}
	})
}

func firstTodo(tb testing.TB, s *apitest.Server, token string) string {
	tb.Helper()
	var d listData
	s.OK(tb, listTodos, &d, apitest.As(token))
	if len(d.Todos.Edges) == 0 {
		tb.Fatal("no todo")
	}
	return d.Todos.Edges[0].Node.ID
}

// TestConcurrentLateUnionIDsMergeOnce: right after app B is bound, a
// page's parallel logins from B all bring the unionid that A's person
// has: they all succeed, as that one person, and the two are merged once.
func TestConcurrentLateUnionIDsMergeOnce(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := twoApps(t, url, apitest.Options{})
		_, older := s.LoginTo(t, appA, "kit")
		s.WeChat.On("kit-b", wechattest.Reply{As: "kit", NoUnionID: true})
		tokB, _ := s.LoginTo(t, appB, "kit-b")
		create(t, s, tokB, "from B")
		codes := make([]string, 8)
		for i := range codes {
			codes[i] = "kit-b-bound-" + strconv.Itoa(i)
			s.WeChat.On(codes[i], wechattest.Reply{As: "kit"})
		}
		answers := sendLogins(t, []*apitest.Server{s}, codes, func(_ int, code string) (string, apitest.Option) {
			return apitest.LoginAppMutation, appVars(appB, code)
		})
		if users := userIDs(answers); len(users) != 1 || !users[older] {
			t.Errorf("the logins signed in %v, want %s alone", users, older)
		}
		if got := strings.Count(s.Logs.String(), "merged two users"); got != 1 {
			t.Errorf("%d merges logged, want 1", got)
		}
		if _, titles, _ := list(t, s, tokB); len(titles) != 1 {
			t.Errorf("after the merge: todos %q, want B's one", titles)
		}
	})
}
