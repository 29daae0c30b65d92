package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/errcode"
	"wxtodo/reqctx"
	"wxtodo/web"
)

// contextRecorder is a GraphQL handler that keeps the context of the last
// request it served.
type contextRecorder struct {
	mu  sync.Mutex
	ctx context.Context
}

func (c *contextRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.ctx = r.Context()
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"data":{}}`)) //nolint:errcheck // a recorder does not fail
}

func (c *contextRecorder) last() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctx
}

// sane reports whether id looks like a request ID the server accepts.
func sane(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	return strings.Trim(id, "-_.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

func TestRequestID(t *testing.T) {
	gql := &contextRecorder{}
	srv := newServer(web.Config{GraphQL: gql})
	send := func(tb testing.TB, id string) (header, inContext string) {
		tb.Helper()
		req := httptest.NewRequest(http.MethodGet, "/query?query=%7B__typename%7D", nil)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		r := serve(tb, srv, req)
		if r.status != http.StatusOK {
			tb.Fatalf("got status %d, want 200: %s", r.status, r.body)
		}
		return r.header.Get("X-Request-Id"), reqctx.ID(gql.last())
	}
	for _, id := range []string{
		"abc-123",
		"0f1e2d3c4b5a6978",
		"trace_1.span-2",
		strings.Repeat("a", 64),
	} {
		t.Run("echoes "+id, func(t *testing.T) {
			header, inContext := send(t, id)
			if header != id {
				t.Errorf("got X-Request-Id %q, want the client's %q", header, id)
			}
			if inContext != id {
				t.Errorf("got reqctx.ID %q in the handler, want %q", inContext, id)
			}
		})
	}
	for _, tt := range []struct{ name, id string }{
		{"missing", ""},
		{"too long", strings.Repeat("a", 65)},
		{"with a space", "abc 123"},
		{"with markup", "<script>"},
		{"with a newline escape", `a\nb`},
		{"with a colon", "a:b"},
		{"not ASCII", "ид-запроса"},
	} {
		t.Run("replaces one "+tt.name, func(t *testing.T) {
			header, inContext := send(t, tt.id)
			if header == tt.id || !sane(header) {
				t.Errorf("sent %q: got X-Request-Id %q, want a new, sane ID", tt.id, header)
			}
			if inContext != header {
				t.Errorf("got reqctx.ID %q in the handler, want the answer's %q", inContext, header)
			}
		})
	}
	t.Run("new IDs differ", func(t *testing.T) {
		a, _ := send(t, "")
		b, _ := send(t, "")
		if a == b {
			t.Errorf("two requests without an ID both got %q, want different IDs", a)
		}
	})
	t.Run("on every route", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/nope"} {
			if id := get(t, srv, path).header.Get("X-Request-Id"); !sane(id) {
				t.Errorf("GET %s: got X-Request-Id %q, want one", path, id)
			}
		}
	})
}

func TestPanicAnswersInternalError(t *testing.T) {
	var logs bytes.Buffer
	srv := newServer(web.Config{
		Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		GraphQL: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("panic") {
				panic("nil map in a handler")
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"data":{}}`)) //nolint:errcheck // a recorder does not fail
		}),
	})
	r := get(t, srv, "/query?panic")
	if r.status != http.StatusInternalServerError {
		t.Errorf("got status %d, want 500: %s", r.status, r.body)
	}
	if got := r.errorCode(); got != errcode.Internal {
		t.Errorf("got errors[0].extensions.code %q, want %q: %s", got, errcode.Internal, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	if strings.Contains(r.body, "nil map") {
		t.Errorf("the answer reveals the panic: %s", r.body)
	}
	if !strings.Contains(logs.String(), "nil map in a handler") {
		t.Errorf("the panic is not logged: %s", logs.String())
	}
	// The server keeps serving.
	if r := get(t, srv, "/query"); r.status != http.StatusOK {
		t.Errorf("GET /query after the panic: got status %d, want 200: %s", r.status, r.body)
	}
	if r := get(t, srv, "/healthz"); r.status != http.StatusOK {
		t.Errorf("GET /healthz after the panic: got status %d, want 200", r.status)
	}
}

// TestAbortHandlerPanicsOn checks that http.ErrAbortHandler, a handler's
// way of dropping the connection, reaches net/http instead of becoming a
// 500.
func TestAbortHandlerPanicsOn(t *testing.T) {
	srv := newServer(web.Config{GraphQL: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	})})
	got := func() (p any) {
		defer func() { p = recover() }()
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/query", nil))
		return nil
	}()
	if got != http.ErrAbortHandler {
		t.Errorf("got panic %v, want http.ErrAbortHandler", got)
	}
}

func TestRequestDeadline(t *testing.T) {
	const timeout = 3 * time.Second
	gql := &contextRecorder{}
	srv := newServer(web.Config{GraphQL: gql, RequestTimeout: timeout})
	before := time.Now()
	if r := postJSON(t, srv, "/query", `{"query":"{ __typename }"}`); r.status != http.StatusOK {
		t.Fatalf("got status %d, want 200: %s", r.status, r.body)
	}
	after := time.Now()
	deadline, ok := gql.last().Deadline()
	if !ok {
		t.Fatal("the GraphQL handler got a context without a deadline")
	}
	if deadline.Before(before.Add(timeout)) || deadline.After(after.Add(timeout)) {
		t.Errorf("got a deadline %v after the request, want %v", deadline.Sub(before), timeout)
	}
	// Done with the request, its context is released.
	if err := gql.last().Err(); err == nil {
		t.Errorf("the request's context is still live after the answer, want it cancelled")
	}
}

func TestClientIP(t *testing.T) {
	// httptest.NewRequest comes from 192.0.2.1:1234.
	const peer = "192.0.2.1"
	for _, tt := range []struct {
		name       string
		trustProxy bool
		xff        []string
		realIP     string
		want       string
	}{
		{"the peer without a proxy header", true, nil, "", peer},
		{"the last X-Forwarded-For entry", true, []string{"203.0.113.7, 198.51.100.2"}, "", "198.51.100.2"},
		{"the last entry of the last X-Forwarded-For header", true, []string{"203.0.113.7", "198.51.100.2, 198.51.100.3"}, "", "198.51.100.3"},
		{"an IPv6 entry", true, []string{"2001:db8::1"}, "", "2001:db8::1"},
		{"X-Real-IP without X-Forwarded-For", true, nil, "198.51.100.9", "198.51.100.9"},
		{"X-Real-IP when the last entry is no IP", true, []string{"198.51.100.2, garbage"}, "198.51.100.9", "198.51.100.9"},
		{"the peer when no header holds an IP", true, []string{"garbage"}, "also garbage", peer},
		{"the peer, not X-Forwarded-For, without TrustProxy", false, []string{"203.0.113.7, 198.51.100.2"}, "", peer},
		{"the peer, not X-Real-IP, without TrustProxy", false, nil, "198.51.100.9", peer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gql := &contextRecorder{}
			srv := newServer(web.Config{GraphQL: gql, TrustProxy: tt.trustProxy})
			req := httptest.NewRequest(http.MethodGet, "/query", nil)
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				req.Header.Set("X-Real-IP", tt.realIP)
			}
			if r := serve(t, srv, req); r.status != http.StatusOK {
				t.Fatalf("got status %d, want 200: %s", r.status, r.body)
			}
			if got := reqctx.ClientIP(gql.last()); got != tt.want {
				t.Errorf("X-Forwarded-For %q, X-Real-IP %q: got client IP %q, want %q", tt.xff, tt.realIP, got, tt.want)
			}
		})
	}
}
