package wxdata_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

func TestDecryptData(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		token, _ := s.Login(t, "dora")
		key := wechattest.SessionKey("dora")
		plain := werun(8000, wechattest.AppID)

		var want any
		if err := json.Unmarshal([]byte(plain), &want); err != nil {
			t.Fatalf("sample: %v", err)
		}
		for _, doc := range []string{decryptQuery, decryptMut} {
			var got struct{ DecryptData json.RawMessage }
			s.OK(t, doc, &got, apitest.As(token), inputVars(encryptFor(t, key, plain)))
			var have any
			if err := json.Unmarshal(got.DecryptData, &have); err != nil || !reflect.DeepEqual(have, want) {
				t.Errorf("decryptData: got %s, want %s", got.DecryptData, plain)
			}
		}

		block := base64.StdEncoding.EncodeToString(make([]byte, 16))
		bad := []struct {
			name, field string
			input       map[string]any
		}{
			{"encryptedData not base64", "encryptedData", map[string]any{"encryptedData": "%%%not base64", "iv": encryptFor(t, key, plain)["iv"]}},
			{"iv not base64", "iv", map[string]any{"encryptedData": encryptFor(t, key, plain)["encryptedData"], "iv": "?!"}},
			{"iv of 15 bytes", "iv", map[string]any{"encryptedData": encryptFor(t, key, plain)["encryptedData"], "iv": base64.StdEncoding.EncodeToString(make([]byte, 15))}},
			{"not whole blocks", "encryptedData", map[string]any{"encryptedData": base64.StdEncoding.EncodeToString(make([]byte, 17)), "iv": block}},
			{"empty", "encryptedData", map[string]any{"encryptedData": "", "iv": block}},
			{"bad padding", "encryptedData", encryptUnpadded(t, key, []byte(`{"watermark":{"appid":"x"}}     `))},
			{"another app's data", "encryptedData", encryptFor(t, key, werun(1, "wx_someone_else"))},
			{"no watermark", "encryptedData", encryptFor(t, key, `{"stepInfoList":[]}`)},
			{"not a JSON object", "encryptedData", encryptFor(t, key, `[1,2,3]`)},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				r := s.Fails(t, decryptQuery, "BAD_USER_INPUT", apitest.As(token), inputVars(c.input))
				if f := r.Ext("field"); f != c.field {
					t.Errorf("got field %q, want %q: %s", f, c.field, r.Raw)
				}
			})
		}
		s.Fails(t, decryptQuery, "UNAUTHENTICATED", inputVars(encryptFor(t, key, plain)))
	})
}

// TestDecryptDataAfterTheSessionKeyMovedOn: data the client fetched before
// a new login decrypts no more (SESSION_KEY_STALE: log in, fetch again);
// data under the new key does, on every session of the user.
func TestDecryptDataAfterTheSessionKeyMovedOn(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		oldKey := wechattest.SessionKey("erin-phone")
		newKey := key16(t, "a new 16B key...")
		s.WeChat.On("erin-1", wechattest.Reply{Body: fmt.Sprintf(`{"openid":"oid-erin","session_key":%q}`, oldKey)})
		s.WeChat.On("erin-2", wechattest.Reply{Body: fmt.Sprintf(`{"openid":"oid-erin","session_key":%q}`, newKey)})
		first, _ := s.Login(t, "erin-1")
		old := encryptFor(t, oldKey, werun(1, wechattest.AppID))
		s.OK(t, decryptQuery, nil, apitest.As(first), inputVars(old))

		second, _ := s.Login(t, "erin-2")
		// WeChat's key is the new one, as after any login: the server
		// must tell old data by its previous key, not by asking WeChat.
		s.WeChat.SetSessionKey("oid-erin", newKey)
		for i, tok := range []string{first, second} {
			t.Run(fmt.Sprintf("session %d", i+1), func(t *testing.T) {
				r := s.Fails(t, decryptQuery, "SESSION_KEY_STALE", apitest.As(tok), inputVars(old))
				if !strings.Contains(r.Errors[0].Message, "login") {
					t.Errorf("got message %q, want one that says to log in again", r.Errors[0].Message)
				}
				s.OK(t, decryptQuery, nil, apitest.As(tok), inputVars(encryptFor(t, newKey, werun(2, wechattest.AppID))))
			})
		}
		if n := s.WeChat.CheckSessionCalls("oid-erin"); n != 0 {
			t.Errorf("data under the previous key made %d checksession calls, want 0", n)
		}

		// Under a key the server never held, WeChat tells: when it says the
		// server's key is no longer current, the client logs in again.
		unknown := encryptFor(t, key16(t, "never seen key!!"), werun(3, wechattest.AppID))
		if r := s.Post(t, decryptQuery, apitest.As(second), inputVars(unknown)); r.Code() != "BAD_USER_INPUT" {
			t.Errorf("unknown key while WeChat holds the server's key current: got %s, want BAD_USER_INPUT", r.Raw)
		}
		s.WeChat.SetSessionKey("oid-erin", key16(t, "wx.login again.."))
		s.Fails(t, decryptQuery, "SESSION_KEY_STALE", apitest.As(second), inputVars(unknown))
		if n := s.WeChat.ForcedRefreshes(); n != 0 {
			t.Errorf("got %d forced access_token refreshes, want none", n)
		}
	})
}

// TestGarbageDoesNotSpendWeChatQuota: undecryptable data asks WeChat's
// checksession a few times a minute per user at most.
func TestGarbageDoesNotSpendWeChatQuota(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	token, _ := s.Login(t, "lena")
	for i := range 20 {
		garbage := encryptUnpadded(t, key16(t, fmt.Sprintf("garbage key %04d", i)), make([]byte, 32))
		s.Fails(t, decryptQuery, "BAD_USER_INPUT", apitest.As(token), inputVars(garbage))
	}
	if n := s.WeChat.CheckSessionCalls(wechattest.OpenID("lena")); n < 1 || n > 3 {
		t.Errorf("20 undecryptable payloads made %d checksession calls, want 1 to 3", n)
	}
}
