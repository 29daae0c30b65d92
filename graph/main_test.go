package graph_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// serve sends a raw request to h; its answer must be a GraphQL-shaped
// JSON body. For bodies gqlgen's client cannot build (malformed JSON, odd
// variables), which is all it is used for.
func serve(tb testing.TB, h http.Handler, req *http.Request) *apitest.Response {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := &apitest.Response{Status: rec.Code, Raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), r); err != nil {
		tb.Fatalf("%s %s: answer is not JSON (status %d): %s", req.Method, req.URL, rec.Code, r.Raw)
	}
	return r
}
