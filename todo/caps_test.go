package todo_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

// wantTodos checks that the user has n todos, stored and counted.
func wantTodos(tb testing.TB, s *apitest.Server, token, userID string, n int) {
	tb.Helper()
	if got := s.Count(tb, "todos", "user_id = $1", userID); got != n {
		tb.Errorf("got %d todos stored, want %d", got, n)
	}
	var c struct{ Todos connJSON }
	s.OK(tb, todosQuery, &c, apitest.As(token))
	if c.Todos.TotalCount != n {
		tb.Errorf("totalCount: got %d, want %d", c.Todos.TotalCount, n)
	}
}

// TestTodosPerUserAreCapped: a user at MaxTodos gets LIMIT_EXCEEDED with
// the cap in extensions.limit and nothing is stored; an idempotent replay
// still answers the todo it made, other users are not affected, and a
// delete makes room again.
func TestTodosPerUserAreCapped(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		const max = 3
		s := apitest.New(t, url, apitest.Options{MaxTodos: max})
		token, userID := s.Login(t, "collector")
		other, _ := s.Login(t, "someone-else")
		create := func(token, cmid string) *apitest.Response {
			vars := map[string]any{"title": "t"}
			if cmid != "" {
				vars["cmid"] = cmid
			}
			return s.Post(t, createWithIDMutation, apitest.As(token), apitest.Vars(vars))
		}
		var ids []string
		for i := range max {
			var d struct{ CreateTodo todoJSON }
			r := create(token, fmt.Sprintf("key-%d", i))
			if len(r.Errors) > 0 {
				t.Fatalf("todo %d of %d: %s", i+1, max, r.Raw)
			}
			r.Decode(t, &d)
			ids = append(ids, d.CreateTodo.ID)
		}

		r := create(token, "")
		if r.Code() != "LIMIT_EXCEEDED" || r.Ext("limit") != strconv.Itoa(max) {
			t.Errorf("past the cap: got code %q, limit %q, want LIMIT_EXCEEDED, %d: %s", r.Code(), r.Ext("limit"), max, r.Raw)
		}
		wantTodos(t, s, token, userID, max)
		// A retry of a create that succeeded is not a new todo.
		if r := create(token, "key-0"); len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"id":"`+ids[0]+`"`) {
			t.Errorf("replay at the cap: got %s, want todo %s", r.Raw, ids[0])
		}
		if r := create(other, ""); len(r.Errors) > 0 {
			t.Errorf("another user: %s", r.Raw)
		}

		s.OK(t, deleteTodoMutation, nil, apitest.As(token), apitest.Vars(map[string]any{"id": ids[1]}))
		if r := create(token, ""); len(r.Errors) > 0 {
			t.Errorf("after a delete: %s", r.Raw)
		}
		if r := create(token, ""); r.Code() != "LIMIT_EXCEEDED" {
			t.Errorf("at the cap again: got %s, want LIMIT_EXCEEDED", r.Raw)
		}
	})
}

// TestConcurrentCreatesStopAtTheCap: creates racing at the cap never
// take a user past it.
func TestConcurrentCreatesStopAtTheCap(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		const max, racers = 5, 16
		s := apitest.New(t, url, apitest.Options{MaxTodos: max})
		token, userID := s.Login(t, "racer")
		codes := make([]string, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				r, err := s.Send(createWithIDMutation, apitest.As(token), apitest.Vars(map[string]any{"title": fmt.Sprint("t", i)}))
				if err != nil {
					codes[i] = err.Error()
					return
				}
				codes[i] = r.Code()
			})
		}
		wg.Wait()
		created := 0
		for _, c := range codes {
			switch c {
			case "":
				created++
			case "LIMIT_EXCEEDED":
			default:
				t.Errorf("a racer got %q", c)
			}
		}
		if created != max {
			t.Errorf("%d of %d racers created a todo, want %d", created, racers, max)
		}
		wantTodos(t, s, token, userID, max)
	})
}

// TestCreatesPerMinuteCountEveryAlias: createTodo aliased ten times in one
// request spends ten of the user's creates; past the burst each further
// create answers RATE_LIMITED with a retry hint and stores nothing, and
// another user's creates are their own.
func TestCreatesPerMinuteCountEveryAlias(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		const burst = 4
		s := apitest.New(t, url, apitest.Options{TodoCreatesPerMinute: 1, TodoCreateBurst: burst})
		token, userID := s.Login(t, "hasty")
		other, _ := s.Login(t, "someone-else")

		var doc strings.Builder
		doc.WriteString("mutation {")
		for i := range 10 {
			fmt.Fprintf(&doc, ` a%d: createTodo(input: {title: "t%d"}) { id }`, i, i)
		}
		doc.WriteString(" }")
		r := s.Post(t, doc.String(), apitest.As(token))
		limited := 0
		for _, e := range r.Errors {
			if e.Extensions["code"] != "RATE_LIMITED" {
				t.Errorf("got error %v, want RATE_LIMITED", e)
				continue
			}
			if secs, _ := e.Extensions["retryAfter"].(float64); secs < 1 {
				t.Errorf("retryAfter: got %v, want whole seconds >= 1", e.Extensions["retryAfter"])
			}
			limited++
		}
		if limited != 10-burst {
			t.Errorf("ten aliased creates: %d refused, want %d: %s", limited, 10-burst, r.Raw)
		}
		if n := s.Count(t, "todos", "user_id = $1", userID); n != burst {
			t.Errorf("got %d todos stored, want %d", n, burst)
		}
		s.Fails(t, createWithIDMutation, "RATE_LIMITED", apitest.As(token), apitest.Vars(map[string]any{"title": "one more"}))
		if r := s.Post(t, createWithIDMutation, apitest.As(other), apitest.Vars(map[string]any{"title": "mine"})); len(r.Errors) > 0 {
			t.Errorf("another user: %s", r.Raw)
		}
	})
}
