package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/uptrace/bun"

	"wxtodo/errcode"
	"wxtodo/todo"
)

// TodoStore keeps todos. Every statement names the owner in its WHERE
// clause, so one user can never read or change another's todo. The
// statements of the request path are prepared once (see stmt.go).
type TodoStore struct {
	db *DB
}

var _ todo.Store = (*TodoStore)(nil)

// NewTodoStore returns the todo store on db.
func NewTodoStore(db *DB) *TodoStore { return &TodoStore{db: db} }

var errTodoNotFound = errcode.NotFoundf("todo not found")

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
func (s *TodoStore) Create(ctx context.Context, userID int64, in todo.CreateInput) (*todo.Todo, error) {
	t := now()
	var out *todo.Todo
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// A NULL client_mutation_id never conflicts; a repeated one inserts
		// nothing and the todo created first is returned instead.
		row, err := s.db.queryRow(ctx, &tx, qInsertTodo, userID, in.Title, nullString(in.ClientMutationID), t)
		if err != nil {
			return err
		}
		out, err = scanTodo(row.Scan)
		if errors.Is(err, sql.ErrNoRows) && in.ClientMutationID != nil {
			row, err := s.db.queryRow(ctx, &tx, qTodoByClientMutationID, userID, *in.ClientMutationID)
			if err != nil {
				return err
			}
			out, err = scanTodo(row.Scan)
			return err
		}
		if err != nil {
			return fmt.Errorf("insert todo: %w", err)
		}
		_, err = s.db.exec(ctx, &tx, qCountNewTodo, userID)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// Get implements todo.Store.
func (s *TodoStore) Get(ctx context.Context, userID, id int64) (*todo.Todo, error) {
	row, err := s.db.queryRow(ctx, nil, qTodo, id, userID)
	if err != nil {
		return nil, translate(err)
	}
	t, err := scanTodo(row.Scan)
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
	row, err := s.db.queryRow(ctx, nil, qTodoCounts, userID)
	if err == nil {
		err = row.Scan(&total, &done)
	}
	if err != nil {
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

// Update implements todo.Store. The row is locked first (a transaction
// on SQLite locks the database) so the done counter follows the change
// exactly under concurrent updates.
func (s *TodoStore) Update(ctx context.Context, userID, id int64, in todo.UpdateInput) (*todo.Todo, error) {
	lock := qLockTodo
	if s.db.IsPostgres() {
		lock = qLockTodoPG
	}
	var out *todo.Todo
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var wasDone bool
		row, err := s.db.queryRow(ctx, &tx, lock, id, userID)
		if err == nil {
			err = row.Scan(&wasDone)
		}
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
		row, err = s.db.queryRow(ctx, &tx, qUpdateTodo, id, userID, title, done, now())
		if err != nil {
			return err
		}
		if out, err = scanTodo(row.Scan); err != nil {
			return fmt.Errorf("update todo: %w", err)
		}
		if out.Done == wasDone {
			return nil
		}
		delta := 1
		if wasDone {
			delta = -1
		}
		_, err = s.db.exec(ctx, &tx, qCountDoneChange, userID, delta)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// Delete implements todo.Store.
func (s *TodoStore) Delete(ctx context.Context, userID, id int64) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var done bool
		err := tx.NewDelete().Model((*todoRow)(nil)).
			Where("id = ? AND user_id = ?", id, userID).
			Returning("done").
			Scan(ctx, &done)
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
		_, err = tx.NewUpdate().Model((*userRow)(nil)).
			Set("todo_count = todo_count - 1").
			Set("done_count = done_count - ?", doneDelta).
			Where("id = ?", userID).
			Exec(ctx)
		return err
	})
	return translate(err)
}

func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}
