package wechat_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"wxtodo/wechat"
)

func TestMockAPIs(t *testing.T) {
	var m wechat.Mock
	ctx := context.Background()
	alice, err := m.Code2Session(ctx, "alice")
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	bob, err := m.Code2Session(ctx, "bob")
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	tok, err := m.StableToken(ctx, false)
	if err != nil || tok.Token != wechat.MockAccessToken || tok.ExpiresIn <= 0 {
		t.Fatalf("StableToken: got %+v, %v; want %q", tok, err, wechat.MockAccessToken)
	}

	t.Run("phone numbers are stable per user", func(t *testing.T) {
		p1, err := m.PhoneNumber(ctx, tok.Token, "code-1", alice.OpenID)
		if err != nil {
			t.Fatalf("PhoneNumber: %v", err)
		}
		p2, err := m.PhoneNumber(ctx, tok.Token, "code-2", alice.OpenID)
		if err != nil {
			t.Fatalf("PhoneNumber: %v", err)
		}
		pb, err := m.PhoneNumber(ctx, tok.Token, "code-1", bob.OpenID)
		if err != nil {
			t.Fatalf("PhoneNumber: %v", err)
		}
		if *p1 != *p2 || p1.PhoneNumber == pb.PhoneNumber {
			t.Errorf("got %+v, %+v for alice and %+v for bob; want alice's equal and bob's different", *p1, *p2, *pb)
		}
		if !regexp.MustCompile(`^138\d{8}$`).MatchString(p1.PhoneNumber) || p1.PurePhoneNumber != p1.PhoneNumber || p1.CountryCode != "86" {
			t.Errorf("got %+v, want a 138 mainland number with country code 86", *p1)
		}
	})
	t.Run("phone errors", func(t *testing.T) {
		_, err := m.PhoneNumber(ctx, "other-token", "c", alice.OpenID)
		if !wechat.IsAccessTokenInvalid(err) {
			t.Errorf("wrong token: got %v, want an invalid access_token error", err)
		}
		_, err = m.PhoneNumber(ctx, tok.Token, "", alice.OpenID)
		wantError(t, err, wechat.CodeInvalidCode)
	})
	t.Run("checksession", func(t *testing.T) {
		if err := m.CheckSession(ctx, tok.Token, alice.OpenID, alice.SessionKey); err != nil {
			t.Errorf("alice's own key: got %v, want success", err)
		}
		err := m.CheckSession(ctx, tok.Token, alice.OpenID, bob.SessionKey)
		wantError(t, err, wechat.CodeInvalidSignature)
		if err := m.CheckSession(ctx, "other-token", alice.OpenID, alice.SessionKey); !wechat.IsAccessTokenInvalid(err) {
			t.Errorf("wrong token: got %v, want an invalid access_token error", err)
		}
	})
	t.Run("sample data decrypts with the mock's app id", func(t *testing.T) {
		data, iv, err := m.SampleEncryptedData(alice.SessionKey)
		if err != nil {
			t.Fatalf("SampleEncryptedData: %v", err)
		}
		plain, err := wechat.DecryptData(alice.SessionKey, data, iv, m.AppID())
		if err != nil {
			t.Fatalf("DecryptData: %v", err)
		}
		var v struct {
			StepInfoList []struct {
				Timestamp int64 `json:"timestamp"`
				Step      int   `json:"step"`
			} `json:"stepInfoList"`
			Watermark struct {
				AppID     string `json:"appid"`
				Timestamp int64  `json:"timestamp"`
			} `json:"watermark"`
		}
		if err := json.Unmarshal(plain, &v); err != nil {
			t.Fatalf("unmarshal %s: %v", plain, err)
		}
		if len(v.StepInfoList) != 7 || v.Watermark.AppID != wechat.MockAppID || v.Watermark.Timestamp == 0 {
			t.Errorf("got %s, want seven days of steps watermarked %s", plain, wechat.MockAppID)
		}
		if _, err := wechat.DecryptData(bob.SessionKey, data, iv, m.AppID()); !errors.Is(err, wechat.ErrDecrypt) {
			t.Errorf("another user's key: got %v, want ErrDecrypt", err)
		}
		if _, err := wechat.DecryptData(alice.SessionKey, data, iv, "wx_real_app"); !errors.Is(err, wechat.ErrWatermark) {
			t.Errorf("another app: got %v, want ErrWatermark", err)
		}
		if _, _, err := m.SampleEncryptedData("not a key"); !errors.Is(err, wechat.ErrMalformed) {
			t.Errorf("bad key: got %v, want ErrMalformed", err)
		}
	})
}

// TestMockAppsShareAPerson: with several development apps, each app's
// mock gives a code its own openid (and session_key) and the same
// unionid, as WeChat does for apps bound to one Open Platform account;
// the default mock keeps the openids it always gave.
func TestMockAppsShareAPerson(t *testing.T) {
	ctx := context.Background()
	login := func(tb testing.TB, m wechat.Mock, code string) *wechat.Session {
		tb.Helper()
		s, err := m.Code2Session(ctx, code)
		if err != nil {
			tb.Fatalf("%s: Code2Session: %v", m.AppID(), err)
		}
		return s
	}
	shop, club, dev := wechat.Mock{App: "wxshop"}, wechat.Mock{App: "wxclub"}, wechat.Mock{}
	a, b, d := login(t, shop, "alice"), login(t, club, "alice"), login(t, dev, "alice")
	if a.OpenID == b.OpenID || a.OpenID == d.OpenID || a.SessionKey == b.SessionKey {
		t.Errorf("openids %q, %q, %q and keys: want one per app", a.OpenID, b.OpenID, d.OpenID)
	}
	if a.UnionID == "" || a.UnionID != b.UnionID || a.UnionID != d.UnionID {
		t.Errorf("unionids %q, %q, %q: want one for alice in every app", a.UnionID, b.UnionID, d.UnionID)
	}
	if bob := login(t, shop, "bob"); bob.UnionID == a.UnionID {
		t.Error("bob has alice's unionid")
	}
	// The one default app's openids are those of earlier releases: a
	// development database keeps its users.
	if d.OpenID != "dev_966bcee083edfa6fb120ec67" {
		t.Errorf("default openid %q changed", d.OpenID)
	}
	if shop.AppID() != "wxshop" || dev.AppID() != wechat.MockAppID {
		t.Errorf("AppID: %q and %q", shop.AppID(), dev.AppID())
	}
	// Each key checks as its own openid's.
	if err := club.CheckSession(ctx, wechat.MockAccessToken, b.OpenID, b.SessionKey); err != nil {
		t.Errorf("club's key: %v", err)
	}
	if err := club.CheckSession(ctx, wechat.MockAccessToken, b.OpenID, a.SessionKey); err == nil {
		t.Error("the shop's key passes for the club's openid")
	}
}
