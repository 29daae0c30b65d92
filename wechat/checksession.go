package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// CheckSession asks WeChat whether sessionKey is still the user's current
// session_key (/wxa/checksession), without sending the key itself. It
// returns nil when it is, a *Error with code CodeInvalidSignature (reason
// SESSION_KEY_STALE) when it has moved on, other *Error refusals as for
// PhoneNumber, and an error wrapping ErrUnavailable otherwise.
func (c *Client) CheckSession(ctx context.Context, accessToken, openid, sessionKey string) error {
	sig := SessionSignature(sessionKey)
	q := url.Values{
		"signature":  {sig},
		"openid":     {openid},
		"sig_method": {"hmac_sha256"},
	}
	return c.do(ctx, &call{
		api:     "checksession",
		method:  http.MethodGet,
		url:     c.baseURL + "/wxa/checksession?" + c.withToken(q.Encode(), accessToken),
		secrets: []string{accessToken, sig, sessionKey, c.secret},
		decode: func(body []byte) error {
			// Only an explicit errcode 0 vouches for the key.
			var r struct {
				ErrCode *int `json:"errcode"`
			}
			if err := json.Unmarshal(body, &r); err != nil || r.ErrCode == nil {
				return fmt.Errorf("%w: answer without errcode", ErrUnavailable)
			}
			return nil
		},
	})
}
