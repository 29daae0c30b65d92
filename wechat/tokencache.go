package wechat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ErrAccessToken marks a call that never reached the API because no
// access_token could be had: the server's problem, not the caller's.
var ErrAccessToken = errors.New("no access_token")

// TokenSource fetches access tokens: a *Client, or Mock in development.
type TokenSource interface {
	StableToken(ctx context.Context, forceRefresh bool) (*AccessToken, error)
}

// TokenStore shares the app's access_token among server instances
// (db.WeChatStore). A lease lets one instance at a time refresh it.
type TokenStore interface {
	// LoadToken returns the stored token (sealed; "" when none), its
	// expiry, and when it is due to be fetched again.
	LoadToken(ctx context.Context, appID string) (sealed string, expiresAt, refreshAt time.Time, err error)
	// AcquireTokenLease makes owner the refresher until `until`, unless
	// another owner's lease is still running at `at`.
	AcquireTokenLease(ctx context.Context, appID, owner string, at, until time.Time) (bool, error)
	// SaveToken stores a fetched token and ends owner's lease.
	SaveToken(ctx context.Context, appID, owner, sealed string, expiresAt, refreshAt time.Time) error
	// ReleaseTokenLease ends owner's lease without a new token.
	ReleaseTokenLease(ctx context.Context, appID, owner string) error
}

// TokenSealer keeps the stored token sealed at rest (secret.Keyring).
type TokenSealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// Shared makes a TokenCache share its token through a store.
type Shared struct {
	Store TokenStore
	Keys  TokenSealer
	AppID string
}

// refreshMargin is how long before expiry a token is fetched again, at
// most; a tenth of a short-lived token's life.
const refreshMargin = 5 * time.Minute

// fetchTimeout bounds a fetch, whether or not a caller still waits for it.
const fetchTimeout = time.Minute

// leaseFor bounds one instance's refresh; past it another takes over. It
// outlasts the longest fetch, so that a slow holder is not overtaken.
const leaseFor = fetchTimeout + 15*time.Second

// retryAfter is how soon a token is fetched again when a fetch failed
// while the token in hand was still valid, or when WeChat handed back the
// token it had just rejected: a bound on stable_token calls either way.
const retryAfter = 30 * time.Second

// TokenCache keeps the app's access_token in memory, fetches it from
// WeChat's stable_token only when it nears expiry or WeChat rejects it,
// and never forces a refresh. Concurrent callers share one fetch. With
// Shared, all instances share one token through the database: one
// instance at a time refreshes it, under a lease, and the others read what
// it stored. The zero value is not usable; use NewTokenCache.
type TokenCache struct {
	src    TokenSource
	shared *Shared
	owner  string // this cache's name on the lease
	now    func() time.Time

	mu        sync.Mutex
	token     string
	expiresAt time.Time
	refreshAt time.Time
	rejected  string // the token WeChat refused last
	confirmed bool   // and stable_token handed it back since: do not ask again before refreshAt

	// fetches shares one fetch among the callers that need a token at once.
	fetches singleflight.Group
}

// NewTokenCache returns a cache over src, kept in this process only.
func NewTokenCache(src TokenSource) *TokenCache {
	var b [8]byte
	rand.Read(b[:]) //nolint:errcheck // never fails (crypto/rand)
	return &TokenCache{src: src, owner: hex.EncodeToString(b[:]), now: time.Now}
}

// NewSharedTokenCache returns a cache over src whose token all instances
// with the same store and AppID share.
func NewSharedTokenCache(src TokenSource, shared *Shared) *TokenCache {
	tc := NewTokenCache(src)
	tc.shared = shared
	return tc
}

