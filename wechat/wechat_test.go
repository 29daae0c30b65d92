package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxtodo/errcode"
	"wxtodo/wechat"
	"wxtodo/wechat/wechattest"
)

// newClient returns a client of the fake with a fast backoff, so retries
// do not slow the tests down.
func newClient(baseURL string, timeout time.Duration) *wechat.Client {
	c := wechat.New(baseURL, wechattest.AppID, wechattest.Secret, timeout)
	c.BaseBackoff = time.Millisecond
	return c
}

func TestCode2SessionSuccess(t *testing.T) {
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	if got := c.AppID(); got != wechattest.AppID {
		t.Errorf("AppID: got %q, want %q", got, wechattest.AppID)
	}

	t.Run("without unionid", func(t *testing.T) {
		s, err := c.Code2Session(context.Background(), "code-a")
		if err != nil {
			t.Fatalf("Code2Session: got error %v, want success", err)
		}
		want := wechat.Session{OpenID: wechattest.OpenID("code-a"), SessionKey: wechattest.SessionKey("code-a")}
		if *s != want {
			t.Errorf("got %+v, want %+v", *s, want)
		}
	})
	t.Run("with unionid", func(t *testing.T) {
		fake.On("code-b", wechattest.Reply{UnionID: "union-b"})
		s, err := c.Code2Session(context.Background(), "code-b")
		if err != nil {
			t.Fatalf("Code2Session: got error %v, want success", err)
		}
		want := wechat.Session{OpenID: wechattest.OpenID("code-b"), UnionID: "union-b", SessionKey: wechattest.SessionKey("code-b")}
		if *s != want {
			t.Errorf("got %+v, want %+v", *s, want)
		}
	})
	t.Run("base URL with trailing slash", func(t *testing.T) {
		c := newClient(fake.URL+"/", 5*time.Second)
		if _, err := c.Code2Session(context.Background(), "code-c"); err != nil {
			t.Fatalf("Code2Session: got error %v, want success", err)
		}
	})
	t.Run("wrong secret is a refusal", func(t *testing.T) {
		c := wechat.New(fake.URL, wechattest.AppID, "not-the-secret", 5*time.Second)
		_, err := c.Code2Session(context.Background(), "code-d")
		var werr *wechat.Error
		if !errors.As(err, &werr) || werr.Code != wechat.CodeInvalidAppID {
			t.Fatalf("got %v, want *wechat.Error with errcode %d", err, wechat.CodeInvalidAppID)
		}
	})
}

func TestCode2SessionErrcodes(t *testing.T) {
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	tests := []struct {
		errcode    int
		wantReason string
	}{
		{wechat.CodeInvalidCode, errcode.ReasonInvalidCode},
		{wechat.CodeCodeUsed, errcode.ReasonInvalidCode},
		{wechat.CodeRateLimited, errcode.ReasonRateLimited},
		{wechat.CodeBlockedUser, errcode.ReasonBlockedUser},
		{wechat.CodeInvalidAppID, errcode.ReasonRejected},
		{40002, errcode.ReasonRejected},
		{99999, errcode.ReasonRejected},
	}
	for _, tt := range tests {
		t.Run(tt.wantReason+"/"+strconv.Itoa(tt.errcode), func(t *testing.T) {
			code := "errcode-" + strconv.Itoa(tt.errcode)
			fake.On(code, wechattest.Reply{Errcode: tt.errcode})
			s, err := c.Code2Session(context.Background(), code)
			if s != nil {
				t.Errorf("got session %+v, want nil", s)
			}
			var werr *wechat.Error
			if !errors.As(err, &werr) {
				t.Fatalf("got error %v (%T), want *wechat.Error", err, err)
			}
			if werr.Code != tt.errcode {
				t.Errorf("Code: got %d, want %d", werr.Code, tt.errcode)
			}
			if got := werr.Reason(); got != tt.wantReason {
				t.Errorf("Reason: got %q, want %q", got, tt.wantReason)
			}
			if errors.Is(err, wechat.ErrUnavailable) {
				t.Errorf("a definite refusal wraps ErrUnavailable: %v", err)
			}
			if n := fake.Calls(code); n != 1 {
				t.Errorf("got %d calls, want 1 (a refusal is not retried)", n)
			}
		})
	}
}

