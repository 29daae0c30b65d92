package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestQueryEndpointRejectsBadBodies(t *testing.T) {
	// post sends body to /query; length -1 sends it chunked, as a reader
	// of unknown length is.
	post := func(tb testing.TB, s *apitest.Server, contentType string, body io.Reader, length int64) result {
		tb.Helper()
		req := httptest.NewRequest(http.MethodPost, "/query", body)
		req.ContentLength = length
		if length < 0 {
			req.TransferEncoding = []string{"chunked"}
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return serve(tb, s.Handler, req)
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
		s := apitest.New(t, url, apitest.Options{})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := tt.body()
				var r result
				if tt.chunked {
					// A reader of unknown length: no Content-Length.
					r = post(t, s, tt.contentType, io.MultiReader(strings.NewReader(body)), -1)
				} else {
					r = post(t, s, tt.contentType, strings.NewReader(body), int64(len(body)))
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
			head, tail := `{"query":"{ __typename }","variables":{"pad":"`, `"}}`
			body := head + strings.Repeat("x", 1<<20-len(head)-len(tail)) + tail
			if len(body) != 1<<20 {
				t.Fatalf("body is %d bytes, want %d", len(body), 1<<20)
			}
			for _, chunked := range []bool{false, true} {
				length := int64(len(body))
				if chunked {
					length = -1
				}
				r := post(t, s, "application/json", strings.NewReader(body), length)
				if r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
					t.Errorf("chunked %v: got status %d, body %.300s; want 200 with data", chunked, r.status, r.body)
				}
			}
		})
		t.Run("method other than GET and POST", func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPut, "/query", strings.NewReader(valid))
			req.Header.Set("Content-Type", "application/json")
			r := serve(t, s.Handler, req)
			if r.status != http.StatusMethodNotAllowed || r.errorCode() != "METHOD_NOT_ALLOWED" {
				t.Errorf("PUT /query: got status %d, code %q; want 405 METHOD_NOT_ALLOWED: %s", r.status, r.errorCode(), r.body)
			}
			if got := r.header.Get("Allow"); got != "GET, POST" {
				t.Errorf("PUT /query: got Allow %q, want %q", got, "GET, POST")
			}
		})
		t.Run("JSON with a charset is accepted", func(t *testing.T) {
			r := post(t, s, "application/json; charset=utf-8", strings.NewReader(valid), int64(len(valid)))
			if r.status != http.StatusOK || !strings.Contains(r.body, `"__typename":"Query"`) {
				t.Errorf("got status %d, body %s; want 200 with data", r.status, r.body)
			}
		})
		t.Run("server keeps answering", func(t *testing.T) {
			var d struct {
				Typename string `json:"__typename"`
			}
			s.OK(t, `{ __typename }`, &d)
			if d.Typename != "Query" {
				t.Errorf("got __typename %q, want Query", d.Typename)
			}
			token, userID := s.Login(t, "after-bad-bodies")
			var me struct {
				Me struct {
					ID string `json:"id"`
				} `json:"me"`
			}
			s.OK(t, `{ me { id nickname avatarUrl createdAt } }`, &me, apitest.As(token))
			if me.Me.ID != userID {
				t.Errorf("got me.id %q, want %q", me.Me.ID, userID)
			}
			if r := get(t, s.Handler, "/readyz"); r.status != http.StatusOK {
				t.Errorf("GET /readyz: got status %d, want 200", r.status)
			}
		})
	})
}
