package wechat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"wxtodo/wechat"
)

// memStore is a TokenStore in memory with the database's lease rules.
type memStore struct {
	mu                   sync.Mutex
	sealed               string
	expiresAt, refreshAt time.Time
	owner                string
	until                time.Time
}

func (s *memStore) LoadToken(_ context.Context, _ string) (string, time.Time, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sealed, s.expiresAt, s.refreshAt, nil
}

func (s *memStore) AcquireTokenLease(_ context.Context, _, owner string, at, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != "" && s.owner != owner && !s.until.Before(at) {
		return false, nil
	}
	s.owner, s.until = owner, until
	return true, nil
}

func (s *memStore) SaveToken(_ context.Context, _, owner, sealed string, expiresAt, refreshAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == owner {
		s.sealed, s.expiresAt, s.refreshAt, s.owner = sealed, expiresAt, refreshAt, ""
	}
	return nil
}

func (s *memStore) ReleaseTokenLease(_ context.Context, _, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == owner {
		s.owner = ""
	}
	return nil
}

// plainSealer "seals" by prefixing, so a test can read the store.
type plainSealer struct{}

func (plainSealer) Seal(p, _ []byte) (string, error) { return "sealed:" + string(p), nil }
func (plainSealer) Open(s string, _ []byte) ([]byte, error) {
	return []byte(s[len("sealed:"):]), nil
}

// countingSource hands out tok-1, tok-2, ... each valid for life.
type countingSource struct {
	mu    sync.Mutex
	calls int
	life  time.Duration
	fail  bool   // answer an error
	fixed string // answer this token every time
}

func (c *countingSource) StableToken(context.Context, bool) (*wechat.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail {
		return nil, &wechat.Error{Code: -1, Msg: "system busy"}
	}
	if c.fixed != "" {
		return &wechat.AccessToken{Token: c.fixed, ExpiresIn: c.life}, nil
	}
	return &wechat.AccessToken{Token: fmt.Sprintf("tok-%d", c.calls), ExpiresIn: c.life}, nil
}

func (c *countingSource) set(fail bool, fixed string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail, c.fixed = fail, fixed
}

