package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// AccessToken is an app-wide credential for WeChat's server APIs.
type AccessToken struct {
	Token     string // secret: never log
	ExpiresIn time.Duration
}

// String hides the token so that printing an AccessToken is safe.
func (t AccessToken) String() string { return fmt.Sprintf("AccessToken{expires in %v}", t.ExpiresIn) }

// LogValue hides the token from slog.
func (t AccessToken) LogValue() slog.Value {
	return slog.GroupValue(slog.Duration("expires_in", t.ExpiresIn))
}

type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// StableToken fetches the app's access_token from /cgi-bin/stable_token.
// Unlike /cgi-bin/token it returns the same token to every caller until it
// nears expiry, so several server instances do not invalidate each other's.
// forceRefresh invalidates the current token for everyone (WeChat allows
// it 20 times a day): only an operator should ask for it. Errors are as
// for Code2Session.
func (c *Client) StableToken(ctx context.Context, forceRefresh bool) (*AccessToken, error) {
	body, err := json.Marshal(stableTokenRequest{
		GrantType:    "client_credential",
		AppID:        c.appID,
		Secret:       c.secret,
		ForceRefresh: forceRefresh,
	})
	if err != nil {
		return nil, fmt.Errorf("encode stable_token request: %w", err)
	}
	var tok *AccessToken
	err = c.do(ctx, &call{
		api:     "stable_token",
		method:  http.MethodPost,
		url:     c.baseURL + "/cgi-bin/stable_token",
		body:    body,
		secrets: []string{c.secret},
		decode: func(body []byte) error {
			var r struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   int64  `json:"expires_in"`
			}
			if err := json.Unmarshal(body, &r); err != nil {
				return unparseable(body)
			}
			if r.AccessToken == "" || r.ExpiresIn <= 0 {
				return fmt.Errorf("%w: answer without access_token or expires_in", ErrUnavailable)
			}
			tok = &AccessToken{Token: r.AccessToken, ExpiresIn: time.Duration(r.ExpiresIn) * time.Second}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}
