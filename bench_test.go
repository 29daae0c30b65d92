package main

// Microbenchmarks of the request path: each sends one operation's
// mini-program request straight into the wired handler (middleware,
// GraphQL, services, stores, a real database) with httptest, no network,
// and reports allocs/op. The load benchmark against a hand-written
// baseline is `go run ./bench`.
//
//	go test -run '^$' -bench . -benchmem
//
// Each has a sqlite and a postgres sub-benchmark; postgres uses
// TEST_DATABASE_URL or a throwaway cluster, and is skipped without one.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"wxtodo/bench/docs"
	"wxtodo/db/dbtest"
	"wxtodo/graph"
)

// benchTodos is how many todos the fixture's user has.
const benchTodos = 50

// benchFixture is a server on a fresh database with one signed-in user
// who has benchTodos todos.
type benchFixture struct {
	handler http.Handler
	token   string
	todoIDs []string
}

// benchEachDB runs f as a sqlite and a postgres sub-benchmark, each on a
// fixture of its own.
func benchEachDB(b *testing.B, f func(b *testing.B, fx *benchFixture)) {
	b.Run("sqlite", func(b *testing.B) { f(b, newBenchFixture(b, dbtest.SQLiteURL(b))) })
	b.Run("postgres", func(b *testing.B) { f(b, newBenchFixture(b, dbtest.PostgresURL(b))) })
}

// newBenchFixture starts the fixture on databaseURL; vars (name, value,
// ...) change the server's environment.
func newBenchFixture(b *testing.B, databaseURL string, vars ...string) *benchFixture {
	b.Helper()
	// One user writes in a loop, far past the per-user caps.
	vars = append([]string{"LOG_LEVEL", "error", "TODO_CREATES_PER_MINUTE", "0", "MAX_TODOS_PER_USER", "0"}, vars...)
	in := newInstance(b, databaseURL, vars...)
	fx := &benchFixture{handler: in.app.Handler}
	var login struct {
		Data struct {
			Login struct {
				Token string `json:"token"`
			} `json:"login"`
		} `json:"data"`
	}
	fx.decode(b, fx.serve(b, docs.Body("Login", docs.Login, map[string]any{"code": "bench-fixture"}), ""), &login)
	fx.token = login.Data.Login.Token
	for i := range benchTodos {
		var created struct {
			Data struct {
				CreateTodo struct {
					ID string `json:"id"`
				} `json:"createTodo"`
			} `json:"data"`
		}
		body := docs.Body("CreateTodo", docs.CreateTodo, map[string]any{"input": map[string]any{"title": fmt.Sprintf("todo %d", i)}})
		fx.decode(b, fx.serve(b, body, fx.token), &created)
		fx.todoIDs = append(fx.todoIDs, created.Data.CreateTodo.ID)
	}
	return fx
}

var (
	benchDataPrefix = []byte(`{"data":{`)
	benchErrors     = []byte(`"errors"`)
)

// serve sends one POST /query through the handler and returns the answer;
// anything but a successful GraphQL answer fails the benchmark.
func (fx *benchFixture) serve(tb testing.TB, body []byte, token string) []byte {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	fx.handler.ServeHTTP(rec, req)
	out := rec.Body.Bytes()
	if rec.Code != http.StatusOK || !bytes.HasPrefix(out, benchDataPrefix) || bytes.Contains(out, benchErrors) {
		tb.Fatalf("%s: status %d: %s", body, rec.Code, out)
	}
	return out
}

func (fx *benchFixture) decode(tb testing.TB, body []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("decode %s: %v", body, err)
	}
}

// BenchmarkMe reads the signed-in user: the token check and nothing else.
func BenchmarkMe(b *testing.B) {
	benchEachDB(b, func(b *testing.B, fx *benchFixture) {
		body := docs.Body("Me", docs.Me, nil)
		b.ReportAllocs()
		for b.Loop() {
			fx.serve(b, body, fx.token)
		}
	})
}

// BenchmarkTodos reads the first page of 20 of the user's 50 todos.
func BenchmarkTodos(b *testing.B) {
	benchEachDB(b, func(b *testing.B, fx *benchFixture) {
		body := docs.Body("Todos", docs.Todos, map[string]any{"first": 20})
		b.ReportAllocs()
		for b.Loop() {
			fx.serve(b, body, fx.token)
		}
	})
}

// BenchmarkCreateTodo adds a todo per iteration; sqlite-full is SQLite
// with SQLITE_SYNCHRONOUS=FULL, a sync of the WAL at every commit.
func BenchmarkCreateTodo(b *testing.B) {
	body := docs.Body("CreateTodo", docs.CreateTodo, map[string]any{"input": map[string]any{"title": "buy milk"}})
	create := func(b *testing.B, fx *benchFixture) {
		b.ReportAllocs()
		for b.Loop() {
			fx.serve(b, body, fx.token)
		}
	}
	benchEachDB(b, create)
	b.Run("sqlite-full", func(b *testing.B) {
		create(b, newBenchFixture(b, dbtest.SQLiteURL(b), "SQLITE_SYNCHRONOUS", "FULL"))
	})
}

// BenchmarkUpdateTodo flips done on the user's todos in turn, so every
// update also moves the done counter.
func BenchmarkUpdateTodo(b *testing.B) {
	benchEachDB(b, func(b *testing.B, fx *benchFixture) {
		var bodies [][]byte
		for _, done := range []bool{true, false} {
			for _, id := range fx.todoIDs {
				bodies = append(bodies, docs.Body("UpdateTodo", docs.UpdateTodo, map[string]any{"id": id, "input": map[string]any{"done": done}}))
			}
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			fx.serve(b, bodies[i%len(bodies)], fx.token)
			i++
		}
	})
}

// BenchmarkLogin signs a new user in per iteration, with a fresh code
// exchanged at the fake jscode2session (over loopback HTTP).
func BenchmarkLogin(b *testing.B) {
	benchEachDB(b, func(b *testing.B, fx *benchFixture) {
		// The body around the code, so that a new body costs one Appendf.
		const marker = "CODE-MARKER"
		prefix, suffix, ok := bytes.Cut(docs.Body("Login", docs.Login, map[string]any{"code": marker}), []byte(marker))
		if !ok {
			b.Fatal("no code marker in the login body")
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			fx.serve(b, fmt.Appendf(nil, "%sbench-login-%d%s", prefix, i, suffix), "")
		}
	})
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(tb testing.TB) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkWorstDocuments sends, unauthenticated, the documents shaped to
// cost the server most CPU (bench/docs.Attacks), each new to every cache:
// cpu-ns/op is the most CPU one request can cost (ns/op also holds the
// time new documents wait for their lane). BenchmarkMe is the yardstick.
func BenchmarkWorstDocuments(b *testing.B) {
	in := newInstance(b, dbtest.SQLiteURL(b), "LOG_LEVEL", "error")
	for _, a := range docs.Attacks(graph.MaxTokens) {
		b.Run(a.Name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			cpu := processCPU(b)
			defer func() { b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				n++
				req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(docs.Body("", a.Doc(n), nil)))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				in.app.Handler.ServeHTTP(rec, req)
				if !bytes.Contains(rec.Body.Bytes(), benchErrors) {
					b.Fatalf("%s was answered: %s", a.Name, rec.Body.Bytes())
				}
			}
		})
	}
}
