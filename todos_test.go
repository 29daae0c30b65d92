package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/db/dbtest"
)

// GraphQL documents of the todo API.
const (
	todoFields         = `id title done createdAt updatedAt`
	createTodoMutation = `mutation($input: CreateTodoInput!) { createTodo(input: $input) { ` + todoFields + ` } }`
	updateTodoMutation = `mutation($id: ID!, $input: UpdateTodoInput!) { updateTodo(id: $id, input: $input) { ` + todoFields + ` } }`
	deleteTodoMutation = `mutation($id: ID!) { deleteTodo(id: $id) }`
	todoQuery          = `query($id: ID!) { todo(id: $id) { ` + todoFields + ` } }`
	todosQuery         = `query($filter: TodoFilter, $first: Int, $after: String) {
		todos(filter: $filter, first: $first, after: $after) {
			edges { cursor node { ` + todoFields + ` } }
			pageInfo { hasNextPage endCursor }
			totalCount
		}
	}`
	// countsQuery asks for totalCount overall and per done filter at once.
	countsQuery = `{
		all: todos { totalCount }
		done: todos(filter: {done: true}) { totalCount }
		open: todos(filter: {done: false}) { totalCount }
	}`
)

type todoJSON struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Done      bool   `json:"done"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

type connJSON struct {
	Edges []struct {
		Cursor string   `json:"cursor"`
		Node   todoJSON `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	} `json:"pageInfo"`
	TotalCount int `json:"totalCount"`
}

// ids returns the IDs of the page's nodes, in order.
func (c connJSON) ids() []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.ID
	}
	return out
}

type counts struct{ all, done, open int }

// as returns a copy of e that reports failures to tb, for use in subtests.
func (e *env) as(tb testing.TB) *env {
	c := *e
	c.t = tb
	return &c
}

func (e *env) createTodo(token, title string) todoJSON {
	e.t.Helper()
	var d struct {
		CreateTodo todoJSON `json:"createTodo"`
	}
	e.ok(token, createTodoMutation, map[string]any{"input": map[string]any{"title": title}}, &d)
	return d.CreateTodo
}

