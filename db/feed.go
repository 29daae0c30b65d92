package db

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"wxtodo/live"
	"wxtodo/todo"
)

// The channels the triggers notify (migration 20261203000003_live_notify).
const (
	todosChannel    = "wxtodo_todos"
	sessionsChannel = "wxtodo_sessions"
)

// ListenerName starts the application_name of each instance's listener
// connection; the schema follows it.
const ListenerName = "wxtodo live "

// liveSink is the sink the SQLite stores hand their changes to.
type liveSink struct{ live.Sink }

// Listen hands the database's changes to sink until ctx ends: every
// committed change of a todo, and every session that ends.
//
// On PostgreSQL it holds one connection of its own straight to the
// database (DATABASE_DIRECT_URL behind a pooler: LISTEN needs a session,
// which a transaction pooler does not keep), on which the triggers'
// NOTIFYs arrive from every instance. When the connection is lost it
// reports FeedLost, connects again with a backoff, and once it listens
// again calls Listening (a resync), since what was committed meanwhile
// never arrives; so it does at the first LISTEN, for what came before.
// On SQLite, one process owns the file: the stores hand their changes to
// sink as they commit them.
func (db *DB) Listen(ctx context.Context, sink live.Sink, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	if !db.pg {
		db.sink.Store(&liveSink{sink})
		sink.Listening()
		<-ctx.Done()
		db.sink.Store(nil)
		return
	}
	backoff := 100 * time.Millisecond
	for lost := false; ctx.Err() == nil; {
		err := db.listen(ctx, sink, func() {
			backoff = 100 * time.Millisecond
			if lost {
				log.Info("live: listening again; subscribers resync")
			}
			sink.Listening()
		})
		if ctx.Err() != nil {
			return
		}
		log.Warn("live: database listener", "err", scrubURL(err))
		lost = true
		sink.FeedLost()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// listen connects, listens, calls listening, and delivers notifications
// until the connection fails or ctx ends.
func (db *DB) listen(ctx context.Context, sink live.Sink, listening func()) error {
	cfg, err := pgx.ParseConfig(db.listenURL)
	if err != nil {
		return fmt.Errorf("parse listen URL: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+todosChannel+"; LISTEN "+sessionsChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Notifications name the schema their statement wrote in: another
	// schema's are another deployment's. The listener shows in
	// pg_stat_activity as ListenerName followed by the schema.
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema(), set_config('application_name', $1 || current_schema(), false)", ListenerName).Scan(&schema, nil); err != nil {
		return fmt.Errorf("current schema: %w", err)
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		var note notification
		if err := json.Unmarshal([]byte(n.Payload), &note); err != nil {
			// Only our triggers write here; a payload they did not
			// write means the subscribers may have missed something.
			sink.Resync()
			continue
		}
		if note.Schema != schema {
			continue
		}
		switch n.Channel {
		case todosChannel:
			c, err := note.change()
			if err != nil {
				sink.Resync()
				continue
			}
			sink.Publish(c)
		case sessionsChannel:
			if note.ID == 0 && note.UserID != 0 {
				sink.EndUser(note.UserID) // an operator's revoke or disable
				continue
			}
			sink.EndSession(note.ID)
		}
	}
}

// notification is the payload the triggers send: the schema, and for a
// todo's change (todos_count) the user's list after it and the todo, for
// a session's end (sessions_ended) the session's ID, and for an
// operator's revoke or disable (AdminStore) the user's ID alone.
type notification struct {
	Schema  string     `json:"s"`
	UserID  int64      `json:"u"`
	Version int64      `json:"v"`
	Count   int64      `json:"n"`
	Kind    string     `json:"k"`
	ID      int64      `json:"id"`
	Title   string     `json:"title"`
	Done    bool       `json:"done"`
	CMI     *string    `json:"cmi"`
	Created *time.Time `json:"at"`
	Updated *time.Time `json:"up"`
}

func (n *notification) change() (live.Change, error) {
	c := live.Change{UserID: n.UserID, TodoID: n.ID, Version: n.Version, TotalCount: n.Count}
	switch n.Kind {
	case "C":
		c.Kind = live.Created
	case "U":
		c.Kind = live.Updated
	case "D":
		c.Kind = live.Deleted
		return c, nil
	default:
		return live.Change{}, fmt.Errorf("todo notification: kind %q", n.Kind)
	}
	if n.Created == nil || n.Updated == nil {
		return live.Change{}, fmt.Errorf("todo notification: no times")
	}
	c.Todo = &todo.Todo{
		ID: n.ID, Title: n.Title, Done: n.Done, ClientMutationID: n.CMI,
		CreatedAt: dbTime(*n.Created), UpdatedAt: dbTime(*n.Updated),
	}
	return c, nil
}

// publish hands a committed SQLite change to the listener, if one runs.
func (db *DB) publish(c live.Change) {
	if s := db.sink.Load(); s != nil {
		s.Publish(c)
	}
}

// endUser tells the listener, if one runs, that a SQLite user was signed
// out everywhere.
func (db *DB) endUser(userID int64) {
	if s := db.sink.Load(); s != nil {
		s.EndUser(userID)
	}
}

// endSessions tells the listener, if one runs, that SQLite sessions ended.
func (db *DB) endSessions(ids ...int64) {
	if s := db.sink.Load(); s != nil {
		for _, id := range ids {
			s.EndSession(id)
		}
	}
}
