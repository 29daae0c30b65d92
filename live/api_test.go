package live_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wxtodo/apitest"
	"wxtodo/db"
	"wxtodo/db/dbtest"
	"wxtodo/graph"
	"wxtodo/live"
	"wxtodo/todo"
	"wxtodo/wechat/wechattest"
)

const (
	subscription = `subscription { todoChanged { kind id version totalCount todo { id title done } } }`
	createTodo   = `mutation($title: String!) { createTodo(input: {title: $title}) { id } }`
	updateTodo   = `mutation($id: ID!, $done: Boolean) { updateTodo(id: $id, input: {done: $done}) { id } }`
	deleteTodo   = `mutation($id: ID!) { deleteTodo(id: $id) }`
	listState    = `{ todos { version totalCount } }`
	wait         = 5 * time.Second
)

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// create makes a todo as the token's user and returns its ID.
func create(tb testing.TB, s *apitest.Server, token, title string) string {
	tb.Helper()
	var d struct{ CreateTodo struct{ ID string } }
	s.OK(tb, createTodo, &d, apitest.As(token), apitest.Vars(map[string]any{"title": title}))
	return d.CreateTodo.ID
}

// list returns the token's user's list version and totalCount.
func list(tb testing.TB, s *apitest.Server, token string) (version, total int) {
	tb.Helper()
	var d struct {
		Todos struct{ Version, TotalCount int }
	}
	s.OK(tb, listState, &d, apitest.As(token))
	return d.Todos.Version, d.Todos.TotalCount
}

// subscribe opens a socket signed in with token and starts todoChanged
// as subscription "1".
func subscribe(tb testing.TB, s *apitest.Server, protocol, token string) *apitest.Socket {
	tb.Helper()
	ws, err := s.DialSocket(tb, protocol, bearer(token))
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	ws.MustInit(tb, nil)
	ws.Subscribe(tb, "1", subscription)
	waitSubscribed(tb, s, 1)
	return ws
}