func (c *countingSource) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// clock is a settable time shared by the caches of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSharedTokenCache(t *testing.T) {
	ctx := context.Background()
	setup := func() (*memStore, *countingSource, *clock, []*wechat.TokenCache) {
		store, src, clk := &memStore{}, &countingSource{life: 2 * time.Hour}, &clock{t: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}
		var caches []*wechat.TokenCache
		for range 3 {
			tc := wechat.NewSharedTokenCache(src, &wechat.Shared{Store: store, Keys: plainSealer{}, AppID: "wx1"})
			tc.SetNow(clk.now)
			caches = append(caches, tc)
		}
		return store, src, clk, caches
	}
	// token may only be called from the test's goroutine: it fails the
	// test with Fatalf. Goroutines call tc.Token and hand back the result.
	token := func(tb testing.TB, tc *wechat.TokenCache) string {
		tb.Helper()
		tok, err := tc.Token(ctx)
		if err != nil {
			tb.Fatalf("Token: %v", err)
		}
		return tok
	}

	t.Run("one fetch for all instances, then one per lifetime, ahead of expiry", func(t *testing.T) {
		store, src, clk, caches := setup()
		errs := make(chan error, 30)
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				_, err := caches[i%3].Token(ctx)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
		}
		if n := src.count(); n != 1 {
			t.Fatalf("%d fetches for three instances, want 1", n)
		}
		if store.sealed != "sealed:tok-1" {
			t.Fatalf("stored %q", store.sealed)
		}
		// Five minutes before expiry: due. One instance fetches; the
		// others find the new token in the store.
		clk.add(2*time.Hour - 5*time.Minute + time.Second)
		for _, tc := range caches {
			if tok := token(t, tc); tok != "tok-2" {
				t.Errorf("after the refresh: %q, want tok-2", tok)
			}
		}
		if n := src.count(); n != 2 {
			t.Errorf("%d fetches after one lifetime, want 2", n)
		}
	})

	t.Run("while another instance refreshes, the valid token serves", func(t *testing.T) {
		store, src, clk, caches := setup()
		token(t, caches[0])
		clk.add(2*time.Hour - time.Minute) // due, not expired
		if ok, _ := store.AcquireTokenLease(ctx, "wx1", "someone else", clk.now(), clk.now().Add(time.Minute)); !ok {
			t.Fatal("could not take the lease")
		}
		if tok := token(t, caches[1]); tok != "tok-1" {
			t.Errorf("during another's refresh: %q, want the still valid tok-1", tok)
		}
		if n := src.count(); n != 1 {
			t.Errorf("%d fetches while another instance holds the lease, want 1", n)
		}
	})

	t.Run("an expired token waits for the instance that refreshes", func(t *testing.T) {
		store, src, clk, caches := setup()
		token(t, caches[0])
		clk.add(2*time.Hour + time.Second) // expired
		store.AcquireTokenLease(ctx, "wx1", "other", clk.now(), clk.now().Add(time.Minute))
		type result struct {
			tok string
			err error
		}
		done := make(chan result, 1) // buffered: the goroutine never blocks on a test that stopped
		go func() {
			tok, err := caches[1].Token(ctx)
			done <- result{tok, err}
		}()
		time.Sleep(50 * time.Millisecond)
		store.SaveToken(ctx, "wx1", "other", "sealed:tok-from-other", clk.now().Add(2*time.Hour), clk.now().Add(115*time.Minute))
		r := <-done
		if r.err != nil {
			t.Fatalf("Token: %v", r.err)
		}
		if r.tok != "tok-from-other" {
			t.Errorf("got %q, want the token the other instance stored", r.tok)
		}
		if n := src.count(); n != 1 {
			t.Errorf("%d fetches, want 1", n)
		}
	})

	t.Run("a rejected token is fetched again once, by one instance", func(t *testing.T) {
		_, src, _, caches := setup()
		first := token(t, caches[0])
		token(t, caches[1])
		caches[0].Invalidate(first)
		if tok := token(t, caches[0]); tok != "tok-2" {
			t.Fatalf("after WeChat rejected %s: %q, want tok-2", first, tok)
		}
		// The second instance learns of the rejection later: the store
		// holds a new token already, so no fetch.
		caches[1].Invalidate(first)
		if tok := token(t, caches[1]); tok != "tok-2" {
			t.Errorf("second instance: %q, want tok-2 from the store", tok)
		}
		if n := src.count(); n != 2 {
			t.Errorf("%d fetches, want 2", n)
		}
	})

	t.Run("a failed refresh ahead of expiry keeps the valid token", func(t *testing.T) {
		_, src, clk, caches := setup()
		token(t, caches[0])
		clk.add(2*time.Hour - time.Minute) // due, still valid
		src.set(true, "")
		for _, tc := range caches {
			if tok := token(t, tc); tok != "tok-1" {
				t.Errorf("during a stable_token outage: %q, want the still valid tok-1", tok)
			}
		}
		calls := src.count()
		token(t, caches[0])
		if n := src.count(); n != calls {
			t.Errorf("asked again at once after a failure: %d calls, then %d", calls, n)
		}
		clk.add(2 * time.Minute) // expired
		if _, err := caches[0].Token(ctx); err == nil {
			t.Errorf("an expired token with WeChat down: no error")
		}
	})

	t.Run("WeChat handing back the rejected token is asked again only after a while", func(t *testing.T) {
		_, src, clk, caches := setup()
		first := token(t, caches[0])
		src.set(false, first)
		for range 5 {
			caches[0].Invalidate(first)
			token(t, caches[0])
		}
		if n := src.count(); n != 2 {
			t.Errorf("5 rejections of a token WeChat keeps handing out: %d stable_token calls, want 2", n)
		}
		clk.add(time.Minute)
		token(t, caches[1])
		if n := src.count(); n != 3 {
			t.Errorf("after the retry interval: %d calls, want 3", n)
		}
	})
}
