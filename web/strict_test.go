package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

// secret is in every refused request below: no answer may echo it.
const secret = "s3cr3t-marker"

func TestQueryEndpointRefusesAmbiguousRequests(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "strict")
	t.Run("POST", func(t *testing.T) {
		tests := []struct{ name, body string }{
			{"an array", `["` + secret + `"]`},
			{"a string", `"` + secret + `"`},
			{"a number", `5`},
			{"null", `null`},
			{"two objects", `{"query":"{ __typename }"}{"x":"` + secret + `"}`},
			{"a key twice", `{"query":"{ __typename }","query":"{ me { id } }","x":"` + secret + `"}`},
			// encoding/json matches names case-insensitively: another case
			// would skip the kind checks, or win over the member itself.
			{"a member in another case", `{"Query":5,"x":"` + secret + `"}`},
			{"a member with a long s", `{"query":"{ __typename }","variableſ":[1],"x":"` + secret + `"}`},
			{"a member twice, in two cases", `{"query":"{ me { id } }","QUERY":"{ __typename }","x":"` + secret + `"}`},
			{"a key twice in variables", `{"query":"{ __typename }","variables":{"a":"` + secret + `","a":2}}`},
			{"a key twice deep down", `{"query":"{ __typename }","variables":{"a":[{"b":{"c":1,"c":"` + secret + `"}}]}}`},
			{"invalid UTF-8", "{\"query\":\"{ __typename }\",\"variables\":{\"t\":\"" + secret + "\xff\xfe\"}}"},
			{"invalid UTF-8 in the query", "{\"query\":\"mutation { createTodo(input: {title: \\\"\xc3\\\"}) { id } }\",\"x\":\"" + secret + "\"}"},
			{"a lone high surrogate", `{"query":"{ __typename }","variables":{"t":"` + secret + `\ud800"}}`},
			{"a lone low surrogate", `{"query":"{ __typename }","variables":{"t":"\udc00` + secret + `"}}`},
			{"a high surrogate before a non-surrogate", `{"query":"{ __typename }","variables":{"t":"\ud800\u0041` + secret + `"}}`},
			{"query a number", `{"query":5,"x":"` + secret + `"}`},
			{"query an object", `{"query":{"q":"` + secret + `"}}`},
			{"operationName a number", `{"query":"{ __typename }","operationName":5,"x":"` + secret + `"}`},
			{"variables an array", `{"query":"{ __typename }","variables":["` + secret + `"]}`},
			{"variables a string", `{"query":"{ __typename }","variables":"` + secret + `"}`},
			{"extensions a number", `{"query":"{ __typename }","extensions":5,"x":"` + secret + `"}`},
			{"objects nested too deep", `{"query":"{ __typename }","variables":` + strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100) + `,"x":"` + secret + `"}`},
			{"nested too deep", `{"query":"{ __typename }","variables":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `},"x":"` + secret + `"}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				r := serve(t, s.Handler, req)
				wantRefused(t, r)
			})
		}
	})
	t.Run("GET", func(t *testing.T) {
		tests := []struct{ name, query string }{
			{"variables an array", "query=%7B__typename%7D&variables=" + url.QueryEscape(`["`+secret+`"]`)},
			{"variables not JSON", "query=%7B__typename%7D&variables=" + secret},
			{"a key twice in variables", "query=%7B__typename%7D&variables=" + url.QueryEscape(`{"a":1,"a":"`+secret+`"}`)},
			{"extensions a string", "query=%7B__typename%7D&extensions=" + url.QueryEscape(`"`+secret+`"`)},
			{"query twice", "query=%7B__typename%7D&query=%7Bme%7Bid%7D%7D&x=" + secret},
			{"invalid UTF-8 in the query", "query=%7B__typename%20%23%FF%7D&x=" + secret},
			{"invalid UTF-8 in variables", "query=%7B__typename%7D&variables=" + url.QueryEscape("{\"a\":\"\xff"+secret+"\"}")},
			{"a malformed query string", "query=%7B__typename%7D&x=%zz" + secret},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodGet, "/query?"+tt.query, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				wantRefused(t, serve(t, s.Handler, req))
			})
		}
	})
	t.Run("what is sound still runs", func(t *testing.T) {
		for _, body := range []string{
			`{"query":"{ __typename }"}`,
			`{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}`,
			`{"query":"{ __typename }","variables":{"a":{"a":1},"b":[{"a":1},{"a":2}]}}`,
			`{"query":"{ __typename }","variables":{"t":"\ud83d\ude00 \u00e9 \\ud800 ok"}}`,
			`{"query":"{ __typename }","id":"a client's own member"}`,
		} {
			req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if r := serve(t, s.Handler, req); r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
				t.Errorf("%s: got status %d: %s", body, r.status, r.body)
			}
		}
		for _, q := range []string{
			"query=%7B__typename%7D&variables=" + url.QueryEscape(`{"a":[1,2]}`),
			"query=%7B__typename%7D&variables=null&extensions=null",
		} {
			r := get(t, s.Handler, "/query?"+q)
			if r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
				t.Errorf("GET %s: got status %d: %s", q, r.status, r.body)
			}
		}
	})
}

// wantRefused checks a 400 BAD_REQUEST that says nothing of what was sent.
func wantRefused(tb testing.TB, r result) {
	tb.Helper()
	if r.status != http.StatusBadRequest || r.errorCode() != "BAD_REQUEST" {
		tb.Errorf("got status %d, code %q, want 400 BAD_REQUEST: %.300s", r.status, r.errorCode(), r.body)
	}
	if strings.Contains(r.body, secret) || strings.Contains(r.body, "Go ") || strings.Contains(r.body, "RawParams") {
		tb.Errorf("the answer echoes the request or names Go types: %.300s", r.body)
	}
}

func TestUnknownRoutesAnswerWithACode(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, "NOT_FOUND", ""},
		{http.MethodPost, "/query/extra", http.StatusNotFound, "NOT_FOUND", ""},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "GET, HEAD"},
		{http.MethodDelete, "/readyz", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := serve(t, s.Handler, httptest.NewRequest(tt.method, tt.path, nil))
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Errorf("got status %d, code %q, want %d %s: %s", r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("got Allow %q, want %q", got, tt.allow)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("got Content-Type %q, want JSON", ct)
			}
		})
	}
}
