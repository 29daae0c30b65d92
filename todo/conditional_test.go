package todo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/graph"
	"wxtodo/todo"
)

// countingStore counts the list queries that reach the store.
type countingStore struct {
	todo.Store
	lists atomic.Int64
}

func (s *countingStore) List(ctx context.Context, userID int64, f todo.Filter, beforeID int64, limit int) ([]*todo.Todo, error) {
	s.lists.Add(1)
	return s.Store.List(ctx, userID, f, beforeID, limit)
}

// TestConditionalListReads: a todos query over GET has an ETag; sent
// again with If-None-Match while nothing changed, it is answered 304 Not
// Modified without a list query; a change of the list, another user,
// other variables or another root field each miss the tag.
func TestConditionalListReads(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, dbURL string) {
		store := &countingStore{}
		s := apitest.New(t, dbURL, apitest.Options{Resolver: func(r *graph.Resolver) {
			store.Store = r.TodoService.Store
			r.TodoService.Store = store
		}})
		alice, _ := s.Login(t, "etag-alice")
		bob, _ := s.Login(t, "etag-bob")
		s.OK(t, `mutation { createTodo(input: {title: "cached"}) { id } }`, nil, apitest.As(alice))
		const list = `query($n: Int) { todos(first: $n) { totalCount edges { node { id title } } } }`
		get := func(token, query, vars, etag string) *httptest.ResponseRecorder {
			t.Helper()
			q := url.Values{"query": {query}}
			if vars != "" {
				q.Set("variables", vars)
			}
			req := httptest.NewRequest(http.MethodGet, "/query?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if etag != "" {
				req.Header.Set("If-None-Match", etag)
			}
			rec := httptest.NewRecorder()
			s.Handler.ServeHTTP(rec, req)
			return rec
		}

		first := get(alice, list, `{"n": 10}`, "")
		tag := first.Header().Get("ETag")
		if first.Code != http.StatusOK || tag == "" {
			t.Fatalf("first read: status %d, ETag %q; want 200 with an ETag: %s", first.Code, tag, first.Body)
		}
		if cc := first.Header().Get("Cache-Control"); cc != "private, no-cache" {
			t.Errorf("Cache-Control %q, want private, no-cache", cc)
		}
		before := store.lists.Load()
		again := get(alice, list, `{"n": 10}`, tag)
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 || again.Header().Get("ETag") != tag {
			t.Errorf("unchanged: status %d, ETag %q, body %q; want 304 with the same tag and no body", again.Code, again.Header().Get("ETag"), again.Body)
		}
		if n := store.lists.Load() - before; n != 0 {
			t.Errorf("a 304 ran %d list queries, want none", n)
		}
		for _, tc := range []struct {
			name, token, query, vars string
		}{
			{"another user", bob, list, `{"n": 10}`},
			{"other variables", alice, list, `{"n": 11}`},
			{"another document", alice, `{ todos { totalCount } }`, ""},
		} {
			if got := get(tc.token, tc.query, tc.vars, tag); got.Code != http.StatusOK {
				t.Errorf("%s with alice's tag: status %d, want 200", tc.name, got.Code)
			}
		}
		if got := get(alice, `{ todos { totalCount } me { id } }`, "", ""); got.Header().Get("ETag") != "" {
			t.Errorf("a query with another root field got ETag %q, want none (the version does not cover it)", got.Header().Get("ETag"))
		}
		s.OK(t, `mutation { createTodo(input: {title: "changed"}) { id } }`, nil, apitest.As(alice))
		changed := get(alice, list, `{"n": 10}`, tag)
		if changed.Code != http.StatusOK || changed.Header().Get("ETag") == tag {
			t.Errorf("after a change: status %d, ETag %q; want 200 with a new tag", changed.Code, changed.Header().Get("ETag"))
		}
	})
}
