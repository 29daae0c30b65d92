package graph_test

import (
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
	"wxtodo/graph"
	"wxtodo/wechat/wechattest"
)

// GraphQL documents for TestEveryAPIFieldNeedsAToken.
const (
	todoFields            = `id title done createdAt updatedAt`
	userFields            = `id nickname avatarUrl createdAt`
	meQuery               = `{ me { ` + userFields + ` } }`
	todoQuery             = `query($id: ID!) { todo(id: $id) { ` + todoFields + ` } }`
	todosQuery            = `{ todos { edges { cursor node { ` + todoFields + ` } } pageInfo { hasNextPage endCursor } totalCount } }`
	createTodoMutation    = `mutation($input: CreateTodoInput!) { createTodo(input: $input) { ` + todoFields + ` } }`
	updateTodoMutation    = `mutation($id: ID!, $input: UpdateTodoInput!) { updateTodo(id: $id, input: $input) { ` + todoFields + ` } }`
	deleteTodoMutation    = `mutation($id: ID!) { deleteTodo(id: $id) }`
	updateProfileMutation = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { ` + userFields + ` } }`
)

type todoJSON struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Done      bool   `json:"done"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

type userJSON struct {
	ID        string `json:"id"`
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"avatarUrl"`
	CreatedAt string `json:"createdAt"`
}

// TestEveryAPIFieldNeedsAToken: every root field but login, sent without
// a token, fails alone with UNAUTHENTICATED MISSING_TOKEN at its own path,
// and does nothing.
func TestEveryAPIFieldNeedsAToken(t *testing.T) {
	const phoneCode = "anonymous-phone"
	cases := []struct {
		root, field, query string
		vars               map[string]any
	}{
		{"Query", "me", meQuery, nil},
		{"Query", "todos", todosQuery, nil},
		{"Query", "todo", todoQuery, map[string]any{"id": "<alice's>"}},
		{"Mutation", "createTodo", createTodoMutation, map[string]any{"input": map[string]any{"title": "anonymous"}}},
		{"Mutation", "updateTodo", updateTodoMutation, map[string]any{"id": "<alice's>", "input": map[string]any{"title": "anonymous", "done": true}}},
		{"Mutation", "deleteTodo", deleteTodoMutation, map[string]any{"id": "<alice's>"}},
		{"Mutation", "updateProfile", updateProfileMutation, map[string]any{"input": map[string]any{"nickname": "anonymous"}}},
		{"Mutation", "logout", `mutation { logout }`, nil},
		{"Query", "decryptData", `query($input: DecryptDataInput!) { decryptData(input: $input) }`, map[string]any{"input": map[string]any{"encryptedData": "AAAA", "iv": "AAAA"}}},
		{"Mutation", "decryptData", `mutation($input: DecryptDataInput!) { decryptData(input: $input) }`, map[string]any{"input": map[string]any{"encryptedData": "AAAA", "iv": "AAAA"}}},
		{"Query", "verifyUserData", `query($input: VerifyUserDataInput!) { verifyUserData(input: $input) }`, map[string]any{"input": map[string]any{"rawData": "{}", "signature": strings.Repeat("0", 40)}}},
		{"Mutation", "verifyUserData", `mutation($input: VerifyUserDataInput!) { verifyUserData(input: $input) }`, map[string]any{"input": map[string]any{"rawData": "{}", "signature": strings.Repeat("0", 40)}}},
		{"Query", "checkSession", `query { checkSession }`, nil},
		{"Mutation", "checkSession", `mutation { checkSession }`, nil},
		{"Mutation", "bindPhoneNumber", `mutation($code: String!) { bindPhoneNumber(input: {code: $code}) { id phoneNumber } }`, map[string]any{"code": phoneCode}},
		// The operators' fields (admin/ has their specs with tokens).
		{"Query", "adminUsers", `{ adminUsers { edges { node { id } } } }`, nil},
		{"Query", "adminUser", `query($id: ID!) { adminUser(id: $id) { id } }`, map[string]any{"id": "1"}},
		{"Query", "adminAudit", `{ adminAudit { edges { node { id } } } }`, nil},
		{"Mutation", "adminRevokeSessions", `mutation($id: ID!) { adminRevokeSessions(userId: $id) }`, map[string]any{"id": "1"}},
		{"Mutation", "adminDisableUser", `mutation($id: ID!) { adminDisableUser(userId: $id, reason: "anonymous") { id } }`, map[string]any{"id": "1"}},
		{"Mutation", "adminEnableUser", `mutation($id: ID!) { adminEnableUser(userId: $id) { id } }`, map[string]any{"id": "1"}},
	}

	// The name claims every field: a root field the table misses fails
	// here, so a new field cannot ship without this check.
	t.Run("the cases cover every root field but login", func(t *testing.T) {
		covered := map[string]bool{}
		for _, c := range cases {
			covered[c.root+"."+c.field] = true
		}
		schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
		for _, root := range []string{"Query", "Mutation"} {
			for _, f := range schema.Types[root].Fields {
				if strings.HasPrefix(f.Name, "__") || (root == "Mutation" && f.Name == "login") {
					continue
				}
				if !covered[root+"."+f.Name] {
					t.Errorf("%s.%s has no case", root, f.Name)
				}
			}
		}
	})

	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		alice, _ := s.Login(t, "alice")
		var created struct {
			CreateTodo todoJSON `json:"createTodo"`
		}
		s.OK(t, createTodoMutation, &created, apitest.As(alice), apitest.Vars(map[string]any{"input": map[string]any{"title": "alice's"}}))
		td := created.CreateTodo
		var updated struct {
			UpdateProfile userJSON `json:"updateProfile"`
		}
		s.OK(t, updateProfileMutation, &updated, apitest.As(alice), apitest.Vars(map[string]any{"input": map[string]any{"nickname": "Alice"}}))
		profile := updated.UpdateProfile
		rows := s.Count(t, "todos", "")

		for _, c := range cases {
			t.Run(c.root+"."+c.field+" without Authorization is UNAUTHENTICATED MISSING_TOKEN", func(t *testing.T) {
				vars := map[string]any{}
				for k, v := range c.vars {
					if v == "<alice's>" {
						v = td.ID
					}
					vars[k] = v
				}
				r := s.Post(t, c.query, apitest.Vars(vars))
				if len(r.Errors) != 1 {
					t.Fatalf("got %d errors, want 1: %s", len(r.Errors), r.Raw)
				}
				if got := r.Code(); got != errcode.Unauthenticated {
					t.Errorf("got code %q, want %q: %s", got, errcode.Unauthenticated, r.Raw)
				}
				if got := r.Ext("reason"); got != errcode.ReasonMissingToken {
					t.Errorf("got reason %q, want %q: %s", got, errcode.ReasonMissingToken, r.Raw)
				}
				if p := r.Errors[0].Path; len(p) == 0 || p[0] != c.field {
					t.Errorf("got error path %v, want [%s]", p, c.field)
				}
				var d map[string]any
				if string(r.Data) != "null" {
					r.Decode(t, &d)
				}
				if v := d[c.field]; v != nil {
					t.Errorf("got data.%s %v, want null: %s", c.field, v, r.Raw)
				}
			})
		}

		t.Run("nothing changed", func(t *testing.T) {
			if got := s.Count(t, "todos", ""); got != rows {
				t.Errorf("got %d todos rows, want %d", got, rows)
			}
			var got struct {
				Todo *todoJSON `json:"todo"`
			}
			s.OK(t, todoQuery, &got, apitest.As(alice), apitest.Vars(map[string]any{"id": td.ID}))
			if got.Todo == nil || *got.Todo != td {
				t.Errorf("alice's todo: got %+v, want unchanged %+v", got.Todo, td)
			}
			// alice's session survived the anonymous logout.
			var m struct {
				Me userJSON `json:"me"`
			}
			s.OK(t, meQuery, &m, apitest.As(alice))
			if m.Me != profile {
				t.Errorf("me: got %+v, want unchanged %+v", m.Me, profile)
			}
			// The WeChat data fields reached neither WeChat nor the users.
			if n := s.WeChat.PhoneCalls(phoneCode); n != 0 {
				t.Errorf("got %d getuserphonenumber calls, want 0", n)
			}
			if n := s.WeChat.CheckSessionCalls(wechattest.OpenID("alice")); n != 0 {
				t.Errorf("got %d checksession calls, want 0", n)
			}
			if n := s.Count(t, "users", "phone_number IS NOT NULL"); n != 0 {
				t.Errorf("got %d users with a phone number, want 0", n)
			}
		})
	})
}
