package wxdata_test

import (
	"sync"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/secret"
	"wxtodo/wechat/wechattest"
)

var twoApps = []string{wechattest.AppID, wechattest.OtherAppID}

// TestDecryptDataIsTheCallersApps: a session decrypts with the
// session_key of its own app's identity, and data whose watermark names
// the person's other app is refused, even under the right key.
func TestDecryptDataIsTheCallersApps(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{Apps: twoApps})
		inA, _ := s.LoginTo(t, wechattest.AppID, "gus")
		inB, _ := s.LoginTo(t, wechattest.OtherAppID, "gus")
		keyA := wechattest.SessionKeyIn(wechattest.AppID, "gus")
		keyB := wechattest.SessionKeyIn(wechattest.OtherAppID, "gus")
		if keyA == keyB {
			t.Fatal("the fake gives one key in both apps")
		}

		s.OK(t, decryptQuery, nil, apitest.As(inA), inputVars(encryptFor(t, keyA, werun(1, wechattest.AppID))))
		s.OK(t, decryptQuery, nil, apitest.As(inB), inputVars(encryptFor(t, keyB, werun(2, wechattest.OtherAppID))))
		for name, tt := range map[string]struct {
			token, key, watermark string
		}{
			"A's session, A's key, B's watermark": {inA, keyA, wechattest.OtherAppID},
			"B's session, B's key, A's watermark": {inB, keyB, wechattest.AppID},
		} {
			r := s.Fails(t, decryptQuery, "BAD_USER_INPUT", apitest.As(tt.token), inputVars(encryptFor(t, tt.key, werun(3, tt.watermark))))
			if f := r.Ext("field"); f != "encryptedData" {
				t.Errorf("%s: field %q, want encryptedData", name, f)
			}
		}
		// Data of B's key does not open with A's session.
		if r := s.Post(t, decryptQuery, apitest.As(inA), inputVars(encryptFor(t, keyB, werun(4, wechattest.AppID)))); r.Code() == "" {
			t.Errorf("A's session decrypted data of B's session_key: %s", r.Raw)
		}
	})
}

// TestPhoneNumberGoesThroughTheCallersApp: bindPhoneNumber asks WeChat
// as the app the caller signed in with (its access_token, its openid),
// and the number is the person's in every app.
func TestPhoneNumberGoesThroughTheCallersApp(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{Apps: twoApps})
		inA, _ := s.LoginTo(t, wechattest.AppID, "hal")
		inB, _ := s.LoginTo(t, wechattest.OtherAppID, "hal")
		s.OK(t, bindPhoneMut, nil, apitest.As(inB), codeVars("hal-phone"))
		if a, b := s.WeChat.StableTokenCallsFor(wechattest.AppID), s.WeChat.StableTokenCallsFor(wechattest.OtherAppID); a != 0 || b != 1 {
			t.Errorf("stable_token calls: %d for A, %d for B; want 0 and 1", a, b)
		}
		var d struct{ Me struct{ PhoneNumber string } }
		s.OK(t, phoneQuery, &d, apitest.As(inA))
		if d.Me.PhoneNumber != wechattest.PhoneNumber("hal-phone") {
			t.Errorf("from A: phone %q, want the one bound from B", d.Me.PhoneNumber)
		}
		var ok struct{ CheckSession bool }
		s.OK(t, checkQuery, &ok, apitest.As(inA))
		if !ok.CheckSession || s.WeChat.CheckSessionCalls(wechattest.OpenIDIn(wechattest.AppID, "hal")) != 1 {
			t.Errorf("checkSession from A: got %v, %d calls for A's openid; want true, 1", ok.CheckSession,
				s.WeChat.CheckSessionCalls(wechattest.OpenIDIn(wechattest.AppID, "hal")))
		}
	})
}

// TestEachAppsAccessTokenIsFetchedOnceAcrossInstances: three instances
// on one database, callers of both apps on each at once: each app's
// access_token is fetched once, and shared by every instance.
func TestEachAppsAccessTokenIsFetchedOnceAcrossInstances(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		// One DATA_KEY, as instances share: it seals the stored tokens.
		key := secret.NewKey()
		first := apitest.New(t, url, apitest.Options{Apps: twoApps, DataKey: key, WeChatCallBurst: 100})
		servers := []*apitest.Server{first,
			apitest.New(t, url, apitest.Options{Apps: twoApps, DataKey: key, WeChat: first.WeChat, WeChatCallBurst: 100}),
			apitest.New(t, url, apitest.Options{Apps: twoApps, DataKey: key, WeChat: first.WeChat, WeChatCallBurst: 100}),
		}
		type caller struct {
			s     *apitest.Server
			token string
		}
		var callers []caller
		for i, s := range servers {
			for _, app := range twoApps {
				tok, _ := s.LoginTo(t, app, "ida-"+string(rune('a'+i)))
				callers = append(callers, caller{s, tok})
			}
		}
		var wg sync.WaitGroup
		errs := make(chan string, len(callers)*3)
		for _, c := range callers {
			for range 3 {
				wg.Go(func() {
					r, err := c.s.Send(checkQuery, apitest.As(c.token))
					switch {
					case err != nil:
						errs <- err.Error()
					case len(r.Errors) > 0:
						errs <- r.Raw
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		for _, app := range twoApps {
			if n := first.WeChat.StableTokenCallsFor(app); n != 1 {
				t.Errorf("%s: %d stable_token calls, want 1", app, n)
			}
			if n := first.Count(t, "wechat_tokens", "app_id = $1 AND token IS NOT NULL", app); n != 1 {
				t.Errorf("%s: %d stored access_tokens, want 1", app, n)
			}
		}
	})
}
