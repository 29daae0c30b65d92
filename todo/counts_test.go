package todo_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestTodosFilterAndTotalCount(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})

		t.Run("filter done pages through only matching todos", func(t *testing.T) {
			tok, _ := s.Login(t, "filterer")
			todos := seedTodos(t, s, tok, "f", 12)
			var doneIDs, openIDs []string // newest first
			for i := len(todos) - 1; i >= 0; i-- {
				if i%3 == 0 {
					updateTodo(t, s, tok, todos[i].ID, map[string]any{"done": true})
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
					vars := map[string]any{"filter": map[string]any{"done": c.done}, "first": c.pageSize}
					var seen []string
					pages := 0
					for {
						page := listTodos(t, s, tok, vars)
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
			tok, _ := s.Login(t, "counter")
			var ids []string
			create := func() {
				ids = append(ids, createTodo(t, s, tok, fmt.Sprintf("c%d", len(ids))).ID)
			}
			setDone := func(i int, done bool) func() {
				return func() { updateTodo(t, s, tok, ids[i], map[string]any{"done": done}) }
			}
			del := func(i int) func() {
				return func() { deleteTodo(t, s, tok, ids[i]) }
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
				{"rename a done todo", func() { updateTodo(t, s, tok, ids[0], map[string]any{"title": "renamed"}) }, counts{3, 1, 2}},
				{"rename and reopen at once", func() { updateTodo(t, s, tok, ids[0], map[string]any{"title": "again", "done": false}) }, counts{3, 0, 3}},
				{"mark done again", setDone(0, true), counts{3, 1, 2}},
				{"delete a done todo", del(0), counts{2, 0, 2}},
				{"delete an open todo", del(1), counts{1, 0, 1}},
				{"create another", create, counts{2, 0, 2}},
				{"mark all done", func() { setDone(2, true)(); setDone(3, true)() }, counts{2, 2, 0}},
				{"delete everything", func() { del(2)(); del(3)() }, counts{0, 0, 0}},
			}
			for _, step := range steps {
				step.do()
				if got := totalCounts(t, s, tok); got != step.want {
					t.Errorf("after %q: got totalCount all/done/open %d/%d/%d, want %d/%d/%d",
						step.name, got.all, got.done, got.open, step.want.all, step.want.done, step.want.open)
				}
				// totalCount is the number the list itself holds.
				for _, f := range []struct {
					filter any
					want   int
				}{{nil, step.want.all}, {map[string]any{"done": true}, step.want.done}, {map[string]any{"done": false}, step.want.open}} {
					if got := len(listTodos(t, s, tok, map[string]any{"filter": f.filter, "first": 100}).Edges); got != f.want {
						t.Errorf("after %q: filter %v lists %d todos, want %d", step.name, f.filter, got, f.want)
					}
				}
			}
		})

		t.Run("totalCount stays exact under concurrent changes", func(t *testing.T) {
			tok, _ := s.Login(t, "racer")
			todos := seedTodos(t, s, tok, "r", 12)
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				errs []string
			)
			// send runs in a goroutine: it collects what went wrong for the
			// test goroutine to report.
			send := func(query string, vars map[string]any) {
				r, err := s.Send(query, apitest.As(tok), apitest.Vars(vars))
				var problem string
				switch {
				case err != nil:
					problem = err.Error()
				case len(r.Errors) > 0 && r.Code() != "NOT_FOUND":
					problem = r.Raw
				default:
					return
				}
				mu.Lock()
				errs = append(errs, problem)
				mu.Unlock()
			}
			// Each todo is marked done, reopened, marked done again and,
			// for every third, deleted, all at once; NOT_FOUND is expected
			// when a delete wins.
			for i, td := range todos {
				for _, done := range []bool{true, false, true} {
					wg.Go(func() { send(updateTodoMutation, map[string]any{"id": td.ID, "input": map[string]any{"done": done}}) })
				}
				if i%3 == 0 {
					wg.Go(func() { send(deleteTodoMutation, map[string]any{"id": td.ID}) })
					wg.Go(func() { send(deleteTodoMutation, map[string]any{"id": td.ID}) })
				}
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("%d requests failed, first: %s", len(errs), errs[0])
			}
			want := counts{all: len(listTodos(t, s, tok, map[string]any{"first": 100}).Edges)}
			want.done = len(listTodos(t, s, tok, map[string]any{"first": 100, "filter": map[string]any{"done": true}}).Edges)
			want.open = len(listTodos(t, s, tok, map[string]any{"first": 100, "filter": map[string]any{"done": false}}).Edges)
			if want.all != 8 || want.done+want.open != want.all {
				t.Errorf("listed all/done/open %d/%d/%d, want 8 todos in all, each done or open", want.all, want.done, want.open)
			}
			if got := totalCounts(t, s, tok); got != want {
				t.Errorf("got totalCount all/done/open %d/%d/%d, want what the lists hold %d/%d/%d",
					got.all, got.done, got.open, want.all, want.done, want.open)
			}
		})

		t.Run("totalCount counts beyond the page", func(t *testing.T) {
			tok, _ := s.Login(t, "many")
			seedTodos(t, s, tok, "m", 7)
			got := listTodos(t, s, tok, map[string]any{"first": 2})
			if len(got.Edges) != 2 || got.TotalCount != 7 {
				t.Fatalf("got %d edges and totalCount %d, want 2 and 7", len(got.Edges), got.TotalCount)
			}
			after := listTodos(t, s, tok, map[string]any{"first": 2, "after": *got.PageInfo.EndCursor})
			if after.TotalCount != 7 {
				t.Errorf("second page: got totalCount %d, want 7 (all matching, not what remains)", after.TotalCount)
			}
		})

		t.Run("a query without totalCount works", func(t *testing.T) {
			tok, _ := s.Login(t, "nocount")
			want := reversedIDs(seedTodos(t, s, tok, "n", 3))
			r := s.Post(t, `{ todos { edges { node { id title } } pageInfo { hasNextPage } } }`, apitest.As(tok))
			if len(r.Errors) > 0 {
				t.Fatalf("got errors, want none: %s", r.Raw)
			}
			var d struct {
				Todos connJSON `json:"todos"`
			}
			r.Decode(t, &d)
			if got := d.Todos.ids(); !slices.Equal(got, want) {
				t.Errorf("got ids %v, want %v", got, want)
			}
			if strings.Contains(string(r.Data), "totalCount") {
				t.Errorf("got totalCount in %s, want only the fields asked for", r.Data)
			}
		})
	})
}
