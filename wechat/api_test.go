package wechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/errcode"
	"wxtodo/wechat"
	"wxtodo/wechat/wechattest"
)

// api is what the server uses of WeChat: the client and the mock must both
// provide it.
type api interface {
	Code2Session(ctx context.Context, code string) (*wechat.Session, error)
	StableToken(ctx context.Context, forceRefresh bool) (*wechat.AccessToken, error)
	PhoneNumber(ctx context.Context, accessToken, code, openid string) (*wechat.PhoneInfo, error)
	CheckSession(ctx context.Context, accessToken, openid, sessionKey string) error
}

var (
	_ api                         = (*wechat.Client)(nil)
	_ api                         = wechat.Mock{}
	_ wechat.TokenSource          = (*wechat.Client)(nil)
	_ wechat.TokenSource          = wechat.Mock{}
	_ fmt.Stringer                = wechat.AccessToken{}
	_ slog.LogValuer              = wechat.AccessToken{}
	_ interface{ AppID() string } = wechat.Mock{}
)

func mustStableToken(tb testing.TB, c *wechat.Client) string {
	tb.Helper()
	tok, err := c.StableToken(context.Background(), false)
	if err != nil {
		tb.Fatalf("StableToken: %v", err)
	}
	return tok.Token
}

// wantError fails unless err is a *wechat.Error with code.
func wantError(tb testing.TB, err error, code int) *wechat.Error {
	tb.Helper()
	var werr *wechat.Error
	if !errors.As(err, &werr) {
		tb.Fatalf("got error %v (%T), want *wechat.Error with errcode %d", err, err, code)
	}
	if werr.Code != code {
		tb.Fatalf("got errcode %d (%v), want %d", werr.Code, err, code)
	}
	if errors.Is(err, wechat.ErrUnavailable) {
		tb.Errorf("a definite refusal wraps ErrUnavailable: %v", err)
	}
	return werr
}

