package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"wxtodo/errcode"
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
	qInsertTodo = statement(`INSERT INTO todos (user_id, title, done, client_mutation_id, created_at, updated_at)
		VALUES ($1, $2, FALSE, $3, $4, $4)
		ON CONFLICT (user_id, client_mutation_id) DO NOTHING
		RETURNING ` + todoColumns)
	qTodoByClientMutationID = statement(`SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND client_mutation_id = $2`)
	qTodo      = statement(`SELECT ` + todoColumns + ` FROM todos WHERE id = $1 AND user_id = $2`)
	qListTodos = statement(`SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`)
	qListTodosByDone = statement(`SELECT ` + todoColumns + ` FROM todos
		WHERE user_id = $1 AND done = $2 AND id < $3 ORDER BY id DESC LIMIT $4`)
	// qLockTodo reads a todo's done before an update; PostgreSQL locks
	// the row, SQLite's write transaction the database.
	qLockTodo = dialectStatement(
		`SELECT done FROM todos WHERE id = $1 AND user_id = $2`,
		`SELECT done FROM todos WHERE id = $1 AND user_id = $2 FOR UPDATE`)
	qUpdateTodo = statement(`UPDATE todos
		SET title = COALESCE($3, title), done = COALESCE($4, done), updated_at = $5
		WHERE id = $1 AND user_id = $2
		RETURNING ` + todoColumns)
	qDeleteTodo = statement(`DELETE FROM todos WHERE id = $1 AND user_id = $2 RETURNING done`)

	// The counters on the user's row, kept in the writes' transactions.
	qTodoCounts = statement(`SELECT todo_count, done_count FROM users WHERE id = $1`)
	// qCountNewTodo counts a new todo unless the user is at the cap $2;
	// on PostgreSQL a concurrent create waits on the row and sees the
	// count it left, SQLite has one writer.
	qCountNewTodo    = statement(`UPDATE users SET todo_count = todo_count + 1 WHERE id = $1 AND todo_count < $2`)
	qCountDoneChange = statement(`UPDATE users SET done_count = done_count + $2 WHERE id = $1`)
	qCountDeleted    = statement(`UPDATE users SET todo_count = todo_count - 1, done_count = done_count - $2 WHERE id = $1`)
)

// scanTodo reads the todoColumns of one row.
func scanTodo(scan func(dest ...any) error) (*todo.Todo, error) {
	var (
		t   todo.Todo
		cmi sql.NullString
	)
	if err := scan(&t.ID, &t.Title, &t.Done, &cmi, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if cmi.Valid {
		t.ClientMutationID = &cmi.String
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// Create implements todo.Store.
func (s *TodoStore) Create(ctx context.Context, userID int64, in todo.CreateInput, maxTodos int) (*todo.Todo, error) {
	t := now()
	limit := int64(maxTodos)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	var out *todo.Todo
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		// A NULL client_mutation_id never conflicts; a repeated one inserts
		// nothing and the todo created first is returned instead.
		var err error
		out, err = scanTodo(s.db.queryRow(ctx, tx, qInsertTodo, userID, in.Title, nullString(in.ClientMutationID), t).Scan)
		if errors.Is(err, sql.ErrNoRows) && in.ClientMutationID != nil {
			out, err = scanTodo(s.db.queryRow(ctx, tx, qTodoByClientMutationID, userID, *in.ClientMutationID).Scan)
			return err
		}
		if err != nil {
			return fmt.Errorf("insert todo: %w", err)
		}
		n, err := s.db.exec(ctx, tx, qCountNewTodo, userID, limit)
		if err == nil && n == 0 {
			return todo.ErrTooMany // rolls the insert back
		}
		return err
	})
	if errors.Is(err, todo.ErrTooMany) {
		return nil, err
	}
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
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

// Update implements todo.Store. The todo is read (and on PostgreSQL
// locked) first, in the transaction, so the done counter follows the
// change exactly under concurrent updates.
func (s *TodoStore) Update(ctx context.Context, userID, id int64, in todo.UpdateInput) (*todo.Todo, error) {
	var out *todo.Todo
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		var wasDone bool
		err := s.db.queryRow(ctx, tx, qLockTodo, id, userID).Scan(&wasDone)
		if errors.Is(err, sql.ErrNoRows) {
			return errTodoNotFound
		}
		if err != nil {
			return fmt.Errorf("lock todo: %w", err)
		}
		var title, done any // NULL keeps the column as it is
		if in.Title != nil {
			title = *in.Title
		}
		if in.Done != nil {
			done = *in.Done
		}
		if out, err = scanTodo(s.db.queryRow(ctx, tx, qUpdateTodo, id, userID, title, done, now()).Scan); err != nil {
			return fmt.Errorf("update todo: %w", err)
		}
		if out.Done == wasDone {
			return nil
		}
		delta := 1
		if wasDone {
			delta = -1
		}
		_, err = s.db.exec(ctx, tx, qCountDoneChange, userID, delta)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// Delete implements todo.Store.
func (s *TodoStore) Delete(ctx context.Context, userID, id int64) error {
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		var done bool
		err := s.db.queryRow(ctx, tx, qDeleteTodo, id, userID).Scan(&done)
		if errors.Is(err, sql.ErrNoRows) {
			return errTodoNotFound
		}
		if err != nil {
			return fmt.Errorf("delete todo: %w", err)
		}
		doneDelta := 0
		if done {
			doneDelta = 1
		}
		_, err = s.db.exec(ctx, tx, qCountDeleted, userID, doneDelta)
		return err
	})
	return translate(err)
}
