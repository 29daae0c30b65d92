package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/web"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// result is a plain HTTP answer.
type result struct {
	status int
	header http.Header
	body   string
}

// errorCode returns errors[0].extensions.code of a JSON error body, or "".
func (r result) errorCode() string {
	var b struct {
		Errors []apitest.Error `json:"errors"`
	}
	if json.Unmarshal([]byte(r.body), &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	code, _ := b.Errors[0].Extensions["code"].(string)
	return code
}

// serve answers req with h, in process.
func serve(tb testing.TB, h http.Handler, req *http.Request) result {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read the answer: %v", req.Method, req.URL.Path, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// get answers GET path with h.
func get(tb testing.TB, h http.Handler, path string) result {
	tb.Helper()
	return serve(tb, h, httptest.NewRequest(http.MethodGet, path, nil))
}

// postJSON answers POST path with a JSON body with h.
func postJSON(tb testing.TB, h http.Handler, path, body string) result {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return serve(tb, h, req)
}

// newServer builds a web.Server from cfg, with quiet defaults for what
// cfg leaves out: a GraphQL handler that answers {"data":{}}, a database
// that is ready, no log and a 15s deadline.
func newServer(cfg web.Config) *web.Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.GraphQL == nil {
		cfg.GraphQL = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"data":{}}`) //nolint:errcheck // a recorder does not fail
		})
	}
	if cfg.Ready == nil {
		cfg.Ready = func(context.Context) error { return nil }
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	return web.New(cfg)
}

// observation is one ObserveHTTP call.
type observation struct {
	route  string
	status int
}

// fakeMetrics records what the server observes and serves a fixed page.
type fakeMetrics struct {
	mu  sync.Mutex
	got []observation
}

func (m *fakeMetrics) ObserveHTTP(route string, status int, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, observation{route, status})
}

func (m *fakeMetrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "# fake metrics\n") //nolint:errcheck // a recorder does not fail
	})
}

// observations returns the calls so far and forgets them.
func (m *fakeMetrics) observations() []observation {
	m.mu.Lock()
	defer m.mu.Unlock()
	got := m.got
	m.got = nil
	return got
}

// fakePlayground serves a page at / and files under /playground/.
type fakePlayground struct{}

func (fakePlayground) AssetPrefix() string { return "/playground/" }

func (fakePlayground) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/playground/") {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, "// asset\n") //nolint:errcheck // a recorder does not fail
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<title>fake playground</title>") //nolint:errcheck // a recorder does not fail
}

// devSample is a web.DevSample made of a function.
type devSample func(ctx context.Context) (encryptedData, iv string, err error)

func (f devSample) SampleEncryptedData(ctx context.Context) (string, string, error) { return f(ctx) }
