// Package wechat is a client for the WeChat mini-program server API, the
// data crypto of mini-programs, a shared access_token cache and the
// development mock.
//
// Beside the standard library it uses only errcode, to tell what a
// client sees of a failed call (ClientError). Secrets (the app secret,
// codes, session_key and access_token) never appear in the errors it
// returns, so callers may log them.
package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wxtodo/errcode"
)

// DefaultBaseURL is WeChat's production API.
const DefaultBaseURL = "https://api.weixin.qq.com"

// WeChat errcodes the server reacts to.
const (
	CodeSystemBusy         = -1    // transient: retried
	CodeInvalidCredential  = 40001 // access_token invalid or not the latest
	CodeInvalidAppID       = 40013
	CodeInvalidAccessToken = 40014 // malformed access_token
	CodeInvalidCode        = 40029 // js_code or phone code is invalid
	CodeInvalidSecret      = 40125 // app secret is wrong
	CodeCodeUsed           = 40163 // js_code has been used
	CodeBlockedUser        = 40226 // high-risk user, login blocked
	CodeAccessTokenExpired = 42001
	CodeRateLimited        = 45011 // API frequency limit for this user
	CodeInvalidSignature   = 87009 // checksession: the session_key is not the current one

	// WeChat Cloud Hosting's open-API service (开放接口服务), which calls
	// WeChat's APIs for the container without an access_token.
	CodeAPIUnauthorized = 48001 // the app may not call this API
	CodeNotWhitelisted  = 85107 // the API is not on the service's whitelist: configure it
	CodeNotReady        = 85113 // the service is not ready yet: transient, retried
)

// Session is what jscode2session answers for a valid code.
type Session struct {
	OpenID     string
	UnionID    string // empty unless the app is bound to an open platform account
	SessionKey string // secret: never log or return to a client
}

// Error is a definite refusal from WeChat: a non-zero errcode.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg) }

// Reason maps the errcode to what a client can do about it (one of
// errcode's WECHAT_ERROR reasons). REJECTED is the server's fault (its
// AppID, secret or access_token), which the operator must see.
func (e *Error) Reason() string {
	switch e.Code {
	case CodeInvalidCode, CodeCodeUsed:
		return errcode.ReasonInvalidCode
	case CodeRateLimited:
		return errcode.ReasonRateLimited
	case CodeBlockedUser:
		return errcode.ReasonBlockedUser
	default:
		return errcode.ReasonRejected
	}
}

// ClientError returns what a client sees of a failed call: a definite
// refusal is WECHAT_ERROR with the message refused, WeChat's errcode and
// a reason; busy (-1) after every retry, a timeout, garbage, or no
// access_token to make the call with is WECHAT_UNAVAILABLE. A request
// the client cancelled stays context.Canceled.
func ClientError(err error, refused string) error {
	var werr *Error
	if e := errcode.As(err); e != nil {
		return e // the server's own refusal, not WeChat's
	}
	switch {
	case errors.Is(err, ErrAccessToken):
		// The call never reached the API: the server's problem, and the
		// client may only retry later.
	case errors.As(err, &werr) && !transientCode(werr.Code):
		return &errcode.Error{
			Code:    errcode.WeChatError,
			Message: refused,
			Reason:  werr.Reason(),
			Extra:   map[string]any{"errcode": werr.Code},
			Err:     err,
		}
	case errors.Is(err, context.Canceled) && !errors.Is(err, ErrUnavailable):
		return err
	}
	return &errcode.Error{Code: errcode.WeChatUnavailable, Message: "WeChat is unavailable, try again", Err: err}
}

// IsAccessTokenInvalid reports whether err says the access_token used was
// invalid or expired: the caller may fetch a token again and retry once.
func IsAccessTokenInvalid(err error) bool {
	var werr *Error
	if !errors.As(err, &werr) {
		return false
	}
	switch werr.Code {
	case CodeInvalidCredential, CodeInvalidAccessToken, CodeAccessTokenExpired:
		return true
	}
	return false
}

// ErrUnavailable is wrapped by every error that is not a definite answer:
// timeouts, network errors, HTTP failures and unparseable answers.
var ErrUnavailable = errors.New("wechat unavailable")

// Client calls the WeChat server API. The zero value is not usable; use New.
// Set the exported fields before first use.
type Client struct {
	baseURL string
	appID   string
	secret  string
	timeout time.Duration
	http    *http.Client
	// MaxAttempts bounds the tries of one exchange (system busy and
	// network errors are retried); backoff starts at BaseBackoff and doubles.
	MaxAttempts int
	BaseBackoff time.Duration
	// Observe, if set, is called once per HTTP attempt (for metrics) with
	// the API's name ("jscode2session", "stable_token",
	// "getuserphonenumber", "checksession"), the attempt's duration,
	// WeChat's errcode (0 when it answered ok or did not answer) and the
	// attempt's error, which holds no secrets.
	Observe func(api string, d time.Duration, errcode int, err error)
	// FromAppID, when set, is sent as from_appid with the calls that go
	// without an access_token: Cloud Hosting's open-API service then
	// calls WeChat as that app, where the environment serves several
	// mini-programs (resource sharing), rather than as the environment's
	// own.
	FromAppID string
}

// New returns a client for the app. timeout bounds a whole exchange,
// retries included.
func New(baseURL, appID, secret string, timeout time.Duration) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		appID:   appID,
		secret:  secret,
		timeout: timeout,
		http: &http.Client{
			Transport: tr,
			// WeChat never redirects; following one would carry the
			// access_token (in the URL) or the secret (a 307 resends the
			// body) to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		MaxAttempts: 3,
		BaseBackoff: 100 * time.Millisecond,
	}
}

// AppID returns the app the client signs in to.
func (c *Client) AppID() string { return c.appID }

// BaseURL is where the client sends its calls.
func (c *Client) BaseURL() string { return c.baseURL }

type code2SessionResponse struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
}

// Code2Session trades a wx.login code for the user's identity. It returns a
// *Error for a definite refusal and an error wrapping ErrUnavailable when
// WeChat could not be reached or answered garbage. System busy (-1) and
// network errors are retried with backoff while the deadline allows.
func (c *Client) Code2Session(ctx context.Context, code string) (*Session, error) {
	q := url.Values{
		"appid":      {c.appID},
		"secret":     {c.secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	var s *Session
	err := c.do(ctx, &call{
		api:     "jscode2session",
		method:  http.MethodGet,
		url:     c.baseURL + "/sns/jscode2session?" + q.Encode(),
		secrets: []string{c.secret, code},
		// An earlier attempt may have reached WeChat and used the code
		// before its answer was lost.
		usedCodes: []int{CodeCodeUsed},
		decode: func(body []byte) error {
			var r code2SessionResponse
			if err := json.Unmarshal(body, &r); err != nil {
				return unparseable(body)
			}
			if r.OpenID == "" || r.SessionKey == "" {
				return fmt.Errorf("%w: answer without openid or session_key", ErrUnavailable)
			}
			s = &Session{OpenID: r.OpenID, UnionID: r.UnionID, SessionKey: r.SessionKey}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
