package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"wxtodo/db/dbtest"
)

const authMeQuery = `{ me { id nickname avatarUrl createdAt } }`

// bindT returns a copy of e that reports failures to tb, for subtests.
func bindT(e *env, tb testing.TB) *env {
	c := *e
	c.t = tb
	return &c
}

// postAuthorization sends a GraphQL request with the Authorization header
// set to header verbatim (none when header is empty).
func postAuthorization(e *env, header, query string, vars map[string]any) *gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	return e.do(req)
}

// wantUnauthenticated checks that r failed with UNAUTHENTICATED and reason.
func wantUnauthenticated(tb testing.TB, r *gqlResponse, reason string) {
	tb.Helper()
	if got := r.code(); got != "UNAUTHENTICATED" {
		tb.Fatalf("got code %q, want UNAUTHENTICATED: %s", got, r.Raw)
	}
	if got := r.ext("reason"); got != reason {
		tb.Errorf("got reason %q, want %q: %s", got, reason, r.Raw)
	}
}

// meID returns the caller's user ID; the request must succeed.
func meID(e *env, token string) string {
	e.t.Helper()
	var d struct {
		Me struct {
			ID string `json:"id"`
		} `json:"me"`
	}
	e.ok(token, authMeQuery, nil, &d)
	return d.Me.ID
}

// httpResult is a plain HTTP answer.
type httpResult struct {
	status int
	header http.Header
	body   string
}

// errorCode returns errors[0].extensions.code of a JSON error body.
func (h httpResult) errorCode() string {
	var b struct {
		Errors []gqlError `json:"errors"`
	}
	if json.Unmarshal([]byte(h.body), &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	code, _ := b.Errors[0].Extensions["code"].(string)
	return code
}

func sendHTTP(tb testing.TB, req *http.Request) httpResult {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func getHTTP(tb testing.TB, e *env, path string) httpResult {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	return sendHTTP(tb, req)
}

func TestPlaygroundOnlyWhenEnabled(t *testing.T) {
	tests := []struct {
		name       string
		vars       []string
		wantStatus int
	}{
		{"production", nil, http.StatusNotFound},
		{"production with PLAYGROUND=true", []string{"PLAYGROUND", "true"}, http.StatusOK},
		{"development", []string{"WECHAT_APPID", "", "WECHAT_SECRET", ""}, http.StatusOK},
		{"development with PLAYGROUND=false", []string{"WECHAT_APPID", "", "WECHAT_SECRET", "", "PLAYGROUND", "false"}, http.StatusNotFound},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, url, tt.vars...)
				r := getHTTP(t, e, "/")
				if r.status != tt.wantStatus {
					t.Fatalf("GET /: got status %d, want %d: %.200s", r.status, tt.wantStatus, r.body)
				}
				if tt.wantStatus == http.StatusOK {
					if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
						t.Errorf("GET /: got Content-Type %q, want text/html", ct)
					}
					if !strings.Contains(r.body, "/query") {
						t.Errorf("GET /: the page does not point at /query: %.300s", r.body)
					}
				}
				// Only / is the playground: other paths stay 404.
				if r := getHTTP(t, e, "/nope"); r.status != http.StatusNotFound {
					t.Errorf("GET /nope: got status %d, want 404", r.status)
				}
			})
		}
	})
}