func TestStableToken(t *testing.T) {
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	ctx := context.Background()

	tok, err := c.StableToken(ctx, false)
	if err != nil {
		t.Fatalf("StableToken: got error %v, want success", err)
	}
	if tok.Token != wechattest.Token(1) || tok.ExpiresIn != wechattest.DefaultTokenTTL {
		t.Errorf("got %q expiring in %v, want %q expiring in %v", tok.Token, tok.ExpiresIn, wechattest.Token(1), wechattest.DefaultTokenTTL)
	}

	t.Run("the same token until it expires", func(t *testing.T) {
		again, err := c.StableToken(ctx, false)
		if err != nil {
			t.Fatalf("StableToken: %v", err)
		}
		if again.Token != tok.Token {
			t.Errorf("got %q, want the stable %q", again.Token, tok.Token)
		}
		if n := fake.ForcedRefreshes(); n != 0 {
			t.Errorf("got %d forced refreshes, want 0", n)
		}
	})
	t.Run("a new token once expired", func(t *testing.T) {
		fake.ExpireToken()
		next, err := c.StableToken(ctx, false)
		if err != nil {
			t.Fatalf("StableToken: %v", err)
		}
		if next.Token != wechattest.Token(2) {
			t.Errorf("got %q, want %q", next.Token, wechattest.Token(2))
		}
	})
	t.Run("a new token when forced", func(t *testing.T) {
		fake.SetTokenTTL(10 * time.Minute)
		next, err := c.StableToken(ctx, true)
		if err != nil {
			t.Fatalf("StableToken: %v", err)
		}
		if next.Token != wechattest.Token(3) || next.ExpiresIn != 10*time.Minute {
			t.Errorf("got %q expiring in %v, want %q expiring in 10m", next.Token, next.ExpiresIn, wechattest.Token(3))
		}
		if n := fake.ForcedRefreshes(); n != 1 {
			t.Errorf("got %d forced refreshes, want 1", n)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		c := wechat.New(fake.URL, wechattest.AppID, "not-the-secret", 5*time.Second)
		_, err := c.StableToken(ctx, false)
		if werr := wantError(t, err, wechat.CodeInvalidSecret); werr.Reason() != errcode.ReasonRejected {
			t.Errorf("Reason: got %q, want %q", werr.Reason(), errcode.ReasonRejected)
		}
	})
	t.Run("wrong appid", func(t *testing.T) {
		c := wechat.New(fake.URL, "wx_other", wechattest.Secret, 5*time.Second)
		_, err := c.StableToken(ctx, false)
		wantError(t, err, wechat.CodeInvalidAppID)
	})
}

// request is what a capturing server saw.
type request struct {
	Method, Path, ContentType string
	Query                     map[string][]string
	Body                      map[string]any
}

// capture starts a server that records each request and answers answer.
func capture(t *testing.T, answer string) (*httptest.Server, func() request) {
	t.Helper()
	var (
		mu   sync.Mutex
		last request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Query: r.URL.Query()}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &req.Body); err != nil {
				t.Errorf("request body %q is not JSON: %v", b, err)
			}
		}
		mu.Lock()
		last = req
		mu.Unlock()
		io.WriteString(w, answer) //nolint:errcheck // test server
	}))
	t.Cleanup(srv.Close)
	return srv, func() request {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func TestRequestsOnTheWire(t *testing.T) {
	ctx := context.Background()
	t.Run("stable_token posts JSON with force_refresh false", func(t *testing.T) {
		srv, last := capture(t, `{"access_token":"AT","expires_in":7200}`)
		c := newClient(srv.URL, 5*time.Second)
		if _, err := c.StableToken(ctx, false); err != nil {
			t.Fatalf("StableToken: %v", err)
		}
		r := last()
		want := map[string]any{"grant_type": "client_credential", "appid": wechattest.AppID, "secret": wechattest.Secret, "force_refresh": false}
		if r.Method != http.MethodPost || r.Path != "/cgi-bin/stable_token" || r.ContentType != "application/json" || len(r.Query) != 0 {
			t.Errorf("got %s %s (%s) query %v, want POST /cgi-bin/stable_token (application/json) without query", r.Method, r.Path, r.ContentType, r.Query)
		}
		if fmt.Sprint(r.Body) != fmt.Sprint(want) {
			t.Errorf("got body %v, want %v", r.Body, want)
		}
	})
	t.Run("getuserphonenumber posts code and openid, token in the query", func(t *testing.T) {
		srv, last := capture(t, `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"`+wechattest.AppID+`"}}}`)
		c := newClient(srv.URL, 5*time.Second)
		if _, err := c.PhoneNumber(ctx, "AT+/=", "code&x=1", "oid-1"); err != nil {
			t.Fatalf("PhoneNumber: %v", err)
		}
		r := last()
		if r.Method != http.MethodPost || r.Path != "/wxa/business/getuserphonenumber" || r.ContentType != "application/json" {
			t.Errorf("got %s %s (%s), want POST /wxa/business/getuserphonenumber (application/json)", r.Method, r.Path, r.ContentType)
		}
		if got := r.Query["access_token"]; len(got) != 1 || got[0] != "AT+/=" || len(r.Query) != 1 {
			t.Errorf("got query %v, want only access_token=AT+/=", r.Query)
		}
		if r.Body["code"] != "code&x=1" || r.Body["openid"] != "oid-1" || len(r.Body) != 2 {
			t.Errorf("got body %v, want code and openid", r.Body)
		}
	})
	t.Run("through Cloud Hosting's open-API service no access_token goes", func(t *testing.T) {
		srv, last := capture(t, `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"`+wechattest.AppID+`"}}}`)
		c := newClient(srv.URL, 5*time.Second)
		if _, err := c.PhoneNumber(ctx, "", "code-1", "oid-1"); err != nil {
			t.Fatalf("PhoneNumber: %v", err)
		}
		if r := last(); len(r.Query) != 0 {
			t.Errorf("getuserphonenumber query %v, want none", r.Query)
		}
		srv, last = capture(t, `{"errcode":0,"errmsg":"ok"}`)
		c = newClient(srv.URL, 5*time.Second)
		if err := c.CheckSession(ctx, "", "oid-1", demoSessionKey); err != nil {
			t.Fatalf("CheckSession: %v", err)
		}
		if r := last(); r.Query["access_token"] != nil || fmt.Sprint(r.Query["openid"]) != "[oid-1]" {
			t.Errorf("checksession query %v, want openid and no access_token", r.Query)
		}
	})
	t.Run("a token-free call names FromAppID as from_appid, never with a token", func(t *testing.T) {
		srv, last := capture(t, `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"`+wechattest.AppID+`"}}}`)
		c := newClient(srv.URL, 5*time.Second)
		c.FromAppID = "wx_shared"
		if _, err := c.PhoneNumber(ctx, "", "code-1", "oid-1"); err != nil {
			t.Fatalf("PhoneNumber: %v", err)
		}
		if r := last(); fmt.Sprint(r.Query) != "map[from_appid:[wx_shared]]" {
			t.Errorf("getuserphonenumber query %v, want from_appid=wx_shared only", r.Query)
		}
		srv, last = capture(t, `{"errcode":0,"errmsg":"ok"}`)
		c = newClient(srv.URL, 5*time.Second)
		c.FromAppID = "wx_shared"
		if err := c.CheckSession(ctx, "", "oid-1", demoSessionKey); err != nil {
			t.Fatalf("CheckSession: %v", err)
		}
		if r := last(); fmt.Sprint(r.Query["from_appid"]) != "[wx_shared]" || r.Query["access_token"] != nil {
			t.Errorf("checksession query %v, want from_appid and no access_token", r.Query)
		}
		if err := c.CheckSession(ctx, "AT", "oid-1", demoSessionKey); err != nil {
			t.Fatalf("CheckSession: %v", err)
		}
		if r := last(); r.Query["from_appid"] != nil || fmt.Sprint(r.Query["access_token"]) != "[AT]" {
			t.Errorf("checksession with a token: query %v, want the token and no from_appid", r.Query)
		}
	})
	t.Run("checksession gets with an hmac_sha256 signature", func(t *testing.T) {
		srv, last := capture(t, `{"errcode":0,"errmsg":"ok"}`)
		c := newClient(srv.URL, 5*time.Second)
		if err := c.CheckSession(ctx, "AT", "oid-1", demoSessionKey); err != nil {
			t.Fatalf("CheckSession: %v", err)
		}
		r := last()
		want := map[string][]string{"access_token": {"AT"}, "openid": {"oid-1"}, "sig_method": {"hmac_sha256"}, "signature": {wechat.SessionSignature(demoSessionKey)}}
		if r.Method != http.MethodGet || r.Path != "/wxa/checksession" || fmt.Sprint(r.Query) != fmt.Sprint(want) {
			t.Errorf("got %s %s %v, want GET /wxa/checksession %v", r.Method, r.Path, r.Query, want)
		}
		if r.Body != nil {
			t.Errorf("got body %v, want none", r.Body)
		}
	})
}

func TestPhoneNumber(t *testing.T) {
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	ctx := context.Background()
	tok := mustStableToken(t, c)

	for _, code := range []string{"phone-code-1", `a"b\c`, "x&access_token=evil"} {
		t.Run("success/"+code, func(t *testing.T) {
			p, err := c.PhoneNumber(ctx, tok, code, "oid-alice")
			if err != nil {
				t.Fatalf("PhoneNumber: got error %v, want success", err)
			}
			want := wechat.PhoneInfo{PhoneNumber: wechattest.PhoneNumber(code), PurePhoneNumber: wechattest.PhoneNumber(code), CountryCode: "86"}
			if *p != want {
				t.Errorf("got %+v, want %+v", *p, want)
			}
			if n := fake.PhoneCalls(code); n != 1 {
				t.Errorf("got %d calls with the code, want 1", n)
			}
		})
	}
	t.Run("countryCode as a number", func(t *testing.T) {
		fake.OnPhone("numeric-cc", wechattest.Reply{Body: `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"+1 2025550123","purePhoneNumber":"2025550123","countryCode":1,"watermark":{"timestamp":1637744274,"appid":"` + wechattest.AppID + `"}}}`})
		p, err := c.PhoneNumber(ctx, tok, "numeric-cc", "")
		if err != nil {
			t.Fatalf("PhoneNumber: %v", err)
		}
		want := wechat.PhoneInfo{PhoneNumber: "+1 2025550123", PurePhoneNumber: "2025550123", CountryCode: "1"}
		if *p != want {
			t.Errorf("got %+v, want %+v", *p, want)
		}
	})
	t.Run("another app's watermark", func(t *testing.T) {
		fake.OnPhone("other-app", wechattest.Reply{Body: `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"wx_other"}}}`})
		p, err := c.PhoneNumber(ctx, tok, "other-app", "")
		if p != nil || !errors.Is(err, wechat.ErrWatermark) {
			t.Fatalf("got %+v, %v; want ErrWatermark", p, err)
		}
		if strings.Contains(err.Error(), "13800138000") {
			t.Errorf("error %q contains the phone number", err)
		}
	})
	t.Run("a token another instance replaced", func(t *testing.T) {
		c := newClient(fake.URL, 5*time.Second)
		old := mustStableToken(t, c)
		fake.RotateToken()
		_, err := c.PhoneNumber(ctx, old, "p-rotated", "")
		wantError(t, err, wechat.CodeInvalidCredential)
		if !wechat.IsAccessTokenInvalid(err) {
			t.Errorf("IsAccessTokenInvalid(%v) = false, want true", err)
		}
	})
	t.Run("an expired token", func(t *testing.T) {
		c := newClient(fake.URL, 5*time.Second)
		cur := mustStableToken(t, c)
		fake.ExpireToken()
		_, err := c.PhoneNumber(ctx, cur, "p-expired", "")
		wantError(t, err, wechat.CodeAccessTokenExpired)
		if !wechat.IsAccessTokenInvalid(err) {
			t.Errorf("IsAccessTokenInvalid(%v) = false, want true", err)
		}
	})
	t.Run("a code whose answer was lost", func(t *testing.T) {
		tok := mustStableToken(t, c)
		fake.OnPhone("lost", wechattest.Reply{Status: http.StatusBadGateway}, wechattest.Reply{Errcode: wechat.CodeInvalidCode})
		_, err := c.PhoneNumber(ctx, tok, "lost", "")
		if !errors.Is(err, wechat.ErrUnavailable) {
			t.Fatalf("40029 on a retry: got %v, want ErrUnavailable (the first attempt may have used the code)", err)
		}
	})
}

func TestCheckSession(t *testing.T) {
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	ctx := context.Background()
	tok := mustStableToken(t, c)

	s, err := c.Code2Session(ctx, "carol")
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	t.Run("the current session_key", func(t *testing.T) {
		if err := c.CheckSession(ctx, tok, s.OpenID, s.SessionKey); err != nil {
			t.Fatalf("got %v, want success", err)
		}
	})
	t.Run("a session_key that moved on", func(t *testing.T) {
		fake.SetSessionKey(s.OpenID, "a-newer-session-key")
		err := c.CheckSession(ctx, tok, s.OpenID, s.SessionKey)
		wantError(t, err, wechat.CodeInvalidSignature)
		if err := c.CheckSession(ctx, tok, s.OpenID, "a-newer-session-key"); err != nil {
			t.Errorf("the new key: got %v, want success", err)
		}
	})
	t.Run("an unknown openid", func(t *testing.T) {
		wantError(t, c.CheckSession(ctx, tok, "nobody", "key"), wechat.CodeInvalidSignature)
	})
	t.Run("another user's session_key", func(t *testing.T) {
		wantError(t, c.CheckSession(ctx, tok, wechattest.OpenID("dave"), wechattest.SessionKey("erin")), wechat.CodeInvalidSignature)
	})
	t.Run("a replaced token", func(t *testing.T) {
		c := newClient(fake.URL, 5*time.Second)
		old := mustStableToken(t, c)
		fake.RotateToken()
		err := c.CheckSession(ctx, old, wechattest.OpenID("dave"), wechattest.SessionKey("dave"))
		if !wechat.IsAccessTokenInvalid(err) {
			t.Errorf("IsAccessTokenInvalid(%v) = false, want true", err)
		}
	})
	t.Run("an answer without errcode vouches for nothing", func(t *testing.T) {
		tok := mustStableToken(t, c)
		fake.OnCheckSession("oid-empty", wechattest.Reply{Body: `{}`})
		if err := c.CheckSession(ctx, tok, "oid-empty", wechattest.SessionKey("empty")); !errors.Is(err, wechat.ErrUnavailable) {
			t.Errorf("got %v, want ErrUnavailable", err)
		}
	})
}

// endpoint drives one API of the client against the fake for the
// table-driven tests; key names what the fake's script is keyed by.
type endpoint struct {
	name   string
	script func(f *wechattest.Fake, key string, r ...wechattest.Reply)
	calls  func(f *wechattest.Fake, key string) int
	call   func(ctx context.Context, c *wechat.Client, tok, key string) error
}

var endpoints = []endpoint{
	{
		name:   "jscode2session",
		script: (*wechattest.Fake).On,
		calls:  (*wechattest.Fake).Calls,
		call: func(ctx context.Context, c *wechat.Client, _, key string) error {
			_, err := c.Code2Session(ctx, key)
			return err
		},
	},
	{
		name:   "stable_token",
		script: func(f *wechattest.Fake, _ string, r ...wechattest.Reply) { f.OnStableToken(r...) },
		calls:  func(f *wechattest.Fake, _ string) int { return f.StableTokenCalls() },
		call: func(ctx context.Context, c *wechat.Client, _, _ string) error {
			_, err := c.StableToken(ctx, false)
			return err
		},
	},
	{
		name:   "getuserphonenumber",
		script: (*wechattest.Fake).OnPhone,
		calls:  (*wechattest.Fake).PhoneCalls,
		call: func(ctx context.Context, c *wechat.Client, tok, key string) error {
			_, err := c.PhoneNumber(ctx, tok, key, "oid-x")
			return err
		},
	},
	{
		name:   "checksession",
		script: (*wechattest.Fake).OnCheckSession,
		calls:  (*wechattest.Fake).CheckSessionCalls,
		call: func(ctx context.Context, c *wechat.Client, tok, key string) error {
			return c.CheckSession(ctx, tok, key, wechattest.SessionKey(strings.TrimPrefix(key, "oid-")))
		},
	},
}

// setup returns a fake, a token for it and a fresh script key.
func setup(t *testing.T, e endpoint) (fake *wechattest.Fake, tok, key string) {
	t.Helper()
	fake = wechattest.New(t)
	if e.name != "stable_token" {
		tok = mustStableToken(t, newClient(fake.URL, 5*time.Second))
	}
	key = "oid-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fake, tok, key
}

func TestAPIErrcodes(t *testing.T) {
	tests := []struct {
		errcode    int
		wantReason string
		wantToken  bool // IsAccessTokenInvalid
	}{
		{wechat.CodeInvalidCode, errcode.ReasonInvalidCode, false},
		{wechat.CodeCodeUsed, errcode.ReasonInvalidCode, false},
		{wechat.CodeRateLimited, errcode.ReasonRateLimited, false},
		{wechat.CodeBlockedUser, errcode.ReasonBlockedUser, false},
		{wechat.CodeInvalidSignature, errcode.ReasonRejected, false},
		{wechat.CodeInvalidCredential, errcode.ReasonRejected, true},
		{wechat.CodeInvalidAccessToken, errcode.ReasonRejected, true},
		{wechat.CodeAccessTokenExpired, errcode.ReasonRejected, true},
		{wechat.CodeInvalidAppID, errcode.ReasonRejected, false},
		{wechat.CodeInvalidSecret, errcode.ReasonRejected, false},
		{45009, errcode.ReasonRejected, false},
		{99999, errcode.ReasonRejected, false},
	}
	for _, e := range endpoints {
		for _, tt := range tests {
			t.Run(e.name+"/"+strconv.Itoa(tt.errcode), func(t *testing.T) {
				fake, tok, key := setup(t, e)
				c := newClient(fake.URL, 5*time.Second)
				e.script(fake, key, wechattest.Reply{Errcode: tt.errcode})
				err := e.call(context.Background(), c, tok, key)
				werr := wantError(t, err, tt.errcode)
				if got := werr.Reason(); got != tt.wantReason {
					t.Errorf("Reason: got %q, want %q", got, tt.wantReason)
				}
				if got := wechat.IsAccessTokenInvalid(err); got != tt.wantToken {
					t.Errorf("IsAccessTokenInvalid: got %v, want %v", got, tt.wantToken)
				}
				if n := e.calls(fake, key); n != 1 {
					t.Errorf("got %d calls, want 1 (a refusal is not retried)", n)
				}
			})
		}
		t.Run(e.name+"/busy then success", func(t *testing.T) {
			fake, tok, key := setup(t, e)
			c := newClient(fake.URL, 5*time.Second)
			e.script(fake, key, wechattest.Reply{Errcode: wechat.CodeSystemBusy}, wechattest.Reply{})
			if err := e.call(context.Background(), c, tok, key); err != nil {
				t.Fatalf("got %v, want success on the retry", err)
			}
			if n := e.calls(fake, key); n != 2 {
				t.Errorf("got %d calls, want 2", n)
			}
		})
		t.Run(e.name+"/always busy", func(t *testing.T) {
			fake, tok, key := setup(t, e)
			c := newClient(fake.URL, 5*time.Second)
			e.script(fake, key, wechattest.Reply{Errcode: wechat.CodeSystemBusy})
			wantError(t, e.call(context.Background(), c, tok, key), wechat.CodeSystemBusy)
			if n := e.calls(fake, key); n != c.MaxAttempts {
				t.Errorf("got %d calls, want %d (MaxAttempts)", n, c.MaxAttempts)
			}
		})
	}
}

func TestAPIUnavailable(t *testing.T) {
	replies := []struct {
		name  string
		reply wechattest.Reply
		calls int // attempts expected
	}{
		{"http 500", wechattest.Reply{Status: http.StatusInternalServerError, Body: "oops"}, 3},
		{"http 502", wechattest.Reply{Status: http.StatusBadGateway}, 3},
		{"http 404", wechattest.Reply{Status: http.StatusNotFound}, 1},
		{"garbage body", wechattest.Reply{Body: "<html>not json</html>"}, 1},
		{"JSON array", wechattest.Reply{Body: `[1,2]`}, 1},
		{"errcode of the wrong type", wechattest.Reply{Body: `{"errcode":"40001"}`}, 1},
		{"truncated JSON", wechattest.Reply{Body: `{"errcode":0,`}, 1},
	}
	// Answers that say ok but lack what the API promises.
	incomplete := map[string][]string{
		"jscode2session":     {`{}`, `{"openid":"oid-x"}`},
		"stable_token":       {`{}`, `{"access_token":"AT"}`, `{"expires_in":7200}`, `{"access_token":"AT","expires_in":0}`},
		"getuserphonenumber": {`{}`, `{"errcode":0,"errmsg":"ok"}`, `{"errcode":0,"phone_info":{}}`, `{"phone_info":"13800138000"}`},
		"checksession":       {`{}`, `{"errmsg":"ok"}`},
	}
	for _, e := range endpoints {
		cases := replies
		for _, b := range incomplete[e.name] {
			cases = append(cases, struct {
				name  string
				reply wechattest.Reply
				calls int
			}{"incomplete " + b, wechattest.Reply{Body: b}, 1})
		}
		for _, tt := range cases {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				fake, tok, key := setup(t, e)
				c := newClient(fake.URL, 5*time.Second)
				e.script(fake, key, tt.reply)
				err := e.call(context.Background(), c, tok, key)
				if !errors.Is(err, wechat.ErrUnavailable) {
					t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
				}
				var werr *wechat.Error
				if errors.As(err, &werr) {
					t.Errorf("got *wechat.Error %v, want no errcode", werr)
				}
				if n := e.calls(fake, key); n != tt.calls {
					t.Errorf("got %d calls, want %d", n, tt.calls)
				}
				assertNoAPISecrets(t, err.Error(), tok, key)
			})
		}
	}
}

