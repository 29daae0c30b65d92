package auth_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// platform is a request as WeChat Cloud Hosting forwards a
// wx.cloud.callContainer call: its headers name the caller.
func platform(appID, openID, unionID string) []apitest.Option {
	opts := []apitest.Option{
		apitest.Header("X-WX-SOURCE", "wx_client"),
		apitest.Header("X-WX-APPID", appID),
		apitest.Header("X-WX-OPENID", openID),
	}
	if unionID != "" {
		opts = append(opts, apitest.Header("X-WX-UNIONID", unionID))
	}
	return opts
}

type meData struct{ Me struct{ ID string } }

// TestCloudHostingHeadersIdentifyTheCaller: with the mode on, the
// platform's headers are the caller of every @auth field, with no token:
// the user is created on first sight and found again; a bearer token wins
// over the headers; logout has no session to end (false); an app the
// server does not serve is FORBIDDEN; without X-WX-SOURCE the headers
// carry nobody.
func TestCloudHostingHeadersIdentifyTheCaller(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{CloudHosting: true})
		var first, again meData
		s.OK(t, meQuery, &first, platform(wechattest.AppID, "oid-cloud", "")...)
		s.OK(t, `mutation { createTodo(input: {title: "from the container"}) { id } }`, nil, platform(wechattest.AppID, "oid-cloud", "")...)
		s.OK(t, meQuery, &again, platform(wechattest.AppID, "oid-cloud", "uid-cloud")...)
		if first.Me.ID == "" || again.Me.ID != first.Me.ID {
			t.Fatalf("first call user %q, second %q: want one user", first.Me.ID, again.Me.ID)
		}
		if n := s.Count(t, "users", "open_id = 'oid-cloud' AND union_id = 'uid-cloud'"); n != 1 {
			t.Errorf("%d users of the openid with the unionid the headers carried, want 1", n)
		}
		if n := s.Count(t, "sessions", ""); n != 0 {
			t.Errorf("%d sessions, want none: headers need no session", n)
		}
		// A login with a wx.login code is the same person (same openid).
		token, userID := s.Login(t, "cloud")
		if userID != first.Me.ID {
			t.Errorf("login as the same openid is user %s, want %s", userID, first.Me.ID)
		}
		// The token wins over headers that name someone else.
		var d meData
		s.OK(t, meQuery, &d, append(platform(wechattest.AppID, "oid-someone-else", ""), apitest.As(token))...)
		if d.Me.ID != userID {
			t.Errorf("with a token and another openid's headers: user %s, want the token's %s", d.Me.ID, userID)
		}
		var out struct{ Logout bool }
		s.OK(t, `mutation { logout }`, &out, platform(wechattest.AppID, "oid-cloud", "")...)
		if out.Logout {
			t.Error("logout by headers answered true, want false: there is no session")
		}
		r := s.Fails(t, meQuery, "FORBIDDEN", platform("wx-not-ours", "oid-cloud", "")...)
		if n := s.Count(t, "users", "app_id = 'wx-not-ours'"); n != 0 {
			t.Errorf("another app's call made %d users: %s", n, r.Raw)
		}
		s.Fails(t, meQuery, "UNAUTHENTICATED", apitest.Header("X-WX-APPID", wechattest.AppID), apitest.Header("X-WX-OPENID", "oid-cloud"))
	})
}

// TestForgedPlatformHeadersAreIgnoredWithTheModeOff: without
// CLOUD_HOSTING anyone can send X-WX-* headers, and they carry nobody.
func TestForgedPlatformHeadersAreIgnoredWithTheModeOff(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{})
	s.Fails(t, meQuery, "UNAUTHENTICATED", platform(wechattest.AppID, "oid-forged", "")...)
	if n := s.Count(t, "users", ""); n != 0 {
		t.Errorf("forged headers made %d users", n)
	}
}

// TestConcurrentFirstCallsMakeOneUser: 20 concurrent first calls of a new
// openid make exactly one user.
func TestConcurrentFirstCallsMakeOneUser(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{CloudHosting: true})
		ids := make([]string, 20)
		errs := make([]error, 20)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				r, err := s.Send(meQuery, platform(wechattest.AppID, "oid-crowd", "")...)
				switch {
				case err != nil:
					errs[i] = err
				case len(r.Errors) > 0:
					errs[i] = fmt.Errorf("%s", r.Raw)
				default:
					var d meData
					if err := json.Unmarshal(r.Data, &d); err != nil {
						errs[i] = err
					}
					ids[i] = d.Me.ID
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("the calls saw users %v, want one", ids)
			}
		}
		if n := s.Count(t, "users", "open_id = 'oid-crowd'"); n != 1 {
			t.Errorf("%d users for the openid, want 1", n)
		}
	})
}

// TestCloudHostingServesEveryConfiguredApp: with several apps, the
// platform's callers of each are served, and one unionid is one person
// across them; an app not configured is FORBIDDEN.
func TestCloudHostingServesEveryConfiguredApp(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{CloudHosting: true, Apps: []string{appA, appB}})
		var inA, inB meData
		asA := platform(appA, wechattest.OpenIDIn(appA, "kai"), "uid-kai")
		asB := platform(appB, wechattest.OpenIDIn(appB, "kai"), "uid-kai")
		s.OK(t, meQuery, &inA, asA...)
		s.OK(t, meQuery, &inB, asB...)
		if inA.Me.ID == "" || inA.Me.ID != inB.Me.ID {
			t.Errorf("kai is user %q in one app and %q in the other, want one", inA.Me.ID, inB.Me.ID)
		}
		// The open-API service calls WeChat as the app named (from_appid),
		// not as the environment's own: B's phone code goes as B's.
		for name, as := range map[string][]apitest.Option{"A": asA, "B": asB} {
			var d struct{ BindPhoneNumber struct{ PhoneNumber string } }
			s.OK(t, `mutation { bindPhoneNumber(input: {code: "kai-phone-`+name+`"}) { phoneNumber } }`, &d, as...)
			if d.BindPhoneNumber.PhoneNumber != wechattest.PhoneNumber("kai-phone-"+name) {
				t.Errorf("%s: phone %q", name, d.BindPhoneNumber.PhoneNumber)
			}
		}
		s.Fails(t, meQuery, "FORBIDDEN", platform("wx_not_served", "oid-c-kai", "uid-kai")...)
		if n := s.Count(t, "identities", "1 = 1"); n != 2 {
			t.Errorf("%d identities, want 2", n)
		}
	})
}
