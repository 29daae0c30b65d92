// Package apitest runs wxtodo's GraphQL API for tests: Client sends real
// GraphQL documents through an HTTP handler with gqlgen's client package,
// and New serves the API the way server.go wires it (web, graph and the
// services on a real SQLite or PostgreSQL database) with a fake WeChat at
// the edge. Each domain's specs use it beside their own code; what needs
// the whole process (configuration, shutdown, several instances) is
// tested in package main.
//
// Every helper that can fail takes the test's testing.TB first; Send,
// which never fails a test, is for goroutines.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/client"
)

// Client sends GraphQL requests to a handler, in process. Requests are
// gqlgen client's, built with its options; unlike its Post, an answer
// with an HTTP error status (422 for a document that does not parse or
// validate) is a response too.
type Client struct {
	h http.Handler
}

// NewClient returns a client of the GraphQL endpoint (/query) of h.
func NewClient(h http.Handler) *Client { return &Client{h: h} }

// An Option changes one request: its variables, its headers (gqlgen's
// client.Var, client.AddHeader, ... are options too).
type Option = client.Option

// Vars sends vars as the request's variables.
func Vars(vars map[string]any) Option {
	return func(r *client.Request) { r.Variables = vars }
}

// As sends token as the request's bearer token ("" sends none).
func As(token string) Option {
	return func(r *client.Request) {
		if token != "" {
			r.HTTP.Header.Set("Authorization", "Bearer "+token)
		}
	}
}

// Context sends the request with ctx: cancel it to play a client that
// goes away mid-request.
func Context(ctx context.Context) Option {
	return func(r *client.Request) { r.HTTP = r.HTTP.WithContext(ctx) }
}

// Header sets a request header to value, verbatim.
func Header(key, value string) Option { return client.AddHeader(key, value) }

// Error is one GraphQL error of a response.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Response is a GraphQL answer.
type Response struct {
	Status int             `json:"-"` // the HTTP status
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	// Raw is the whole answer as JSON, for error messages and for
	// checking what it must not contain.
	Raw string `json:"-"`
}

// Ext returns extensions[key] of the first error as text, or "".
func (r *Response) Ext(key string) string {
	if len(r.Errors) == 0 {
		return ""
	}
	v, ok := r.Errors[0].Extensions[key]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// Code returns the first error's extensions.code, or "".
func (r *Response) Code() string { return r.Ext("code") }

// Decode unmarshals the response's data into v.
func (r *Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		tb.Fatalf("decode data %s: %v", r.Data, err)
	}
}

// Send sends a GraphQL request. It fails no test, so goroutines may call
// it; an error means the answer was not a GraphQL response.
func (c *Client) Send(query string, opts ...Option) (*Response, error) {
	req := &client.Request{Query: query, HTTP: httptest.NewRequest(http.MethodPost, "/query", http.NoBody)}
	req.HTTP.Header.Set("Content-Type", "application/json")
	for _, opt := range opts {
		opt(req)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	req.HTTP.Body, req.HTTP.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req.HTTP)
	r := &Response{Status: rec.Code, Raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), r); err != nil {
		return nil, fmt.Errorf("http %d: not a GraphQL response: %s", rec.Code, r.Raw)
	}
	return r, nil
}

// Post sends a GraphQL request whose answer must be a GraphQL response.
func (c *Client) Post(tb testing.TB, query string, opts ...Option) *Response {
	tb.Helper()
	r, err := c.Send(query, opts...)
	if err != nil {
		tb.Fatalf("POST /query: %v", err)
	}
	return r
}

// OK sends a request that must succeed and decodes its data into v (when
// v is not nil).
func (c *Client) OK(tb testing.TB, query string, v any, opts ...Option) *Response {
	tb.Helper()
	r := c.Post(tb, query, opts...)
	if len(r.Errors) > 0 {
		tb.Fatalf("unexpected errors: %s", r.Raw)
	}
	if v != nil {
		r.Decode(tb, v)
	}
	return r
}

// Fails sends a request whose first error must have code.
func (c *Client) Fails(tb testing.TB, query, code string, opts ...Option) *Response {
	tb.Helper()
	r := c.Post(tb, query, opts...)
	if got := r.Code(); got != code {
		tb.Fatalf("got code %q, want %q: %s", got, code, r.Raw)
	}
	return r
}

// LoginMutation signs in with the variable $code.
const LoginMutation = `mutation($code: String!) { login(input: {code: $code}) { token expiresAt isNewUser user { id nickname avatarUrl createdAt } } }`

// LoginData is the data of LoginMutation.
type LoginData struct {
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

// Login signs in with code, which must succeed, and returns the token and
// the user's ID.
func (c *Client) Login(tb testing.TB, code string) (token, userID string) {
	tb.Helper()
	var d LoginData
	c.OK(tb, LoginMutation, &d, Vars(map[string]any{"code": code}))
	return d.Login.Token, d.Login.User.ID
}

// LoginAppMutation signs in to the app $appId with the variable $code.
const LoginAppMutation = `mutation($code: String!, $appId: String) { login(input: {code: $code, appId: $appId}) { token expiresAt isNewUser user { id nickname avatarUrl createdAt } } }`

// LoginTo signs in to the app appID with code, which must succeed, and
// returns the token and the user's ID.
func (c *Client) LoginTo(tb testing.TB, appID, code string) (token, userID string) {
	tb.Helper()
	var d LoginData
	c.OK(tb, LoginAppMutation, &d, Vars(map[string]any{"code": code, "appId": appID}))
	return d.Login.Token, d.Login.User.ID
}

// Logs collects what a server logs; it is safe for concurrent use.
type Logs struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
