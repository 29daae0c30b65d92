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

func TestHealthAndReadiness(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for _, tt := range []struct{ path, status string }{
			{"/healthz", "ok"},
			{"/readyz", "ready"},
		} {
			t.Run(tt.path, func(t *testing.T) {
				r := getHTTP(t, e, tt.path)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: got status %d, want 200: %s", tt.path, r.status, r.body)
				}
				var b struct{ Status string }
				if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.Status != tt.status {
					t.Errorf("GET %s: got body %s, want status %q", tt.path, r.body, tt.status)
				}
			})
		}
	})
}

func TestReadinessFollowsDatabase(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		if r := getHTTP(t, e, "/readyz"); r.status != http.StatusOK {
			t.Fatalf("GET /readyz: got status %d, want 200: %s", r.status, r.body)
		}
		e.app.DB.Close() // the app's Close at cleanup closes it again, harmlessly
		r := getHTTP(t, e, "/readyz")
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz without a database: got status %d, want 503: %s", r.status, r.body)
		}
		if strings.Contains(r.body, url) {
			t.Errorf("GET /readyz reveals DATABASE_URL: %s", r.body)
		}
		if r := getHTTP(t, e, "/healthz"); r.status != http.StatusOK {
			t.Errorf("GET /healthz without a database: got status %d, want 200 (the process is alive)", r.status)
		}
	})
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

func TestQueryEndpointRejectsBadBodies(t *testing.T) {
	post := func(e *env, contentType string, body io.Reader, length int64) httpResult {
		e.t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", body)
		req.ContentLength = length
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return sendHTTP(e.t, req)
	}
	valid := `{"query":"{ __typename }"}`
	big := func() string {
		// Valid JSON, so only its size is at fault.
		return `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`
	}
	tests := []struct {
		name        string
		contentType string
		body        func() string
		chunked     bool
		wantStatus  int
		wantCode    string
	}{
		{"text/plain", "text/plain", func() string { return valid }, false, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{"no content type", "", func() string { return valid }, false, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{"form", "application/x-www-form-urlencoded", func() string { return "query=%7B__typename%7D" }, false, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{"malformed JSON", "application/json", func() string { return `{"query": "{ __typename }"` }, false, http.StatusBadRequest, "BAD_REQUEST"},
		{"not JSON at all", "application/json", func() string { return `query { __typename }` }, false, http.StatusBadRequest, "BAD_REQUEST"},
		{"over 1 MiB with Content-Length", "application/json", big, false, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE"},
		{"over 1 MiB chunked", "application/json", big, true, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE"},
	}
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := bindT(e, t)
				body := tt.body()
				var r httpResult
				if tt.chunked {
					// A reader of unknown length: sent chunked, without Content-Length.
					r = post(e, tt.contentType, io.MultiReader(strings.NewReader(body)), -1)
				} else {
					r = post(e, tt.contentType, strings.NewReader(body), int64(len(body)))
				}
				if r.status != tt.wantStatus {
					t.Errorf("got status %d, want %d: %.300s", r.status, tt.wantStatus, r.body)
				}
				if got := r.errorCode(); got != tt.wantCode {
					t.Errorf("got errors[0].extensions.code %q, want %q: %.300s", got, tt.wantCode, r.body)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("got Content-Type %q, want application/json", ct)
				}
			})
		}
		t.Run("exactly 1 MiB is accepted", func(t *testing.T) {
			e := bindT(e, t)
			head, tail := `{"query":"{ __typename }","variables":{"pad":"`, `"}}`
			body := head + strings.Repeat("x", 1<<20-len(head)-len(tail)) + tail
			if len(body) != 1<<20 {
				t.Fatalf("body is %d bytes, want %d", len(body), 1<<20)
			}
			r := post(e, "application/json", strings.NewReader(body), int64(len(body)))
			if r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
				t.Errorf("got status %d, body %.300s; want 200 with data", r.status, r.body)
			}
		})
		t.Run("method other than GET and POST", func(t *testing.T) {
			e := bindT(e, t)
			req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/query", strings.NewReader(valid))
			req.Header.Set("Content-Type", "application/json")
			r := sendHTTP(t, req)
			if r.status != http.StatusMethodNotAllowed || r.errorCode() != "METHOD_NOT_ALLOWED" {
				t.Errorf("PUT /query: got status %d, code %q; want 405 METHOD_NOT_ALLOWED: %s", r.status, r.errorCode(), r.body)
			}
		})
		t.Run("JSON with a charset is accepted", func(t *testing.T) {
			e := bindT(e, t)
			r := post(e, "application/json; charset=utf-8", strings.NewReader(valid), int64(len(valid)))
			if r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
				t.Errorf("got status %d, body %s; want 200 with data", r.status, r.body)
			}
		})
		t.Run("server keeps answering", func(t *testing.T) {
			e := bindT(e, t)
			var d struct {
				Typename string `json:"__typename"`
			}
			e.ok("", `{ __typename }`, nil, &d)
			if d.Typename != "Query" {
				t.Errorf("got __typename %q, want Query", d.Typename)
			}
			token, _ := e.login("after-bad-bodies")
			meID(e, token)
			if r := getHTTP(t, e, "/readyz"); r.status != http.StatusOK {
				t.Errorf("GET /readyz: got status %d, want 200", r.status)
			}
		})
	})
}
