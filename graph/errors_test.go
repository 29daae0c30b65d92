package graph_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
)

func TestDisabledIntrospectionHasItsOwnCodeAndNoErrorLog(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	for _, query := range []string{
		`{ __schema { queryType { name } } }`,
		`{ __type(name: "Todo") { name } }`,
		`{ ... on Query { __schema { types { name } } } }`,
		`{ ...F } fragment F on Query { __type(name: "User") { fields { name } } }`,
		`{ me { id } __schema { types { name } } }`,
	} {
		t.Run(query, func(t *testing.T) {
			r := s.Post(t, query)
			if r.Code() != errcode.IntrospectionDisabled {
				t.Fatalf("got code %q, want %q: %s", r.Code(), errcode.IntrospectionDisabled, r.Raw)
			}
			if string(r.Data) != "" && string(r.Data) != "null" {
				t.Errorf("got data, want the operation refused before it runs: %s", r.Raw)
			}
		})
	}
	if logs := s.Logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("refused introspection logged an error:\n%s", logs)
	}
	// __typename is not introspection.
	s.OK(t, `{ __typename }`, nil)
}

func TestSuggestionsOnlyWithIntrospection(t *testing.T) {
	url := dbtest.SQLiteURL(t)
	// Each document has a typo of something in the schema, which
	// gqlparser would suggest.
	docs := map[string]string{
		"field":       `{ todoz { totalCount } }`,
		"argument":    `{ todos(frist: 1) { totalCount } }`,
		"input field": `{ todos(filter: {dnoe: true}) { totalCount } }`,
		"type":        `{ todos { ...F } } fragment F on TodoConection { totalCount }`,
		"leaf":        `{ me }`,
	}
	for _, introspection := range []bool{false, true} {
		s := apitest.New(t, url, apitest.Options{Introspection: introspection})
		token, _ := s.Login(t, "speller")
		for name, doc := range docs {
			r := s.Post(t, doc, apitest.As(token))
			if len(r.Errors) == 0 {
				t.Fatalf("%s: no error: %s", name, r.Raw)
			}
			suggests := strings.Contains(r.Raw, "Did you mean")
			switch {
			case !introspection && suggests:
				t.Errorf("introspection off, %s: the error suggests a name: %s", name, r.Raw)
			case introspection && !suggests && name != "leaf":
				// (The leaf message names the field's type either way.)
				t.Errorf("introspection on, %s: want a suggestion: %s", name, r.Raw)
			}
		}
	}
}

func TestMutationOverGETIsMethodNotAllowed(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "getter")
	get := func(query string) *apitest.Response {
		req := httptest.NewRequest(http.MethodGet, "/query?query="+url.QueryEscape(query), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return serve(t, s.Handler, req)
	}
	r := get(`mutation { createTodo(input: {title: "over GET"}) { id } }`)
	if r.Status != http.StatusMethodNotAllowed || r.Code() != errcode.MethodNotAllowed {
		t.Errorf("got status %d, code %q, want 405 %s: %s", r.Status, r.Code(), errcode.MethodNotAllowed, r.Raw)
	}
	if n := s.Count(t, "todos", "1=1"); n != 0 {
		t.Errorf("the mutation over GET made %d todos, want 0", n)
	}
	if r := get(`{ todos { totalCount } }`); r.Status != http.StatusOK || len(r.Errors) != 0 {
		t.Errorf("a query over GET: got status %d: %s", r.Status, r.Raw)
	}
}

func TestRequestsNoTransportTakesHaveACode(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	req := httptest.NewRequest(http.MethodGet, "/query?query=%7B__typename%7D", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	r := serve(t, s.Handler, req)
	if r.Status != http.StatusBadRequest || r.Code() != errcode.BadRequest {
		t.Errorf("got status %d, code %q, want 400 %s: %s", r.Status, r.Code(), errcode.BadRequest, r.Raw)
	}
}

// TestInputCoercionFollowsTheSpecification: variables and literals are
// coerced as the GraphQL specification's scalar rules say, nothing
// converted between String, Boolean and the numbers, Int 32 bits wide.
func TestInputCoercionFollowsTheSpecification(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "coercer")
	const (
		intVar    = `query($v: Int) { todos(first: $v) { totalCount } }`
		stringVar = `mutation($v: String!) { createTodo(input: {title: $v}) { id } }`
		inputVar  = `mutation($v: CreateTodoInput!) { createTodo(input: $v) { id } }`
		idVar     = `query($v: ID!) { todo(id: $v) { id } }`
		boolVar   = `query($v: Boolean) { todos(filter: {done: $v}) { totalCount } }`
	)
	tests := []struct {
		name, query, vars string
		ok                bool
	}{
		{"Int from an integer", intVar, `{"v": 5}`, true},
		{"Int from a numeric string", intVar, `{"v": "5"}`, false},
		{"Int from a fraction", intVar, `{"v": 5.5}`, false},
		{"Int from a boolean", intVar, `{"v": true}`, false},
		{"Int beyond 32 bits", intVar, `{"v": 3000000000}`, false},
		{"Int literal beyond 32 bits", `{ todos(first: 3000000000) { totalCount } }`, `{}`, false},
		{"Int literal from a string", `{ todos(first: "5") { totalCount } }`, `{}`, false},
		{"String from a string", stringVar, `{"v": "buy milk"}`, true},
		{"String from a number", stringVar, `{"v": 5}`, false},
		{"String from a boolean", stringVar, `{"v": true}`, false},
		{"String literal from a number", `mutation { createTodo(input: {title: 5}) { id } }`, `{}`, false},
		{"String in an input object from a number", inputVar, `{"v": {"title": 5}}`, false},
		{"String in an input object from a string", inputVar, `{"v": {"title": "five"}}`, true},
		{"ID from a string", idVar, `{"v": "5"}`, true},
		{"ID from an integer", idVar, `{"v": 5}`, true},
		{"ID from a fraction", idVar, `{"v": 5.5}`, false},
		{"ID from a boolean", idVar, `{"v": true}`, false},
		{"ID literal from a fraction", `{ todo(id: 5.5) { id } }`, `{}`, false},
		{"Boolean from a boolean", boolVar, `{"v": false}`, true},
		{"Boolean from a number", boolVar, `{"v": 1}`, false},
		{"Boolean from a string", boolVar, `{"v": "true"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"query": ` + quote(tt.query) + `, "variables": ` + tt.vars + `}`
			req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			r := serve(t, s.Handler, req)
			if tt.ok {
				if len(r.Errors) != 0 {
					t.Fatalf("refused, want it coerced: %s", r.Raw)
				}
				return
			}
			if r.Code() != errcode.ValidationFailed {
				t.Fatalf("got code %q, want %s: %s", r.Code(), errcode.ValidationFailed, r.Raw)
			}
			if string(r.Data) != "" && string(r.Data) != "null" {
				t.Errorf("got data, want a request error: %s", r.Raw)
			}
		})
	}
	if n := s.Count(t, "todos", "title IN ('5', 'true', '1')"); n != 0 {
		t.Errorf("%d todos were made from a converted title", n)
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
