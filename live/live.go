// Package live is wxtodo's live sync: it hands every change of a user's
// todos to that user's subscribers on this instance, and keeps the
// register of open sockets, so that a logout, an expiry, a limit or a
// shutdown can close them.
//
// Changes come from the database's feed (db.DB.Listen: PostgreSQL's
// NOTIFY across instances, or the SQLite store in process) through Hub's
// Sink methods. Delivery never blocks the feed: each subscription has a
// bounded buffer, and a subscription whose buffer overflowed, or every
// subscription after the feed was lost and found again, gets a RESYNC
// (refetch) in place of what it missed.
package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"wxtodo/errcode"
	"wxtodo/todo"
)

// Kind is what happened to a todo.
type Kind uint8

// Kinds of change. Resync stands for changes that may have been lost:
// the subscriber refetches.
const (
	Created Kind = iota + 1
	Updated
	Deleted
	Resync
)

func (k Kind) String() string {
	switch k {
	case Created:
		return "CREATED"
	case Updated:
		return "UPDATED"
	case Deleted:
		return "DELETED"
	case Resync:
		return "RESYNC"
	}
	return "UNKNOWN"
}

// Change is one change of a user's list.
type Change struct {
	UserID int64
	Kind   Kind
	// TodoID is the todo's ID; 0 for Resync.
	TodoID int64
	// Todo is the todo after the change; nil for Deleted and Resync.
	Todo *todo.Todo
	// Version and TotalCount are the user's list version and todo count
	// after the change.
	Version    int64
	TotalCount int64
}

// Sink takes what the database's feed reports (Hub).
type Sink interface {
	// Publish delivers a committed change to its user's subscribers.
	Publish(Change)
	// EndSession closes the sockets signed in with the session: it was
	// logged out, revoked or removed.
	EndSession(sessionID int64)
	// EndUser closes every socket of the user, those without a session
	// (Cloud Hosting's callers) too: an operator signed them out or
	// disabled them.
	EndUser(userID int64)
	// Resync tells every subscriber that changes may have been lost (the
	// feed was lost and is back), and has every socket's session checked
	// again, since a logout may have been missed too.
	Resync()
	// FeedLost records that the feed was lost (for the metrics).
	FeedLost()
	// Listening says that the feed listens, from now on (at start, and
	// again after a loss): what was committed before it may be missed,
	// so subscribers resync and sockets' sessions are checked again.
	Listening()
}

// Lists reads what a RESYNC carries: the user's list version and count
// (db.TodoStore).
type Lists interface {
	Version(ctx context.Context, userID int64) (int, error)
	Count(ctx context.Context, userID int64, f todo.Filter) (int, error)
}

// Observer learns what the hub does (metrics.Metrics).
type Observer interface {
	// ObserveSockets and ObserveSubscriptions add delta to the open
	// sockets and active subscriptions.
	ObserveSockets(delta int)
	ObserveSubscriptions(delta int)
	// ObserveEvent counts one event: "delivered", "dropped" (a full
	// buffer) or "resynced" (a RESYNC sent).
	ObserveEvent(outcome string)
	// ObserveFeedLost counts a lost database listener.
	ObserveFeedLost()
}

// Close codes of a socket, in the range applications own, as
// graphql-transport-ws uses them (and 1012, "service restart", on
// shutdown, so that clients reconnect).
const (
	CloseUnauthorized   = 4401 // the session ended: log in again
	CloseForbidden      = 4403 // no valid token at connection_init
	CloseTooMany        = 4429 // a socket or subscription limit
	CloseServiceRestart = 1012
	CloseTryAgain       = 1013 // the server could not check the caller (its database)
)

// Errors of Open and Subscribe.
var (
	ErrTooManySockets       = errors.New("too many sockets for this user")
	ErrTooManySubscriptions = errors.New("too many subscriptions on this socket")
	ErrShuttingDown         = errors.New("the server is shutting down")
)

// Defaults of Hub's limits.
const (
	DefaultBuffer                    = 64
	DefaultMaxSocketsPerUser         = 5
	DefaultMaxSubscriptionsPerSocket = 5
)

// Hub fans changes out to this instance's subscribers and keeps its open
// sockets. Set its fields before use; the zero values mean the defaults.
type Hub struct {
	// Lists reads the version and count a RESYNC carries.
	Lists Lists
	// Buffer is how many changes a subscription may fall behind before
	// it gets a RESYNC instead.
	Buffer int
	// MaxSocketsPerUser and MaxSubscriptionsPerSocket bound what one user
	// may hold open.
	MaxSocketsPerUser         int
	MaxSubscriptionsPerSocket int
	Observer                  Observer
	Log                       *slog.Logger

	readyOnce sync.Once
	ready     chan struct{} // closed once the feed first listens

	mu        sync.RWMutex
	subs      map[int64]map[*subscription]struct{} // by user
	sockets   map[int64]map[*Socket]struct{}       // by user
	bySession map[int64]map[*Socket]struct{}
	closing   bool
}

