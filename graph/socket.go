package graph

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"wxtodo/auth"
	"wxtodo/errcode"
	"wxtodo/live"
)

// LiveOptions configure subscriptions over WebSocket (and SSE).
type LiveOptions struct {
	Hub  *live.Hub
	Auth *auth.Service
	// KeepAlive is how often an idle socket hears from the server (a ping
	// in graphql-transport-ws, "ka" in graphql-ws): below nginx's and
	// WeChat's idle timeouts (60s). A graphql-transport-ws client that
	// answers no ping for two intervals is cut off.
	KeepAlive time.Duration
	// InitTimeout is how long a new socket may take to send
	// connection_init.
	InitTimeout time.Duration
	// MaxMessageBytes bounds one message from the client.
	MaxMessageBytes int64
	// WriteTimeout bounds one message to the client: a client that reads
	// nothing for that long (its window full) is cut off, so it holds
	// neither a logout's close nor a shutdown.
	WriteTimeout time.Duration
	// RequestTimeout bounds a query or mutation sent over a socket or a
	// stream, as REQUEST_TIMEOUT bounds one over HTTP (a subscription
	// lasts as long as the client keeps it).
	RequestTimeout time.Duration
}

// Defaults of LiveOptions.
const (
	DefaultKeepAlive       = 25 * time.Second
	DefaultInitTimeout     = 10 * time.Second
	DefaultMaxMessageBytes = 64 << 10
	DefaultWriteTimeout    = 10 * time.Second
)

// websocketTransport serves subscriptions over WebSocket on /query, with
// both subprotocols (a client that names none gets graphql-ws), and
// registers each socket with the hub once connection_init has brought a
// valid token, so that a logout, an expiry, a limit or a shutdown closes
// it with a code a client can act on (see live's Close codes).
type websocketTransport struct {
	ws  transport.Websocket
	opt LiveOptions
	log *slog.Logger
}

var _ graphql.Transport = (*websocketTransport)(nil)

func newWebsocketTransport(opt LiveOptions, log *slog.Logger) *websocketTransport {
	if opt.KeepAlive <= 0 {
		opt.KeepAlive = DefaultKeepAlive
	}
	if opt.InitTimeout <= 0 {
		opt.InitTimeout = DefaultInitTimeout
	}
	if opt.MaxMessageBytes <= 0 {
		opt.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = DefaultWriteTimeout
	}
	t := &websocketTransport{opt: opt, log: log}
	limit := opt.MaxMessageBytes
	t.ws = transport.Websocket{
		Implementation:        socketImplementation{writeTimeout: opt.WriteTimeout},
		InitFunc:              t.init,
		InitTimeout:           opt.InitTimeout,
		KeepAlivePingInterval: opt.KeepAlive,
		PingPongInterval:      opt.KeepAlive,
		PayloadReadLimit:      &limit,
		CloseFunc: func(ctx context.Context, _ int) {
			if st := socketFrom(ctx); st != nil {
				st.release()
			}
		},
		ErrorFunc: func(ctx context.Context, err error) {
			// A peer that went away without a close is no error of ours.
			log.DebugContext(ctx, "websocket", "err", err)
		},
	}
	return t
}

// Supports takes WebSocket upgrades.
func (t *websocketTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// Do serves one socket until it closes. A handshake the WebSocket
// library would refuse is answered here, in GraphQL's shape with a code
// (the library's answer is plain text, and gqlgen writes its own after it).
func (t *websocketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	if msg := badHandshake(r); msg != "" {
		w.Header().Set("Content-Type", "application/json")
		status := http.StatusBadRequest
		if strings.HasPrefix(msg, "origin") {
			status = http.StatusForbidden
		}
		writeResponse(w, status, exec, r, requestError(errcode.BadRequest, msg))
		return
	}
	st := &socketState{}
	ctx := context.WithValue(context.WithValue(r.Context(), socketKey{}, st), streamKey{}, true)
	t.ws.Do(w, r.WithContext(ctx), exec)
	// gqlgen returns without closing on some failures (a connection_init
	// payload that is no object): the connection goes here in any case.
	st.release()
	if c := st.connection(); c != nil {
		c.Close() //nolint:errcheck // closed already, most of the time
	}
}

// badHandshake says what is wrong with a WebSocket handshake, as RFC 6455
// and github.com/coder/websocket's Accept see it, or "" when nothing is.
func badHandshake(r *http.Request) string {
	switch key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-WebSocket-Key")); {
	case r.Method != http.MethodGet:
		return "a WebSocket handshake is a GET"
	case !r.ProtoAtLeast(1, 1):
		return "a WebSocket handshake needs HTTP/1.1"
	case !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket"):
		return "send a WebSocket handshake (Connection: Upgrade, Upgrade: websocket), a POST of application/json, or a query as GET"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "Sec-WebSocket-Version must be 13"
	case err != nil || len(key) != 16:
		return "Sec-WebSocket-Key must be the base64 of 16 bytes"
	case r.Header.Get("Sec-WebSocket-Protocol") != "" && !slices.ContainsFunc(subprotocols, func(p string) bool { return headerHas(r.Header, "Sec-WebSocket-Protocol", p) }):
		return "Sec-WebSocket-Protocol: this server speaks graphql-transport-ws and graphql-ws"
	}
	// A page of another site may not open a socket on this one's
	// behalf (clients that are no browser send no Origin).
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return "origin: the Origin header names another site"
		}
	}
	return ""
}

