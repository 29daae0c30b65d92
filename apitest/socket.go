package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Subprotocols of GraphQL over WebSocket.
const (
	TransportWS = "graphql-transport-ws" // graphql-ws on npm
	LegacyWS    = "graphql-ws"           // subscriptions-transport-ws
)

// URL is where the server listens on a real socket (started on first
// use, stopped when the test ends), for WebSocket clients.
func (s *Server) URL(tb testing.TB) string {
	tb.Helper()
	s.httpOnce.Do(func() {
		s.http = httptest.NewServer(s.Handler) // closed by New's cleanup
	})
	return s.http.URL
}

// Message is one message of GraphQL over WebSocket.
type Message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Socket is a GraphQL-over-WebSocket client for tests. A goroutine reads
// its messages (answering pings) into a channel; its methods wait on that
// channel, so they may be called from the test's goroutine only.
type Socket struct {
	Protocol string
	conn     *websocket.Conn
	msgs     chan Message
	done     chan struct{}
	mu       sync.Mutex
	err      error // why reading stopped
}

// DialSocket opens a socket to /query offering protocol ("" offers
// none), with header on the handshake.
func (s *Server) DialSocket(tb testing.TB, protocol string, header http.Header) (*Socket, error) {
	tb.Helper()
	return Dial(tb, s.URL(tb), protocol, header)
}

// Dial opens a socket to baseURL's /query.
func Dial(tb testing.TB, baseURL, protocol string, header http.Header) (*Socket, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opt := &websocket.DialOptions{HTTPHeader: header}
	if protocol != "" {
		opt.Subprotocols = []string{protocol}
	}
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/query", opt)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	ws := &Socket{Protocol: conn.Subprotocol(), conn: conn, msgs: make(chan Message, 256), done: make(chan struct{})}
	if ws.Protocol == "" {
		ws.Protocol = LegacyWS // what the server takes a client naming none for
	}
	tb.Cleanup(func() { conn.CloseNow() })
	go ws.read()
	return ws, nil
}

func (ws *Socket) read() {
	defer close(ws.done)
	for {
		_, b, err := ws.conn.Read(context.Background())
		if err != nil {
			ws.mu.Lock()
			ws.err = err
			ws.mu.Unlock()
			return
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			ws.mu.Lock()
			ws.err = errors.New("not a JSON message: " + string(b))
			ws.mu.Unlock()
			return
		}
		switch m.Type {
		case "ping":
			ws.write(Message{Type: "pong"}) //nolint:errcheck // a closed socket shows in Closed
			continue
		case "ka", "pong":
			continue
		}
		ws.msgs <- m
	}
}

// Send sends a message.
func (ws *Socket) Send(tb testing.TB, m Message) {
	tb.Helper()
	if err := ws.write(m); err != nil {
		tb.Fatalf("send %s: %v", m.Type, err)
	}
}

func (ws *Socket) write(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return ws.conn.Write(ctx, websocket.MessageText, b)
}

// Init sends connection_init with payload (nil for none) and returns
// the server's answer: connection_ack, or what came instead.
func (ws *Socket) Init(tb testing.TB, payload map[string]any) Message {
	tb.Helper()
	m := Message{Type: "connection_init"}
	if payload != nil {
		b, _ := json.Marshal(payload)
		m.Payload = b
	}
	ws.Send(tb, m)
	got, _ := ws.Next(tb, 5*time.Second)
	return got
}

// MustInit is Init that fails the test unless the server acknowledges.
func (ws *Socket) MustInit(tb testing.TB, payload map[string]any) {
	tb.Helper()
	if got := ws.Init(tb, payload); got.Type != "connection_ack" {
		code, reason := ws.Closed(tb, time.Second)
		tb.Fatalf("connection_init: got %q %s (close %d %q), want connection_ack", got.Type, got.Payload, code, reason)
	}
}

// Subscribe starts the operation query under id ("subscribe" in
// graphql-transport-ws, "start" in graphql-ws).
func (ws *Socket) Subscribe(tb testing.TB, id, query string) {
	tb.Helper()
	b, _ := json.Marshal(map[string]any{"query": query})
	typ := "subscribe"
	if ws.Protocol == LegacyWS {
		typ = "start"
	}
	ws.Send(tb, Message{Type: typ, ID: id, Payload: b})
}

// Next returns the next message other than keep-alives, or false when
// none came within timeout or the socket closed.
func (ws *Socket) Next(tb testing.TB, timeout time.Duration) (Message, bool) {
	tb.Helper()
	select {
	case m := <-ws.msgs:
		return m, true
	case <-ws.done:
		select {
		case m := <-ws.msgs:
			return m, true
		default:
		}
		return Message{}, false
	case <-time.After(timeout):
		return Message{}, false
	}
}

// Change is a todoChanged event as a test reads it.
type Change struct {
	Kind string
	ID   *string
	Todo *struct {
		ID, Title string
		Done      bool
	}
	Version    int
	TotalCount int
}

// NextChange returns the next todoChanged event of subscription id; it
// fails the test on anything else, or when none comes within timeout.
func (ws *Socket) NextChange(tb testing.TB, id string, timeout time.Duration) Change {
	tb.Helper()
	m, ok := ws.Next(tb, timeout)
	if !ok {
		code, reason := ws.Closed(tb, 0)
		tb.Fatalf("no event within %s (socket close %d %q)", timeout, code, reason)
	}
	want := "next"
	if ws.Protocol == LegacyWS {
		want = "data"
	}
	if m.Type != want || m.ID != id {
		tb.Fatalf("got %s for %q: %s, want %s for %q", m.Type, m.ID, m.Payload, want, id)
	}
	var p struct {
		Data   *struct{ TodoChanged Change }
		Errors []json.RawMessage
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || p.Data == nil || len(p.Errors) > 0 {
		tb.Fatalf("event %s: want data without errors (%v)", m.Payload, err)
	}
	return p.Data.TodoChanged
}

// Quiet fails the test when a message comes within d.
func (ws *Socket) Quiet(tb testing.TB, d time.Duration) {
	tb.Helper()
	if m, ok := ws.Next(tb, d); ok {
		tb.Errorf("got %s %s, want nothing", m.Type, m.Payload)
	}
}

// Closed waits up to timeout for the socket to close and returns the
// close code and reason the server sent (-1 while it is still open, 0
// when it closed without a close frame).
func (ws *Socket) Closed(tb testing.TB, timeout time.Duration) (code int, reason string) {
	tb.Helper()
	select {
	case <-ws.done:
	case <-time.After(timeout):
		return -1, ""
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var ce websocket.CloseError
	if errors.As(ws.err, &ce) {
		return int(ce.Code), ce.Reason
	}
	return 0, ""
}

// Close closes the socket normally.
func (ws *Socket) Close() { ws.conn.Close(websocket.StatusNormalClosure, "") } //nolint:errcheck // the test is done with it
