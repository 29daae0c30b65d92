package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"wxtodo/errcode"
	"wxtodo/live"
	"wxtodo/todo"
)

// TodoStore keeps todos. Every statement names the owner in its WHERE
// clause, so one user can never read or change another's todo.
type TodoStore struct {
	db *DB
}

var _ todo.Store = (*TodoStore)(nil)

// NewTodoStore returns the todo store on db.
func NewTodoStore(db *DB) *TodoStore { return &TodoStore{db: db} }

var errTodoNotFound = errcode.NotFoundf("todo not found")

// todoColumns are what scanTodo reads.
const todoColumns = `id, title, done, client_mutation_id, created_at, updated_at`

var (
	// qInsertTodo inserts a todo unless the user has $5 todos already: the
	// counters are kept by the database's triggers (see the migrations),
	// so one statement is the whole write. On PostgreSQL the user's row is
	// locked first, so that concurrent creates of one user count one after
	// the other and see the count the one before left; a SQLite statement
	// that writes holds the database's write lock from its start.
	qInsertTodo = dialectStatement(
		`INSERT INTO todos (user_id, title, done, client_mutation_id, created_at, updated_at)
		SELECT $1, $2, FALSE, $3, $4, $4
		WHERE (SELECT todo_count FROM users WHERE id = $1) < $5
		ON CONFLICT (user_id, client_mutation_id) DO NOTHING
		RETURNING `+todoColumns+`, `+sqliteListAfter("$1"),
		`INSERT INTO todos (user_id, title, done, client_mutation_id, created_at, updated_at)
		SELECT $1, $2, FALSE, $3, $4, $4
		WHERE (SELECT todo_count FROM users WHERE id = $1 FOR UPDATE) < $5
		ON CONFLICT (user_id, client_mutation_id) DO NOTHING
		RETURNING `+todoColumns)
	qTodoByClientMutationID = statement(`SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND client_mutation_id = $2`)
	qTodo      = statement(`SELECT ` + todoColumns + ` FROM todos WHERE id = $1 AND user_id = $2`)
	qListTodos = statement(`SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`)
	qListTodosByDone = statement(`SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND done = $2 AND id < $3 ORDER BY id DESC LIMIT $4`)
	qUpdateTodo = dialectStatement(`UPDATE todos
		SET title = COALESCE($3, title), done = COALESCE($4, done), updated_at = $5
		WHERE id = $1 AND user_id = $2
		RETURNING `+todoColumns+`, `+sqliteListAfter("$2"), `UPDATE todos
		SET title = COALESCE($3, title), done = COALESCE($4, done), updated_at = $5
		WHERE id = $1 AND user_id = $2
		RETURNING `+todoColumns)
	qDeleteTodo = dialectStatement(`DELETE FROM todos WHERE id = $1 AND user_id = $2 RETURNING id, `+sqliteListAfter("$2"),
		`DELETE FROM todos WHERE id = $1 AND user_id = $2 RETURNING id`)

	// The counters on the user's row, kept by the triggers.
	qTodoCounts  = statement(`SELECT todo_count, done_count FROM users WHERE id = $1`)
	qTodoVersion = statement(`SELECT todo_version FROM users WHERE id = $1`)
)

// sqliteListAfter has a SQLite write return the user's list version and
// count for the live feed (PostgreSQL's trigger notifies them itself).
// SQLite evaluates RETURNING before the statement's AFTER triggers run,
// so these are the values before the change: the change adds one to the
// version, and to or from the count for an insert or a delete. The
// statement holds the database's write lock throughout, so no other
// write comes between.
func sqliteListAfter(userParam string) string {
	return `(SELECT todo_version FROM users WHERE id = ` + userParam + `), (SELECT todo_count FROM users WHERE id = ` + userParam + `)`
}

// listBefore is what sqliteListAfter returns.
type listBefore struct{ version, count int64 }