func TestCode2SessionRetriesSystemBusy(t *testing.T) {
	fake := wechattest.New(t)

	t.Run("busy then success", func(t *testing.T) {
		c := newClient(fake.URL, 5*time.Second)
		fake.On("busy-once", wechattest.Reply{Errcode: wechat.CodeSystemBusy}, wechattest.Reply{})
		s, err := c.Code2Session(context.Background(), "busy-once")
		if err != nil {
			t.Fatalf("got error %v, want success on the retry", err)
		}
		if s.OpenID != wechattest.OpenID("busy-once") {
			t.Errorf("OpenID: got %q, want %q", s.OpenID, wechattest.OpenID("busy-once"))
		}
		if n := fake.Calls("busy-once"); n != 2 {
			t.Errorf("got %d calls, want 2", n)
		}
	})
	for _, attempts := range []int{1, 3, 5} {
		t.Run("always busy with MaxAttempts "+strconv.Itoa(attempts), func(t *testing.T) {
			c := newClient(fake.URL, 30*time.Second)
			c.MaxAttempts = attempts
			code := "busy-forever-" + strconv.Itoa(attempts)
			fake.On(code, wechattest.Reply{Errcode: wechat.CodeSystemBusy})
			_, err := c.Code2Session(context.Background(), code)
			var werr *wechat.Error
			if !errors.As(err, &werr) || werr.Code != wechat.CodeSystemBusy {
				t.Fatalf("got %v, want *wechat.Error with errcode -1", err)
			}
			if n := fake.Calls(code); n != attempts {
				t.Errorf("got %d calls, want %d (MaxAttempts)", n, attempts)
			}
		})
	}
}

func TestCode2SessionUnavailable(t *testing.T) {
	fake := wechattest.New(t)
	tests := []struct {
		name  string
		reply wechattest.Reply
	}{
		{"http 500", wechattest.Reply{Status: http.StatusInternalServerError, Body: "oops"}},
		{"http 502", wechattest.Reply{Status: http.StatusBadGateway}},
		{"http 404", wechattest.Reply{Status: http.StatusNotFound}},
		{"garbage body", wechattest.Reply{Body: "<html>not json</html>"}},
		{"empty object", wechattest.Reply{Body: "{}"}},
		{"openid without session_key", wechattest.Reply{Body: `{"openid":"oid-x"}`}},
		{"session_key without openid", wechattest.Reply{Body: `{"session_key":"sk"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(fake.URL, 5*time.Second)
			code := "unavailable-" + strings.ReplaceAll(tt.name, " ", "-")
			fake.On(code, tt.reply)
			s, err := c.Code2Session(context.Background(), code)
			if s != nil {
				t.Errorf("got session %+v, want nil", s)
			}
			if !errors.Is(err, wechat.ErrUnavailable) {
				t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
			}
			var werr *wechat.Error
			if errors.As(err, &werr) {
				t.Errorf("got *wechat.Error %v, want no errcode", werr)
			}
			assertNoSecrets(t, err, code)
		})
	}
}

func assertNoSecrets(t *testing.T, err error, code string) {
	t.Helper()
	msg := err.Error()
	for _, secret := range []string{wechattest.Secret, code, wechattest.SessionKey(code)} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains the secret %q", msg, secret)
		}
	}
}

func TestCode2SessionNetworkError(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	base := closed.URL
	closed.Close()

	c := newClient(base, 5*time.Second)
	const code = "network-error-code-6d1e"
	s, err := c.Code2Session(context.Background(), code)
	if s != nil {
		t.Errorf("got session %+v, want nil", s)
	}
	if !errors.Is(err, wechat.ErrUnavailable) {
		t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
	}
	assertNoSecrets(t, err, code)
	if strings.Contains(err.Error(), "jscode2session") {
		t.Errorf("error %q contains the request URL", err)
	}
}

func TestCode2SessionTimeout(t *testing.T) {
	fake := wechattest.New(t)
	const code = "hung-code"
	fake.On(code, wechattest.Reply{Delay: time.Hour})
	c := newClient(fake.URL, 200*time.Millisecond)

	start := time.Now()
	_, err := c.Code2Session(context.Background(), code)
	// A generous bound: only a client that waits for the hung server fails.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Code2Session returned after %v, want it cut off by its 200ms timeout", d)
	}
	if !errors.Is(err, wechat.ErrUnavailable) {
		t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
	}
	assertNoSecrets(t, err, code)
	if n := fake.Calls(code); n != 1 {
		t.Errorf("got %d calls, want 1 (no retry once the deadline has passed)", n)
	}
}

func TestCode2SessionStalledBody(t *testing.T) {
	// Headers and half an answer, then nothing: the timeout must cut the
	// body read off too.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"openid":"oid-stall",`)) //nolint:errcheck // test server
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c := newClient(srv.URL, 200*time.Millisecond)
	const code = "stalled-body-code"
	start := time.Now()
	_, err := c.Code2Session(context.Background(), code)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Code2Session returned after %v, want it cut off by its 200ms timeout", d)
	}
	if !errors.Is(err, wechat.ErrUnavailable) {
		t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
	}
	assertNoSecrets(t, err, code)
}