func TestAPITimeout(t *testing.T) {
	for _, e := range endpoints {
		t.Run(e.name, func(t *testing.T) {
			fake, tok, key := setup(t, e)
			e.script(fake, key, wechattest.Reply{Delay: time.Hour})
			c := newClient(fake.URL, 200*time.Millisecond)
			start := time.Now()
			err := e.call(context.Background(), c, tok, key)
			// A generous bound: only a client that waits for the hung server fails.
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("returned after %v, want it cut off by its 200ms timeout", d)
			}
			if !errors.Is(err, wechat.ErrUnavailable) {
				t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
			}
			if n := e.calls(fake, key); n != 1 {
				t.Errorf("got %d calls, want 1 (no retry once the deadline has passed)", n)
			}
			assertNoAPISecrets(t, err.Error(), tok, key)
		})
	}
}

func TestAPINetworkError(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	base := closed.URL
	closed.Close()
	const tok, key = "network-error-token-5e2a", "oid-network-error-0b7c"
	for _, e := range endpoints {
		t.Run(e.name, func(t *testing.T) {
			err := e.call(context.Background(), newClient(base, 5*time.Second), tok, key)
			if !errors.Is(err, wechat.ErrUnavailable) {
				t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
			}
			assertNoAPISecrets(t, err.Error(), tok, key)
			for _, path := range []string{"jscode2session", "stable_token", "getuserphonenumber", "checksession", "?"} {
				if strings.Contains(err.Error(), path) {
					t.Errorf("error %q contains the request URL (%q)", err, path)
				}
			}
		})
	}
}

