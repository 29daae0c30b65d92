package graph

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"wxtodo/auth"
	"wxtodo/errcode"
	"wxtodo/graph/model"
	"wxtodo/live"
)

// todoChanges subscribes the caller to their list's changes. Over
// WebSocket the subscription belongs to the socket that init registered;
// an SSE stream is a socket of its own, which a logout or shutdown ends.
func (r *Resolver) todoChanges(ctx context.Context, c *auth.Caller) (<-chan *model.TodoChange, error) {
	if r.Live == nil {
		return nil, &errcode.Error{Code: errcode.Unavailable, Message: "this server has no live updates"}
	}
	var sock *live.Socket
	if st := socketFrom(ctx); st != nil {
		sock = st.socket()
	}
	if sock == nil {
		// An SSE stream: watched for its session's end as a socket is.
		var (
			cancel context.CancelFunc
			err    error
		)
		ctx, cancel = context.WithCancel(ctx)
		st := &socketState{cancel: cancel}
		var (
			sessionID int64
			expires   time.Time
			recheck   func()
		)
		if c.Session != nil {
			header := auth.Authorization(ctx)
			sessionID, expires = c.Session.ID, c.Session.ExpiresAt
			recheck = func() { recheckSession(r.AuthService, slog.Default(), st, header) }
		}
		sock, err = r.Live.Open(c.User.ID, sessionID, st.closeWith, recheck)
		if err != nil {
			cancel()
			return nil, liveRefusal(r.Live, err)
		}
		st.open(sock, expires, recheck)
		context.AfterFunc(ctx, st.release)
	}
	ch, err := live.Subscribe(ctx, r.Live, sock, todoChange)
	if err != nil {
		e := liveRefusal(r.Live, err)
		sock.Close(live.CloseTooMany, e.Message)
		return nil, e
	}
	return ch, nil
}

// liveRefusal is the error for what Open or Subscribe refused.
func liveRefusal(h *live.Hub, err error) *errcode.Error {
	switch {
	case errors.Is(err, live.ErrTooManySockets):
		return errcode.Capped(h.SocketLimit(), "too many sockets for this user")
	case errors.Is(err, live.ErrTooManySubscriptions):
		return errcode.Capped(h.SubscriptionLimit(), "too many subscriptions on this socket")
	}
	return &errcode.Error{Code: errcode.Unavailable, Message: "the server is restarting: reconnect", Err: err}
}

// todoChange is a change as the schema has it.
func todoChange(c live.Change) *model.TodoChange {
	out := &model.TodoChange{Version: int(c.Version), TotalCount: int(c.TotalCount), Todo: c.Todo}
	switch c.Kind {
	case live.Created:
		out.Kind = model.TodoChangeKindCreated
	case live.Updated:
		out.Kind = model.TodoChangeKindUpdated
	case live.Deleted:
		out.Kind = model.TodoChangeKindDeleted
	default:
		out.Kind = model.TodoChangeKindResync
		out.Todo = nil
	}
	if out.Kind != model.TodoChangeKindResync {
		id := c.TodoID
		out.ID = &id
	}
	return out
}