// seedTodos creates n todos titled prefix-00, prefix-01, ... and returns
// them in creation order.
func (e *env) seedTodos(token, prefix string, n int) []todoJSON {
	e.t.Helper()
	out := make([]todoJSON, n)
	for i := range out {
		out[i] = e.createTodo(token, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

// getTodo returns todo(id), nil when it is null; errors fail the test.
func (e *env) getTodo(token, id string) *todoJSON {
	e.t.Helper()
	var d struct {
		Todo *todoJSON `json:"todo"`
	}
	e.ok(token, todoQuery, map[string]any{"id": id}, &d)
	return d.Todo
}

func (e *env) updateTodo(token, id string, input map[string]any) todoJSON {
	e.t.Helper()
	var d struct {
		UpdateTodo todoJSON `json:"updateTodo"`
	}
	e.ok(token, updateTodoMutation, map[string]any{"id": id, "input": input}, &d)
	return d.UpdateTodo
}

func (e *env) listTodos(token string, vars map[string]any) connJSON {
	e.t.Helper()
	var d struct {
		Todos connJSON `json:"todos"`
	}
	e.ok(token, todosQuery, vars, &d)
	return d.Todos
}

func (e *env) counts(token string) counts {
	e.t.Helper()
	var d map[string]struct {
		TotalCount int `json:"totalCount"`
	}
	e.ok(token, countsQuery, nil, &d)
	return counts{all: d["all"].TotalCount, done: d["done"].TotalCount, open: d["open"].TotalCount}
}

// wantInputError checks that r failed with BAD_USER_INPUT about field.
func wantInputError(tb testing.TB, r *gqlResponse, field string) {
	tb.Helper()
	if got := r.code(); got != "BAD_USER_INPUT" {
		tb.Errorf("got code %q, want BAD_USER_INPUT: %s", got, r.Raw)
		return
	}
	if got := r.ext("field"); got != field {
		tb.Errorf("got extensions.field %q, want %q: %s", got, field, r.Raw)
	}
}

// wantNoData checks that the field of a failed request is null.
func wantNoData(tb testing.TB, r *gqlResponse, field string) {
	tb.Helper()
	if string(r.Data) == "null" || len(r.Data) == 0 {
		return
	}
	var d map[string]any
	r.decode(tb, &d)
	if v, ok := d[field]; ok && v != nil {
		tb.Errorf("got data.%s %v, want null: %s", field, v, r.Raw)
	}
}

func mustTime(tb testing.TB, what, s string) time.Time {
	tb.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("%s %q is not RFC 3339: %v", what, s, err)
	}
	return ts
}

// brief quotes s, shortened when it is long, for failure messages.
func brief(s string) string {
	if r := []rune(s); len(r) > 40 {
		return fmt.Sprintf("%q... (%d characters, %d bytes)", string(r[:20]), len(r), len(s))
	}
	return fmt.Sprintf("%q", s)
}

// reversedIDs returns the IDs of todos, last first.
func reversedIDs(todos []todoJSON) []string {
	out := make([]string, len(todos))
	for i, t := range todos {
		out[len(todos)-1-i] = t.ID
	}
	return out
}

func TestTodoCRUD(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		tok, _ := e.login("alice")

		t.Run("createTodo trims the title and returns a new open todo", func(t *testing.T) {
			e := e.as(t)
			got := e.createTodo(tok, "  \t buy milk \n ")
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
			e := e.as(t)
			want := e.createTodo(tok, "read a book")
			got := e.getTodo(tok, want.ID)
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
					e := e.as(t)
					before := e.createTodo(tok, "original "+c.name)
					got := e.updateTodo(tok, before.ID, c.input)
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
					if stored := e.getTodo(tok, before.ID); stored == nil || *stored != got {
						t.Errorf("todo(id) got %+v, want %+v", stored, got)
					}
				})
			}
		})

		t.Run("updateTodo applies successive changes", func(t *testing.T) {
			e := e.as(t)
			td := e.createTodo(tok, "walk")
			e.updateTodo(tok, td.ID, map[string]any{"done": true})
			e.updateTodo(tok, td.ID, map[string]any{"title": "walk the dog"})
			got := e.updateTodo(tok, td.ID, map[string]any{"done": false})
			if got.Title != "walk the dog" || got.Done {
				t.Errorf("got title %q done %v, want %q done false", got.Title, got.Done, "walk the dog")
			}
		})

		t.Run("deleteTodo returns the ID, then the todo is gone", func(t *testing.T) {
			e := e.as(t)
			td := e.createTodo(tok, "to be deleted")
			keep := e.createTodo(tok, "to be kept")
			rows := e.count("todos", "")
			var d struct {
				DeleteTodo string `json:"deleteTodo"`
			}
			e.ok(tok, deleteTodoMutation, map[string]any{"id": td.ID}, &d)
			if d.DeleteTodo != td.ID {
				t.Errorf("got deleteTodo %q, want %q", d.DeleteTodo, td.ID)
			}
			if got := e.getTodo(tok, td.ID); got != nil {
				t.Errorf("got todo(%s) %+v after delete, want null", td.ID, *got)
			}
			if got := e.count("todos", ""); got != rows-1 {
				t.Errorf("got %d todos rows, want %d", got, rows-1)
			}
			r := e.fails(tok, deleteTodoMutation, map[string]any{"id": td.ID}, "NOT_FOUND")
			wantNoData(t, r, "deleteTodo")
			e.fails(tok, updateTodoMutation, map[string]any{"id": td.ID, "input": map[string]any{"done": true}}, "NOT_FOUND")
			if got := e.getTodo(tok, keep.ID); got == nil {
				t.Errorf("got todo(%s) null, want the other todo untouched", keep.ID)
			}
		})

		// IDs that cannot name one of alice's todos.
		gone := e.createTodo(tok, "gone")
		e.ok(tok, deleteTodoMutation, map[string]any{"id": gone.ID}, nil)
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
					e := e.as(t)
					r := e.post(tok, todoQuery, map[string]any{"id": c.id})
					if len(r.Errors) > 0 {
						t.Fatalf("todo(%q): got errors, want none: %s", c.id, r.Raw)
					}
					var d map[string]any
					r.decode(t, &d)
					if v, ok := d["todo"]; !ok || v != nil {
						t.Errorf("todo(%q): got %s, want {\"todo\":null}", c.id, r.Data)
					}
				})
			}
		})

		t.Run("updateTodo and deleteTodo answer NOT_FOUND for an id that names no todo", func(t *testing.T) {
			rows := e.count("todos", "")
			for _, c := range badIDs {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					r := e.fails(tok, updateTodoMutation, map[string]any{"id": c.id, "input": map[string]any{"title": "x", "done": true}}, "NOT_FOUND")
					wantNoData(t, r, "updateTodo")
					r = e.fails(tok, deleteTodoMutation, map[string]any{"id": c.id}, "NOT_FOUND")
					wantNoData(t, r, "deleteTodo")
				})
			}
			if got := e.as(t).count("todos", ""); got != rows {
				t.Errorf("got %d todos rows, want %d (nothing changed)", got, rows)
			}
		})
	})
}