// assertNoAPISecrets fails if text holds a secret of the fake or of the
// call: the app secret, the access token, the code or session key, or the
// login-state signature.
func assertNoAPISecrets(t *testing.T, text, tok, key string) {
	t.Helper()
	code := strings.TrimPrefix(key, "oid-")
	secrets := []string{wechattest.Secret, key, wechattest.SessionKey(key), wechattest.SessionKey(code),
		wechat.SessionSignature(wechattest.SessionKey(code))}
	if tok != "" {
		secrets = append(secrets, tok)
	}
	for _, s := range secrets {
		for line := range strings.Lines(text) {
			if strings.Contains(line, s) {
				t.Errorf("%q contains the secret %q", strings.TrimSpace(line), s)
				break
			}
		}
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked sync.Map
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		leaked.Store(r.URL.String()+" "+string(b), true)
	}))
	t.Cleanup(elsewhere.Close)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), status)
		}))
		t.Cleanup(redirector.Close)
		for _, e := range endpoints {
			err := e.call(context.Background(), newClient(redirector.URL, 5*time.Second), "redirected-token", "oid-redirected")
			if !errors.Is(err, wechat.ErrUnavailable) {
				t.Errorf("%s after %d: got %v, want ErrUnavailable", e.name, status, err)
			}
		}
	}
	leaked.Range(func(k, _ any) bool {
		t.Errorf("request reached the redirect target: %s", k)
		return true
	})
}

