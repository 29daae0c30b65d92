package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

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

// Create implements todo.Store.
func (s *TodoStore) Create(ctx context.Context, userID int64, in todo.CreateInput) (*todo.Todo, error) {
	t := now()
	row := &todoRow{UserID: userID, Title: in.Title, ClientMutationID: in.ClientMutationID, CreatedAt: t, UpdatedAt: t}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewInsert().Model(row).Returning("*")
		if in.ClientMutationID != nil {
			q = q.On("CONFLICT (user_id, client_mutation_id) DO NOTHING")
		}
		err := q.Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) && in.ClientMutationID != nil {
			// A retry of a create that already happened: answer with its todo.
			*row = todoRow{}
			return tx.NewSelect().Model(row).
				Where("user_id = ? AND client_mutation_id = ?", userID, *in.ClientMutationID).
				Scan(ctx)
		}
		if err != nil {
			return fmt.Errorf("insert todo: %w", err)
		}
		_, err = tx.NewUpdate().Model((*userRow)(nil)).
			Set("todo_count = todo_count + 1").
			Where("id = ?", userID).
			Exec(ctx)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return row.todo(), nil
}

// Get implements todo.Store.
func (s *TodoStore) Get(ctx context.Context, userID, id int64) (*todo.Todo, error) {
	row := new(todoRow)
	err := s.db.NewSelect().Model(row).Where("id = ? AND user_id = ?", id, userID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errTodoNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return row.todo(), nil
}

// List implements todo.Store: a keyset scan of the (user_id, id) index, so
// a deep page costs what the first does.
func (s *TodoStore) List(ctx context.Context, userID int64, f todo.Filter, beforeID int64, limit int) ([]*todo.Todo, error) {
	var rows []todoRow
	q := s.db.NewSelect().Model(&rows).Where("user_id = ?", userID)
	if f.Done != nil {
		q = q.Where("done = ?", *f.Done)
	}
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	if err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, translate(err)
	}
	out := make([]*todo.Todo, len(rows))
	for i := range rows {
		out[i] = rows[i].todo()
	}
	return out, nil
}

// Count implements todo.Store from the counters on the user's row.
func (s *TodoStore) Count(ctx context.Context, userID int64, f todo.Filter) (int, error) {
	var total, done int64
	err := s.db.NewSelect().Model((*userRow)(nil)).
		Column("todo_count", "done_count").
		Where("id = ?", userID).
		Scan(ctx, &total, &done)
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

// Update implements todo.Store.
func (s *TodoStore) Update(ctx context.Context, userID, id int64, in todo.UpdateInput) (*todo.Todo, error) {
	row := new(todoRow)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(row).Column("done").Where("id = ? AND user_id = ?", id, userID)
		if s.db.IsPostgres() {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errTodoNotFound
			}
			return fmt.Errorf("lock todo: %w", err)
		}
		wasDone := row.Done
		uq := tx.NewUpdate().Model(row).
			Set("updated_at = ?", now()).
			Where("id = ? AND user_id = ?", id, userID).
			Returning("*")
		if in.Title != nil {
			uq = uq.Set("title = ?", *in.Title)
		}
		if in.Done != nil {
			uq = uq.Set("done = ?", *in.Done)
		}
		if err := uq.Scan(ctx); err != nil {
			return fmt.Errorf("update todo: %w", err)
		}
		if row.Done == wasDone {
			return nil
		}
		delta := 1
		if wasDone {
			delta = -1
		}
		_, err := tx.NewUpdate().Model((*userRow)(nil)).
			Set("done_count = done_count + ?", delta).
			Where("id = ?", userID).
			Exec(ctx)
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return row.todo(), nil
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
