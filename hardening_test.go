package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"wxtodo/db/dbtest"
	"wxtodo/todo"
)

// loginConcurrently sends n logins at once, the i-th with code(i), spread
// over the instances, and returns their answers; a failed login fails t.
func loginConcurrently(t *testing.T, es []*env, n int, code func(i int) string) []loginData {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers []loginData
		errs    []string
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := es[i%len(es)].post("", loginMutation, map[string]any{"code": code(i)})
			mu.Lock()
			defer mu.Unlock()
			if len(r.Errors) > 0 {
				errs = append(errs, r.Raw)
				return
			}
			var d loginData
			r.decode(t, &d)
			answers = append(answers, d)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d logins failed, first: %s", len(errs), n, errs[0])
	}
	return answers
}

// sameCode returns a code function that always gives code.
func sameCode(code string) func(int) string { return func(int) string { return code } }

// userIDs returns the set of users the answers signed in.
func userIDs(answers []loginData) map[string]bool {
	ids := map[string]bool{}
	for _, a := range answers {
		ids[a.Login.User.ID] = true
	}
	return ids
}

// dumpTables renders every row of the server's tables as text.
func dumpTables(t *testing.T, e *env) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"users", "sessions", "login_codes", "todos", "wechat_tokens"} {
		rows, err := e.sqldb.QueryContext(context.Background(), "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

func TestOperationLimits(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteURL(t), "INTROSPECTION", "true")
	token, _ := e.login("limits")
	deep := "{ todos { edges { node { id } } } }"
	tests := []struct {
		name  string
		query string
		code  string
	}{
		{"a full page of every field fits", `{ todos(first: 100) { edges { cursor node { id title done createdAt updatedAt } } pageInfo { hasNextPage endCursor } totalCount } }`, ""},
		{"two full pages fit", "{" + aliases(fullPage, 2) + "}", ""},
		{"too complex", "{" + aliases(fullPage, 4) + "}", "COMPLEXITY_LIMIT_EXCEEDED"},
		{"too many aliases", "{ me {" + aliases("id", 16) + " } }", "ALIAS_LIMIT_EXCEEDED"},
		{"too many root fields", "{" + aliases("me { id }", 11) + "}", "ROOT_FIELD_LIMIT_EXCEEDED"},
		{"nesting through fragments within the limit", `query { todos { ...A } } fragment A on TodoConnection { edges { ...B } } fragment B on TodoEdge { node { ...C } } fragment C on Todo { id }` + "", ""},
		{"nesting within the limit", deep, ""},
		{"too many tokens to parse", "{" + strings.Repeat(" me { id }", 3000) + " }", "GRAPHQL_PARSE_FAILED"},
		{"too deep", `{ __type(name: "Todo") { fields { type` + strings.Repeat(" { ofType", 14) + " { name }" + strings.Repeat(" }", 14) + " } } }", "DEPTH_LIMIT_EXCEEDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(token, tt.query, nil)
			if got := r.code(); got != tt.code {
				t.Fatalf("got code %q, want %q: %s", got, tt.code, r.Raw)
			}
		})
	}
}

const fullPage = `todos(first: 100) { edges { cursor node { id title done createdAt updatedAt } } pageInfo { hasNextPage endCursor } totalCount }`

// aliases returns n aliased copies of field.
func aliases(field string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " a%d: %s", i, field)
	}
	return b.String()
}

