package todo_test

import (
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

// TestTodoTitleValidation checks that the title rule reaches clients: a
// bad title answers BAD_USER_INPUT on title and writes nothing. Every case
// of the rule is TestNormalizeTitle's table, in rules_test.go.
func TestTodoTitleValidation(t *testing.T) {
	// One title per way of being wrong.
	invalid := []struct{ name, title string }{
		{"only whitespace", " \t\n\r "},
		{"201 multi-byte characters", strings.Repeat("好", 201)},
		{"NUL", "buy\u0000milk"},
	}
	// The longest title, in 4-byte characters, kept whole once trimmed.
	longest := strings.Repeat("😀", 200)
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		tok, _ := s.Login(t, "alice")

		t.Run("createTodo rejects a bad title with BAD_USER_INPUT on title", func(t *testing.T) {
			for _, c := range invalid {
				t.Run(c.name, func(t *testing.T) {
					r := s.Post(t, createTodoMutation, apitest.As(tok), apitest.Vars(map[string]any{"input": map[string]any{"title": c.title}}))
					wantInputError(t, r, "title")
					wantNoData(t, r, "createTodo")
				})
			}
			if got := s.Count(t, "todos", ""); got != 0 {
				t.Errorf("got %d todos rows, want 0", got)
			}
		})

		t.Run("createTodo stores a title of 200 characters, trimmed", func(t *testing.T) {
			got := createTodo(t, s, tok, "  "+longest+"\t\n")
			if got.Title != longest {
				t.Errorf("got title %s, want %s", brief(got.Title), brief(longest))
			}
			if stored := getTodo(t, s, tok, got.ID); stored == nil || stored.Title != longest {
				t.Errorf("todo(id) got %+v, want title %s", stored, brief(longest))
			}
		})

		t.Run("updateTodo rejects a bad title with BAD_USER_INPUT on title", func(t *testing.T) {
			td := createTodo(t, s, tok, "keep me")
			for _, c := range invalid {
				t.Run(c.name, func(t *testing.T) {
					r := s.Post(t, updateTodoMutation, apitest.As(tok), apitest.Vars(map[string]any{"id": td.ID, "input": map[string]any{"title": c.title, "done": true}}))
					wantInputError(t, r, "title")
					wantNoData(t, r, "updateTodo")
					if got := getTodo(t, s, tok, td.ID); got == nil || *got != td {
						t.Errorf("got %+v, want unchanged %+v", got, td)
					}
				})
			}
		})

		t.Run("updateTodo stores a title of 200 characters, trimmed", func(t *testing.T) {
			td := createTodo(t, s, tok, "to rename")
			got := updateTodo(t, s, tok, td.ID, map[string]any{"title": "  " + longest + "\t\n"})
			if got.Title != longest {
				t.Errorf("got title %s, want %s", brief(got.Title), brief(longest))
			}
			if stored := getTodo(t, s, tok, td.ID); stored == nil || stored.Title != longest {
				t.Errorf("todo(id) got %+v, want title %s", stored, brief(longest))
			}
		})

		t.Run("a bad title on a todo that is not the caller's is not revealed as found", func(t *testing.T) {
			// Validation may come first; either way nothing changes.
			bob, _ := s.Login(t, "bob")
			td := createTodo(t, s, tok, "alice's")
			r := s.Post(t, updateTodoMutation, apitest.As(bob), apitest.Vars(map[string]any{"id": td.ID, "input": map[string]any{"title": ""}}))
			if code := r.Code(); code != "BAD_USER_INPUT" && code != "NOT_FOUND" {
				t.Errorf("got code %q, want BAD_USER_INPUT or NOT_FOUND: %s", code, r.Raw)
			}
			if got := getTodo(t, s, tok, td.ID); got == nil || *got != td {
				t.Errorf("got %+v, want unchanged %+v", got, td)
			}
		})
	})
}
