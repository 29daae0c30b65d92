package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"wxtodo/auth"
)

// benchUser is a seeded user and what requests need of them.
type benchUser struct {
	ID    int64
	Token string
	Todos []int64 // seeded todo IDs, ascending
}

// fixture is the seeded data set.
type fixture struct {
	Users []benchUser // the users the load picks from at random
	// Small and Deep are users of the scale table, outside the load: one
	// with as many todos as the load's users, one with very many.
	// SmallCursor and DeepCursor are the cursors of the todos halfway down
	// their lists.
	Small       benchUser
	Deep        benchUser
	DeepTodos   int
	DeepCursor  string
	DeepOffset  int
	SmallCursor string
	SmallOffset int
	Took        time.Duration
	// Deletable are todos of the load's users (older than their Todos)
	// for deleteTodo, each deleted once: next hands them out in turn.
	Deletable []deletable
	next      atomic.Int64
}

// deletable is a todo deleteTodo may delete, and whose it is.
type deletable struct {
	User int // index into Users
	ID   int64
}

// nextDeletable returns a todo no request has deleted yet; ok is false
// when the run has used them all (raise -deletable).
func (f *fixture) nextDeletable() (d deletable, ok bool) {
	i := f.next.Add(1) - 1
	if i >= int64(len(f.Deletable)) {
		return deletable{}, false
	}
	return f.Deletable[i], true
}

// seedStep is one statement of the seed.
type seedStep struct {
	what  string
	query string
	args  []any
}

// dialect holds what differs between the two databases' seeding SQL.
type dialect struct {
	postgres bool
}

// series returns a FROM item producing n in 1..$k.
func (d dialect) series(k int) string {
	if d.postgres {
		return fmt.Sprintf("generate_series(1, $%d) AS g(n)", k)
	}
	return "g"
}

// with returns the WITH clause the series needs (SQLite: a recursive CTE).
func (d dialect) with(k int) string {
	if d.postgres {
		return ""
	}
	return fmt.Sprintf("WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $%d) ", k)
}