func TestCode2SessionSendsCodeVerbatim(t *testing.T) {
	fake := wechattest.New(t)
	c := newClient(fake.URL, 5*time.Second)
	// The fake answers 40013 unless appid and secret are its own, so a
	// code that smuggled in an appid would be refused.
	for _, code := range []string{"a+b", "x&appid=other&secret=nope", "c%20d", "e#f", "g h", "j?k/l"} {
		t.Run(code, func(t *testing.T) {
			s, err := c.Code2Session(context.Background(), code)
			if err != nil {
				t.Fatalf("got error %v, want success", err)
			}
			if s.OpenID != wechattest.OpenID(code) {
				t.Errorf("got openid %q, want %q (the fake saw another js_code)", s.OpenID, wechattest.OpenID(code))
			}
			if n := fake.Calls(code); n != 1 {
				t.Errorf("got %d calls with js_code %q, want 1", n, code)
			}
		})
	}
}

func TestCode2SessionCallerCancel(t *testing.T) {
	fake := wechattest.New(t)
	fake.On("cancelled", wechattest.Reply{Delay: time.Hour})
	c := newClient(fake.URL, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for fake.Calls("cancelled") == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Code2Session(ctx, "cancelled")
	if err == nil {
		t.Fatal("got success, want an error once the caller gave up")
	}
	if n := fake.Calls("cancelled"); n != 1 {
		t.Errorf("got %d calls, want 1 (no retry after the caller gave up)", n)
	}
}

func TestMockIsDeterministic(t *testing.T) {
	var m wechat.Mock
	ctx := context.Background()
	a1, err := m.Code2Session(ctx, "alice")
	if err != nil {
		t.Fatalf("Mock.Code2Session(alice): %v", err)
	}
	a2, err := m.Code2Session(ctx, "alice")
	if err != nil {
		t.Fatalf("Mock.Code2Session(alice): %v", err)
	}
	b, err := m.Code2Session(ctx, "bob")
	if err != nil {
		t.Fatalf("Mock.Code2Session(bob): %v", err)
	}
	if *a1 != *a2 {
		t.Errorf("same code: got %+v then %+v, want equal", *a1, *a2)
	}
	if a1.OpenID == b.OpenID {
		t.Errorf("different codes: both got openid %q, want different", a1.OpenID)
	}
	for _, s := range []*wechat.Session{a1, b} {
		if s.OpenID == "" || s.SessionKey == "" {
			t.Errorf("got %+v, want openid and session_key set", *s)
		}
	}
	if strings.Contains(a1.OpenID, "alice") {
		t.Errorf("openid %q contains the code", a1.OpenID)
	}
	if _, err := m.Code2Session(ctx, ""); err == nil {
		t.Errorf("empty code: got success, want an error")
	}
}

func TestCode2SessionCodeUsedAfterLostAnswerIsUnavailable(t *testing.T) {
	fake := wechattest.New(t)
	fake.On("lost", wechattest.Reply{Status: http.StatusBadGateway}, wechattest.Reply{Errcode: wechat.CodeCodeUsed})
	c := wechat.New(fake.URL, wechattest.AppID, wechattest.Secret, 5*time.Second)
	c.BaseBackoff = time.Millisecond
	_, err := c.Code2Session(context.Background(), "lost")
	if !errors.Is(err, wechat.ErrUnavailable) {
		t.Fatalf("40163 on a retry: got %v, want ErrUnavailable (the first attempt may have used the code)", err)
	}
	fake.On("used", wechattest.Reply{Errcode: wechat.CodeCodeUsed})
	_, err = c.Code2Session(context.Background(), "used")
	var werr *wechat.Error
	if !errors.As(err, &werr) || werr.Code != wechat.CodeCodeUsed {
		t.Fatalf("40163 on the first attempt: got %v, want *Error 40163", err)
	}
}