var _ Sink = (*Hub)(nil)

// Socket is an open connection of a signed-in user.
type Socket struct {
	UserID, SessionID int64
	hub               *Hub
	close             func(code int, reason string)
	recheck           func()
	subs              atomic.Int32
	released          atomic.Bool
}

// Close closes the socket with the code and reason (at most 123 bytes,
// a close frame's room).
func (s *Socket) Close(code int, reason string) { s.close(code, Reason(reason)) }

// Reason cuts a close reason to the 123 bytes a close frame has room
// for, at a character boundary.
func Reason(r string) string {
	if len(r) <= 123 {
		return r
	}
	r = r[:123]
	for len(r) > 0 && !utf8.ValidString(r) {
		r = r[:len(r)-1]
	}
	return r
}

// Open registers a socket of the user signed in with sessionID. close
// closes it (with a code and reason); recheck checks its session again,
// and closes it when the session has ended. Release it when it closes.
func (h *Hub) Open(userID, sessionID int64, close func(code int, reason string), recheck func()) (*Socket, error) {
	s := &Socket{UserID: userID, SessionID: sessionID, hub: h, close: close, recheck: recheck}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return nil, ErrShuttingDown
	}
	if len(h.sockets[userID]) >= h.SocketLimit() {
		return nil, ErrTooManySockets
	}
	add(&h.sockets, userID, s)
	if sessionID != 0 { // a caller Cloud Hosting's headers name has none
		add(&h.bySession, sessionID, s)
	}
	h.observe(func(o Observer) { o.ObserveSockets(1) })
	return s, nil
}

// Release forgets a closed socket; a second call does nothing.
func (s *Socket) Release() {
	if s.released.Swap(true) {
		return
	}
	h := s.hub
	h.mu.Lock()
	remove(h.sockets, s.UserID, s)
	remove(h.bySession, s.SessionID, s)
	h.mu.Unlock()
	h.observe(func(o Observer) { o.ObserveSockets(-1) })
}

// Subscribe returns the changes of the socket's user, as convert makes
// them, until ctx ends; then it closes the channel. It refuses more than
// MaxSubscriptionsPerSocket at once on one socket.
func Subscribe[T any](ctx context.Context, h *Hub, s *Socket, convert func(Change) T) (<-chan T, error) {
	if int(s.subs.Add(1)) > h.SubscriptionLimit() {
		s.subs.Add(-1)
		return nil, ErrTooManySubscriptions
	}
	sub := &subscription{
		userID: s.UserID,
		in:     make(chan Change, orDefault(h.Buffer, DefaultBuffer)),
		wake:   make(chan struct{}, 1),
	}
	h.mu.Lock()
	add(&h.subs, s.UserID, sub)
	h.mu.Unlock()
	h.observe(func(o Observer) { o.ObserveSubscriptions(1) })

	out := make(chan T)
	send := func(c Change) bool {
		select {
		case out <- convert(c):
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer func() {
			h.mu.Lock()
			remove(h.subs, s.UserID, sub)
			h.mu.Unlock()
			s.subs.Add(-1)
			h.observe(func(o Observer) { o.ObserveSubscriptions(-1) })
			close(out)
		}()
		h.pump(ctx, sub, send)
	}()
	return out, nil
}

// subscription is one subscriber's buffer. lost says that changes were
// dropped (or the feed was lost): the next thing it gets is a RESYNC.
type subscription struct {
	userID int64
	in     chan Change
	wake   chan struct{}
	lost   atomic.Bool
}

// pump hands the subscription's changes to send, one at a time, so a slow
// reader only ever holds up itself; send reports false once ctx ended.
func (h *Hub) pump(ctx context.Context, sub *subscription, send func(Change) bool) {
	for {
		if sub.lost.Swap(false) {
			// What is buffered is older than the loss: the refetch
			// covers it.
			for len(sub.in) > 0 {
				<-sub.in
			}
			if !send(h.resync(ctx, sub.userID)) {
				return
			}
			h.observe(func(o Observer) { o.ObserveEvent("resynced") })
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-sub.wake:
		case c := <-sub.in:
			if !send(c) {
				return
			}
			h.observe(func(o Observer) { o.ObserveEvent("delivered") })
		}
	}
}

// resync is a RESYNC change with the user's list as it is now.
func (h *Hub) resync(ctx context.Context, userID int64) Change {
	c := Change{UserID: userID, Kind: Resync}
	if h.Lists == nil {
		return c
	}
	v, err := h.Lists.Version(ctx, userID)
	if err == nil {
		var n int
		n, err = h.Lists.Count(ctx, userID, todo.Filter{})
		c.Version, c.TotalCount = int64(v), int64(n)
	}
	if err != nil && ctx.Err() == nil {
		// The subscriber refetches anyway; only the numbers are missing.
		h.logger().WarnContext(ctx, "read list version for a resync", "err", err, "code", errcode.Code(err))
	}
	return c
}

// Publish implements Sink: it never blocks.
func (h *Hub) Publish(c Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for sub := range h.subs[c.UserID] {
		select {
		case sub.in <- c:
		default:
			sub.lost.Store(true)
			h.observe(func(o Observer) { o.ObserveEvent("dropped") })
			wake(sub)
		}
	}
}

// Resync implements Sink.
func (h *Hub) Resync() {
	h.mu.RLock()
	var rechecks []func()
	for _, subs := range h.subs {
		for sub := range subs {
			sub.lost.Store(true)
			wake(sub)
		}
	}
	for _, socks := range h.sockets {
		for s := range socks {
			if s.recheck != nil {
				rechecks = append(rechecks, s.recheck)
			}
		}
	}
	h.mu.RUnlock()
	// A few at a time: after a lost listener every socket is checked, and
	// the database must not get them all at once.
	go func() {
		sem := make(chan struct{}, 4)
		for _, f := range rechecks {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				f()
			}()
		}
	}()
}

