package todo_test

import (
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestTodoCRUD(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		tok, _ := s.Login(t, "alice")

		t.Run("createTodo trims the title and returns a new open todo", func(t *testing.T) {
			got := createTodo(t, s, tok, "  \t buy milk \n ")
			if got.ID == "" {
				t.Errorf("got empty id, want one")
			}
			if got.Title != "buy milk" {
				t.Errorf("got title %q, want %q", got.Title, "buy milk")
			}
			if got.Done {
				t.Errorf("got done true, want false")
			}
			created := mustTime(t, "createdAt", got.CreatedAt)
			updated := mustTime(t, "updatedAt", got.UpdatedAt)
			if updated.Before(created) {
				t.Errorf("got updatedAt %s before createdAt %s", got.UpdatedAt, got.CreatedAt)
			}
		})

		t.Run("todo(id) returns the todo as created", func(t *testing.T) {
			want := createTodo(t, s, tok, "read a book")
			got := getTodo(t, s, tok, want.ID)
			if got == nil {
				t.Fatalf("got todo(%s) null, want %+v", want.ID, want)
			}
			if *got != want {
				t.Errorf("got %+v, want %+v", *got, want)
			}
		})

		t.Run("updateTodo changes only the fields sent", func(t *testing.T) {
			cases := []struct {
				name      string
				input     map[string]any
				wantTitle string // "" means the title stays
				wantDone  bool
			}{
				{"title only", map[string]any{"title": "  renamed  "}, "renamed", false},
				{"done only", map[string]any{"done": true}, "", true},
				{"title and done", map[string]any{"title": "both", "done": true}, "both", true},
				{"nothing", map[string]any{}, "", false},
				{"explicit nulls", map[string]any{"title": nil, "done": nil}, "", false},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := createTodo(t, s, tok, "original "+c.name)
					got := updateTodo(t, s, tok, before.ID, c.input)
					wantTitle := c.wantTitle
					if wantTitle == "" {
						wantTitle = before.Title
					}
					if got.ID != before.ID {
						t.Errorf("got id %q, want %q", got.ID, before.ID)
					}
					if got.Title != wantTitle {
						t.Errorf("got title %q, want %q", got.Title, wantTitle)
					}
					if got.Done != c.wantDone {
						t.Errorf("got done %v, want %v", got.Done, c.wantDone)
					}
					if got.CreatedAt != before.CreatedAt {
						t.Errorf("got createdAt %s, want it unchanged %s", got.CreatedAt, before.CreatedAt)
					}
					upd, prev := mustTime(t, "updatedAt", got.UpdatedAt), mustTime(t, "updatedAt", before.UpdatedAt)
					if upd.Before(prev) {
						t.Errorf("got updatedAt %s, want >= the previous %s", got.UpdatedAt, before.UpdatedAt)
					}
					if upd.Before(mustTime(t, "createdAt", got.CreatedAt)) {
						t.Errorf("got updatedAt %s before createdAt %s", got.UpdatedAt, got.CreatedAt)
					}
					// What updateTodo answered is what is stored.
					if stored := getTodo(t, s, tok, before.ID); stored == nil || *stored != got {
						t.Errorf("todo(id) got %+v, want %+v", stored, got)
					}
				})
			}
		})

		t.Run("updateTodo applies successive changes", func(t *testing.T) {
			td := createTodo(t, s, tok, "walk")
			updateTodo(t, s, tok, td.ID, map[string]any{"done": true})
			updateTodo(t, s, tok, td.ID, map[string]any{"title": "walk the dog"})
			got := updateTodo(t, s, tok, td.ID, map[string]any{"done": false})
			if got.Title != "walk the dog" || got.Done {
				t.Errorf("got title %q done %v, want %q done false", got.Title, got.Done, "walk the dog")
			}
		})

		t.Run("deleteTodo returns the ID, then the todo is gone", func(t *testing.T) {
			td := createTodo(t, s, tok, "to be deleted")
			keep := createTodo(t, s, tok, "to be kept")
			rows := s.Count(t, "todos", "")
			if got := deleteTodo(t, s, tok, td.ID); got != td.ID {
				t.Errorf("got deleteTodo %q, want %q", got, td.ID)
			}
			if got := getTodo(t, s, tok, td.ID); got != nil {
				t.Errorf("got todo(%s) %+v after delete, want null", td.ID, *got)
			}
			if got := s.Count(t, "todos", ""); got != rows-1 {
				t.Errorf("got %d todos rows, want %d", got, rows-1)
			}
			r := s.Fails(t, deleteTodoMutation, "NOT_FOUND", apitest.As(tok), apitest.Vars(map[string]any{"id": td.ID}))
			wantNoData(t, r, "deleteTodo")
			s.Fails(t, updateTodoMutation, "NOT_FOUND", apitest.As(tok), apitest.Vars(map[string]any{"id": td.ID, "input": map[string]any{"done": true}}))
			if got := getTodo(t, s, tok, keep.ID); got == nil {
				t.Errorf("got todo(%s) null, want the other todo untouched", keep.ID)
			}
		})

		// IDs that cannot name one of alice's todos.
		gone := createTodo(t, s, tok, "gone")
		deleteTodo(t, s, tok, gone.ID)
		badIDs := []struct{ name, id string }{
			{"deleted", gone.ID},
			{"never created", "987654321"},
			{"letters", "abc"},
			{"zero", "0"},
			{"negative", "-1"},
			{"empty", ""},
			{"fraction", "1.5"},
			{"beyond int64", "99999999999999999999"},
		}

		t.Run("todo(id) is null without error for an id that names no todo", func(t *testing.T) {
			for _, c := range badIDs {
				t.Run(c.name, func(t *testing.T) {
					r := s.Post(t, todoQuery, apitest.As(tok), apitest.Vars(map[string]any{"id": c.id}))
					if len(r.Errors) > 0 {
						t.Fatalf("todo(%q): got errors, want none: %s", c.id, r.Raw)
					}
					var d map[string]any
					r.Decode(t, &d)
					if v, ok := d["todo"]; !ok || v != nil {
						t.Errorf("todo(%q): got %s, want {\"todo\":null}", c.id, r.Data)
					}
				})
			}
		})

		t.Run("updateTodo and deleteTodo answer NOT_FOUND for an id that names no todo", func(t *testing.T) {
			rows := s.Count(t, "todos", "")
			for _, c := range badIDs {
				t.Run(c.name, func(t *testing.T) {
					r := s.Fails(t, updateTodoMutation, "NOT_FOUND", apitest.As(tok),
						apitest.Vars(map[string]any{"id": c.id, "input": map[string]any{"title": "x", "done": true}}))
					wantNoData(t, r, "updateTodo")
					r = s.Fails(t, deleteTodoMutation, "NOT_FOUND", apitest.As(tok), apitest.Vars(map[string]any{"id": c.id}))
					wantNoData(t, r, "deleteTodo")
				})
			}
			if got := s.Count(t, "todos", ""); got != rows {
				t.Errorf("got %d todos rows, want %d (nothing changed)", got, rows)
			}
		})
	})
}
