package wechat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"wxtodo/wechat"
	"wxtodo/wechat/wechattest"
)

func TestTokenCache(t *testing.T) {
	ctx := context.Background()

	t.Run("fetches once and reuses the token", func(t *testing.T) {
		fake := wechattest.New(t)
		tc := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		for range 5 {
			tok, err := tc.Token(ctx)
			if err != nil || tok != wechattest.Token(1) {
				t.Fatalf("Token: got %q, %v; want %q", tok, err, wechattest.Token(1))
			}
		}
		if n := fake.StableTokenCalls(); n != 1 {
			t.Errorf("got %d stable_token calls, want 1", n)
		}
	})
	t.Run("concurrent callers share one fetch", func(t *testing.T) {
		fake := wechattest.New(t)
		fake.OnStableToken(wechattest.Reply{Delay: 100 * time.Millisecond}, wechattest.Reply{})
		tc := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if tok, err := tc.Token(ctx); err != nil || tok != wechattest.Token(1) {
					t.Errorf("Token: got %q, %v; want %q", tok, err, wechattest.Token(1))
				}
			})
		}
		wg.Wait()
		if n := fake.StableTokenCalls(); n != 1 {
			t.Errorf("got %d stable_token calls, want 1", n)
		}
	})
	t.Run("fetches again five minutes before expiry", func(t *testing.T) {
		fake := wechattest.New(t)
		tc := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		now := time.Now()
		tc.SetNow(func() time.Time { return now })
		if _, err := tc.Token(ctx); err != nil {
			t.Fatalf("Token: %v", err)
		}
		now = now.Add(wechattest.DefaultTokenTTL - 5*time.Minute - time.Second)
		if _, err := tc.Token(ctx); err != nil {
			t.Fatalf("Token: %v", err)
		}
		if n := fake.StableTokenCalls(); n != 1 {
			t.Errorf("before the margin: got %d stable_token calls, want 1", n)
		}
		now = now.Add(2 * time.Second)
		if _, err := tc.Token(ctx); err != nil {
			t.Fatalf("Token: %v", err)
		}
		if n := fake.StableTokenCalls(); n != 2 {
			t.Errorf("within the margin: got %d stable_token calls, want 2", n)
		}
		if n := fake.ForcedRefreshes(); n != 0 {
			t.Errorf("got %d forced refreshes, want 0", n)
		}
	})
	t.Run("a failed fetch is not cached", func(t *testing.T) {
		fake := wechattest.New(t)
		fake.OnStableToken(wechattest.Reply{Errcode: 45009}, wechattest.Reply{})
		tc := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		_, err := tc.Token(ctx)
		wantError(t, err, 45009)
		if tok, err := tc.Token(ctx); err != nil || tok != wechattest.Token(1) {
			t.Errorf("second Token: got %q, %v; want %q", tok, err, wechattest.Token(1))
		}
	})
	t.Run("a caller that gives up does not cancel the fetch", func(t *testing.T) {
		fake := wechattest.New(t)
		fake.OnStableToken(wechattest.Reply{Delay: 200 * time.Millisecond}, wechattest.Reply{})
		tc := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := tc.Token(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the caller's deadline", err)
		}
		if tok, err := tc.Token(ctx); err != nil || tok != wechattest.Token(1) {
			t.Errorf("Token: got %q, %v; want %q", tok, err, wechattest.Token(1))
		}
		if n := fake.StableTokenCalls(); n != 1 {
			t.Errorf("got %d stable_token calls, want 1 (the second caller joins the first fetch)", n)
		}
	})
	t.Run("instances share the stable token", func(t *testing.T) {
		fake := wechattest.New(t)
		a := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		b := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		ta, errA := a.Token(ctx)
		tb, errB := b.Token(ctx)
		if errA != nil || errB != nil || ta != tb {
			t.Fatalf("got %q (%v) and %q (%v), want one token for both", ta, errA, tb, errB)
		}
		// A's token still works after B fetched: nobody overwrote it.
		if _, err := newClient(fake.URL, 5*time.Second).PhoneNumber(ctx, ta, "shared", ""); err != nil {
			t.Errorf("PhoneNumber with the first instance's token: %v", err)
		}
	})
	t.Run("Mock is a token source", func(t *testing.T) {
		tok, err := wechat.NewTokenCache(wechat.Mock{}).Token(ctx)
		if err != nil || tok != wechat.MockAccessToken {
			t.Errorf("got %q, %v; want %q", tok, err, wechat.MockAccessToken)
		}
	})
}