// headerHas reports whether a comma-separated header has token.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// init authenticates a socket at connection_init: the token comes from
// the payload's Authorization, else from the handshake's header. A socket
// without a valid one closes with 4403.
func (t *websocketTransport) init(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	st := socketFrom(ctx)
	header := auth.Authorization(ctx)
	if a := payload.Authorization(); a != "" {
		header = a
		ctx = t.opt.Auth.WithCredentials(ctx, a)
	}
	c, err := auth.RequireUser(ctx)
	if err != nil {
		switch e := errcode.As(err); {
		case e != nil && e.Code == errcode.Unauthenticated:
			return t.refuse(ctx, live.CloseForbidden, e.Reason+": "+e.Message)
		case e != nil && e.Code == errcode.Forbidden:
			// Another app's caller (Cloud Hosting), a disabled user, an
			// operator token: no login helps.
			return t.refuse(ctx, live.CloseForbidden, e.Code+": "+e.Message)
		}
		t.log.WarnContext(ctx, "websocket: authenticate", "err", err)
		return t.refuse(ctx, live.CloseTryAgain, "could not check the caller; try again later")
	}
	ctx, cancel := context.WithCancel(ctx)
	st.cancel = cancel
	// A caller Cloud Hosting's headers named has no session to watch.
	var (
		sessionID int64
		expires   time.Time
		recheck   func()
	)
	if c.Session != nil {
		sessionID, expires, recheck = c.Session.ID, c.Session.ExpiresAt, func() { t.recheck(st, header) }
	}
	sock, err := t.opt.Hub.Open(c.User.ID, sessionID, st.closeWith, recheck)
	switch {
	case errors.Is(err, live.ErrTooManySockets):
		cancel()
		return t.refuse(ctx, live.CloseTooMany, fmt.Sprintf("too many sockets for this user (at most %d)", t.opt.Hub.SocketLimit()))
	case err != nil:
		cancel()
		return t.refuse(ctx, live.CloseServiceRestart, "server restarting: reconnect")
	}
	st.open(sock, expires, recheck)
	return ctx, nil, nil
}

// recheck checks the socket's session again (at its expiry, or after the
// feed was lost), and closes the socket with 4401 when it has ended.
func (t *websocketTransport) recheck(st *socketState, header string) {
	recheckSession(t.opt.Auth, t.log, st, header)
}

// recheckSession checks a socket's or stream's session again, re-arms
// its timer for the session's expiry, and closes it with 4401 when the
// session has ended.
func recheckSession(a *auth.Service, log *slog.Logger, st *socketState, header string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	token, _ := auth.Bearer(header)
	sess, _, err := a.Authenticate(ctx, token)
	switch {
	case err == nil:
		st.arm(sess.ExpiresAt)
	case errcode.Code(err) == errcode.Unauthenticated:
		e := errcode.As(err)
		st.closeWith(live.CloseUnauthorized, "session ended ("+e.Reason+"): log in again")
	default:
		// The database did not answer: ask again in a while.
		log.Warn("live: check session", "err", err)
		st.arm(time.Now().Add(30 * time.Second))
	}
}

func (t *websocketTransport) refuse(ctx context.Context, code int, reason string) (context.Context, *transport.InitPayload, error) {
	t.log.InfoContext(ctx, "socket refused", "close_code", code, "reason", reason)
	ctx = transport.WithWebsocketCloseCode(ctx, code)
	reason = live.Reason(reason)
	ctx = transport.AppendCloseReason(ctx, reason)
	return ctx, nil, errors.New(reason)
}