// Listening implements Sink.
func (h *Hub) Listening() {
	h.readyOnce.Do(func() { close(h.readyChan()) })
	h.Resync()
}

// Ready is closed once the database's feed first listens: changes made
// from then on reach the subscribers.
func (h *Hub) Ready() <-chan struct{} { return h.readyChan() }

func (h *Hub) readyChan() chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ready == nil {
		h.ready = make(chan struct{})
	}
	return h.ready
}

// FeedLost implements Sink.
func (h *Hub) FeedLost() {
	h.logger().Warn("live: lost the database listener; subscribers get a RESYNC once it is back")
	h.observe(func(o Observer) { o.ObserveFeedLost() })
}

// EndSession implements Sink: the session's sockets close with 4401.
func (h *Hub) EndSession(sessionID int64) {
	h.closeAll(func() map[*Socket]struct{} { return h.bySession[sessionID] }, "session ended: log in again")
}

// EndUser implements Sink.
func (h *Hub) EndUser(userID int64) {
	h.closeAll(func() map[*Socket]struct{} { return h.sockets[userID] }, "signed out everywhere: log in again")
}

// closeAll closes the sockets of the set (read under the hub's lock) with
// 4401 and reason; outside the lock, since closing one releases it.
func (h *Hub) closeAll(set func() map[*Socket]struct{}, reason string) {
	h.mu.RLock()
	var ended []*Socket
	for s := range set() {
		ended = append(ended, s)
	}
	h.mu.RUnlock()
	for _, s := range ended {
		s.Close(CloseUnauthorized, reason)
	}
}

// Shutdown closes every socket with 1012 (service restart), so that
// clients reconnect to another instance or after the restart, and refuses
// new ones. Sockets are hijacked connections: http.Server.Shutdown does
// not close them.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.closing = true
	var all []*Socket
	for _, socks := range h.sockets {
		for s := range socks {
			all = append(all, s)
		}
	}
	h.mu.Unlock()
	for _, s := range all {
		s.Close(CloseServiceRestart, "server restarting: reconnect")
	}
}

// SocketLimit is the number of sockets a user may hold open.
func (h *Hub) SocketLimit() int { return orDefault(h.MaxSocketsPerUser, DefaultMaxSocketsPerUser) }

// SubscriptionLimit is the number of subscriptions a socket may hold.
func (h *Hub) SubscriptionLimit() int {
	return orDefault(h.MaxSubscriptionsPerSocket, DefaultMaxSubscriptionsPerSocket)
}

// Counts reports the open sockets and active subscriptions.
func (h *Hub) Counts() (sockets, subscriptions int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, s := range h.sockets {
		sockets += len(s)
	}
	for _, s := range h.subs {
		subscriptions += len(s)
	}
	return sockets, subscriptions
}

func wake(sub *subscription) {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (h *Hub) observe(f func(Observer)) {
	if h.Observer != nil {
		f(h.Observer)
	}
}

func (h *Hub) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func add[K comparable, V comparable](m *map[K]map[V]struct{}, k K, v V) {
	if *m == nil {
		*m = map[K]map[V]struct{}{}
	}
	set := (*m)[k]
	if set == nil {
		set = map[V]struct{}{}
		(*m)[k] = set
	}
	set[v] = struct{}{}
}

func remove[K comparable, V comparable](m map[K]map[V]struct{}, k K, v V) {
	if set := m[k]; set != nil {
		delete(set, v)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}
