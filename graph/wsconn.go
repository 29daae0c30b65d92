package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// socketImplementation accepts WebSocket connections for gqlgen's
// transport on github.com/coder/websocket, as gqlgen's own adapter does,
// but for three things: every message to the client has a deadline
// (gqlgen's writes have none, so a client that stops reading held the
// connection, a logout's close and a shutdown for as long as it liked),
// the client's preferred subprotocol wins when it offers both, and the
// socket closes with the code and reason its state was closed for.
type socketImplementation struct {
	writeTimeout time.Duration
}

var _ transport.WebsocketImplementation = socketImplementation{}

// subprotocols in the order of preference: the maintained protocol first.
var subprotocols = []string{"graphql-transport-ws", "graphql-ws"}

func (i socketImplementation) Accept(w http.ResponseWriter, r *http.Request, opt transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for k, vs := range opt.ResponseHeader {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	// badHandshake has checked the request: Accept does not fail on it.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols})
	if err != nil {
		return nil, err
	}
	c := &socketConn{conn: conn, st: socketFrom(r.Context()), writeTimeout: i.writeTimeout}
	if c.st != nil {
		c.st.mu.Lock()
		c.st.conn = c
		c.st.mu.Unlock()
	}
	return c, nil
}

// socketConn is one accepted socket.
type socketConn struct {
	conn         *websocket.Conn
	st           *socketState
	writeTimeout time.Duration

	mu       sync.Mutex
	deadline *time.Timer
	closing  bool
}

var (
	_ transport.WebsocketConn          = (*socketConn)(nil)
	_ transport.WebsocketReadLimiter   = (*socketConn)(nil)
	_ transport.WebsocketReadDeadliner = (*socketConn)(nil)
)

// NextReader reads the next message; a peer's normal close is
// transport.ErrWebsocketClosed, as gqlgen expects.
func (c *socketConn) NextReader() (int, io.Reader, error) {
	typ, b, err := c.conn.Read(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
			return int(typ), nil, transport.ErrWebsocketClosed
		}
		return int(typ), nil, err
	}
	return int(typ), bytes.NewReader(b), nil
}

// WriteJSON sends v, within writeTimeout; past it the connection closes.
func (c *socketConn) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.writeTimeout)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, b)
}

// WriteClose starts the close handshake with the code and reason the
// socket was closed for, if any, else code and reason. The handshake
// waits for the peer's close frame (up to 5s): it runs on its own, so
// that gqlgen's teardown goes on.
func (c *socketConn) WriteClose(code int, reason string) error {
	if c.st != nil {
		if own, why := c.st.closeCode(); own != 0 {
			code, reason = own, why
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDeadline()
	if c.closing {
		return nil
	}
	c.closing = true
	go c.conn.Close(websocket.StatusCode(code), reason) //nolint:errcheck // the peer may be gone
	return nil
}

// Close closes the connection now, unless a close handshake is under way
// (it closes the connection when it ends).
func (c *socketConn) Close() error {
	c.mu.Lock()
	c.stopDeadline()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		return nil
	}
	return c.conn.CloseNow()
}

func (c *socketConn) Subprotocol() string { return c.conn.Subprotocol() }

// SetReadLimit is gqlgen's payload limit.
func (c *socketConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

// SetReadDeadline is gqlgen's pong deadline: the connection closes when
// it passes (a zero time clears it).
func (c *socketConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDeadline()
	if t.IsZero() {
		return nil
	}
	c.deadline = time.AfterFunc(time.Until(t), func() { c.conn.CloseNow() }) //nolint:errcheck // cutting it off
	return nil
}

func (c *socketConn) stopDeadline() {
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
}