func TestBadRequestsGetErrorsAndServerStaysUp(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteURL(t))
	token, _ := e.login("badreq")
	raw := func(body string) *gqlResponse {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		return e.do(req)
	}
	tests := []struct {
		name string
		body string
		code string
	}{
		{"malformed JSON", `{"query": "{ me { id } }"`, "BAD_REQUEST"},
		{"JSON that is not an object", `[1,2,3]`, ""},
		{"no query", `{}`, ""},
		{"syntax error", `{"query": "{ me { id "}`, "GRAPHQL_PARSE_FAILED"},
		{"unknown field", `{"query": "{ nope }"}`, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown operation", `{"query": "query A { me { id } }", "operationName": "B"}`, ""},
		{"wrong variable type", `{"query": "query($f: Int) { todos(first: $f) { totalCount } }", "variables": {"f": "ten"}}`, "GRAPHQL_VALIDATION_FAILED"},
		{"variables not an object", `{"query": "{ me { id } }", "variables": 5}`, ""},
		{"huge title", fmt.Sprintf(`{"query": "mutation($t: String!) { createTodo(input: {title: $t}) { id } }", "variables": {"t": %q}}`, strings.Repeat("x", 900_000)), "BAD_USER_INPUT"},
		{"null byte in a query", `{"query": "mutation { createTodo(input: {title: \"a\u0000b\"}) { id } }"}`, "GRAPHQL_PARSE_FAILED"},
		{"null byte in title", `{"query": "mutation($t: String!) { createTodo(input: {title: $t}) { id } }", "variables": {"t": "a\u0000b"}}`, "BAD_USER_INPUT"},
		{"invalid UTF-8 in title", "{\"query\": \"mutation { createTodo(input: {title: \\\"a\xff\xfeb\\\"}) { id } }\"}", ""},
		{"null byte in an ID", `{"query": "query($id: ID!) { todo(id: $id) { id } }", "variables": {"id": "1\u0000"}}`, ""},
		{"null byte in a cursor", `{"query": "query($a: String) { todos(after: $a) { totalCount } }", "variables": {"a": "\u0000"}}`, "BAD_USER_INPUT"},
		{"null byte in a login code", `{"query": "mutation($c: String!) { login(input: {code: $c}) { token } }", "variables": {"c": "a\u0000"}}`, "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := raw(tt.body)
			if tt.code != "" && r.code() != tt.code {
				t.Fatalf("got code %q, want %q: %s", r.code(), tt.code, r.Raw)
			}
			if r.Status >= 500 {
				t.Fatalf("got status %d: %s", r.Status, r.Raw)
			}
			for _, ge := range r.Errors {
				if ge.Extensions["code"] == nil {
					t.Errorf("error without extensions.code: %s", r.Raw)
				}
			}
			if tt.code == "" && len(r.Errors) == 0 && !strings.Contains(r.Raw, `"data"`) {
				t.Errorf("neither data nor errors: %s", r.Raw)
			}
		})
	}
	// Still up, and nothing was written by the bad requests but valid ones.
	var d struct{ Todos struct{ TotalCount int } }
	e.ok(token, `{ todos { totalCount } }`, nil, &d)
	if d.Todos.TotalCount > 1 {
		t.Errorf("got %d todos after bad requests, want at most 1 (the invalid UTF-8 title, repaired)", d.Todos.TotalCount)
	}
}

func TestPanicInResolverIsInternalError(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteURL(t))
	token, _ := e.login("panic")
	e.app.resolver.TodoService.Store = panicStore{e.app.resolver.TodoService.Store}
	r := e.fails(token, `mutation { createTodo(input: {title: "boom"}) { id } }`, nil, "INTERNAL_SERVER_ERROR")
	if strings.Contains(r.Raw, "boom") || strings.Contains(r.Raw, "goroutine") || strings.Contains(r.Raw, ".go:") {
		t.Errorf("the response shows internals: %s", r.Raw)
	}
	if !strings.Contains(e.logs.String(), "panic in resolver") {
		t.Errorf("the panic is not in the log")
	}
	e.ok(token, `mutation { createTodo(input: {title: "fine"}) { id } }`, nil, nil)
}

type panicStore struct{ todo.Store }

func (p panicStore) Create(ctx context.Context, userID int64, in todo.CreateInput) (*todo.Todo, error) {
	if in.Title == "boom" {
		panic("store exploded: boom")
	}
	return p.Store.Create(ctx, userID, in)
}

