package wxdata_test

import (
	"fmt"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
	"wxtodo/wechat/wechattest"
	"wxtodo/wxdata"
)

// TestWeChatQuotaIsBoundedPerRequestAndUser: aliases cannot multiply the
// calls checkSession and bindPhoneNumber make to WeChat, and requests
// cannot either; what is refused is RATE_LIMITED with a retry hint.
func TestWeChatQuotaIsBoundedPerRequestAndUser(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})

		t.Run("ten aliased checkSessions in one request ask WeChat at most MaxCallsPerRequest times", func(t *testing.T) {
			token, _ := s.Login(t, "alias-checker")
			var doc strings.Builder
			doc.WriteString("query {")
			for i := range 10 {
				fmt.Fprintf(&doc, " c%d: checkSession", i)
			}
			doc.WriteString(" }")
			r := s.Post(t, doc.String(), apitest.As(token))
			if got := s.WeChat.CheckSessionCalls(wechattest.OpenID("alias-checker")); got > wxdata.MaxCallsPerRequest {
				t.Errorf("one request made %d checksession calls, want at most %d", got, wxdata.MaxCallsPerRequest)
			}
			wantLimited(t, r, 10-wxdata.MaxCallsPerRequest)
		})

		t.Run("thirty requests of ten aliases stay within the user's allowance", func(t *testing.T) {
			token, _ := s.Login(t, "flooder")
			var doc strings.Builder
			doc.WriteString("mutation {")
			for i := range 10 {
				fmt.Fprintf(&doc, " p%d: bindPhoneNumber(input: {code: \"flood-%d\"}) { id }", i, i)
			}
			doc.WriteString(" }")
			var last *apitest.Response
			for range 30 {
				last = s.Post(t, doc.String(), apitest.As(token))
			}
			calls := 0
			for i := range 10 {
				calls += s.WeChat.PhoneCalls(fmt.Sprintf("flood-%d", i))
			}
			// The allowance is 5 at once and 20 a minute: well under 300.
			if calls > 25 {
				t.Errorf("30 requests of 10 aliases made %d getuserphonenumber calls, want at most 25", calls)
			}
			wantLimited(t, last, 10)
			// Another user is not held back by the flooder.
			other, _ := s.Login(t, "bystander")
			var got struct{ CheckSession bool }
			s.OK(t, checkQuery, &got, apitest.As(other))
		})
	})
}

// wantLimited checks that r has at least n RATE_LIMITED errors, each with
// a retryAfter of at least one second.
func wantLimited(tb testing.TB, r *apitest.Response, n int) {
	tb.Helper()
	limited := 0
	for _, e := range r.Errors {
		if e.Extensions["code"] != errcode.RateLimited {
			continue
		}
		limited++
		if after, ok := e.Extensions["retryAfter"].(float64); !ok || after < 1 {
			tb.Errorf("RATE_LIMITED without a retryAfter of at least 1 s: %v", e.Extensions)
		}
	}
	if limited < n {
		tb.Errorf("got %d RATE_LIMITED errors, want at least %d: %s", limited, n, r.Raw)
	}
}