// waitSubscribed waits until the server holds n subscriptions: a
// subscribe message has no answer to wait for.
func waitSubscribed(tb testing.TB, s *apitest.Server, n int) {
	tb.Helper()
	deadline := time.Now().Add(wait)
	for {
		if _, subs := s.Hub.Counts(); subs == n {
			return
		}
		if time.Now().After(deadline) {
			_, subs := s.Hub.Counts()
			tb.Fatalf("%d subscriptions after %s, want %d", subs, wait, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSubscriptionSeesEveryChange: over graphql-transport-ws, graphql-ws
// and a socket naming no subprotocol (which gets graphql-ws), a
// subscriber sees a create, an update and a delete made over HTTP, each
// with the todo after it (none for a delete) and the list's version and
// totalCount as a query reads them right after.
func TestSubscriptionSeesEveryChange(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		for _, proto := range []string{apitest.TransportWS, apitest.LegacyWS, ""} {
			t.Run("protocol="+cmpOr(proto, "none"), func(t *testing.T) {
				token, _ := s.Login(t, "phone-"+cmpOr(proto, "none"))
				ws := subscribe(t, s, proto, token)
				if proto == "" && ws.Protocol != apitest.LegacyWS {
					t.Errorf("a client naming no subprotocol got %q, want graphql-ws", ws.Protocol)
				}
				defer func() {
					ws.Close()
					waitSubscribed(t, s, 0)
				}()

				check := func(what string, c apitest.Change, kind, id string, done bool) {
					t.Helper()
					v, n := list(t, s, token)
					if c.Kind != kind || c.ID == nil || *c.ID != id {
						t.Errorf("%s: got %s of %v, want %s of %s", what, c.Kind, c.ID, kind, id)
					}
					if c.Version != v || c.TotalCount != n {
						t.Errorf("%s: event has version %d, totalCount %d; the list has %d, %d", what, c.Version, c.TotalCount, v, n)
					}
					switch {
					case kind == "DELETED" && c.Todo != nil:
						t.Errorf("%s: todo %+v, want null", what, c.Todo)
					case kind != "DELETED" && (c.Todo == nil || c.Todo.ID != id || c.Todo.Title != "milk" || c.Todo.Done != done):
						t.Errorf("%s: todo %+v, want %s milk done=%v", what, c.Todo, id, done)
					}
				}
				id := create(t, s, token, "milk")
				check("create", ws.NextChange(t, "1", wait), "CREATED", id, false)
				s.OK(t, updateTodo, nil, apitest.As(token), apitest.Vars(map[string]any{"id": id, "done": true}))
				check("update", ws.NextChange(t, "1", wait), "UPDATED", id, true)
				s.OK(t, deleteTodo, nil, apitest.As(token), apitest.Vars(map[string]any{"id": id}))
				check("delete", ws.NextChange(t, "1", wait), "DELETED", id, false)
			})
		}
	})
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestSubscribersSeeOnlyTheirOwnChanges: bob never receives alice's
// events, and alice's two devices both receive hers.
func TestSubscribersSeeOnlyTheirOwnChanges(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		alice, _ := s.Login(t, "alice")
		alicePC := device(t, s, "alice", "pc")
		bob, _ := s.Login(t, "bob")
		phone := subscribe(t, s, apitest.TransportWS, alice)
		pc, err := s.DialSocket(t, apitest.TransportWS, nil)
		if err != nil {
			t.Fatal(err)
		}
		pc.MustInit(t, map[string]any{"Authorization": "Bearer " + alicePC})
		pc.Subscribe(t, "pc", subscription)
		waitSubscribed(t, s, 2)
		bobs, err := s.DialSocket(t, apitest.LegacyWS, bearer(bob))
		if err != nil {
			t.Fatal(err)
		}
		bobs.MustInit(t, nil)
		bobs.Subscribe(t, "1", subscription)
		waitSubscribed(t, s, 3)

		for i := range 3 {
			id := create(t, s, alice, fmt.Sprint("alice's ", i))
			for _, got := range []apitest.Change{phone.NextChange(t, "1", wait), pc.NextChange(t, "pc", wait)} {
				if got.Kind != "CREATED" || got.ID == nil || *got.ID != id {
					t.Errorf("alice's device got %+v, want CREATED %s", got, id)
				}
			}
		}
		bobs.Quiet(t, 300*time.Millisecond)
		id := create(t, s, bob, "bob's")
		if got := bobs.NextChange(t, "1", wait); got.ID == nil || *got.ID != id {
			t.Errorf("bob got %+v, want his own %s", got, id)
		}
		phone.Quiet(t, 300*time.Millisecond)
	})
}

// TestSocketAuthentication: a socket without a valid token at
// connection_init (none, malformed, unknown, expired, logged out) closes
// with 4403 and a reason naming why; a token in connection_init's payload
// works as well as the handshake's header and wins over it.
func TestSocketAuthentication(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{SessionTTL: time.Second})
		expired, _ := s.Login(t, "expired")
		loggedOut, _ := s.Login(t, "logged-out")
		s.OK(t, `mutation { logout }`, nil, apitest.As(loggedOut))
		time.Sleep(1100 * time.Millisecond)
		valid, _ := s.Login(t, "valid")

		for _, tc := range []struct {
			name    string
			header  http.Header
			payload map[string]any
			reason  string
		}{
			{"no token", nil, nil, "MISSING_TOKEN"},
			{"not bearer", http.Header{"Authorization": {"Basic abc"}}, nil, "INVALID_TOKEN"},
			{"unknown token", bearer("wxt_0000000000000000000000000000000000000000000"), nil, "INVALID_TOKEN"},
			{"expired token", bearer(expired), nil, "EXPIRED_TOKEN"},
			{"logged out", nil, map[string]any{"Authorization": "Bearer " + loggedOut}, "INVALID_TOKEN"},
			{"bad payload over a good header", bearer(valid), map[string]any{"Authorization": "Bearer nope"}, "INVALID_TOKEN"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, proto := range []string{apitest.TransportWS, apitest.LegacyWS} {
					ws, err := s.DialSocket(t, proto, tc.header)
					if err != nil {
						t.Fatal(err)
					}
					if got := ws.Init(t, tc.payload); got.Type == "connection_ack" {
						t.Fatalf("%s: acknowledged", proto)
					}
					code, reason := ws.Closed(t, wait)
					if code != 4403 || !strings.Contains(reason, tc.reason) {
						t.Errorf("%s: closed %d %q, want 4403 with %s", proto, code, reason, tc.reason)
					}
				}
			})
		}
		t.Run("token in payload", func(t *testing.T) {
			ws, err := s.DialSocket(t, apitest.TransportWS, nil)
			if err != nil {
				t.Fatal(err)
			}
			ws.MustInit(t, map[string]any{"Authorization": "Bearer " + valid})
			ws.Subscribe(t, "1", subscription)
			waitSubscribed(t, s, 1)
			create(t, s, valid, "x")
			if got := ws.NextChange(t, "1", wait); got.Kind != "CREATED" {
				t.Errorf("got %+v, want CREATED", got)
			}
		})
	})
}

