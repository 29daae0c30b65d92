package wechat

import "time"

// SetNow replaces the cache's clock.
func (tc *TokenCache) SetNow(now func() time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.now = now
}