func TestIntrospectionAndPlaygroundSwitches(t *testing.T) {
	url := dbtest.SQLiteURL(t)
	get := func(e *env, path string) int {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const introspect = `{ __schema { queryType { name } } }`
	t.Run("off by default in production", func(t *testing.T) {
		e := newEnv(t, url)
		if r := e.post("", introspect, nil); len(r.Errors) == 0 {
			t.Errorf("introspection answered in production: %s", r.Raw)
		}
		if got := get(e, "/"); got != http.StatusNotFound {
			t.Errorf("GET /: got %d, want 404", got)
		}
	})
	t.Run("switched on", func(t *testing.T) {
		e := newEnv(t, url, "PLAYGROUND", "true", "INTROSPECTION", "true")
		e.ok("", introspect, nil, nil)
		if got := get(e, "/"); got != http.StatusOK {
			t.Errorf("GET /: got %d, want 200", got)
		}
	})
	t.Run("on by default in development mode", func(t *testing.T) {
		e := newEnv(t, url, "WECHAT_APPID", "", "WECHAT_SECRET", "")
		e.ok("", introspect, nil, nil)
		if got := get(e, "/"); got != http.StatusOK {
			t.Errorf("GET /: got %d, want 200", got)
		}
		// Development mode: the mock signs anyone in, the same code as the same user.
		_, alice := e.login("alice")
		_, bob := e.login("bob")
		if alice == bob {
			t.Errorf("alice and bob are the same user in development mode")
		}
	})
}

// FuzzQueryHandler sends arbitrary bodies to /query: the server must answer
// every one with JSON, never a 5xx, and keep serving.
func FuzzQueryHandler(f *testing.F) {
	for _, seed := range []string{
		`{"query":"{ me { id } }"}`,
		`{"query":"mutation($c: String!) { login(input: {code: $c}) { token } }","variables":{"c":"fuzz"}}`,
		`{"query":"{ todos(first: 5, after: \"dG9kbzp2MTox\") { edges { cursor } totalCount } }"}`,
		`{"query":"{ todo(id: \"1\") { id } }","operationName":"X"}`,
		`{"query":"mutation { createTodo(input: {title: \"a\u0000\"}) { id } }"}`,
		"{\"query\":\"\xff\xfe\"}",
		`{"query":"{ __schema { types { name } } }"}`,
		`{"query":`,
		`[]`,
		`null`,
		`{"query":"query($f: Int) { todos(first: $f) { totalCount } }","variables":{"f":"x"}}`,
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f, dbtest.SQLiteURL(f))
	token, _ := e.login("fuzzer")
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.app.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON for %q: %s", body, rec.Body.String())
		}
	})
}

func TestConcurrentWritersNeverSeeLockedDatabase(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		const writers, each = 32, 8
		tokens := make([]string, 4)
		for i := range tokens {
			tokens[i], _ = e.login(fmt.Sprintf("writer-%d", i))
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []string
		)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				token := tokens[w%len(tokens)]
				for i := 0; i < each; i++ {
					r := e.post(token, `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`, map[string]any{"t": fmt.Sprintf("w%d-%d", w, i)})
					if len(r.Errors) == 0 {
						var c struct{ CreateTodo struct{ ID string } }
						r.decode(t, &c)
						r = e.post(token, `mutation($id: ID!) { updateTodo(id: $id, input: {done: true}) { id } }`, map[string]any{"id": c.CreateTodo.ID})
					}
					if len(r.Errors) > 0 {
						mu.Lock()
						errs = append(errs, r.Raw)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d of %d writes failed, first: %s", len(errs), 2*writers*each, errs[0])
		}
		if got := e.count("todos", "done = $1", true); got != writers*each {
			t.Errorf("got %d done todos, want %d", got, writers*each)
		}
		if strings.Contains(e.logs.String(), "locked") {
			t.Errorf("the log mentions a locked database")
		}
	})
}