func TestErrorsScrubEchoedSecrets(t *testing.T) {
	// A proxy or WeChat itself may echo the request in errmsg.
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	tok := mustStableToken(t, c)
	sk := wechattest.SessionKey("echo")
	sig := wechat.SessionSignature(sk)
	fake.OnPhone("echo-code", wechattest.Reply{Body: `{"errcode":40029,"errmsg":"invalid code echo-code with token ` + tok + `"}`})
	fake.OnCheckSession("oid-echo", wechattest.Reply{Body: `{"errcode":87009,"errmsg":"bad signature ` + sig + ` for ` + sk + `"}`})
	fake.OnStableToken(wechattest.Reply{Body: `{"errcode":40125,"errmsg":"invalid appsecret ` + wechattest.Secret + `"}`})
	_, perr := c.PhoneNumber(context.Background(), tok, "echo-code", "")
	cerr := c.CheckSession(context.Background(), tok, "oid-echo", sk)
	_, terr := c.StableToken(context.Background(), false)
	for _, err := range []error{perr, cerr, terr} {
		var werr *wechat.Error
		if !errors.As(err, &werr) {
			t.Fatalf("got %v, want *wechat.Error", err)
		}
		for _, s := range []string{tok, "echo-code", sk, sig, wechattest.Secret} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains the secret %q", err, s)
			}
		}
		if !strings.Contains(werr.Msg, "[redacted]") {
			t.Errorf("errmsg %q: want the secret replaced by [redacted]", werr.Msg)
		}
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	// Everything a caller would log: errors of every kind, the Observe
	// hook's arguments and the AccessToken itself.
	fake := wechattest.New(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	c := newClient(fake.URL, 300*time.Millisecond)
	c.Observe = func(api string, d time.Duration, errcode int, err error) {
		log.Info("wechat call", "api", api, "duration", d, "errcode", errcode, "err", err)
	}
	ctx := context.Background()
	tok, err := c.StableToken(ctx, false)
	if err != nil {
		t.Fatalf("StableToken: %v", err)
	}
	log.Info("token", "token", tok, "ptr", *tok)
	fmt.Fprintf(&buf, "%v %+v %s\n", *tok, *tok, tok)

	s, err := c.Code2Session(ctx, "frank")
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	replies := []wechattest.Reply{{Errcode: wechat.CodeSystemBusy}, {Status: http.StatusInternalServerError}, {Body: "garbage"}, {Delay: time.Hour}, {Errcode: wechat.CodeInvalidCode}}
	for i, r := range replies {
		code := fmt.Sprintf("log-code-%d-91f3", i)
		fake.OnPhone(code, r)
		fake.OnCheckSession(s.OpenID, r)
		fake.On(code, r)
		fake.OnStableToken(r)
		for _, err := range []error{
			func() error { _, err := c.PhoneNumber(ctx, tok.Token, code, s.OpenID); return err }(),
			c.CheckSession(ctx, tok.Token, s.OpenID, s.SessionKey),
			func() error { _, err := c.Code2Session(ctx, code); return err }(),
			func() error { _, err := c.StableToken(ctx, false); return err }(),
		} {
			log.Error("call failed", "err", err)
		}
		fake.OnCheckSession(s.OpenID)
		fake.OnStableToken()
		if err := c.CheckSession(ctx, tok.Token, s.OpenID, "stale-session-key-77aa"); err != nil {
			log.Error("check failed", "err", err)
		}
		assertNoAPISecrets(t, buf.String(), tok.Token, code)
	}
	for _, secret := range []string{s.SessionKey, wechat.SessionSignature(s.SessionKey), "stale-session-key-77aa", tok.Token} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains the secret %q", secret)
		}
	}
	if !strings.Contains(buf.String(), "api=getuserphonenumber") || !strings.Contains(buf.String(), "errcode=40029") {
		t.Errorf("log lacks the observed calls:\n%s", buf.String())
	}
}