// Token returns a current access_token, fetching one when needed. Errors
// are those of the source or the store, or ctx's.
func (tc *TokenCache) Token(ctx context.Context) (string, error) {
	if tok, ok := tc.cached(); ok {
		return tok, nil
	}
	// The fetch outlives a caller that gives up, so that the others
	// waiting on it still get a token.
	fetch := context.WithoutCancel(ctx)
	ch := tc.fetches.DoChan("token", func() (any, error) { return tc.fetch(fetch) })
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

// cached returns the token in hand while it is not due for a refresh.
func (tc *TokenCache) cached() (string, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.token, tc.token != "" && tc.now().Before(tc.refreshAt)
}

func (tc *TokenCache) fetch(ctx context.Context) (string, error) {
	// A fetch that ended just before this one began may have brought a
	// token already.
	if tok, ok := tc.cached(); ok {
		return tok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	tc.mu.Lock()
	prev, rejected := tc.token, tc.rejected
	tc.mu.Unlock()
	var (
		tok            string
		exp, refreshAt time.Time
		err            error
	)
	if tc.shared != nil {
		tok, exp, refreshAt, err = tc.obtainShared(ctx, rejected)
	} else {
		var at *AccessToken
		if at, err = tc.src.StableToken(ctx, false); err == nil {
			tok, exp = at.Token, tc.now().Add(at.ExpiresIn)
			refreshAt = nextRefresh(at, prev, exp)
		}
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	now := tc.now()
	switch {
	case err == nil:
		if tok == tc.rejected {
			// WeChat insists on the token it just refused (or it was
			// refused while this fetch ran): use it, but ask again soon.
			refreshAt, tc.confirmed = now.Add(retryAfter), true
		}
		tc.token, tc.expiresAt, tc.refreshAt = tok, exp, refreshAt
		return tok, nil
	case tc.token != "" && tc.token != tc.rejected && now.Before(tc.expiresAt):
		// A refresh ahead of expiry failed: the token in hand still works.
		tc.refreshAt = now.Add(retryAfter)
		return tc.token, nil
	default:
		return "", err
	}
}

// nextRefresh is when a token just fetched, expiring at exp, is fetched
// again: a margin before it expires. When the fetch brought back the
// token held before (stable_token hands out a new one only once the old
// one has expired), the next fetch waits for the expiry WeChat just told.
func nextRefresh(at *AccessToken, prev string, exp time.Time) time.Time {
	if at.Token == prev {
		return exp
	}
	return exp.Add(-min(refreshMargin, at.ExpiresIn/10))
}

// obtainShared returns the shared token, refreshing it under the lease
// when it is due, or missing, or the rejected one. While another instance
// holds the lease, the stored token serves as long as it is valid; without
// one, it waits for that instance to store the new token.
func (tc *TokenCache) obtainShared(ctx context.Context, rejected string) (tok string, exp, refreshAt time.Time, err error) {
	sh := tc.shared
	for wait := 20 * time.Millisecond; ; wait = min(wait*2, 500*time.Millisecond) {
		now := tc.now()
		st, err := tc.loadShared(ctx)
		if err != nil {
			return "", time.Time{}, time.Time{}, err
		}
		if st.usable(rejected, now) && now.Before(st.refreshAt) {
			return st.token, st.expiresAt, st.refreshAt, nil
		}
		won, err := sh.Store.AcquireTokenLease(ctx, sh.AppID, tc.owner, now, now.Add(leaseFor))
		if err != nil {
			return "", time.Time{}, time.Time{}, fmt.Errorf("access_token lease: %w", err)
		}
		if won {
			return tc.refreshShared(ctx, rejected)
		}
		if st.usable(rejected, now) {
			// Another instance is refreshing; this token is still good.
			return st.token, st.expiresAt, now.Add(wait), nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", time.Time{}, time.Time{}, ctx.Err()
		case <-t.C:
		}
	}
}

// refreshShared runs under the lease: it fetches a token unless another
// instance stored a good one in the meantime, and stores it.
func (tc *TokenCache) refreshShared(ctx context.Context, rejected string) (string, time.Time, time.Time, error) {
	sh := tc.shared
	release := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		sh.Store.ReleaseTokenLease(rctx, sh.AppID, tc.owner) //nolint:errcheck // the lease runs out anyway
	}
	now := tc.now()
	st, err := tc.loadShared(ctx)
	if err != nil {
		release()
		return "", time.Time{}, time.Time{}, err
	}
	if st.usable(rejected, now) && now.Before(st.refreshAt) {
		release()
		return st.token, st.expiresAt, st.refreshAt, nil
	}
	at, err := tc.src.StableToken(ctx, false)
	if err != nil {
		release()
		if st.usable(rejected, tc.now()) {
			// Ahead of expiry, a failed refresh costs nothing yet.
			return st.token, st.expiresAt, tc.now().Add(retryAfter), nil
		}
		return "", time.Time{}, time.Time{}, err
	}
	exp := tc.now().Add(at.ExpiresIn)
	refreshAt := nextRefresh(at, st.token, exp)
	if at.Token == rejected {
		refreshAt = tc.now().Add(retryAfter)
	}
	sealed, err := sh.Keys.Seal([]byte(at.Token), tokenAAD(sh.AppID))
	if err == nil {
		err = sh.Store.SaveToken(ctx, sh.AppID, tc.owner, sealed, exp, refreshAt)
	}
	if err != nil {
		release()
		// The token is good even if the other instances cannot see it.
		if soon := tc.now().Add(time.Minute); soon.Before(refreshAt) {
			refreshAt = soon
		}
		return at.Token, exp, refreshAt, nil
	}
	return at.Token, exp, refreshAt, nil
}

// sharedToken is the stored token, opened.
type sharedToken struct {
	token                string
	expiresAt, refreshAt time.Time
}

func (st sharedToken) usable(rejected string, now time.Time) bool {
	return st.token != "" && st.token != rejected && now.Before(st.expiresAt)
}

func (tc *TokenCache) loadShared(ctx context.Context) (sharedToken, error) {
	sh := tc.shared
	sealed, exp, refreshAt, err := sh.Store.LoadToken(ctx, sh.AppID)
	if err != nil {
		return sharedToken{}, fmt.Errorf("load access_token: %w", err)
	}
	if sealed == "" {
		return sharedToken{}, nil
	}
	b, err := sh.Keys.Open(sealed, tokenAAD(sh.AppID))
	if err != nil {
		// Sealed under a key this instance lacks: fetch a new one.
		return sharedToken{}, nil
	}
	return sharedToken{token: string(b), expiresAt: exp, refreshAt: refreshAt}, nil
}

func tokenAAD(appID string) []byte { return []byte("wxtodo/access_token\x00" + appID) }

// Invalidate drops token from the cache if it is still the cached one, so
// that the next Token fetches again. Should WeChat hand the same token
// back, it is used, but fetched again within retryAfter.
func (tc *TokenCache) Invalidate(token string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if token == tc.rejected && tc.confirmed && tc.now().Before(tc.refreshAt) {
		return // WeChat handed it back a moment ago: asking again will not help
	}
	tc.rejected, tc.confirmed = token, false
	if tc.token == token {
		tc.token = ""
	}
}

// Do calls fn with the current access_token. When WeChat rejects that
// token (IsAccessTokenInvalid), for instance because it expired early, it
// gets the token once more, without forcing a refresh (shared: from the
// store when another instance refreshed it already, else from WeChat) and,
// if that is a different one, calls fn again. It returns fn's error.
func (tc *TokenCache) Do(ctx context.Context, fn func(ctx context.Context, accessToken string) error) error {
	tok, err := tc.Token(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAccessToken, err)
	}
	err = fn(ctx, tok)
	if !IsAccessTokenInvalid(err) {
		return err
	}
	tc.Invalidate(tok)
	next, ferr := tc.Token(ctx)
	if ferr != nil || next == tok {
		return errors.Join(err, ferr)
	}
	return fn(ctx, next)
}

// NoAccessToken runs calls without an access_token: in WeChat Cloud
// Hosting the platform's open-API service (开放接口服务) adds the app's
// credentials to calls from the container to http://api.weixin.qq.com,
// for the APIs configured on its whitelist. There is no token to fetch,
// cache or share.
type NoAccessToken struct{}

// Do calls fn with an empty access_token.
func (NoAccessToken) Do(ctx context.Context, fn func(ctx context.Context, accessToken string) error) error {
	return fn(ctx, "")
}