// TestSocketClosesWhenItsSessionEnds: a logout, of the socket's own
// session only, closes the socket with 4401; so does the session's
// expiry while the socket is open.
func TestSocketClosesWhenItsSessionEnds(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		t.Run("logout", func(t *testing.T) {
			s := apitest.New(t, url, apitest.Options{})
			token, _ := s.Login(t, "leaving")
			other := device(t, s, "leaving", "pc")
			ws := subscribe(t, s, apitest.TransportWS, token)
			stays := subscribe2(t, s, other)
			s.OK(t, `mutation { logout }`, nil, apitest.As(token))
			if code, reason := ws.Closed(t, wait); code != 4401 {
				t.Errorf("closed %d %q, want 4401", code, reason)
			}
			if code, _ := stays.Closed(t, 300*time.Millisecond); code != -1 {
				t.Errorf("the other device's socket closed %d, want it open", code)
			}
		})
		t.Run("expiry", func(t *testing.T) {
			s := apitest.New(t, url, apitest.Options{SessionTTL: 2 * time.Second})
			token, _ := s.Login(t, "expiring")
			ws := subscribe(t, s, apitest.LegacyWS, token)
			if code, _ := ws.Closed(t, time.Second); code != -1 {
				t.Fatalf("closed %d before the session expired", code)
			}
			if code, reason := ws.Closed(t, 5*time.Second); code != 4401 || !strings.Contains(reason, "EXPIRED_TOKEN") {
				t.Errorf("closed %d %q, want 4401 with EXPIRED_TOKEN", code, reason)
			}
		})
	})
}

// device signs the user of code in again, as another device (with a code
// of its own: the same code again would be a retry of the first login),
// and returns its token.
func device(tb testing.TB, s *apitest.Server, code, name string) string {
	tb.Helper()
	s.WeChat.On(code+"-"+name, wechattest.Reply{As: code})
	token, _ := s.Login(tb, code+"-"+name)
	return token
}

// subscribe2 is subscribe for a second socket on the same server.
func subscribe2(tb testing.TB, s *apitest.Server, token string) *apitest.Socket {
	tb.Helper()
	_, before := s.Hub.Counts()
	ws, err := s.DialSocket(tb, apitest.TransportWS, bearer(token))
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	ws.MustInit(tb, nil)
	ws.Subscribe(tb, "1", subscription)
	waitSubscribed(tb, s, before+1)
	return ws
}