func TestTokenCacheDo(t *testing.T) {
	ctx := context.Background()
	phone := func(c *wechat.Client, code string, seen *[]string) func(context.Context, string) error {
		return func(ctx context.Context, tok string) error {
			*seen = append(*seen, tok)
			_, err := c.PhoneNumber(ctx, tok, code, "")
			return err
		}
	}

	t.Run("refreshes once when another instance replaced the token", func(t *testing.T) {
		fake := wechattest.New(t)
		c := newClient(fake.URL, 5*time.Second)
		tc := wechat.NewTokenCache(c)
		if _, err := tc.Token(ctx); err != nil {
			t.Fatalf("Token: %v", err)
		}
		fake.RotateToken() // tok-2, which this instance has not seen
		var seen []string
		if err := tc.Do(ctx, phone(c, "rotated", &seen)); err != nil {
			t.Fatalf("Do: got %v, want success after one refresh", err)
		}
		if want := []string{wechattest.Token(1), wechattest.Token(2)}; len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
			t.Errorf("fn saw tokens %v, want %v", seen, want)
		}
		if n := fake.ForcedRefreshes(); n != 0 {
			t.Errorf("got %d forced refreshes, want 0 (never force automatically)", n)
		}
		if n := fake.StableTokenCalls(); n != 2 {
			t.Errorf("got %d stable_token calls, want 2", n)
		}
	})
	t.Run("refreshes once when the token expired early", func(t *testing.T) {
		fake := wechattest.New(t)
		c := newClient(fake.URL, 5*time.Second)
		tc := wechat.NewTokenCache(c)
		if _, err := tc.Token(ctx); err != nil {
			t.Fatalf("Token: %v", err)
		}
		fake.ExpireToken()
		var seen []string
		if err := tc.Do(ctx, phone(c, "expired", &seen)); err != nil {
			t.Fatalf("Do: got %v, want success after one refresh", err)
		}
		if len(seen) != 2 {
			t.Errorf("fn called %d times, want 2", len(seen))
		}
	})
	t.Run("gives up after one refresh", func(t *testing.T) {
		fake := wechattest.New(t)
		c := newClient(fake.URL, 5*time.Second)
		tc := wechat.NewTokenCache(c)
		if _, err := tc.Token(ctx); err != nil {
			t.Fatalf("Token: %v", err)
		}
		fake.RotateToken()
		fake.OnPhone("always-40001", wechattest.Reply{Errcode: wechat.CodeInvalidCredential})
		var seen []string
		err := tc.Do(ctx, phone(c, "always-40001", &seen))
		wantError(t, err, wechat.CodeInvalidCredential)
		if len(seen) != 2 {
			t.Errorf("fn called %d times, want 2", len(seen))
		}
		if n := fake.ForcedRefreshes(); n != 0 {
			t.Errorf("got %d forced refreshes, want 0", n)
		}
	})
	t.Run("does not call again when WeChat hands out the same token", func(t *testing.T) {
		fake := wechattest.New(t)
		c := newClient(fake.URL, 5*time.Second)
		tc := wechat.NewTokenCache(c)
		fake.OnPhone("stubborn", wechattest.Reply{Errcode: wechat.CodeInvalidCredential})
		var seen []string
		err := tc.Do(ctx, phone(c, "stubborn", &seen))
		wantError(t, err, wechat.CodeInvalidCredential)
		if len(seen) != 1 {
			t.Errorf("fn called %d times, want 1 (the refetched token is the same)", len(seen))
		}
	})
	t.Run("other errors are not retried", func(t *testing.T) {
		fake := wechattest.New(t)
		c := newClient(fake.URL, 5*time.Second)
		tc := wechat.NewTokenCache(c)
		fake.OnPhone("bad-code", wechattest.Reply{Errcode: wechat.CodeInvalidCode})
		var seen []string
		wantError(t, tc.Do(ctx, phone(c, "bad-code", &seen)), wechat.CodeInvalidCode)
		if len(seen) != 1 || fake.StableTokenCalls() != 1 {
			t.Errorf("fn called %d times with %d token fetches, want 1 and 1", len(seen), fake.StableTokenCalls())
		}
	})
	t.Run("no token, no call", func(t *testing.T) {
		fake := wechattest.New(t)
		fake.OnStableToken(wechattest.Reply{Errcode: wechat.CodeInvalidSecret})
		tc := wechat.NewTokenCache(newClient(fake.URL, 5*time.Second))
		called := false
		err := tc.Do(ctx, func(context.Context, string) error { called = true; return nil })
		wantError(t, err, wechat.CodeInvalidSecret)
		if called {
			t.Error("fn was called without a token")
		}
	})
}
