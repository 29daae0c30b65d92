package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"wxtodo/errcode"
	"wxtodo/playground"
	"wxtodo/web"
)

func TestPlaygroundOnlyWhenEnabled(t *testing.T) {
	t.Run("with a playground", func(t *testing.T) {
		srv := newServer(web.Config{Playground: playground.New(playground.Options{Endpoint: web.GraphQLPath})})
		r := get(t, srv, "/")
		if r.status != http.StatusOK {
			t.Fatalf("GET /: got status %d, want 200: %.200s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET /: got Content-Type %q, want text/html", ct)
		}
		if !strings.Contains(r.body, "/query") {
			t.Errorf("GET /: the page does not point at /query: %.300s", r.body)
		}
		// Only / is the playground: other paths stay 404.
		for _, path := range []string{"/nope", "/index.html", "/query/x"} {
			if r := get(t, srv, path); r.status != http.StatusNotFound {
				t.Errorf("GET %s: got status %d, want 404", path, r.status)
			}
		}
	})
	t.Run("without a playground", func(t *testing.T) {
		srv := newServer(web.Config{})
		for _, path := range []string{"/", "/playground/", "/nope"} {
			if r := get(t, srv, path); r.status != http.StatusNotFound {
				t.Errorf("GET %s: got status %d, want 404: %.200s", path, r.status, r.body)
			}
		}
	})
}

func TestMetricsRouteLabels(t *testing.T) {
	m := &fakeMetrics{}
	srv := newServer(web.Config{
		Metrics:    m,
		Playground: fakePlayground{},
		DevSample:  devSample(func(context.Context) (string, string, error) { return "enc", "iv", nil }),
		// Not ready, so that /readyz records a status of its own.
		Ready: func(context.Context) error { return errors.New("database down") },
	})
	for _, tt := range []struct {
		method, path string
		wantRoute    string
		wantStatus   int
	}{
		{http.MethodPost, "/query", "/query", http.StatusOK},
		{http.MethodPut, "/query", "/query", http.StatusMethodNotAllowed},
		{http.MethodGet, "/healthz", "/healthz", http.StatusOK},
		{http.MethodGet, "/readyz", "/readyz", http.StatusServiceUnavailable},
		{http.MethodGet, "/metrics", "/metrics", http.StatusOK},
		{http.MethodGet, "/", "/", http.StatusOK},
		{http.MethodGet, "/playground/graphiql.min.js", "/playground/", http.StatusOK},
		{http.MethodGet, "/dev/sample-encrypted-data", "/dev/sample-encrypted-data", http.StatusOK},
		// Scanners probing random paths add no series.
		{http.MethodGet, "/wp-login.php", "other", http.StatusNotFound},
		{http.MethodGet, "/healthz/x", "other", http.StatusNotFound},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{"query":"{ __typename }"}`))
			req.Header.Set("Content-Type", "application/json")
			serve(t, srv, req)
			got := m.observations()
			want := []observation{{tt.wantRoute, tt.wantStatus}}
			if !slices.Equal(got, want) {
				t.Errorf("got ObserveHTTP calls %v, want %v", got, want)
			}
		})
	}
}

func TestDevSample(t *testing.T) {
	const path = "/dev/sample-encrypted-data"
	t.Run("absent without a DevSample", func(t *testing.T) {
		if r := get(t, newServer(web.Config{}), path); r.status != http.StatusNotFound {
			t.Errorf("GET %s: got status %d, want 404: %s", path, r.status, r.body)
		}
	})
	for _, tt := range []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"without a caller", errcode.Unauth(errcode.ReasonMissingToken, "sign in"), http.StatusUnauthorized, errcode.Unauthenticated},
		{"without a session_key", &errcode.Error{Code: errcode.SessionKeyStale, Message: "log in again"}, http.StatusConflict, errcode.SessionKeyStale},
		{"on an internal error", errors.New("seal: cipher: message authentication failed"), http.StatusInternalServerError, errcode.Internal},
		{"on a wrapped internal error", fmt.Errorf("sample: %w", errors.New("boom")), http.StatusInternalServerError, errcode.Internal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(web.Config{DevSample: devSample(func(context.Context) (string, string, error) { return "", "", tt.err })})
			r := get(t, srv, path)
			if r.status != tt.wantStatus {
				t.Errorf("got status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if got := r.errorCode(); got != tt.wantCode {
				t.Errorf("got errors[0].extensions.code %q, want %q: %s", got, tt.wantCode, r.body)
			}
			if tt.wantCode == errcode.Internal && (strings.Contains(r.body, "cipher") || strings.Contains(r.body, "boom")) {
				t.Errorf("the answer reveals the internal error: %s", r.body)
			}
		})
	}
	t.Run("success", func(t *testing.T) {
		srv := newServer(web.Config{DevSample: devSample(func(context.Context) (string, string, error) {
			return "c2FtcGxl", "aXY=", nil
		})})
		r := get(t, srv, path)
		if r.status != http.StatusOK {
			t.Fatalf("got status %d, want 200: %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("got Content-Type %q, want application/json", ct)
		}
		var b struct {
			EncryptedData string `json:"encryptedData"`
			IV            string `json:"iv"`
		}
		if err := json.Unmarshal([]byte(r.body), &b); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if b.EncryptedData != "c2FtcGxl" || b.IV != "aXY=" {
			t.Errorf("got encryptedData %q, iv %q; want %q, %q", b.EncryptedData, b.IV, "c2FtcGxl", "aXY=")
		}
	})
}

// authMarker is what the fake Auth puts into a request's context.
type authMarker struct{}

func TestAuthWrapsCallerRoutes(t *testing.T) {
	var mu sync.Mutex
	var wrapped []string // the paths of requests that went through Auth
	seen := map[string]bool{}
	see := func(who string, ctx context.Context) {
		mu.Lock()
		defer mu.Unlock()
		seen[who] = ctx.Value(authMarker{}) != nil
	}
	srv := newServer(web.Config{
		Auth: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				wrapped = append(wrapped, r.URL.Path)
				mu.Unlock()
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authMarker{}, true)))
			})
		},
		GraphQL: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			see("GraphQL", r.Context())
			w.Write([]byte(`{"data":{}}`)) //nolint:errcheck // a recorder does not fail
		}),
		DevSample: devSample(func(ctx context.Context) (string, string, error) {
			see("DevSample", ctx)
			return "enc", "iv", nil
		}),
		Metrics:    &fakeMetrics{},
		Playground: fakePlayground{},
	})
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/", "/playground/x.js"} {
		if r := get(t, srv, path); r.status != http.StatusOK {
			t.Fatalf("GET %s: got status %d, want 200: %s", path, r.status, r.body)
		}
	}
	if r := postJSON(t, srv, "/query", `{"query":"{ __typename }"}`); r.status != http.StatusOK {
		t.Fatalf("POST /query: got status %d, want 200: %s", r.status, r.body)
	}
	if r := get(t, srv, "/dev/sample-encrypted-data"); r.status != http.StatusOK {
		t.Fatalf("GET /dev/sample-encrypted-data: got status %d, want 200: %s", r.status, r.body)
	}
	for _, who := range []string{"GraphQL", "DevSample"} {
		if !seen[who] {
			t.Errorf("%s: got a context without Auth's credentials, want Auth to wrap it", who)
		}
	}
	if want := []string{"/query", "/dev/sample-encrypted-data"}; !slices.Equal(wrapped, want) {
		t.Errorf("got Auth wrapping %q, want only %q", wrapped, want)
	}
}