type observation struct {
	api     string
	errcode int
	err     error
}

func TestObserve(t *testing.T) {
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	var (
		mu  sync.Mutex
		got []observation
	)
	c.Observe = func(api string, d time.Duration, errcode int, err error) {
		if d < 0 {
			t.Errorf("%s: negative duration %v", api, d)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, observation{api, errcode, err})
	}
	ctx := context.Background()
	fake.OnStableToken(wechattest.Reply{Errcode: wechat.CodeSystemBusy}, wechattest.Reply{})
	tok := mustStableToken(t, c)
	fake.On("obs", wechattest.Reply{Status: http.StatusBadGateway}, wechattest.Reply{})
	s, err := c.Code2Session(ctx, "obs")
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	fake.OnPhone("obs-phone", wechattest.Reply{Errcode: wechat.CodeRateLimited})
	c.PhoneNumber(ctx, tok, "obs-phone", s.OpenID) //nolint:errcheck // observed
	c.CheckSession(ctx, tok, s.OpenID, "stale")    //nolint:errcheck // observed

	want := []struct {
		api     string
		errcode int
		failed  bool
	}{
		{"stable_token", -1, true},
		{"stable_token", 0, false},
		{"jscode2session", 0, true}, // 502
		{"jscode2session", 0, false},
		{"getuserphonenumber", wechat.CodeRateLimited, true},
		{"checksession", wechat.CodeInvalidSignature, true},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("got %d observations %v, want %d (one per attempt)", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.api != w.api || g.errcode != w.errcode || (g.err != nil) != w.failed {
			t.Errorf("observation %d: got (%s, %d, %v), want (%s, %d, failed=%v)", i, g.api, g.errcode, g.err, w.api, w.errcode, w.failed)
		}
	}
}
