// Package todo provides the per-user todo list: its types, validation and
// cursor pagination. Every operation is scoped to the calling user.
package todo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"wxtodo/errcode"
	"wxtodo/input"
)

// Limits.
const (
	MaxTitleLen            = 200 // characters, after trimming
	MaxClientMutationIDLen = 64
	DefaultPageSize        = 20
	MaxPageSize            = 100
)

// Todo is one item of a user's list.
type Todo struct {
	ID        int64
	Title     string
	Done      bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// ClientMutationID is the client's idempotency key, if it sent one.
	ClientMutationID *string
}

// CreateInput is a new todo.
type CreateInput struct {
	Title string
	// ClientMutationID makes createTodo idempotent: the same key from the
	// same user returns the todo created first instead of a second one.
	ClientMutationID *string
}

// UpdateInput changes a todo; a nil field stays as it is.
type UpdateInput struct {
	Title *string
	Done  *bool
}

// Filter narrows a list.
type Filter struct {
	Done *bool
}

// Connection is one page of a user's todos, newest first.
type Connection struct {
	Edges    []*Edge
	PageInfo PageInfo

	userID int64
	filter Filter
}

// Edge is a todo and the cursor after which the next page starts.
type Edge struct {
	Cursor string
	Node   *Todo
}

// PageInfo tells whether more todos follow the page.
type PageInfo struct {
	HasNextPage bool
	EndCursor   *string
}

// Store persists todos. Every method is scoped to userID in its SQL:
// another user's todo is indistinguishable from a missing one.
type Store interface {
	// Create inserts a todo. When in.ClientMutationID is set and that user
	// already has a todo with it, it returns that todo instead. When the
	// user already has maxTodos todos (0: no cap) it inserts nothing and
	// returns ErrTooMany, race-free: concurrent creates never take a user
	// past the cap.
	Create(ctx context.Context, userID int64, in CreateInput, maxTodos int) (*Todo, error)
	// Get returns a NOT_FOUND error when there is no such todo of the user.
	Get(ctx context.Context, userID, id int64) (*Todo, error)
	// List returns up to limit todos with an ID below beforeID (0: no
	// bound), highest ID first.
	List(ctx context.Context, userID int64, f Filter, beforeID int64, limit int) ([]*Todo, error)
	// Count returns how many todos match f, without scanning them.
	Count(ctx context.Context, userID int64, f Filter) (int, error)
	// Version returns the user's list version, which every change of
	// the user's todos increases.
	Version(ctx context.Context, userID int64) (int, error)
	// Update returns a NOT_FOUND error when there is no such todo of the user.
	Update(ctx context.Context, userID, id int64, in UpdateInput) (*Todo, error)
	// Delete returns a NOT_FOUND error when there is no such todo of the user.
	Delete(ctx context.Context, userID, id int64) error
}

// ErrTooMany is what Store.Create returns for a user at the cap.
var ErrTooMany = errors.New("the user has as many todos as allowed")

// Service holds the todo rules.
type Service struct {
	Store Store
	// MaxTodos caps each user's todos (0: no cap): past it createTodo
	// answers LIMIT_EXCEEDED, so no account can grow the database without
	// bound.
	MaxTodos int
	// CreateLimiter, if set, bounds per user how fast todos are created:
	// each createTodo counts, aliased ones in one request too, and past
	// it createTodo answers RATE_LIMITED with a retry hint.
	CreateLimiter interface {
		Reserve(key string) (ok bool, retryAfter time.Duration)
	}
}

// Create validates in and adds a todo to the user's list.
func (s *Service) Create(ctx context.Context, userID int64, in CreateInput) (*Todo, error) {
	title, err := normalizeTitle(in.Title)
	if err != nil {
		return nil, err
	}
	in.Title = title
	if in.ClientMutationID != nil {
		if err := input.Bytes("clientMutationId", *in.ClientMutationID, 1, MaxClientMutationIDLen); err != nil {
			return nil, err
		}
	}
	if s.CreateLimiter != nil {
		if ok, wait := s.CreateLimiter.Reserve(strconv.FormatInt(userID, 10)); !ok {
			return nil, errcode.Limited(wait, "this user has created todos too fast")
		}
	}
	t, err := s.Store.Create(ctx, userID, in, s.MaxTodos)
	if errors.Is(err, ErrTooMany) {
		return nil, errcode.Capped(s.MaxTodos, "this user has as many todos as allowed: delete some first")
	}
	if err != nil {
		return nil, fmt.Errorf("create todo: %w", err)
	}
	return t, nil
}

// Get returns the user's todo, or nil when it does not exist or belongs to
// someone else.
func (s *Service) Get(ctx context.Context, userID int64, id string) (*Todo, error) {
	n, ok := ParseID(id)
	if !ok {
		return nil, nil
	}
	t, err := s.Store.Get(ctx, userID, n)
	if errcode.Code(err) == errcode.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get todo: %w", err)
	}
	return t, nil
}

