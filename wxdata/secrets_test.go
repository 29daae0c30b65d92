package wxdata_test

import (
	"fmt"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// TestWeChatDataSecretsStayOnServer goes through every WeChat data feature,
// failures included, and checks that the log holds no session_key,
// access_token, app secret or phone number, and that the database holds
// none of the session_key, access_tokens and app secret in plaintext. The
// phone number is the user's data, so the database may hold it. It also
// checks that the log shows WeChat's rejection (40013).
func TestWeChatDataSecretsStayOnServer(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		token, _ := s.Login(t, "jade")
		as := apitest.As(token)
		key := wechattest.SessionKey("jade")
		s.OK(t, decryptQuery, nil, as, inputVars(encryptFor(t, key, werun(4242, wechattest.AppID))))
		s.Post(t, decryptQuery, as, inputVars(encryptUnpadded(t, key, make([]byte, 32))))
		s.OK(t, verifyQuery, nil, as, verifyVars("{}", "00"))
		s.OK(t, checkQuery, nil, as)
		s.OK(t, bindPhoneMut, nil, as, codeVars("jade-phone"))
		s.WeChat.OnPhone("rejected", wechattest.Reply{Errcode: 40013})
		s.Post(t, bindPhoneMut, as, codeVars("rejected"))
		s.WeChat.RotateToken()
		s.OK(t, bindPhoneMut, nil, as, codeVars("jade-phone-2"))
		s.WeChat.OnStableToken(wechattest.Reply{Errcode: 40125})
		s.WeChat.RotateToken()
		s.Post(t, bindPhoneMut, as, codeVars("jade-phone-3"))

		logs, dump := s.Logs.String(), s.Dump(t)
		secrets := map[string]string{
			"session_key":    key,
			"app secret":     wechattest.Secret,
			"phone number":   wechattest.PhoneNumber("jade-phone"),
			"phone number 2": wechattest.PhoneNumber("jade-phone-2"), // the one stored
		}
		for n := 1; n <= 4; n++ {
			secrets[fmt.Sprintf("access_token %d", n)] = wechattest.Token(n)
		}
		for name, secret := range secrets {
			if strings.Contains(logs, secret) {
				t.Errorf("the log holds the %s", name)
			}
		}
		// The phone number is the user's data and is stored; the rest
		// must not be, in plaintext.
		for name, secret := range secrets {
			if !strings.HasPrefix(name, "phone number") && strings.Contains(dump, secret) {
				t.Errorf("the database holds the %s in plaintext", name)
			}
		}
		if !strings.Contains(logs, "40013") {
			t.Errorf("the log does not show WeChat's rejection (40013), which the operator needs")
		}
	})
}
