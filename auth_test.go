package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
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