// Update validates in and applies it to the user's todo.
func (s *Service) Update(ctx context.Context, userID int64, id string, in UpdateInput) (*Todo, error) {
	n, ok := ParseID(id)
	if !ok {
		return nil, notFound()
	}
	if in.Title != nil {
		title, err := normalizeTitle(*in.Title)
		if err != nil {
			return nil, err
		}
		in.Title = &title
	}
	t, err := s.Store.Update(ctx, userID, n, in)
	if err != nil {
		return nil, fmt.Errorf("update todo: %w", err)
	}
	return t, nil
}

// Delete removes the user's todo and returns its ID.
func (s *Service) Delete(ctx context.Context, userID int64, id string) (string, error) {
	n, ok := ParseID(id)
	if !ok {
		return "", notFound()
	}
	if err := s.Store.Delete(ctx, userID, n); err != nil {
		return "", fmt.Errorf("delete todo: %w", err)
	}
	return FormatID(n), nil
}

// List returns the page of the user's todos after the cursor, newest first.
// first must be 1..100; a malformed cursor is a BAD_USER_INPUT error.
func (s *Service) List(ctx context.Context, userID int64, f Filter, first int, after *string) (*Connection, error) {
	before, err := checkPage(first, after)
	if err != nil {
		return nil, err
	}
	// One extra row tells whether a next page exists without counting.
	todos, err := s.Store.List(ctx, userID, f, before, first+1)
	if err != nil {
		return nil, fmt.Errorf("list todos: %w", err)
	}
	c := &Connection{userID: userID, filter: f}
	if len(todos) > first {
		todos = todos[:first]
		c.PageInfo.HasNextPage = true
	}
	c.Edges = make([]*Edge, len(todos))
	for i, t := range todos {
		c.Edges[i] = &Edge{Cursor: encodeCursor(t.ID), Node: t}
	}
	if n := len(c.Edges); n > 0 {
		end := c.Edges[n-1].Cursor
		c.PageInfo.EndCursor = &end
	}
	return c, nil
}

// CountOnly is List for a client that wants only the connection's
// TotalCount: it checks the same arguments but reads no todo, and the
// page stays empty.
func (s *Service) CountOnly(userID int64, f Filter, first int, after *string) (*Connection, error) {
	if _, err := checkPage(first, after); err != nil {
		return nil, err
	}
	return &Connection{Edges: []*Edge{}, userID: userID, filter: f}, nil
}

// checkPage checks a page's size and cursor and returns the ID the page
// starts below (0: the first page).
func checkPage(first int, after *string) (before int64, err error) {
	if first < 1 || first > MaxPageSize {
		return 0, errcode.Input("first", "first must be between 1 and %d", MaxPageSize)
	}
	if after == nil {
		return 0, nil
	}
	before, ok := decodeCursor(*after)
	if !ok {
		return 0, errcode.Input("after", "after is not a cursor from this list")
	}
	return before, nil
}

// TotalCount counts every todo of the connection's user that matches its
// filter, not just the page.
func (s *Service) TotalCount(ctx context.Context, c *Connection) (int, error) {
	n, err := s.Store.Count(ctx, c.userID, c.filter)
	if err != nil {
		return 0, fmt.Errorf("count todos: %w", err)
	}
	return n, nil
}

// Version is the list version of the connection's user: every create,
// update and delete of the user's todos increases it, so a client that
// kept a version knows whether it missed a change.
func (s *Service) Version(ctx context.Context, c *Connection) (int, error) {
	return s.ListVersion(ctx, c.userID)
}

// ListVersion is the user's list version, which every change of their
// todos increases.
func (s *Service) ListVersion(ctx context.Context, userID int64) (int, error) {
	v, err := s.Store.Version(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("list version: %w", err)
	}
	return v, nil
}

// normalizeTitle trims a title and checks it: 1 to 200 characters, not
// all of them invisible.
func normalizeTitle(title string) (string, error) {
	t := strings.TrimSpace(title)
	if err := input.Chars("title", t, 1, MaxTitleLen); err != nil {
		return "", err
	}
	if err := input.Visible("title", t); err != nil {
		return "", err
	}
	return t, nil
}

func notFound() error { return errcode.NotFoundf("todo not found") }

// FormatID renders a todo ID for clients.
func FormatID(id int64) string { return strconv.FormatInt(id, 10) }

// ParseID reads a client's todo ID; ok is false for anything that cannot
// name a todo.
func ParseID(s string) (id int64, ok bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || FormatID(n) != s {
		// Only the canonical spelling names a todo: not "+1" or "01".
		return 0, false
	}
	return n, true
}

// Cursors are opaque to clients: a version prefix and the todo ID, base64.
const cursorPrefix = "todo:v1:"

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, bool) {
	if len(c) > 64 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return 0, false
	}
	id, ok := ParseID(s)
	// Only the spelling this server issues is a cursor: the decoder skips
	// line breaks and padding bits that a canonical cursor never has.
	if !ok || encodeCursor(id) != c {
		return 0, false
	}
	return id, true
}
