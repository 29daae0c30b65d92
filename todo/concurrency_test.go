package todo_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestConcurrentWritersNeverSeeLockedDatabase(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		const writers, each = 32, 8
		tokens := make([]string, 4)
		for i := range tokens {
			tokens[i], _ = s.Login(t, fmt.Sprintf("writer-%d", i))
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []string
		)
		// fail records a problem of a writer goroutine for the test
		// goroutine to report.
		fail := func(problem string) {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, problem)
		}
		for w := range writers {
			wg.Go(func() {
				token := tokens[w%len(tokens)]
				for i := range each {
					r, err := s.Send(`mutation($t: String!) { createTodo(input: {title: $t}) { id } }`,
						apitest.As(token), apitest.Vars(map[string]any{"t": fmt.Sprintf("w%d-%d", w, i)}))
					if err == nil && len(r.Errors) == 0 {
						var c struct{ CreateTodo struct{ ID string } }
						if err = json.Unmarshal(r.Data, &c); err == nil {
							r, err = s.Send(`mutation($id: ID!) { updateTodo(id: $id, input: {done: true}) { id } }`,
								apitest.As(token), apitest.Vars(map[string]any{"id": c.CreateTodo.ID}))
						}
					}
					switch {
					case err != nil:
						fail(err.Error())
					case len(r.Errors) > 0:
						fail(r.Raw)
					}
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d of %d writes failed, first: %s", len(errs), 2*writers*each, errs[0])
		}
		if got := s.Count(t, "todos", "done = $1", true); got != writers*each {
			t.Errorf("got %d done todos, want %d", got, writers*each)
		}
		if strings.Contains(s.Logs.String(), "locked") {
			t.Errorf("the log mentions a locked database")
		}
	})
}