// TestSocketLimits: past WS_MAX_SOCKETS_PER_USER a user's new socket
// closes with 4429 (another user's does not), and past
// WS_MAX_SUBSCRIPTIONS_PER_SOCKET so does the socket.
func TestSocketLimits(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{MaxSockets: 2, MaxSubscriptions: 2})
	token, _ := s.Login(t, "many-devices")
	other, _ := s.Login(t, "other")
	open := func(token string) *apitest.Socket {
		t.Helper()
		ws, err := s.DialSocket(t, apitest.TransportWS, bearer(token))
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	first := open(token)
	first.MustInit(t, nil)
	open(token).MustInit(t, nil)
	third := open(token)
	if got := third.Init(t, nil); got.Type == "connection_ack" {
		t.Fatal("a third socket was acknowledged")
	}
	if code, reason := third.Closed(t, wait); code != 4429 || !strings.Contains(reason, "at most 2") {
		t.Errorf("third socket closed %d %q, want 4429 naming the limit", code, reason)
	}
	open(other).MustInit(t, nil)

	first.Subscribe(t, "a", subscription)
	first.Subscribe(t, "b", subscription)
	waitSubscribed(t, s, 2)
	first.Subscribe(t, "c", subscription)
	if code, reason := first.Closed(t, wait); code != 4429 || !strings.Contains(reason, "subscriptions") {
		t.Errorf("third subscription: socket closed %d %q, want 4429 naming the limit", code, reason)
	}
}

// TestSocketOutlivesTheRequestDeadline: a socket idle for 40 seconds,
// past REQUEST_TIMEOUT and the server's keep-alive interval, stays up and
// still delivers.
func TestSocketOutlivesTheRequestDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 40 seconds")
	}
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{RequestTimeout: 2 * time.Second})
	token, _ := s.Login(t, "idle")
	sockets := map[string]*apitest.Socket{}
	for i, proto := range []string{apitest.TransportWS, apitest.LegacyWS} {
		ws, err := s.DialSocket(t, proto, bearer(token))
		if err != nil {
			t.Fatal(err)
		}
		ws.MustInit(t, nil)
		ws.Subscribe(t, "1", subscription)
		waitSubscribed(t, s, i+1)
		sockets[proto] = ws
	}
	time.Sleep(40 * time.Second)
	for proto, ws := range sockets {
		if code, reason := ws.Closed(t, 10*time.Millisecond); code != -1 {
			t.Errorf("%s socket closed %d %q while idle", proto, code, reason)
		}
	}
	id := create(t, s, token, "after 40s")
	for proto, ws := range sockets {
		if got := ws.NextChange(t, "1", wait); got.Kind != "CREATED" || got.ID == nil || *got.ID != id {
			t.Errorf("%s: got %+v after idling, want CREATED %s", proto, got, id)
		}
	}
}

// TestChangesCrossInstances: on PostgreSQL (directly and through
// PgBouncer) a change made on instance B reaches a subscriber on A, and a
// logout on B closes the session's socket on A with 4401.
func TestChangesCrossInstances(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{"postgres": dbtest.PostgresURL, "pgbouncer": dbtest.PgBouncerURL} {
		t.Run(name, func(t *testing.T) {
			url := url(t)
			a := apitest.New(t, url, apitest.Options{})
			b := apitest.New(t, url, apitest.Options{WeChat: a.WeChat})
			token, _ := a.Login(t, "roaming")
			ws := subscribe(t, a, apitest.TransportWS, token)
			id := create(t, b, token, "made on B")
			got := ws.NextChange(t, "1", wait)
			if got.Kind != "CREATED" || got.ID == nil || *got.ID != id || got.Todo == nil || got.Todo.Title != "made on B" {
				t.Errorf("A's subscriber got %+v, want B's CREATED %s", got, id)
			}
			if v, n := list(t, a, token); got.Version != v || got.TotalCount != n {
				t.Errorf("event version %d, totalCount %d; list %d, %d", got.Version, got.TotalCount, v, n)
			}
			b.OK(t, `mutation { logout }`, nil, apitest.As(token))
			if code, reason := ws.Closed(t, wait); code != 4401 {
				t.Errorf("after a logout on B, A's socket closed %d %q, want 4401", code, reason)
			}
		})
	}
}

