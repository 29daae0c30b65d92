package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
	"wxtodo/graph"
	"wxtodo/todo"
)

// fullPage is a full page of todos with every field: about 1,200 of the
// complexity limit.
const fullPage = `todos(first: 100) { edges { cursor node { id title done createdAt updatedAt } } pageInfo { hasNextPage endCursor } totalCount }`

func TestOperationLimits(t *testing.T) {
	// Introspection on: the deepest document nests through __type.
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{Introspection: true})
	token, _ := s.Login(t, "limits")
	tests := []struct {
		name  string
		query string
		code  string // "" means the operation runs
	}{
		{"a full page of every field fits", "{" + fullPage + "}", ""},
		{"two full pages fit", "{" + apitest.Aliases(fullPage, 2) + "}", ""},
		{"too complex", "{" + apitest.Aliases(fullPage, 4) + "}", errcode.ComplexityLimit},
		{"too many aliases", "{ me {" + apitest.Aliases("id", 16) + " } }", errcode.AliasLimit},
		{"too many root fields", "{" + apitest.Aliases("me { id }", 11) + "}", errcode.RootFieldLimit},
		{"nesting through fragments within the limit", `query { todos { ...A } } fragment A on TodoConnection { edges { ...B } } fragment B on TodoEdge { node { ...C } } fragment C on Todo { id }`, ""},
		{"nesting within the limit", "{ todos { edges { node { id } } } }", ""},
		{"too many tokens to parse", "{" + strings.Repeat(" me { id }", 3000) + " }", errcode.ParseFailed},
		{"too deep", `{ __type(name: "Todo") { fields { type` + strings.Repeat(" { ofType", 14) + " { name }" + strings.Repeat(" }", 14) + " } } }", errcode.DepthLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Post(t, tt.query, apitest.As(token))
			if got := r.Code(); got != tt.code {
				t.Fatalf("got code %q, want %q: %.500s", got, tt.code, r.Raw)
			}
			if tt.code == "" && (len(r.Errors) > 0 || len(r.Data) == 0 || string(r.Data) == "null") {
				t.Errorf("got errors or no data, want the operation to run: %.500s", r.Raw)
			}
		})
	}
}

func TestBadRequestsGetErrorsAndServerStaysUp(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "badreq")
	tests := []struct {
		name string
		body string
		code string // "" means any answer with data or errors
	}{
		{"malformed JSON", `{"query": "{ me { id } }"`, errcode.BadRequest},
		{"JSON that is not an object", `[1,2,3]`, errcode.BadRequest},
		{"no query", `{}`, ""},
		{"syntax error", `{"query": "{ me { id "}`, errcode.ParseFailed},
		{"unknown field", `{"query": "{ nope }"}`, errcode.ValidationFailed},
		{"unknown operation", `{"query": "query A { me { id } }", "operationName": "B"}`, ""},
		{"wrong variable type", `{"query": "query($f: Int) { todos(first: $f) { totalCount } }", "variables": {"f": "ten"}}`, errcode.ValidationFailed},
		{"variables not an object", `{"query": "{ me { id } }", "variables": 5}`, errcode.BadRequest},
		{"huge title", fmt.Sprintf(`{"query": "mutation($t: String!) { createTodo(input: {title: $t}) { id } }", "variables": {"t": %q}}`, strings.Repeat("x", 900_000)), errcode.BadUserInput},
		{"null byte in a query", `{"query": "mutation { createTodo(input: {title: \"a\u0000b\"}) { id } }"}`, errcode.ParseFailed},
		{"null byte in title", `{"query": "mutation($t: String!) { createTodo(input: {title: $t}) { id } }", "variables": {"t": "a\u0000b"}}`, errcode.BadUserInput},
		{"invalid UTF-8 in title", "{\"query\": \"mutation { createTodo(input: {title: \\\"a\xff\xfeb\\\"}) { id } }\"}", errcode.BadRequest},
		{"null byte in an ID", `{"query": "query($id: ID!) { todo(id: $id) { id } }", "variables": {"id": "1\u0000"}}`, ""},
		{"null byte in a cursor", `{"query": "query($a: String) { todos(after: $a) { totalCount } }", "variables": {"a": "\u0000"}}`, errcode.BadUserInput},
		{"null byte in a login code", `{"query": "mutation($c: String!) { login(input: {code: $c}) { token } }", "variables": {"c": "a\u0000"}}`, errcode.BadUserInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			r := serve(t, s.Handler, req)
			if tt.code != "" && r.Code() != tt.code {
				t.Fatalf("got code %q, want %q: %.500s", r.Code(), tt.code, r.Raw)
			}
			if r.Status >= 500 {
				t.Fatalf("got status %d: %.500s", r.Status, r.Raw)
			}
			for _, ge := range r.Errors {
				if ge.Extensions["code"] == nil {
					t.Errorf("error without extensions.code: %.500s", r.Raw)
				}
			}
			if tt.code == "" && len(r.Errors) == 0 && !strings.Contains(r.Raw, `"data"`) {
				t.Errorf("neither data nor errors: %.500s", r.Raw)
			}
		})
	}
	// Still up, and nothing was written by the bad requests but valid ones.
	var d struct{ Todos struct{ TotalCount int } }
	s.OK(t, `{ todos { totalCount } }`, &d, apitest.As(token))
	if d.Todos.TotalCount != 0 {
		t.Errorf("got %d todos after bad requests, want none", d.Todos.TotalCount)
	}
}

