package todo_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestTodosPagination(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		tok, _ := s.Login(t, "alice")
		all := seedTodos(t, s, tok, "todo", 101)
		newestFirst := reversedIDs(all)

		t.Run("newest first, 20 by default", func(t *testing.T) {
			var d struct {
				Todos connJSON `json:"todos"`
			}
			s.OK(t, `{ todos { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, &d, apitest.As(tok))
			if n := len(d.Todos.Edges); n != 20 {
				t.Fatalf("got %d edges, want 20", n)
			}
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
					got := listTodos(t, s, tok, map[string]any{"first": first})
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
					r := s.Post(t, todosQuery, apitest.As(tok), apitest.Vars(map[string]any{"first": first}))
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
					r := s.Post(t, todosQuery, apitest.As(tok), apitest.Vars(map[string]any{"after": c.after}))
					wantInputError(t, r, "after")
					wantNoData(t, r, "todos")
				})
			}
		})

		t.Run("endCursor continues where the page ended", func(t *testing.T) {
			var seen []string
			var after any
			pages := 0
			for {
				vars := map[string]any{"first": 30}
				if after != nil {
					vars["after"] = after
				}
				page := listTodos(t, s, tok, vars)
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
			page := listTodos(t, s, tok, map[string]any{"first": 5})
			for i, edge := range page.Edges {
				next := listTodos(t, s, tok, map[string]any{"first": 2, "after": edge.Cursor})
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
		s := apitest.New(t, url, apitest.Options{})
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				tok, _ := s.Login(t, fmt.Sprintf("pager-%d", i))
				originals := seedTodos(t, s, tok, "old", c.n)
				want := reversedIDs(originals)

				page := listTodos(t, s, tok, map[string]any{"first": c.pageSize})
				seen := page.ids()
				pages := 1
				// New todos arrive while the client pages.
				added := seedTodos(t, s, tok, "new", 5)
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
					page = listTodos(t, s, tok, map[string]any{"first": c.pageSize, "after": *page.PageInfo.EndCursor})
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
				empty := listTodos(t, s, tok, map[string]any{"first": c.pageSize, "after": *page.PageInfo.EndCursor})
				if len(empty.Edges) != 0 || empty.PageInfo.HasNextPage || empty.PageInfo.EndCursor != nil {
					t.Errorf("past the end: got %d edges, hasNextPage %v, endCursor %v; want 0, false, null",
						len(empty.Edges), empty.PageInfo.HasNextPage, empty.PageInfo.EndCursor)
				}

				// A fresh first page starts with the new todos.
				first := listTodos(t, s, tok, map[string]any{"first": 5})
				if got, want := first.ids(), reversedIDs(added); !slices.Equal(got, want) {
					t.Errorf("fresh first page: got ids %v, want the new todos %v", got, want)
				}
			})
		}
	})
}
