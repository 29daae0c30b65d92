package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"wxtodo/bench/docs"
)

// volatile are the fields whose values legitimately differ between two
// servers answering the same write (new IDs, tokens, clocks).
var volatile = map[string]bool{"id": true, "deleteTodo": true, "token": true, "expiresAt": true, "createdAt": true, "updatedAt": true}

// normalize decodes a JSON answer; with loose set, the values of volatile
// fields are replaced by their JSON type.
func normalize(body []byte, loose bool) (any, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	if loose {
		v = blank(v, false)
	}
	return v, nil
}

func blank(v any, isVolatile bool) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = blank(x, volatile[k])
		}
		return v
	case []any:
		for i := range v {
			v[i] = blank(v[i], isVolatile)
		}
		return v
	}
	if isVolatile {
		return fmt.Sprintf("<%T>", v)
	}
	return v
}

// conformance sends the same requests to both servers and returns how
// their answers differ: reads must be equal, writes equal but for the
// volatile fields.
func conformance(ctx context.Context, wx, bl *client, f *fixture) []string {
	u0, u1 := f.Users[0], f.Users[1]
	todos := func(u benchUser, after string) request {
		vars := map[string]any{"first": 20}
		if after != "" {
			vars["after"] = after
		}
		return request{docs.Body("Todos", docs.Todos, vars), u.Token}
	}
	cases := []struct {
		name  string
		req   func() request
		loose bool
	}{
		{"me", func() request { return request{docs.Body("Me", docs.Me, nil), u0.Token} }, false},
		{"todos page 1", func() request { return todos(u0, "") }, false},
		{"todos after a cursor", func() request { return todos(f.Small, f.SmallCursor) }, false},
		{"todos of the deep user after a cursor", func() request { return todos(f.Deep, f.DeepCursor) }, false},
		{"totalCount", func() request { return request{docs.Body("TodosCount", docs.TodosCount, nil), u0.Token} }, false},
		{"updateTodo", func() request {
			vars := map[string]any{"id": strconv.FormatInt(u1.Todos[1], 10), "input": map[string]any{"done": true}}
			return request{docs.Body("UpdateTodo", docs.UpdateTodo, vars), u1.Token}
		}, true},
		{"createTodo", func() request {
			return request{docs.Body("CreateTodo", docs.CreateTodo, map[string]any{"input": map[string]any{"title": "  conformance check  "}}), u1.Token}
		}, true},
		{"login", func() request { return request{docs.Body("Login", docs.Login, map[string]any{"code": newCode()}), ""} }, true},
		{"deleteTodo", func() request { // each server deletes a todo of its own
			d, _ := f.nextDeletable()
			return request{docs.Body("DeleteTodo", docs.DeleteTodo, map[string]any{"id": strconv.FormatInt(d.ID, 10)}), f.Users[d.User].Token}
		}, true},
	}
	var problems []string
	for _, c := range cases {
		var got [2]any
		for i, cl := range []*client{wx, bl} {
			body, err := cl.do(ctx, c.req())
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", c.name, []string{"wxtodo", "baseline"}[i], err))
				continue
			}
			if got[i], err = normalize(body, c.loose); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", c.name, []string{"wxtodo", "baseline"}[i], err))
			}
		}
		if got[0] != nil && got[1] != nil && !reflect.DeepEqual(got[0], got[1]) {
			w, _ := json.Marshal(got[0])
			b, _ := json.Marshal(got[1])
			problems = append(problems, fmt.Sprintf("%s: answers differ: wxtodo %.400s, baseline %.400s", c.name, w, b))
		}
	}
	return problems
}

// scaleRow is one line of the scale table.
type scaleRow struct {
	User     string
	Request  string
	P50      map[string]time.Duration
	Errors   int
	FirstErr string
}

// scale measures, one request at a time, the latency of the first and a
// deep page and of totalCount for a user with a few todos and one with
// very many, alternating the servers request by request.
func scale(ctx context.Context, o *options, targets []*target, f *fixture) []*scaleRow {
	type scaleCase struct {
		user, request string
		req           request
	}
	var cases []scaleCase
	for _, u := range []struct {
		label  string
		u      benchUser
		cursor string
		offset int
	}{
		{fmt.Sprintf("%s todos", thousands(float64(o.todosPerUser))), f.Small, f.SmallCursor, f.SmallOffset},
		{fmt.Sprintf("%s todos", thousands(float64(f.DeepTodos))), f.Deep, f.DeepCursor, f.DeepOffset},
	} {
		cases = append(cases,
			scaleCase{u.label, "todos(first: 20), page 1", request{docs.Body("Todos", docs.Todos, map[string]any{"first": 20}), u.u.Token}},
			scaleCase{u.label, fmt.Sprintf("todos(first: 20) after item %s", thousands(float64(u.offset))),
				request{docs.Body("Todos", docs.Todos, map[string]any{"first": 20, "after": u.cursor}), u.u.Token}},
			scaleCase{u.label, "todos(first: 1) { totalCount }", request{docs.Body("TodosCount", docs.TodosCount, nil), u.u.Token}},
		)
	}
	var rows []*scaleRow
	for _, c := range cases {
		row := &scaleRow{User: c.user, Request: c.request, P50: map[string]time.Duration{}}
		lat := map[string][]time.Duration{}
		for i := 0; i < o.scaleRequests && ctx.Err() == nil; i++ {
			order := targets
			if i%2 == 1 {
				order = []*target{targets[1], targets[0]}
			}
			for _, t := range order {
				t0 := time.Now()
				if _, err := t.client.do(ctx, c.req); err != nil {
					if ctx.Err() != nil {
						break
					}
					row.Errors++
					if row.FirstErr == "" {
						row.FirstErr = t.name + ": " + err.Error()
					}
					continue
				}
				lat[t.name] = append(lat[t.name], time.Since(t0))
			}
		}
		for _, t := range targets {
			row.P50[t.name] = percentile(lat[t.name], 50)
		}
		logf("scale %-14s %-40s wxtodo p50 %-9v baseline p50 %-9v errors %d", c.user, c.request,
			row.P50["wxtodo"].Round(time.Microsecond), row.P50["baseline"].Round(time.Microsecond), row.Errors)
		rows = append(rows, row)
	}
	return rows
}

// counterDrift counts users whose todo_count or done_count disagree with
// their todos: after a run, both servers must have kept them in step.
func counterDrift(ctx context.Context, postgres bool, databaseURL string) (int, error) {
	db, err := openSeedDB(postgres, databaseURL)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM users AS u WHERE
		u.todo_count <> (SELECT count(*) FROM todos AS t WHERE t.user_id = u.id) OR
		u.done_count <> (SELECT count(*) FROM todos AS t WHERE t.user_id = u.id AND t.done)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("check counters: %w", err)
	}
	return n, nil
}

// dbVersion names the database server.
func dbVersion(ctx context.Context, postgres bool, databaseURL string) (string, error) {
	db, err := openSeedDB(postgres, databaseURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	if postgres {
		err = db.QueryRowContext(ctx, "SHOW server_version").Scan(&v)
		return "PostgreSQL " + v, err
	}
	err = db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v)
	return "SQLite " + v + " (modernc.org/sqlite)", err
}