func TestTodosAreInvisibleToOtherUsers(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		alice, _ := e.login("alice")
		bob, _ := e.login("bob")

		// bob's own todos are older than alice's, so a cursor of alice's
		// would reach them if it were honoured across users.
		bobsOwn := e.seedTodos(bob, "bob", 2)
		open := e.createTodo(alice, "alice open")
		done := e.createTodo(alice, "alice done")
		done = e.updateTodo(alice, done.ID, map[string]any{"done": true})
		alices := []todoJSON{open, done}
		aliceIDs := map[string]bool{open.ID: true, done.ID: true}
		rows := e.count("todos", "")

		t.Run("todo(id) is null for bob", func(t *testing.T) {
			e := e.as(t)
			for _, td := range alices {
				if got := e.getTodo(bob, td.ID); got != nil {
					t.Errorf("bob got alice's todo %s: %+v, want null", td.ID, *got)
				}
			}
		})

		t.Run("updateTodo is NOT_FOUND for bob", func(t *testing.T) {
			e := e.as(t)
			inputs := []map[string]any{
				{"title": "hacked"},
				{"done": false},
				{"title": "hacked", "done": true},
				{},
			}
			for _, td := range alices {
				for _, in := range inputs {
					r := e.fails(bob, updateTodoMutation, map[string]any{"id": td.ID, "input": in}, "NOT_FOUND")
					wantNoData(t, r, "updateTodo")
				}
			}
		})

		t.Run("deleteTodo is NOT_FOUND for bob", func(t *testing.T) {
			e := e.as(t)
			for _, td := range alices {
				r := e.fails(bob, deleteTodoMutation, map[string]any{"id": td.ID}, "NOT_FOUND")
				wantNoData(t, r, "deleteTodo")
			}
		})

		t.Run("bob's list holds only his todos, with or without a filter", func(t *testing.T) {
			for _, c := range []struct {
				name   string
				filter map[string]any
				want   []string
			}{
				{"no filter", nil, reversedIDs(bobsOwn)},
				{"done true", map[string]any{"done": true}, nil},
				{"done false", map[string]any{"done": false}, reversedIDs(bobsOwn)},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					vars := map[string]any{}
					if c.filter != nil {
						vars["filter"] = c.filter
					}
					got := e.listTodos(bob, vars)
					if ids := got.ids(); !slices.Equal(ids, c.want) {
						t.Errorf("got ids %v, want %v", ids, c.want)
					}
					if got.TotalCount != len(c.want) {
						t.Errorf("got totalCount %d, want %d", got.TotalCount, len(c.want))
					}
				})
			}
		})

		t.Run("a user without todos sees an empty list while others have some", func(t *testing.T) {
			e := e.as(t)
			carol, _ := e.login("carol")
			for _, filter := range []any{nil, map[string]any{"done": true}, map[string]any{"done": false}} {
				got := e.listTodos(carol, map[string]any{"filter": filter})
				if len(got.Edges) != 0 || got.TotalCount != 0 || got.PageInfo.HasNextPage || got.PageInfo.EndCursor != nil {
					t.Errorf("filter %v: got %d edges, totalCount %d, hasNextPage %v, endCursor %v; want 0, 0, false, null",
						filter, len(got.Edges), got.TotalCount, got.PageInfo.HasNextPage, got.PageInfo.EndCursor)
				}
			}
		})

		t.Run("a cursor from alice's list yields none of alice's todos to bob", func(t *testing.T) {
			e := e.as(t)
			page := e.listTodos(alice, map[string]any{"first": 1})
			if len(page.Edges) != 1 {
				t.Fatalf("alice: got %d edges, want 1", len(page.Edges))
			}
			for _, cursor := range []string{page.Edges[0].Cursor, *page.PageInfo.EndCursor} {
				got := e.listTodos(bob, map[string]any{"after": cursor})
				for _, id := range got.ids() {
					if aliceIDs[id] {
						t.Errorf("bob got alice's todo %s after her cursor %q", id, cursor)
					}
				}
				if ids := got.ids(); !slices.Equal(ids, reversedIDs(bobsOwn)) {
					t.Errorf("bob after alice's cursor: got ids %v, want only his own %v", ids, reversedIDs(bobsOwn))
				}
			}
		})

		t.Run("alice's todos are unchanged and still listed", func(t *testing.T) {
			e := e.as(t)
			for _, want := range alices {
				got := e.getTodo(alice, want.ID)
				if got == nil {
					t.Errorf("alice's todo %s: got null, want it to exist", want.ID)
					continue
				}
				if *got != want {
					t.Errorf("alice's todo %s: got %+v, want unchanged %+v", want.ID, *got, want)
				}
			}
			list := e.listTodos(alice, nil)
			if ids, want := list.ids(), reversedIDs(alices); !slices.Equal(ids, want) {
				t.Errorf("alice's list: got ids %v, want %v", ids, want)
			}
			if got, want := e.counts(alice), (counts{all: 2, done: 1, open: 1}); got != want {
				t.Errorf("alice's totalCounts: got %+v, want %+v", got, want)
			}
			if got := e.count("todos", ""); got != rows {
				t.Errorf("got %d todos rows, want %d", got, rows)
			}
		})
	})
}