type socketKey struct{}

func socketFrom(ctx context.Context) *socketState {
	st, _ := ctx.Value(socketKey{}).(*socketState)
	return st
}

// socketState is one socket's registration, and the close code and
// reason it is to be closed with, which gqlgen's transport (closing with
// 1000 when the socket's context ends) leaves to codedConn.
type socketState struct {
	mu      sync.Mutex
	code    int
	reason  string
	cancel  context.CancelFunc
	sock    *live.Socket
	timer   *time.Timer
	recheck func()
	closed  bool
	conn    *socketConn
}

func (s *socketState) connection() *socketConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

func (s *socketState) open(sock *live.Socket, expires time.Time, recheck func()) {
	s.mu.Lock()
	s.sock, s.recheck = sock, recheck
	s.mu.Unlock()
	s.arm(expires)
}

// arm rechecks the session when it expires (other requests of the device
// may have moved the expiry meanwhile).
func (s *socketState) arm(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.recheck == nil || at.IsZero() {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(time.Until(at)+100*time.Millisecond, s.recheck)
}

// closeWith closes the socket with the code and reason.
func (s *socketState) closeWith(code int, reason string) {
	s.mu.Lock()
	if s.code == 0 {
		s.code, s.reason = code, live.Reason(reason)
	}
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (s *socketState) closeCode() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code, s.reason
}

// release forgets the socket: it has closed.
func (s *socketState) release() {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	sock, cancel := s.sock, s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if sock != nil {
		sock.Release()
	}
}

func (s *socketState) socket() *live.Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sock
}

func isField(s ast.Selection) bool {
	_, ok := s.(*ast.Field)
	return ok
}

// streamKey marks the context of a transport that can carry a
// subscription's events: a socket, or an SSE stream.
type streamKey struct{}

// sseTransport is gqlgen's SSE transport, marked as a stream.
type sseTransport struct {
	transport.SSE
	writeTimeout time.Duration
}

// Do serves the stream for as long as the client keeps it: free of the
// server's read timeout from here, where the body has been read (before,
// it bounds a client that sends it slowly), and each write within
// writeTimeout, as a socket's, so that a client that stops reading holds
// no handler past a logout or a shutdown.
func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) //nolint:errcheck // not every writer has deadlines
	dw := &deadlineWriter{ResponseWriter: w, rc: rc, timeout: orDefaultDuration(t.writeTimeout, DefaultWriteTimeout)}
	dw.arm()
	t.SSE.Do(dw, r.WithContext(context.WithValue(r.Context(), streamKey{}, true)), exec)
}

// deadlineWriter gives each write of a stream a deadline of its own.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *deadlineWriter) arm() {
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) //nolint:errcheck // not every writer has deadlines
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Flush() {
	w.arm()
	w.rc.Flush() //nolint:errcheck // the client went away
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// subscriptionsStream refuses a subscription sent where no events can
// follow (a plain POST would answer null): BAD_REQUEST, saying where to
// send it.
// A subscription must select exactly one root field, as the
// specification's validation says (gqlgen's executor fails on more, as
// an internal error). A query or mutation over a socket or a stream gets
// the deadline the HTTP request it would have been had.
func subscriptionsStream(timeout time.Duration) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return streamOperation(ctx, next, timeout)
	}
}

func streamOperation(ctx context.Context, next graphql.OperationHandler, timeout time.Duration) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	if op.Operation == nil {
		return next(ctx)
	}
	if op.Operation.Operation != ast.Subscription {
		if ctx.Value(streamKey{}) == nil || timeout <= 0 {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		h := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			r := h(ctx)
			if r == nil {
				cancel()
			}
			return r
		}
	}
	if set := op.Operation.SelectionSet; len(set) != 1 || !isField(set[0]) {
		return graphql.OneShot(&graphql.Response{Errors: requestError(errcode.ValidationFailed,
			"a subscription selects exactly one root field, and no fragment")})
	}
	if ctx.Value(streamKey{}) == nil {
		return graphql.OneShot(&graphql.Response{Errors: requestError(errcode.BadRequest,
			"a subscription needs a WebSocket on /query (graphql-transport-ws or graphql-ws), or a POST with Accept: text/event-stream")})
	}
	return next(ctx)
}
