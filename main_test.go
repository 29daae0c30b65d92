package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"wxtodo/db/dbtest"
	"wxtodo/secret"
	"wxtodo/wechat/wechattest"
)

func TestMain(m *testing.M) {
	// The fault tests run the server as a child process: this test binary,
	// re-executed with WXTODO_TEST_SERVE=1, is the server.
	if os.Getenv("WXTODO_TEST_SERVE") == "1" {
		main()
		return
	}
	os.Exit(dbtest.Run(m))
}

// env is a wired server behind httptest, on a real database, with a fake
// jscode2session.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	wx    *wechattest.Fake
	app   *app
	cfg   *config
	logs  *syncBuffer
	sqldb *sql.DB // the test's own view of the database
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv starts a server on databaseURL; vars override the environment it
// is configured from.
func newEnv(tb testing.TB, databaseURL string, vars ...string) *env {
	tb.Helper()
	wx := wechattest.New(tb)
	envv := map[string]string{
		"DATABASE_URL":          databaseURL,
		"WECHAT_APPID":          wechattest.AppID,
		"WECHAT_SECRET":         wechattest.Secret,
		"WECHAT_API_BASE":       wx.URL,
		"WECHAT_TIMEOUT":        "2s",
		"LOGIN_RATE_PER_MINUTE": "0",
		"LOG_LEVEL":             "debug",
		"DATA_KEY":              secret.NewKey(),
	}
	for i := 0; i+1 < len(vars); i += 2 {
		envv[vars[i]] = vars[i+1]
	}
	cfg, err := loadConfig(func(k string) string { return envv[k] }, nil)
	if err != nil {
		tb.Fatalf("config: %v", err)
	}
	return startEnv(tb, cfg, wx)
}

func startEnv(tb testing.TB, cfg *config, wx *wechattest.Fake) *env {
	tb.Helper()
	logs := &syncBuffer{}
	a, err := newApp(context.Background(), cfg, newLogger(logs, cfg.LogLevel))
	if err != nil {
		tb.Fatalf("newApp: %v", err)
	}
	srv := httptest.NewServer(a.Handler)
	tb.Cleanup(func() {
		srv.Close()
		a.Close()
		if tb.Failed() {
			tb.Logf("server log:\n%s", logs.String())
		}
	})
	return &env{t: tb, srv: srv, wx: wx, app: a, cfg: cfg, logs: logs, sqldb: dbtest.Open(tb, cfg.DatabaseURL)}
}

// another starts a second server instance on the same database and fake
// WeChat, as a second process behind a load balancer would be.
func (e *env) another() *env {
	e.t.Helper()
	return startEnv(e.t, e.cfg, e.wx)
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Status int
	Raw    string
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// ext returns extensions[key] of the first error, or "".
func (r *gqlResponse) ext(key string) string {
	if len(r.Errors) == 0 {
		return ""
	}
	v, ok := r.Errors[0].Extensions[key]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

func (r *gqlResponse) code() string { return r.ext("code") }

// decode unmarshals data into v.
func (r *gqlResponse) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		tb.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// post sends a GraphQL request with an optional bearer token.
func (e *env) post(token, query string, vars map[string]any) *gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) *gqlResponse {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST /query: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &gqlResponse{Status: resp.StatusCode, Raw: string(raw)}
	if err := json.Unmarshal(raw, r); err != nil {
		e.t.Fatalf("response is not JSON (status %d): %s", resp.StatusCode, raw)
	}
	return r
}

// ok sends a request that must succeed and decodes its data into v.
func (e *env) ok(token, query string, vars map[string]any, v any) {
	e.t.Helper()
	r := e.post(token, query, vars)
	if len(r.Errors) > 0 {
		e.t.Fatalf("unexpected errors: %s", r.Raw)
	}
	if v != nil {
		r.decode(e.t, v)
	}
}

// fails sends a request that must fail with code (and, if given, reason).
func (e *env) fails(token, query string, vars map[string]any, code string) *gqlResponse {
	e.t.Helper()
	r := e.post(token, query, vars)
	if got := r.code(); got != code {
		e.t.Fatalf("got code %q, want %q: %s", got, code, r.Raw)
	}
	return r
}

const loginMutation = `mutation($code: String!) { login(input: {code: $code}) { token expiresAt isNewUser user { id nickname avatarUrl createdAt } } }`

type loginData struct {
	Login struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expiresAt"`
		IsNewUser bool   `json:"isNewUser"`
		User      struct {
			ID        string `json:"id"`
			Nickname  string `json:"nickname"`
			AvatarURL string `json:"avatarUrl"`
			CreatedAt string `json:"createdAt"`
		} `json:"user"`
	} `json:"login"`
}

// login signs in with code and returns the token and user ID.
func (e *env) login(code string) (token, userID string) {
	e.t.Helper()
	var d loginData
	e.ok("", loginMutation, map[string]any{"code": code}, &d)
	return d.Login.Token, d.Login.User.ID
}

// count returns the number of rows of a table.
func (e *env) count(table, where string, args ...any) int {
	e.t.Helper()
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := e.sqldb.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func contains(haystack, needle string) bool { return strings.Contains(haystack, needle) }
