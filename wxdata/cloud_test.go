package wxdata_test

import (
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// TestWeChatCallsGoTokenFreeInCloudHosting: in WeChat Cloud Hosting
// bindPhoneNumber reaches WeChat through the platform's open-API service
// with no access_token (none is fetched, no lease is taken) for a caller
// the platform's headers name; the service's "not ready yet" (85113) is
// retried, "not on the whitelist" (85107) is not, and is WECHAT_ERROR
// with reason REJECTED, the operator's to fix.
func TestWeChatCallsGoTokenFreeInCloudHosting(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{CloudHosting: true})
		as := []apitest.Option{
			apitest.Header("X-WX-SOURCE", "wx_client"),
			apitest.Header("X-WX-APPID", wechattest.AppID),
			apitest.Header("X-WX-OPENID", "oid-cloud-phone"),
		}
		var d struct{ BindPhoneNumber struct{ PhoneNumber string } }
		s.OK(t, bindPhoneMut, &d, append(as, codeVars("cloud-phone"))...)
		if d.BindPhoneNumber.PhoneNumber != wechattest.PhoneNumber("cloud-phone") {
			t.Errorf("phone number %q, want %q", d.BindPhoneNumber.PhoneNumber, wechattest.PhoneNumber("cloud-phone"))
		}
		if n := s.WeChat.TokenlessCalls(); n != 1 {
			t.Errorf("%d calls without an access_token reached WeChat, want 1", n)
		}
		if n := s.WeChat.StableTokenCalls(); n != 0 {
			t.Errorf("%d stable_token calls, want none", n)
		}
		if n := s.Count(t, "wechat_tokens", ""); n != 0 {
			t.Errorf("%d shared tokens stored, want none", n)
		}

		s.WeChat.OnPhone("not-ready", wechattest.Reply{Errcode: 85113}, wechattest.Reply{})
		s.OK(t, bindPhoneMut, nil, append(as, codeVars("not-ready"))...)
		if n := s.WeChat.PhoneCalls("not-ready"); n != 2 {
			t.Errorf("85113: %d calls, want 2 (retried once)", n)
		}
		s.WeChat.OnPhone("not-listed", wechattest.Reply{Errcode: 85107})
		r := s.Fails(t, bindPhoneMut, "WECHAT_ERROR", append(as, codeVars("not-listed"))...)
		if r.Ext("reason") != "REJECTED" || r.Ext("errcode") != "85107" {
			t.Errorf("85107: reason %q errcode %q, want REJECTED 85107: %s", r.Ext("reason"), r.Ext("errcode"), r.Raw)
		}
		if n := s.WeChat.PhoneCalls("not-listed"); n != 1 {
			t.Errorf("85107: %d calls, want 1 (not retried)", n)
		}
	})
}