// ts is a time argument as wxtodo (bun) writes it.
func (d dialect) ts(t time.Time) any {
	if d.postgres {
		return t.UTC()
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
}

// seed fills a database that wxtodo has migrated: users users with
// perUser todos (every third done) and one session each, plus a user with
// perUser todos and one with deep todos for the scale table, with a
// session each; counters are set from the rows. Tokens
// come from auth.NewToken, so sessions hold the hash wxtodo checks.
func seed(ctx context.Context, postgres bool, databaseURL string, users, perUser, deep, deletables int) (*fixture, error) {
	start := time.Now()
	d := dialect{postgres: postgres}
	db, err := openSeedDB(postgres, databaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	now := time.Now().UTC().Truncate(time.Microsecond)
	far := now.AddDate(10, 0, 0) // sessions never need renewing during the run
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op

	steps := []seedStep{
		{"users", d.with(3) + `INSERT INTO users (app_id, open_id, nickname, avatar_url, todo_count, done_count, created_at, updated_at)
			SELECT $1, 'bench-u-' || n, 'user ' || n, 'https://example.com/avatar/' || n || '.png', 0, 0, $2, $2
			FROM ` + d.series(3) + ` ORDER BY n`, []any{benchAppID, d.ts(now), users}},
		{"scale users", `INSERT INTO users (app_id, open_id, nickname, avatar_url, todo_count, done_count, created_at, updated_at)
			VALUES ($1, 'bench-small', 'small user', '', 0, 0, $2, $2), ($1, 'bench-deep', 'deep user', '', 0, 0, $2, $2)`, []any{benchAppID, d.ts(now)}},
		// Each user's identity in the bench app, as a sign-in makes it.
		{"identities", `INSERT INTO identities (user_id, app_id, open_id, created_at, updated_at)
			SELECT id, app_id, open_id, created_at, updated_at FROM users WHERE app_id = $1 AND open_id LIKE 'bench-%' ORDER BY id`, []any{benchAppID}},
		// First, so that they are older than every todo the lists show.
		{"deletable todos", d.with(3) + `INSERT INTO todos (user_id, title, done, created_at, updated_at)
			SELECT u.id, 'deletable ' || n, n % 3 = 0, $2, $2
			FROM users AS u CROSS JOIN ` + d.series(3) + `
			WHERE u.app_id = $1 AND u.open_id LIKE 'bench-u-%' ORDER BY u.id, n`, []any{benchAppID, d.ts(now), deletables}},
		{"todos", d.with(3) + `INSERT INTO todos (user_id, title, done, created_at, updated_at)
			SELECT u.id, 'todo ' || n || ' of ' || u.open_id, n % 3 = 0, $2, $2
			FROM users AS u CROSS JOIN ` + d.series(3) + `
			WHERE u.app_id = $1 AND (u.open_id LIKE 'bench-u-%' OR u.open_id = 'bench-small') ORDER BY u.id, n`, []any{benchAppID, d.ts(now), perUser}},
		{"deep todos", d.with(3) + `INSERT INTO todos (user_id, title, done, created_at, updated_at)
			SELECT u.id, 'deep todo ' || n, n % 3 = 0, $2, $2
			FROM users AS u CROSS JOIN ` + d.series(3) + `
			WHERE u.app_id = $1 AND u.open_id = 'bench-deep' ORDER BY n`, []any{benchAppID, d.ts(now), deep}},
		{"counters", `UPDATE users SET
			todo_count = (SELECT count(*) FROM todos AS t WHERE t.user_id = users.id),
			done_count = (SELECT count(*) FROM todos AS t WHERE t.user_id = users.id AND t.done)
			WHERE app_id = $1 AND open_id LIKE 'bench-%'`, []any{benchAppID}},
	}
	if postgres {
		// The counters are set from the rows at the end; PostgreSQL's
		// trigger, updating one user's row per todo in one transaction,
		// would make seeding the deep user quadratic.
		steps = append([]seedStep{{"no counting trigger", `ALTER TABLE todos DISABLE TRIGGER todos_count`, nil}}, steps...)
		steps = append(steps, seedStep{"the counting trigger again", `ALTER TABLE todos ENABLE TRIGGER todos_count`, nil})
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return nil, fmt.Errorf("seed %s: %w", s.what, err)
		}
	}

	f := &fixture{DeepTodos: deep}
	rows, err := tx.QueryContext(ctx, `SELECT id, open_id FROM users WHERE app_id = $1 AND open_id LIKE 'bench-%' ORDER BY id`, benchAppID)
	if err != nil {
		return nil, err
	}
	index := map[int64]int{}
	for rows.Next() {
		var (
			id     int64
			openID string
		)
		if err := rows.Scan(&id, &openID); err != nil {
			rows.Close()
			return nil, err
		}
		switch openID {
		case "bench-small":
			f.Small.ID = id
			continue
		case "bench-deep":
			f.Deep.ID = id
			continue
		}
		index[id] = len(f.Users)
		f.Users = append(f.Users, benchUser{ID: id})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(f.Users) != users || f.Small.ID == 0 || f.Deep.ID == 0 {
		return nil, fmt.Errorf("seeded %d users, want %d plus two for the scale table: is the database fresh?", len(f.Users), users)
	}

	// One session per user, in multi-row inserts.
	all := make([]*benchUser, 0, len(f.Users)+1)
	for i := range f.Users {
		all = append(all, &f.Users[i])
	}
	all = append(all, &f.Small, &f.Deep)
	const batch = 200
	for i := 0; i < len(all); i += batch {
		part := all[i:min(i+batch, len(all))]
		var sb strings.Builder
		sb.WriteString("INSERT INTO sessions (token_hash, user_id, app_id, created_at, expires_at) VALUES ")
		args := make([]any, 0, 5*len(part))
		for j, u := range part {
			token, hash := auth.NewToken()
			u.Token = token
			if j > 0 {
				sb.WriteString(", ")
			}
			k := len(args)
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5)
			args = append(args, hash[:], u.ID, benchAppID, d.ts(now), d.ts(far))
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return nil, fmt.Errorf("seed sessions: %w", err)
		}
	}

	// The seeded todos of the load's users, for updateTodo.
	rows, err = tx.QueryContext(ctx, `SELECT t.user_id, t.id, t.title LIKE 'deletable %' FROM todos AS t JOIN users AS u ON u.id = t.user_id
		WHERE u.app_id = $1 AND u.open_id LIKE 'bench-u-%' ORDER BY t.id`, benchAppID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			uid, id int64
			del     bool
		)
		if err := rows.Scan(&uid, &id, &del); err != nil {
			rows.Close()
			return nil, err
		}
		if del {
			f.Deletable = append(f.Deletable, deletable{User: index[uid], ID: id})
			continue
		}
		u := &f.Users[index[uid]]
		u.Todos = append(u.Todos, id)
	}
	// Deletes spread over the users, as updates are.
	mrand.New(mrand.NewPCG(1, 2)).Shuffle(len(f.Deletable), func(i, j int) { f.Deletable[i], f.Deletable[j] = f.Deletable[j], f.Deletable[i] })
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Cursors halfway down the scale users' lists.
	cursorAt := func(userID int64, offset int) (string, error) {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM todos WHERE user_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2`, userID, offset).Scan(&id)
		if err != nil {
			return "", fmt.Errorf("cursor at %d: %w", offset, err)
		}
		// todo.encodeCursor's format: opaque to clients, known to us.
		return base64.RawURLEncoding.EncodeToString([]byte("todo:v1:" + strconv.FormatInt(id, 10))), nil
	}
	f.SmallOffset = perUser / 2
	if f.SmallCursor, err = cursorAt(f.Small.ID, f.SmallOffset-1); err != nil {
		return nil, err
	}
	f.DeepOffset = deep / 2
	if f.DeepCursor, err = cursorAt(f.Deep.ID, f.DeepOffset-1); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if postgres {
		// What autovacuum would have done by now in production.
		if _, err := db.ExecContext(ctx, "ANALYZE users, identities, todos, sessions, login_codes"); err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
	}
	f.Took = time.Since(start)
	return f, nil
}

func openSeedDB(postgres bool, databaseURL string) (*sql.DB, error) {
	if postgres {
		return sql.Open("pgx", databaseURL)
	}
	path := strings.TrimPrefix(databaseURL, "sqlite:")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
