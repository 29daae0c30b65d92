package graph_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
)

// TestGqlgenCodesAreErrcodes: the codes gqlgen's own extensions send
// (persisted queries, the complexity limit) are the ones errcode lists,
// which the schema documents.
func TestGqlgenCodesAreErrcodes(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "codes")

	t.Run("an unknown persisted query", func(t *testing.T) {
		ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("ab", 32) + `"}}`
		req := httptest.NewRequest(http.MethodGet, "/query?extensions="+url.QueryEscape(ext), nil)
		if r := serve(t, s.Handler, req); r.Code() != errcode.PersistedQueryNotFound {
			t.Errorf("got code %q, want %s: %s", r.Code(), errcode.PersistedQueryNotFound, r.Raw)
		}
	})
	t.Run("an operation over the complexity limit", func(t *testing.T) {
		s.Fails(t, "{"+apitest.Aliases(fullPage, 4)+"}", errcode.ComplexityLimit, apitest.As(token))
	})
}