// panicStore panics on creating a todo titled "boom", as a bug would.
type panicStore struct{ todo.Store }

func (p panicStore) Create(ctx context.Context, userID int64, in todo.CreateInput, maxTodos int) (*todo.Todo, error) {
	if in.Title == "boom" {
		panic("store exploded: boom")
	}
	return p.Store.Create(ctx, userID, in, maxTodos)
}

func TestPanicInResolverIsInternalError(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{
		Resolver: func(r *graph.Resolver) { r.TodoService.Store = panicStore{r.TodoService.Store} },
	})
	token, _ := s.Login(t, "panic")
	// The panic is recovered as the field's error (at its path), not by the
	// HTTP layer's last-resort recovery, which knows no path.
	r := s.Fails(t, `mutation { createTodo(input: {title: "boom"}) { id } }`, errcode.Internal, apitest.As(token))
	if got := fmt.Sprint(r.Errors[0].Path); got != "[createTodo]" {
		t.Errorf("the error's path is %s, want [createTodo]: %s", got, r.Raw)
	}
	if strings.Contains(r.Raw, "boom") || strings.Contains(r.Raw, "goroutine") || strings.Contains(r.Raw, ".go:") {
		t.Errorf("the response shows internals: %s", r.Raw)
	}
	if !strings.Contains(s.Logs.String(), "panic in resolver") {
		t.Errorf("the panic is not in the log")
	}
	// The server survives the panic.
	s.OK(t, `mutation { createTodo(input: {title: "fine"}) { id } }`, nil, apitest.As(token))
}

// TestIntrospectionSwitch: introspection is off unless switched on. (The
// playground and development mode are configuration: package main tests
// them.)
func TestIntrospectionSwitch(t *testing.T) {
	url := dbtest.SQLiteURL(t)
	const introspect = `{ __schema { queryType { name } } }`
	t.Run("off by default", func(t *testing.T) {
		s := apitest.New(t, url, apitest.Options{})
		r := s.Post(t, introspect)
		if len(r.Errors) == 0 {
			t.Fatalf("introspection answered: %s", r.Raw)
		}
		if r.Code() == "" {
			t.Errorf("got an error without extensions.code: %s", r.Raw)
		}
		if strings.Contains(r.Raw, `"Query"`) {
			t.Errorf("the answer shows the schema: %s", r.Raw)
		}
	})
	t.Run("switched on", func(t *testing.T) {
		s := apitest.New(t, url, apitest.Options{Introspection: true})
		var d struct {
			Schema struct {
				QueryType struct{ Name string } `json:"queryType"`
			} `json:"__schema"`
		}
		s.OK(t, introspect, &d)
		if got := d.Schema.QueryType.Name; got != "Query" {
			t.Errorf("got queryType %q, want %q", got, "Query")
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
	s := apitest.New(f, dbtest.SQLiteURL(f), apitest.Options{})
	token, _ := s.Login(f, "fuzzer")
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON for %q: %s", body, rec.Body.String())
		}
	})
}
