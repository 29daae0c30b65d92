package wxdata_test

import (
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

func TestCheckSession(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		token, _ := s.Login(t, "gina")
		var got struct{ CheckSession bool }
		s.OK(t, checkQuery, &got, apitest.As(token))
		if !got.CheckSession {
			t.Errorf("checkSession right after login: got false, want true")
		}
		// The client called wx.login without logging in here: WeChat's
		// key moved on, the server's is stale.
		s.WeChat.SetSessionKey(wechattest.OpenID("gina"), key16(t, "moved on, 16 B.."))
		s.OK(t, `mutation { checkSession }`, &got, apitest.As(token))
		if got.CheckSession {
			t.Errorf("checkSession after WeChat's key moved on: got true, want false")
		}
		s.WeChat.OnCheckSession(wechattest.OpenID("gina"), wechattest.Reply{Status: 502})
		s.Fails(t, checkQuery, "WECHAT_UNAVAILABLE", apitest.As(token))
		s.Fails(t, checkQuery, "UNAUTHENTICATED")
	})
}
