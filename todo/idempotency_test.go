package todo_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

// TestCreateTodoClientMutationID specifies createTodo's idempotency key
// through the API; which keys are well-formed is TestCreateChecksInput's
// table, in rules_test.go.
func TestCreateTodoClientMutationID(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})

		t.Run("a bad clientMutationId is BAD_USER_INPUT on clientMutationId and writes nothing", func(t *testing.T) {
			tok, _ := s.Login(t, "validator")
			rows := s.Count(t, "todos", "")
			r := s.Post(t, createWithIDMutation, apitest.As(tok), apitest.Vars(map[string]any{"title": "t", "cmid": strings.Repeat("k", 65)}))
			wantInputError(t, r, "clientMutationId")
			wantNoData(t, r, "createTodo")
			if got := s.Count(t, "todos", ""); got != rows {
				t.Errorf("got %d todos rows, want %d", got, rows)
			}
		})

		t.Run("a clientMutationId of 64 bytes is accepted", func(t *testing.T) {
			tok, _ := s.Login(t, "acceptor")
			var d createData
			s.OK(t, createWithIDMutation, &d, apitest.As(tok), apitest.Vars(map[string]any{"title": "longest key", "cmid": strings.Repeat("k", 64)}))
			if d.CreateTodo.Title != "longest key" {
				t.Errorf("got title %q, want %q", d.CreateTodo.Title, "longest key")
			}
		})

		t.Run("null or left out clientMutationId creates a todo each time", func(t *testing.T) {
			tok, _ := s.Login(t, "plain")
			var a, b, c createData
			s.OK(t, createWithIDMutation, &a, apitest.As(tok), apitest.Vars(map[string]any{"title": "same"}))
			s.OK(t, createWithIDMutation, &b, apitest.As(tok), apitest.Vars(map[string]any{"title": "same", "cmid": nil}))
			s.OK(t, createTodoMutation, &c, apitest.As(tok), apitest.Vars(map[string]any{"input": map[string]any{"title": "same"}}))
			if a.CreateTodo.ID == b.CreateTodo.ID || b.CreateTodo.ID == c.CreateTodo.ID || a.CreateTodo.ID == c.CreateTodo.ID {
				t.Errorf("got ids %s, %s, %s, want three different", a.CreateTodo.ID, b.CreateTodo.ID, c.CreateTodo.ID)
			}
			if got := totalCounts(t, s, tok).all; got != 3 {
				t.Errorf("got totalCount %d, want 3", got)
			}
		})

		t.Run("sending the same createTodo twice makes one todo", func(t *testing.T) {
			tok, _ := s.Login(t, "retrier")
			rows := s.Count(t, "todos", "")
			vars := apitest.Vars(map[string]any{"title": "pay rent", "cmid": "retry-1"})
			var first, again createData
			s.OK(t, createWithIDMutation, &first, apitest.As(tok), vars)
			s.OK(t, createWithIDMutation, &again, apitest.As(tok), vars)
			if again.CreateTodo != first.CreateTodo {
				t.Errorf("retry: got %+v, want the first todo %+v", again.CreateTodo, first.CreateTodo)
			}
			if got := s.Count(t, "todos", ""); got != rows+1 {
				t.Errorf("got %d todos rows, want %d (one more)", got, rows+1)
			}
			if got := totalCounts(t, s, tok); got != (counts{1, 0, 1}) {
				t.Errorf("got totalCounts %+v, want 1/0/1", got)
			}
			if ids := listTodos(t, s, tok, nil).ids(); !slices.Equal(ids, []string{first.CreateTodo.ID}) {
				t.Errorf("got list %v, want just %s", ids, first.CreateTodo.ID)
			}
			// A different key is a different todo.
			var other createData
			s.OK(t, createWithIDMutation, &other, apitest.As(tok), apitest.Vars(map[string]any{"title": "pay rent", "cmid": "retry-2"}))
			if other.CreateTodo.ID == first.CreateTodo.ID {
				t.Errorf("another clientMutationId: got the same id %s, want a new todo", other.CreateTodo.ID)
			}
		})

		t.Run("a retry after the todo changed returns it as it is now", func(t *testing.T) {
			tok, _ := s.Login(t, "changer")
			vars := apitest.Vars(map[string]any{"title": "draft", "cmid": "k"})
			var first, again createData
			s.OK(t, createWithIDMutation, &first, apitest.As(tok), vars)
			updated := updateTodo(t, s, tok, first.CreateTodo.ID, map[string]any{"done": true})
			s.OK(t, createWithIDMutation, &again, apitest.As(tok), vars)
			if again.CreateTodo != updated {
				t.Errorf("retry: got %+v, want the stored todo %+v", again.CreateTodo, updated)
			}
			if got := totalCounts(t, s, tok); got != (counts{1, 1, 0}) {
				t.Errorf("got totalCounts %+v, want 1/1/0", got)
			}
		})

		t.Run("10 concurrent sends of the same createTodo make one todo", func(t *testing.T) {
			tok, _ := s.Login(t, "hammer")
			rows := s.Count(t, "todos", "")
			const n = 10
			// Each goroutine keeps its own answer; the test goroutine reads
			// them after all have returned.
			answers := make([]*apitest.Response, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					answers[i], errs[i] = s.Send(createWithIDMutation, apitest.As(tok),
						apitest.Vars(map[string]any{"title": "once", "cmid": "concurrent-1"}))
				})
			}
			wg.Wait()
			ids := map[string]int{}
			for i, r := range answers {
				if errs[i] != nil {
					t.Fatalf("send %d of %d: %v", i+1, n, errs[i])
				}
				if len(r.Errors) > 0 {
					t.Fatalf("send %d of %d failed: %s", i+1, n, r.Raw)
				}
				var d createData
				if err := json.Unmarshal(r.Data, &d); err != nil {
					t.Fatalf("send %d of %d: decode %s: %v", i+1, n, r.Data, err)
				}
				ids[d.CreateTodo.ID]++
			}
			if len(ids) != 1 {
				t.Errorf("got todo ids %v, want one id for all %d sends", ids, n)
			}
			if got := s.Count(t, "todos", ""); got != rows+1 {
				t.Errorf("got %d todos rows, want %d (one more)", got, rows+1)
			}
			if got := totalCounts(t, s, tok); got != (counts{1, 0, 1}) {
				t.Errorf("got totalCounts %+v, want 1/0/1", got)
			}
		})

		t.Run("different users use the same clientMutationId independently", func(t *testing.T) {
			alice, _ := s.Login(t, "alice")
			bob, _ := s.Login(t, "bob")
			var a, b, a2 createData
			s.OK(t, createWithIDMutation, &a, apitest.As(alice), apitest.Vars(map[string]any{"title": "alice's", "cmid": "shared"}))
			s.OK(t, createWithIDMutation, &b, apitest.As(bob), apitest.Vars(map[string]any{"title": "bob's", "cmid": "shared"}))
			s.OK(t, createWithIDMutation, &a2, apitest.As(alice), apitest.Vars(map[string]any{"title": "alice's", "cmid": "shared"}))
			if a.CreateTodo.ID == b.CreateTodo.ID {
				t.Fatalf("got the same todo %s for alice and bob, want two", a.CreateTodo.ID)
			}
			if b.CreateTodo.Title != "bob's" {
				t.Errorf("bob: got title %q, want %q", b.CreateTodo.Title, "bob's")
			}
			if a2.CreateTodo.ID != a.CreateTodo.ID {
				t.Errorf("alice's retry: got id %s, want %s", a2.CreateTodo.ID, a.CreateTodo.ID)
			}
			if got := getTodo(t, s, bob, a.CreateTodo.ID); got != nil {
				t.Errorf("bob got alice's todo %+v, want null", *got)
			}
			for _, u := range []struct {
				name, tok, want string
			}{{"alice", alice, a.CreateTodo.ID}, {"bob", bob, b.CreateTodo.ID}} {
				if ids := listTodos(t, s, u.tok, nil).ids(); !slices.Equal(ids, []string{u.want}) {
					t.Errorf("%s's list: got %v, want [%s]", u.name, ids, u.want)
				}
			}
		})
	})
}