// TestLostListenerResyncs: when PostgreSQL ends the instance's listener
// (pg_terminate_backend), its subscribers get a RESYNC with the list as
// it is once the listener is back, and then events again; the metrics
// count the reconnect and the resync.
func TestLostListenerResyncs(t *testing.T) {
	s := apitest.New(t, dbtest.PostgresURL(t), apitest.Options{})
	token, _ := s.Login(t, "unlucky")
	ws := subscribe(t, s, apitest.LegacyWS, token)
	create(t, s, token, "before")
	if got := ws.NextChange(t, "1", wait); got.Kind != "CREATED" {
		t.Fatalf("got %+v, want CREATED", got)
	}
	if n := dbtest.Exec(t, s.DB, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1 || current_schema()`, db.ListenerName); n != 1 {
		t.Fatalf("terminated %d listeners, want 1", n)
	}
	// The listener connects to PostgreSQL again first: slow on a loaded
	// machine.
	got := ws.NextChange(t, "1", 30*time.Second)
	v, n := list(t, s, token)
	if got.Kind != "RESYNC" || got.ID != nil || got.Todo != nil || got.Version != v || got.TotalCount != n {
		t.Errorf("after the listener was lost: got %+v, want RESYNC of version %d, totalCount %d", got, v, n)
	}
	id := create(t, s, token, "after")
	if got := ws.NextChange(t, "1", wait); got.Kind != "CREATED" || *got.ID != id {
		t.Errorf("after the resync: got %+v, want CREATED %s", got, id)
	}
}

// TestOtherSchemasChangesStayThere: NOTIFY channels are the database's,
// so a deployment in another schema of the same database raises them
// too; its changes (of a user with the same ID) reach no subscriber here.
func TestOtherSchemasChangesStayThere(t *testing.T) {
	here := apitest.New(t, dbtest.PostgresURL(t), apitest.Options{})
	there := apitest.New(t, dbtest.PostgresURL(t), apitest.Options{WeChat: here.WeChat})
	token, id := here.Login(t, "same-id")
	theirs, theirID := there.Login(t, "same-id-there")
	if id != theirID {
		t.Fatalf("users %s and %s: the test needs one ID in both schemas", id, theirID)
	}
	ws := subscribe(t, here, apitest.TransportWS, token)
	create(t, there, theirs, "elsewhere")
	ws.Quiet(t, 500*time.Millisecond)
	create(t, here, token, "here")
	if got := ws.NextChange(t, "1", wait); got.Todo == nil || got.Todo.Title != "here" {
		t.Errorf("got %+v, want this schema's change", got)
	}
}

// TestSubscriptionOverSSE: POST /query with Accept: text/event-stream
// streams the caller's changes as "next" events, past the request
// deadline; a logout ends the stream.
func TestSubscriptionOverSSE(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{RequestTimeout: time.Second})
	token, _ := s.Login(t, "sse")
	events := sse(t, s, token)
	waitSubscribed(t, s, 1)
	time.Sleep(1500 * time.Millisecond) // past REQUEST_TIMEOUT
	create(t, s, token, "streamed")
	select {
	case data := <-events:
		if !strings.Contains(data, `"kind":"CREATED"`) || !strings.Contains(data, `"title":"streamed"`) {
			t.Errorf("event %s, want the CREATED todo", data)
		}
	case <-time.After(wait):
		t.Fatal("no event on the stream")
	}
	s.OK(t, `mutation { logout }`, nil, apitest.As(token))
	streamEnds(t, events, wait, "the logout")
}

// streamEnds fails the test unless the stream's events end within d.
func streamEnds(tb testing.TB, events <-chan string, d time.Duration, after string) {
	tb.Helper()
	deadline := time.After(d)
	for {
		select {
		case _, open := <-events:
			if !open {
				return
			}
		case <-deadline:
			tb.Fatalf("the stream outlived %s", after)
		}
	}
}

// TestSubscriptionOverPlainPOSTIsRefused with a code that says where to
// send it, instead of an empty answer.
func TestSubscriptionOverPlainPOSTIsRefused(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "poster")
	r := s.Fails(t, subscription, "BAD_REQUEST", apitest.As(token))
	if !strings.Contains(r.Raw, "WebSocket") {
		t.Errorf("the error does not say where to send it: %s", r.Raw)
	}
}

// TestSocketClosesWhenALoginRetryReplacesItsSession: a second login with
// the same code (a retry after a lost answer) replaces the first login's
// session, and that session's socket closes with 4401.
func TestSocketClosesWhenALoginRetryReplacesItsSession(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		first, _ := s.Login(t, "retried")
		ws := subscribe(t, s, apitest.TransportWS, first)
		s.Login(t, "retried")
		if code, reason := ws.Closed(t, wait); code != 4401 {
			t.Errorf("closed %d %q, want 4401", code, reason)
		}
	})
}

// TestSSEStreamEndsWithItsSession: a stream whose session expires ends.
func TestSSEStreamEndsWithItsSession(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{SessionTTL: 2 * time.Second})
	token, _ := s.Login(t, "sse-expiring")
	events := sse(t, s, token)
	waitSubscribed(t, s, 1)
	streamEnds(t, events, 8*time.Second, "its session")
}

// sse opens a todoChanged stream with token and returns its data lines,
// closed when the stream ends.
func sse(tb testing.TB, s *apitest.Server, token string) <-chan string {
	tb.Helper()
	resp, err := http.DefaultClient.Do(sseRequest(tb, s, token, "subscription { todoChanged { kind id todo { title } } }"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		tb.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	events := make(chan string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- data
			}
		}
	}()
	return events
}

// sseRequest is a POST of query to s's /query that asks for an SSE
// stream, signed in with token.
func sseRequest(tb testing.TB, s *apitest.Server, token, query string) *http.Request {
	tb.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequest(http.MethodPost, s.URL(tb)+"/query", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// TestSocketThatStopsReadingIsCutOff: a client that reads nothing while
// its events pile up holds no writer past the write timeout: its socket
// closes and leaves the hub.
func TestSocketThatStopsReadingIsCutOff(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{Live: graph.LiveOptions{WriteTimeout: 300 * time.Millisecond}})
	token, userID := s.Login(t, "never-reads")
	// A small receive window, so that little fills it.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) }) //nolint:errcheck // best effort
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(t), "http")+"/query", &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{apitest.LegacyWS}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for _, m := range []string{
		`{"type":"connection_init","payload":{"Authorization":"Bearer ` + token + `"}}`,
		`{"type":"start","id":"1","payload":{"query":"subscription { todoChanged { kind todo { title } } }"}}`,
	} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	waitSubscribed(t, s, 1)
	id, _ := strconv.ParseInt(userID, 10, 64)
	title := strings.Repeat("x", 200)
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; ; n++ {
		if sockets, _ := s.Hub.Counts(); sockets == 0 {
			t.Logf("cut off after %d events", n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a socket that reads nothing is still open after 10s of events")
		}
		s.Hub.Publish(live.Change{UserID: id, Kind: live.Created, TodoID: int64(n + 1), Todo: &todo.Todo{ID: int64(n + 1), Title: title}, Version: int64(n + 1)})
		if n%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestBadSocketMessages: a connection_init payload that is no object
// closes the socket (it held the connection open before), and a
// subscription with two root fields is a validation error, not an
// internal one.
func TestBadSocketMessages(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "bad-messages")
	for _, proto := range []string{apitest.TransportWS, apitest.LegacyWS} {
		ws, err := s.DialSocket(t, proto, nil)
		if err != nil {
			t.Fatal(err)
		}
		ws.Send(t, apitest.Message{Type: "connection_init", Payload: []byte(`5`)})
		if code, _ := ws.Closed(t, wait); code == -1 {
			t.Errorf("%s: a payload of 5 left the socket open", proto)
		}
	}
	ws, err := s.DialSocket(t, apitest.TransportWS, bearer(token))
	if err != nil {
		t.Fatal(err)
	}
	ws.MustInit(t, nil)
	ws.Subscribe(t, "2", `subscription { todoChanged { kind } again: todoChanged { kind } }`)
	m, ok := ws.Next(t, wait)
	if !ok || !strings.Contains(string(m.Payload), "GRAPHQL_VALIDATION_FAILED") {
		t.Errorf("two root fields: got %s %s, want GRAPHQL_VALIDATION_FAILED", m.Type, m.Payload)
	}
	if strings.Contains(s.Logs.String(), "must subscribe to exactly one stream") {
		t.Error("the server logged an internal error for it")
	}
}

// TestBadHandshakesGetACode: handshakes the WebSocket library would
// refuse are answered in GraphQL's error shape with BAD_REQUEST.
func TestBadHandshakesGetACode(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"short key", map[string]string{"Sec-WebSocket-Key": "abc"}},
		{"version 12", map[string]string{"Sec-WebSocket-Version": "12"}},
		{"unknown subprotocol", map[string]string{"Sec-WebSocket-Protocol": "mqtt"}},
		{"no key", map[string]string{"Sec-WebSocket-Key": ""}},
	} {
		req, err := http.NewRequest(http.MethodGet, s.URL(t)+"/query", nil)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
		for k, v := range tc.header {
			h[k] = v
		}
		for k, v := range h {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(b), `"BAD_REQUEST"`) {
			t.Errorf("%s: %d %s %s, want a JSON 400 BAD_REQUEST", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}

// TestSubscriptionWithCloudHostingHeaders: in WeChat Cloud Hosting mode a
// socket whose handshake carries the platform's headers is that openid's
// user, with no token (wx.cloud.connectContainer).
func TestSubscriptionWithCloudHostingHeaders(t *testing.T) {
	s := apitest.New(t, dbtest.PostgresURL(t), apitest.Options{CloudHosting: true})
	h := http.Header{"X-Wx-Source": {"wx_client"}, "X-Wx-Appid": {wechattest.AppID}, "X-Wx-Openid": {"oid-live-cloud"}}
	ws, err := s.DialSocket(t, apitest.TransportWS, h)
	if err != nil {
		t.Fatal(err)
	}
	ws.MustInit(t, nil)
	ws.Subscribe(t, "1", subscription)
	waitSubscribed(t, s, 1)
	var d struct{ CreateTodo struct{ ID string } }
	s.OK(t, createTodo, &d, apitest.Vars(map[string]any{"title": "by header"}),
		apitest.Header("X-WX-SOURCE", "wx_client"), apitest.Header("X-WX-APPID", wechattest.AppID), apitest.Header("X-WX-OPENID", "oid-live-cloud"))
	if got := ws.NextChange(t, "1", wait); got.ID == nil || *got.ID != d.CreateTodo.ID {
		t.Errorf("got %+v, want CREATED %s", got, d.CreateTodo.ID)
	}
}

// stuckStore is a todo store whose list waits until its request ends.
type stuckStore struct{ todo.Store }

func (stuckStore) List(ctx context.Context, _ int64, _ todo.Filter, _ int64, _ int) ([]*todo.Todo, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestQueriesOverSocketsAndStreamsHaveTheRequestDeadline: a query sent
// over a socket, or as an SSE stream, ends at REQUEST_TIMEOUT with
// TIMEOUT as it would over plain HTTP; only subscriptions outlive it.
func TestQueriesOverSocketsAndStreamsHaveTheRequestDeadline(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{RequestTimeout: 300 * time.Millisecond,
		Resolver: func(r *graph.Resolver) { r.TodoService.Store = stuckStore{r.TodoService.Store} }})
	token, _ := s.Login(t, "slow-lists")
	ws, err := s.DialSocket(t, apitest.TransportWS, bearer(token))
	if err != nil {
		t.Fatal(err)
	}
	ws.MustInit(t, nil)
	ws.Subscribe(t, "q", `{ todos { edges { node { id } } } }`)
	m, ok := ws.Next(t, 5*time.Second)
	if !ok || !strings.Contains(string(m.Payload), `"TIMEOUT"`) {
		t.Errorf("socket: got %s %s, want a TIMEOUT within 5s", m.Type, m.Payload)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(sseRequest(t, s, token, "{ todos { edges { node { id } } } }"))
	if err != nil {
		t.Fatalf("SSE query: %v (no deadline?)", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(b), `"TIMEOUT"`) {
		t.Errorf("SSE query: %q, %v; want a TIMEOUT", b, err)
	}
}

// TestSSEStreamThatStopsReadingIsCutOff: an SSE client that reads
// nothing holds its handler no longer than the write timeout.
func TestSSEStreamThatStopsReadingIsCutOff(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{Live: graph.LiveOptions{WriteTimeout: 300 * time.Millisecond}})
	token, userID := s.Login(t, "sse-never-reads")
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) }) //nolint:errcheck // best effort
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	resp, err := client.Do(sseRequest(t, s, token, "subscription { todoChanged { kind todo { title } } }"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // never read
	waitSubscribed(t, s, 1)
	id, _ := strconv.ParseInt(userID, 10, 64)
	title := strings.Repeat("x", 200)
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; ; n++ {
		if sockets, _ := s.Hub.Counts(); sockets == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a stream that reads nothing is still open after 10s of events")
		}
		s.Hub.Publish(live.Change{UserID: id, Kind: live.Created, TodoID: int64(n + 1), Todo: &todo.Todo{ID: int64(n + 1), Title: title}, Version: int64(n + 1)})
		if n%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestMergeReachesSubscribers: when a late unionid merges two persons,
// the kept person's devices learn of the todos that joined their list
// (each as CREATED on PostgreSQL, where the moves notify every instance;
// a RESYNC on SQLite), with the list's new count, and the removed
// person's sockets close as their session ended there (4401); the token
// goes on, as the kept person.
func TestMergeReachesSubscribers(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{Apps: []string{wechattest.AppID, wechattest.OtherAppID}})
		kept, _ := s.LoginTo(t, wechattest.AppID, "max")
		s.WeChat.On("max-b", wechattest.Reply{As: "max", NoUnionID: true})
		removed, _ := s.LoginTo(t, wechattest.OtherAppID, "max-b")
		create(t, s, kept, "k1")
		create(t, s, removed, "r1")
		create(t, s, removed, "r2")

		keptWS := subscribe(t, s, apitest.TransportWS, kept)
		defer keptWS.Close()
		removedWS, err := s.DialSocket(t, apitest.TransportWS, bearer(removed))
		if err != nil {
			t.Fatal(err)
		}
		removedWS.MustInit(t, nil)
		removedWS.Subscribe(t, "1", subscription)
		waitSubscribed(t, s, 2)

		s.WeChat.On("max-b-bound", wechattest.Reply{As: "max"})
		s.LoginTo(t, wechattest.OtherAppID, "max-b-bound")

		c := keptWS.NextChange(t, "1", wait)
		if strings.HasPrefix(url, "sqlite") {
			if c.Kind != "RESYNC" || c.TotalCount != 3 {
				t.Errorf("kept person's socket: got %+v, want a RESYNC with totalCount 3", c)
			}
		} else {
			next := keptWS.NextChange(t, "1", wait)
			if c.Kind != "CREATED" || next.Kind != "CREATED" || next.TotalCount != 3 || c.Todo == nil || !strings.HasPrefix(c.Todo.Title, "r") {
				t.Errorf("kept person's socket: got %+v then %+v, want two CREATED of the moved todos, ending at totalCount 3", c, next)
			}
		}
		if code, _ := removedWS.Closed(t, wait); code != 4401 {
			t.Errorf("the removed person's socket: close code %d, want 4401", code)
		}
		if _, total := list(t, s, removed); total != 3 {
			t.Errorf("the removed person's token lists %d todos, want the kept list's 3", total)
		}
	})
}