func TestTodosPagination(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		tok, _ := e.login("alice")
		all := e.seedTodos(tok, "todo", 101)
		newestFirst := reversedIDs(all)

		t.Run("newest first, 20 by default", func(t *testing.T) {
			e := e.as(t)
			var d struct {
				Todos connJSON `json:"todos"`
			}
			e.ok(tok, `{ todos { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, nil, &d)
			if got, want := d.Todos.ids(), newestFirst[:20]; !slices.Equal(got, want) {
				t.Errorf("got ids %v, want %v", got, want)
			}
			if !d.Todos.PageInfo.HasNextPage {
				t.Errorf("got hasNextPage false, want true")
			}
			if end := d.Todos.PageInfo.EndCursor; end == nil || *end != d.Todos.Edges[19].Cursor {
				t.Errorf("got endCursor %v, want the last edge's cursor %q", end, d.Todos.Edges[19].Cursor)
			}
		})

		t.Run("first within 1..100 gives that many", func(t *testing.T) {
			for _, first := range []int{1, 2, 50, 100} {
				t.Run(fmt.Sprint(first), func(t *testing.T) {
					got := e.as(t).listTodos(tok, map[string]any{"first": first})
					if ids, want := got.ids(), newestFirst[:first]; !slices.Equal(ids, want) {
						t.Errorf("got ids %v, want %v", ids, want)
					}
					if !got.PageInfo.HasNextPage {
						t.Errorf("got hasNextPage false, want true (101 todos)")
					}
				})
			}
		})

		t.Run("first outside 1..100 is BAD_USER_INPUT on first", func(t *testing.T) {
			for _, first := range []int{0, -1, 101, 1000} {
				t.Run(fmt.Sprint(first), func(t *testing.T) {
					r := e.as(t).post(tok, todosQuery, map[string]any{"first": first})
					wantInputError(t, r, "first")
					wantNoData(t, r, "todos")
				})
			}
		})

		t.Run("a malformed after is BAD_USER_INPUT on after", func(t *testing.T) {
			b64 := base64.RawURLEncoding.EncodeToString
			cases := []struct{ name, after string }{
				{"garbage", "garbage"},
				{"empty", ""},
				{"not base64", "!!!***"},
				{"base64 of something else", b64([]byte("something else"))},
				{"base64 of a user id", b64([]byte("user:v1:1"))},
				{"cursor of another version", b64([]byte("todo:v2:5"))},
				{"cursor with a non-numeric id", b64([]byte("todo:v1:abc"))},
				{"cursor with id 0", b64([]byte("todo:v1:0"))},
				{"cursor with a negative id", b64([]byte("todo:v1:-5"))},
				{"too long", b64([]byte("todo:v1:" + strings.Repeat("1", 100)))},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := e.as(t).post(tok, todosQuery, map[string]any{"after": c.after})
					wantInputError(t, r, "after")
					wantNoData(t, r, "todos")
				})
			}
		})

		t.Run("endCursor continues where the page ended", func(t *testing.T) {
			e := e.as(t)
			var seen []string
			var after any
			pages := 0
			for {
				vars := map[string]any{"first": 30}
				if after != nil {
					vars["after"] = after
				}
				page := e.listTodos(tok, vars)
				pages++
				seen = append(seen, page.ids()...)
				if !page.PageInfo.HasNextPage {
					break
				}
				if pages > 10 {
					t.Fatalf("still hasNextPage after %d pages", pages)
				}
				after = *page.PageInfo.EndCursor
			}
			if !slices.Equal(seen, newestFirst) {
				t.Errorf("got %d ids %v, want all 101 newest first %v", len(seen), seen, newestFirst)
			}
			if pages != 4 {
				t.Errorf("got %d pages of 30 for 101 todos, want 4", pages)
			}
		})

		t.Run("each edge's cursor starts the page after it", func(t *testing.T) {
			e := e.as(t)
			page := e.listTodos(tok, map[string]any{"first": 5})
			for i, edge := range page.Edges {
				next := e.listTodos(tok, map[string]any{"first": 2, "after": edge.Cursor})
				if got, want := next.ids(), newestFirst[i+1:i+3]; !slices.Equal(got, want) {
					t.Errorf("after edge %d: got ids %v, want %v", i, got, want)
				}
			}
		})
	})
}

func TestTodosPagingWhileInserting(t *testing.T) {
	cases := []struct {
		name        string
		n, pageSize int
		wantPages   int
	}{
		{"25 todos in pages of 10", 25, 10, 3},
		{"20 todos in pages of 10 (exact multiple)", 20, 10, 2},
		{"3 todos in pages of 1", 3, 1, 3},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.as(t)
				tok, _ := e.login(fmt.Sprintf("pager-%d", i))
				originals := e.seedTodos(tok, "old", c.n)
				want := reversedIDs(originals)

				page := e.listTodos(tok, map[string]any{"first": c.pageSize})
				seen := page.ids()
				pages := 1
				// New todos arrive while the client pages.
				added := e.seedTodos(tok, "new", 5)
				addedIDs := map[string]bool{}
				for _, td := range added {
					addedIDs[td.ID] = true
				}
				for page.PageInfo.HasNextPage {
					if page.PageInfo.EndCursor == nil {
						t.Fatalf("page %d: hasNextPage true but endCursor null", pages)
					}
					if pages > c.wantPages {
						t.Fatalf("got more than %d pages", c.wantPages)
					}
					page = e.listTodos(tok, map[string]any{"first": c.pageSize, "after": *page.PageInfo.EndCursor})
					pages++
					for _, id := range page.ids() {
						if addedIDs[id] {
							t.Errorf("page %d: got todo %s created after paging began", pages, id)
						}
					}
					seen = append(seen, page.ids()...)
				}
				if !slices.Equal(seen, want) {
					t.Errorf("got ids %v, want each original exactly once, newest first: %v", seen, want)
				}
				if pages != c.wantPages {
					t.Errorf("got %d pages, want %d", pages, c.wantPages)
				}
				if len(page.Edges) == 0 {
					t.Fatalf("last page is empty, want %d todos with hasNextPage false", c.pageSize)
				}

				// Past the last todo: an empty page with no cursor.
				empty := e.listTodos(tok, map[string]any{"first": c.pageSize, "after": *page.PageInfo.EndCursor})
				if len(empty.Edges) != 0 || empty.PageInfo.HasNextPage || empty.PageInfo.EndCursor != nil {
					t.Errorf("past the end: got %d edges, hasNextPage %v, endCursor %v; want 0, false, null",
						len(empty.Edges), empty.PageInfo.HasNextPage, empty.PageInfo.EndCursor)
				}

				// A fresh first page starts with the new todos.
				first := e.listTodos(tok, map[string]any{"first": 5})
				if got, want := first.ids(), reversedIDs(added); !slices.Equal(got, want) {
					t.Errorf("fresh first page: got ids %v, want the new todos %v", got, want)
				}
			})
		}
	})
}

func TestTodosFilterAndTotalCount(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("filter done pages through only matching todos", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("filterer")
			todos := e.seedTodos(tok, "f", 12)
			var doneIDs, openIDs []string // newest first
			for i := len(todos) - 1; i >= 0; i-- {
				if i%3 == 0 {
					e.updateTodo(tok, todos[i].ID, map[string]any{"done": true})
					doneIDs = append(doneIDs, todos[i].ID)
				} else {
					openIDs = append(openIDs, todos[i].ID)
				}
			}
			for _, c := range []struct {
				name     string
				done     bool
				pageSize int
				want     []string
				pages    int
			}{
				{"done true", true, 3, doneIDs, 2},
				{"done false", false, 5, openIDs, 2},
				{"done false, one page", false, 8, openIDs, 1},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					vars := map[string]any{"filter": map[string]any{"done": c.done}, "first": c.pageSize}
					var seen []string
					pages := 0
					for {
						page := e.listTodos(tok, vars)
						pages++
						for _, edge := range page.Edges {
							if edge.Node.Done != c.done {
								t.Errorf("got todo %s with done %v in a done:%v list", edge.Node.ID, edge.Node.Done, c.done)
							}
						}
						if page.TotalCount != len(c.want) {
							t.Errorf("page %d: got totalCount %d, want %d", pages, page.TotalCount, len(c.want))
						}
						seen = append(seen, page.ids()...)
						if !page.PageInfo.HasNextPage || pages > 5 {
							break
						}
						vars["after"] = *page.PageInfo.EndCursor
					}
					if !slices.Equal(seen, c.want) {
						t.Errorf("got ids %v, want %v", seen, c.want)
					}
					if pages != c.pages {
						t.Errorf("got %d pages, want %d", pages, c.pages)
					}
				})
			}
		})

		t.Run("totalCount follows creates, updates of done and deletes", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("counter")
			var ids []string
			create := func() {
				ids = append(ids, e.createTodo(tok, fmt.Sprintf("c%d", len(ids))).ID)
			}
			setDone := func(i int, done bool) func() {
				return func() { e.updateTodo(tok, ids[i], map[string]any{"done": done}) }
			}
			del := func(i int) func() {
				return func() { e.ok(tok, deleteTodoMutation, map[string]any{"id": ids[i]}, nil) }
			}
			steps := []struct {
				name string
				do   func()
				want counts
			}{
				{"none yet", func() {}, counts{0, 0, 0}},
				{"create three", func() { create(); create(); create() }, counts{3, 0, 3}},
				{"mark two done", func() { setDone(0, true)(); setDone(1, true)() }, counts{3, 2, 1}},
				{"mark a done todo done again", setDone(0, true), counts{3, 2, 1}},
				{"mark an open todo open again", setDone(2, false), counts{3, 2, 1}},
				{"reopen one", setDone(1, false), counts{3, 1, 2}},
				{"rename a done todo", func() { e.updateTodo(tok, ids[0], map[string]any{"title": "renamed"}) }, counts{3, 1, 2}},
				{"rename and reopen at once", func() { e.updateTodo(tok, ids[0], map[string]any{"title": "again", "done": false}) }, counts{3, 0, 3}},
				{"mark done again", setDone(0, true), counts{3, 1, 2}},
				{"delete a done todo", del(0), counts{2, 0, 2}},
				{"delete an open todo", del(1), counts{1, 0, 1}},
				{"create another", create, counts{2, 0, 2}},
				{"mark all done", func() { setDone(2, true)(); setDone(3, true)() }, counts{2, 2, 0}},
				{"delete everything", func() { del(2)(); del(3)() }, counts{0, 0, 0}},
			}
			for _, s := range steps {
				s.do()
				if got := e.counts(tok); got != s.want {
					t.Errorf("after %q: got totalCount all/done/open %d/%d/%d, want %d/%d/%d",
						s.name, got.all, got.done, got.open, s.want.all, s.want.done, s.want.open)
				}
				// totalCount is the number the list itself holds.
				for _, f := range []struct {
					filter any
					want   int
				}{{nil, s.want.all}, {map[string]any{"done": true}, s.want.done}, {map[string]any{"done": false}, s.want.open}} {
					if got := len(e.listTodos(tok, map[string]any{"filter": f.filter, "first": 100}).Edges); got != f.want {
						t.Errorf("after %q: filter %v lists %d todos, want %d", s.name, f.filter, got, f.want)
					}
				}
			}
		})

		t.Run("totalCount stays exact under concurrent changes", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("racer")
			todos := e.seedTodos(tok, "r", 12)
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				errs []string
			)
			send := func(query string, vars map[string]any) {
				defer wg.Done()
				r := e.post(tok, query, vars)
				if len(r.Errors) > 0 && r.code() != "NOT_FOUND" {
					mu.Lock()
					errs = append(errs, r.Raw)
					mu.Unlock()
				}
			}
			// Each todo is marked done, reopened, marked done again and,
			// for every third, deleted, all at once; NOT_FOUND is expected
			// when a delete wins.
			for i, td := range todos {
				for _, done := range []bool{true, false, true} {
					wg.Add(1)
					go send(updateTodoMutation, map[string]any{"id": td.ID, "input": map[string]any{"done": done}})
				}
				if i%3 == 0 {
					wg.Add(2)
					go send(deleteTodoMutation, map[string]any{"id": td.ID})
					go send(deleteTodoMutation, map[string]any{"id": td.ID})
				}
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("%d requests failed, first: %s", len(errs), errs[0])
			}
			want := counts{all: len(e.listTodos(tok, map[string]any{"first": 100}).Edges)}
			want.done = len(e.listTodos(tok, map[string]any{"first": 100, "filter": map[string]any{"done": true}}).Edges)
			want.open = len(e.listTodos(tok, map[string]any{"first": 100, "filter": map[string]any{"done": false}}).Edges)
			if want.all != 8 || want.done+want.open != want.all {
				t.Errorf("listed all/done/open %d/%d/%d, want 8 todos in all, each done or open", want.all, want.done, want.open)
			}
			if got := e.counts(tok); got != want {
				t.Errorf("got totalCount all/done/open %d/%d/%d, want what the lists hold %d/%d/%d",
					got.all, got.done, got.open, want.all, want.done, want.open)
			}
		})

		t.Run("totalCount counts beyond the page", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("many")
			e.seedTodos(tok, "m", 7)
			got := e.listTodos(tok, map[string]any{"first": 2})
			if len(got.Edges) != 2 || got.TotalCount != 7 {
				t.Errorf("got %d edges and totalCount %d, want 2 and 7", len(got.Edges), got.TotalCount)
			}
			after := e.listTodos(tok, map[string]any{"first": 2, "after": *got.PageInfo.EndCursor})
			if after.TotalCount != 7 {
				t.Errorf("second page: got totalCount %d, want 7 (all matching, not what remains)", after.TotalCount)
			}
		})

		t.Run("a query without totalCount works", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("nocount")
			want := reversedIDs(e.seedTodos(tok, "n", 3))
			r := e.post(tok, `{ todos { edges { node { id title } } pageInfo { hasNextPage } } }`, nil)
			if len(r.Errors) > 0 {
				t.Fatalf("got errors, want none: %s", r.Raw)
			}
			var d struct {
				Todos connJSON `json:"todos"`
			}
			r.decode(t, &d)
			if got := d.Todos.ids(); !slices.Equal(got, want) {
				t.Errorf("got ids %v, want %v", got, want)
			}
			if contains(string(r.Data), "totalCount") {
				t.Errorf("got totalCount in %s, want only the fields asked for", r.Data)
			}
		})
	})
}

func TestTodoTitleValidation(t *testing.T) {
	invalid := []struct{ name, title string }{
		{"empty", ""},
		{"only spaces", "   "},
		{"only whitespace", " \t\n\r "},
		{"201 ASCII characters", strings.Repeat("a", 201)},
		{"201 multi-byte characters", strings.Repeat("好", 201)},
		{"201 characters inside spaces", "  " + strings.Repeat("b", 201) + "  "},
		{"NUL", "buy\u0000milk"},
		{"only NUL", "\u0000"},
		{"bell", "buy\u0007milk"},
		{"escape", "\u001b[31mred"},
		{"newline inside", "buy\nmilk"},
		{"tab inside", "buy\tmilk"},
		{"DEL", "buy\u007fmilk"},
		{"C1 control", "buy\u0085milk"},
	}
	valid := []struct{ name, title, want string }{
		{"one character", "x", "x"},
		{"200 ASCII characters", strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{"200 multi-byte characters", strings.Repeat("好", 200), strings.Repeat("好", 200)},
		{"200 emoji", strings.Repeat("😀", 200), strings.Repeat("😀", 200)},
		{"200 characters inside spaces", "   " + strings.Repeat("c", 200) + "\t\n", strings.Repeat("c", 200)},
		{"inner spaces kept", "  a  b  ", "a  b"},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		tok, _ := e.login("alice")

		t.Run("createTodo rejects a bad title with BAD_USER_INPUT on title", func(t *testing.T) {
			for _, c := range invalid {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					r := e.post(tok, createTodoMutation, map[string]any{"input": map[string]any{"title": c.title}})
					wantInputError(t, r, "title")
					wantNoData(t, r, "createTodo")
				})
			}
			if got := e.as(t).count("todos", ""); got != 0 {
				t.Errorf("got %d todos rows, want 0", got)
			}
		})

		t.Run("createTodo accepts a title of 1 to 200 characters", func(t *testing.T) {
			for _, c := range valid {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					got := e.createTodo(tok, c.title)
					if got.Title != c.want {
						t.Errorf("got title %s, want %s", brief(got.Title), brief(c.want))
					}
					if stored := e.getTodo(tok, got.ID); stored == nil || stored.Title != c.want {
						t.Errorf("todo(id) got %+v, want title %s", stored, brief(c.want))
					}
				})
			}
		})

		t.Run("updateTodo rejects a bad title with BAD_USER_INPUT on title", func(t *testing.T) {
			td := e.as(t).createTodo(tok, "keep me")
			for _, c := range invalid {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					r := e.post(tok, updateTodoMutation, map[string]any{"id": td.ID, "input": map[string]any{"title": c.title, "done": true}})
					wantInputError(t, r, "title")
					wantNoData(t, r, "updateTodo")
					if got := e.getTodo(tok, td.ID); got == nil || *got != td {
						t.Errorf("got %+v, want unchanged %+v", got, td)
					}
				})
			}
		})

		t.Run("updateTodo accepts a title of 1 to 200 characters", func(t *testing.T) {
			td := e.as(t).createTodo(tok, "to rename")
			for _, c := range valid {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					got := e.updateTodo(tok, td.ID, map[string]any{"title": c.title})
					if got.Title != c.want {
						t.Errorf("got title %s, want %s", brief(got.Title), brief(c.want))
					}
					if stored := e.getTodo(tok, td.ID); stored == nil || stored.Title != c.want {
						t.Errorf("todo(id) got %+v, want title %s", stored, brief(c.want))
					}
				})
			}
		})

		t.Run("a bad title on a todo that is not the caller's is not revealed as found", func(t *testing.T) {
			// Validation may come first; either way nothing changes.
			e := e.as(t)
			bob, _ := e.login("bob")
			td := e.createTodo(tok, "alice's")
			r := e.post(bob, updateTodoMutation, map[string]any{"id": td.ID, "input": map[string]any{"title": ""}})
			if code := r.code(); code != "BAD_USER_INPUT" && code != "NOT_FOUND" {
				t.Errorf("got code %q, want BAD_USER_INPUT or NOT_FOUND: %s", code, r.Raw)
			}
			if got := e.getTodo(tok, td.ID); got == nil || *got != td {
				t.Errorf("got %+v, want unchanged %+v", got, td)
			}
		})
	})
}

func TestCreateTodoClientMutationID(t *testing.T) {
	const createWithID = `mutation($title: String!, $cmid: String) {
		createTodo(input: {title: $title, clientMutationId: $cmid}) { ` + todoFields + ` }
	}`
	type createData struct {
		CreateTodo todoJSON `json:"createTodo"`
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("a bad clientMutationId is BAD_USER_INPUT on clientMutationId", func(t *testing.T) {
			tok, _ := e.as(t).login("validator")
			for _, c := range []struct{ name, cmid string }{
				{"empty", ""},
				{"65 bytes", strings.Repeat("k", 65)},
				{"66 bytes in 22 characters", strings.Repeat("好", 22)},
				{"far too long", strings.Repeat("k", 1000)},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					rows := e.count("todos", "")
					r := e.post(tok, createWithID, map[string]any{"title": "t", "cmid": c.cmid})
					wantInputError(t, r, "clientMutationId")
					wantNoData(t, r, "createTodo")
					if got := e.count("todos", ""); got != rows {
						t.Errorf("got %d todos rows, want %d", got, rows)
					}
				})
			}
		})

		t.Run("a clientMutationId of 1 to 64 bytes is accepted", func(t *testing.T) {
			tok, _ := e.as(t).login("acceptor")
			for _, c := range []struct{ name, cmid string }{
				{"1 byte", "k"},
				{"64 bytes", strings.Repeat("k", 64)},
				{"63 bytes in 21 characters", strings.Repeat("好", 21)},
				{"a UUID", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"},
			} {
				t.Run(c.name, func(t *testing.T) {
					var d createData
					e.as(t).ok(tok, createWithID, map[string]any{"title": c.name, "cmid": c.cmid}, &d)
					if d.CreateTodo.Title != c.name {
						t.Errorf("got title %q, want %q", d.CreateTodo.Title, c.name)
					}
				})
			}
		})

		t.Run("null or left out clientMutationId creates a todo each time", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("plain")
			var a, b, c createData
			e.ok(tok, createWithID, map[string]any{"title": "same"}, &a)
			e.ok(tok, createWithID, map[string]any{"title": "same", "cmid": nil}, &b)
			e.ok(tok, createTodoMutation, map[string]any{"input": map[string]any{"title": "same"}}, &c)
			if a.CreateTodo.ID == b.CreateTodo.ID || b.CreateTodo.ID == c.CreateTodo.ID || a.CreateTodo.ID == c.CreateTodo.ID {
				t.Errorf("got ids %s, %s, %s, want three different", a.CreateTodo.ID, b.CreateTodo.ID, c.CreateTodo.ID)
			}
			if got := e.counts(tok).all; got != 3 {
				t.Errorf("got totalCount %d, want 3", got)
			}
		})

		t.Run("sending the same createTodo twice makes one todo", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("retrier")
			rows := e.count("todos", "")
			vars := map[string]any{"title": "pay rent", "cmid": "retry-1"}
			var first, again createData
			e.ok(tok, createWithID, vars, &first)
			e.ok(tok, createWithID, vars, &again)
			if again.CreateTodo != first.CreateTodo {
				t.Errorf("retry: got %+v, want the first todo %+v", again.CreateTodo, first.CreateTodo)
			}
			if got := e.count("todos", ""); got != rows+1 {
				t.Errorf("got %d todos rows, want %d (one more)", got, rows+1)
			}
			if got := e.counts(tok); got != (counts{1, 0, 1}) {
				t.Errorf("got totalCounts %+v, want 1/0/1", got)
			}
			if ids := e.listTodos(tok, nil).ids(); !slices.Equal(ids, []string{first.CreateTodo.ID}) {
				t.Errorf("got list %v, want just %s", ids, first.CreateTodo.ID)
			}
			// A different key is a different todo.
			var other createData
			e.ok(tok, createWithID, map[string]any{"title": "pay rent", "cmid": "retry-2"}, &other)
			if other.CreateTodo.ID == first.CreateTodo.ID {
				t.Errorf("another clientMutationId: got the same id %s, want a new todo", other.CreateTodo.ID)
			}
		})

		t.Run("a retry after the todo changed returns it as it is now", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("changer")
			vars := map[string]any{"title": "draft", "cmid": "k"}
			var first, again createData
			e.ok(tok, createWithID, vars, &first)
			updated := e.updateTodo(tok, first.CreateTodo.ID, map[string]any{"done": true})
			e.ok(tok, createWithID, vars, &again)
			if again.CreateTodo != updated {
				t.Errorf("retry: got %+v, want the stored todo %+v", again.CreateTodo, updated)
			}
			if got := e.counts(tok); got != (counts{1, 1, 0}) {
				t.Errorf("got totalCounts %+v, want 1/1/0", got)
			}
		})

		t.Run("10 concurrent sends of the same createTodo make one todo", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("hammer")
			rows := e.count("todos", "")
			const n = 10
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				ids  = map[string]int{}
				errs []string
			)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.post(tok, createWithID, map[string]any{"title": "once", "cmid": "concurrent-1"})
					mu.Lock()
					defer mu.Unlock()
					if len(r.Errors) > 0 {
						errs = append(errs, r.Raw)
						return
					}
					var d createData
					if err := json.Unmarshal(r.Data, &d); err != nil {
						errs = append(errs, err.Error())
						return
					}
					ids[d.CreateTodo.ID]++
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("%d of %d sends failed, first: %s", len(errs), n, errs[0])
			}
			if len(ids) != 1 {
				t.Errorf("got todo ids %v, want one id for all %d sends", ids, n)
			}
			if got := e.count("todos", ""); got != rows+1 {
				t.Errorf("got %d todos rows, want %d (one more)", got, rows+1)
			}
			if got := e.counts(tok); got != (counts{1, 0, 1}) {
				t.Errorf("got totalCounts %+v, want 1/0/1", got)
			}
		})

		t.Run("different users use the same clientMutationId independently", func(t *testing.T) {
			e := e.as(t)
			alice, _ := e.login("alice")
			bob, _ := e.login("bob")
			var a, b, a2 createData
			e.ok(alice, createWithID, map[string]any{"title": "alice's", "cmid": "shared"}, &a)
			e.ok(bob, createWithID, map[string]any{"title": "bob's", "cmid": "shared"}, &b)
			e.ok(alice, createWithID, map[string]any{"title": "alice's", "cmid": "shared"}, &a2)
			if a.CreateTodo.ID == b.CreateTodo.ID {
				t.Fatalf("got the same todo %s for alice and bob, want two", a.CreateTodo.ID)
			}
			if b.CreateTodo.Title != "bob's" {
				t.Errorf("bob: got title %q, want %q", b.CreateTodo.Title, "bob's")
			}
			if a2.CreateTodo.ID != a.CreateTodo.ID {
				t.Errorf("alice's retry: got id %s, want %s", a2.CreateTodo.ID, a.CreateTodo.ID)
			}
			if got := e.getTodo(bob, a.CreateTodo.ID); got != nil {
				t.Errorf("bob got alice's todo %+v, want null", *got)
			}
			for _, u := range []struct {
				name, tok, want string
			}{{"alice", alice, a.CreateTodo.ID}, {"bob", bob, b.CreateTodo.ID}} {
				if ids := e.listTodos(u.tok, nil).ids(); !slices.Equal(ids, []string{u.want}) {
					t.Errorf("%s's list: got %v, want [%s]", u.name, ids, u.want)
				}
			}
		})
	})
}