// scanTodo reads the todoColumns of one row, and then into extra.
func scanTodo(scan func(dest ...any) error, extra ...any) (*todo.Todo, error) {
	var (
		t   todo.Todo
		cmi sql.NullString
	)
	var err error
	if len(extra) == 0 {
		err = scan(&t.ID, &t.Title, &t.Done, &cmi, &t.CreatedAt, &t.UpdatedAt)
	} else {
		err = scan(append([]any{&t.ID, &t.Title, &t.Done, &cmi, &t.CreatedAt, &t.UpdatedAt}, extra...)...)
	}
	if err != nil {
		return nil, err
	}
	if cmi.Valid {
		t.ClientMutationID = &cmi.String
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// Create implements todo.Store in one statement; a second reads the
// todo a repeated clientMutationId made first.
func (s *TodoStore) Create(ctx context.Context, userID int64, in todo.CreateInput, maxTodos int) (*todo.Todo, error) {
	limit := int64(maxTodos)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	// A NULL client_mutation_id never conflicts; a repeated one inserts
	// nothing, and neither does a user at the cap.
	var before listBefore
	out, err := scanTodo(s.db.queryRow(ctx, nil, qInsertTodo, userID, in.Title, nullString(in.ClientMutationID), now(), limit).Scan, s.listAfter(&before)...)
	if !errors.Is(err, sql.ErrNoRows) {
		if err != nil {
			return nil, translate(fmt.Errorf("insert todo: %w", err))
		}
		s.publish(userID, live.Created, out.ID, out, before, 1)
		return out, nil
	}
	if in.ClientMutationID != nil {
		out, err = scanTodo(s.db.queryRow(ctx, nil, qTodoByClientMutationID, userID, *in.ClientMutationID).Scan)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, translate(err)
		}
	}
	return nil, todo.ErrTooMany
}

// Get implements todo.Store.
func (s *TodoStore) Get(ctx context.Context, userID, id int64) (*todo.Todo, error) {
	t, err := scanTodo(s.db.queryRow(ctx, nil, qTodo, id, userID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errTodoNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return t, nil
}

// List implements todo.Store: a keyset scan of the (user_id, id) or
// (user_id, done, id) index, so a deep page costs what the first does.
func (s *TodoStore) List(ctx context.Context, userID int64, f todo.Filter, beforeID int64, limit int) ([]*todo.Todo, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	var (
		rows *sql.Rows
		err  error
	)
	if f.Done == nil {
		rows, err = s.db.query(ctx, nil, qListTodos, userID, beforeID, limit)
	} else {
		rows, err = s.db.query(ctx, nil, qListTodosByDone, userID, *f.Done, beforeID, limit)
	}
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := make([]*todo.Todo, 0, limit)
	for rows.Next() {
		t, err := scanTodo(rows.Scan)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// Count implements todo.Store from the counters on the user's row.
func (s *TodoStore) Count(ctx context.Context, userID int64, f todo.Filter) (int, error) {
	var total, done int64
	if err := s.db.queryRow(ctx, nil, qTodoCounts, userID).Scan(&total, &done); err != nil {
		return 0, translate(err)
	}
	switch {
	case f.Done == nil:
		return int(total), nil
	case *f.Done:
		return int(done), nil
	default:
		return int(total - done), nil
	}
}

// Version implements todo.Store from the version the triggers keep.
func (s *TodoStore) Version(ctx context.Context, userID int64) (int, error) {
	var v int64
	if err := s.db.queryRow(ctx, nil, qTodoVersion, userID).Scan(&v); err != nil {
		return 0, translate(err)
	}
	return int(v), nil
}

// Update implements todo.Store in one statement; the done counter
// follows by trigger, exactly under concurrent updates, since the
// trigger sees the row's old and new done.
func (s *TodoStore) Update(ctx context.Context, userID, id int64, in todo.UpdateInput) (*todo.Todo, error) {
	var title, done any // NULL keeps the column as it is
	if in.Title != nil {
		title = *in.Title
	}
	if in.Done != nil {
		done = *in.Done
	}
	var before listBefore
	out, err := scanTodo(s.db.queryRow(ctx, nil, qUpdateTodo, id, userID, title, done, now()).Scan, s.listAfter(&before)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errTodoNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	s.publish(userID, live.Updated, id, out, before, 0)
	return out, nil
}

// Delete implements todo.Store in one statement.
func (s *TodoStore) Delete(ctx context.Context, userID, id int64) error {
	var (
		deleted int64
		before  listBefore
	)
	err := s.db.queryRow(ctx, nil, qDeleteTodo, id, userID).Scan(append([]any{&deleted}, s.listAfter(&before)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return errTodoNotFound
	}
	if err != nil {
		return translate(err)
	}
	s.publish(userID, live.Deleted, id, nil, before, -1)
	return nil
}

// listAfter is where a SQLite write's sqliteListAfter columns go.
func (s *TodoStore) listAfter(b *listBefore) []any {
	if s.db.pg {
		return nil
	}
	return []any{&b.version, &b.count}
}

// publish hands a SQLite write's change to the live feed (on PostgreSQL
// the trigger's NOTIFY does): the version and count after the change
// are those before it moved by the trigger (see sqliteListAfter).
func (s *TodoStore) publish(userID int64, kind live.Kind, id int64, t *todo.Todo, before listBefore, counted int64) {
	if s.db.pg {
		return
	}
	s.db.publish(live.Change{
		UserID: userID, Kind: kind, TodoID: id, Todo: t,
		Version: before.version + 1, TotalCount: before.count + counted,
	})
}
