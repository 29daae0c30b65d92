package wxdata_test

import (
	"fmt"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// phoneOf returns the caller's me.phoneNumber, nil when none is bound.
func phoneOf(tb testing.TB, s *apitest.Server, token string) *string {
	tb.Helper()
	var me struct{ Me struct{ PhoneNumber *string } }
	s.OK(tb, phoneQuery, &me, apitest.As(token))
	return me.Me.PhoneNumber
}

// show renders a nullable string for failure messages.
func show(p *string) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *p)
}

func TestBindPhoneNumber(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		// A dozen binds of one user in a row: more than production allows.
		s := apitest.New(t, url, apitest.Options{WeChatTimeout: 500 * time.Millisecond, WeChatCallBurst: 20})
		token, userID := s.Login(t, "hana")
		want := wechattest.PhoneNumber("phone-code-1")
		var got struct {
			BindPhoneNumber struct{ ID, PhoneNumber string }
		}
		s.OK(t, bindPhoneMut, &got, apitest.As(token), codeVars("phone-code-1"))
		if got.BindPhoneNumber.ID != userID || got.BindPhoneNumber.PhoneNumber != want {
			t.Errorf("bindPhoneNumber: got %+v, want user %s with %s", got.BindPhoneNumber, userID, want)
		}
		if p := phoneOf(t, s, token); p == nil || *p != want {
			t.Errorf("me.phoneNumber: got %s, want %q", show(p), want)
		}
		other, _ := s.Login(t, "ivan")
		if p := phoneOf(t, s, other); p != nil {
			t.Errorf("another user's me.phoneNumber: got %s, want null", show(p))
		}

		failures := []struct {
			name   string
			reply  wechattest.Reply
			code   string
			reason string
		}{
			{"invalid code", wechattest.Reply{Errcode: 40029}, "WECHAT_ERROR", "INVALID_CODE"},
			{"rate limited", wechattest.Reply{Errcode: 45011}, "WECHAT_ERROR", "RATE_LIMITED"},
			{"other errcode", wechattest.Reply{Errcode: 40013}, "WECHAT_ERROR", "REJECTED"},
			{"system busy throughout", wechattest.Reply{Errcode: -1}, "WECHAT_UNAVAILABLE", ""},
			{"HTTP 500", wechattest.Reply{Status: 500}, "WECHAT_UNAVAILABLE", ""},
			{"garbage", wechattest.Reply{Body: "<html>busy</html>"}, "WECHAT_UNAVAILABLE", ""},
			{"no phone_info", wechattest.Reply{Body: `{"errcode":0,"errmsg":"ok"}`}, "WECHAT_UNAVAILABLE", ""},
			{"slow", wechattest.Reply{Delay: 3 * time.Second}, "WECHAT_UNAVAILABLE", ""},
		}
		for i, f := range failures {
			t.Run(f.name, func(t *testing.T) {
				code := fmt.Sprintf("bad-phone-%d", i)
				s.WeChat.OnPhone(code, f.reply)
				r := s.Fails(t, bindPhoneMut, f.code, apitest.As(token), codeVars(code))
				if got := r.Ext("reason"); got != f.reason {
					t.Errorf("got reason %q, want %q: %s", got, f.reason, r.Raw)
				}
			})
		}
		// Nothing changed on the user after the failures.
		if p := phoneOf(t, s, token); p == nil || *p != want {
			t.Errorf("me.phoneNumber after failed binds: got %s, want %q", show(p), want)
		}
		s.Fails(t, bindPhoneMut, "BAD_USER_INPUT", apitest.As(token), codeVars(""))
		s.Fails(t, bindPhoneMut, "UNAUTHENTICATED", codeVars("x"))
	})
}

// TestLoginNeverWaitsOnAccessToken: with stable_token failing, logins and
// everything but the WeChat APIs that need the token keep working.
func TestLoginNeverWaitsOnAccessToken(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	s.WeChat.OnStableToken(wechattest.Reply{Status: 503})
	for i := range 5 {
		token, _ := s.Login(t, fmt.Sprintf("no-token-%d", i))
		s.OK(t, `mutation { createTodo(input: {title: "still works"}) { id } }`, nil, apitest.As(token))
	}
	if n := s.WeChat.StableTokenCalls(); n != 0 {
		t.Errorf("logins made %d stable_token calls, want 0", n)
	}
	token, _ := s.Login(t, "needs-token")
	s.Fails(t, bindPhoneMut, "WECHAT_UNAVAILABLE", apitest.As(token), codeVars("c"))
}
