// Package wechat is a client for the WeChat mini-program server API.
//
// It uses the standard library only. Secrets (the app secret, js_code and
// session_key) never appear in the errors it returns, so callers may log them.
package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is WeChat's production API.
const DefaultBaseURL = "https://api.weixin.qq.com"

// WeChat errcodes the server reacts to.
const (
	CodeSystemBusy   = -1    // transient: retried
	CodeInvalidCode  = 40029 // js_code is invalid
	CodeCodeUsed     = 40163 // js_code has been used
	CodeRateLimited  = 45011 // API frequency limit for this user
	CodeBlockedUser  = 40226 // high-risk user, login blocked
	CodeInvalidAppID = 40013
)

// Reasons a client can act on, derived from an errcode.
const (
	ReasonInvalidCode = "INVALID_CODE"
	ReasonRateLimited = "RATE_LIMITED"
	ReasonBlockedUser = "BLOCKED_USER"
	ReasonRejected    = "REJECTED"
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

// Reason maps the errcode to what a client can do about it.
func (e *Error) Reason() string {
	switch e.Code {
	case CodeInvalidCode, CodeCodeUsed:
		return ReasonInvalidCode
	case CodeRateLimited:
		return ReasonRateLimited
	case CodeBlockedUser:
		return ReasonBlockedUser
	default:
		return ReasonRejected
	}
}

// ErrUnavailable is wrapped by every error that is not a definite answer:
// timeouts, network errors, HTTP failures and unparseable answers.
var ErrUnavailable = errors.New("wechat unavailable")

// Client calls jscode2session. The zero value is not usable; use New.
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
		baseURL:     strings.TrimRight(baseURL, "/"),
		appID:       appID,
		secret:      secret,
		timeout:     timeout,
		http:        &http.Client{Transport: tr},
		MaxAttempts: 3,
		BaseBackoff: 100 * time.Millisecond,
	}
}

// AppID returns the app the client signs in to.
func (c *Client) AppID() string { return c.appID }

type code2SessionResponse struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

// Code2Session trades a wx.login code for the user's identity. It returns a
// *Error for a definite refusal and an error wrapping ErrUnavailable when
// WeChat could not be reached or answered garbage. System busy (-1) and
// network errors are retried with backoff while the deadline allows.
func (c *Client) Code2Session(ctx context.Context, code string) (*Session, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	q := url.Values{
		"appid":      {c.appID},
		"secret":     {c.secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	endpoint := c.baseURL + "/sns/jscode2session?" + q.Encode()

	backoff := c.BaseBackoff
	var lastErr error
	for attempt := 1; ; attempt++ {
		s, err, retry := c.try(ctx, endpoint)
		if err == nil {
			return s, nil
		}
		var werr *Error
		if attempt > 1 && errors.As(err, &werr) && werr.Code == CodeCodeUsed {
			// An earlier attempt may have reached WeChat and used the code
			// before its answer was lost: the code's fate is unknown.
			return nil, fmt.Errorf("%w: code used by an attempt whose answer was lost", ErrUnavailable)
		}
		lastErr = err
		if !retry || attempt >= c.MaxAttempts {
			return nil, lastErr
		}
		// Full jitter keeps many retrying instances from hitting WeChat in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, lastErr
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, lastErr
		case <-t.C:
		}
		backoff *= 2
	}
}

// try makes one request; retry reports whether another attempt may succeed.
func (c *Client) try(ctx context.Context, endpoint string) (s *Session, err error, retry bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: build request", ErrUnavailable), false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error carries the URL, which holds the secret and the code:
		// keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err), ctx.Err() == nil && isTransient(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: read answer: %v", ErrUnavailable, err), ctx.Err() == nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: http status %d", ErrUnavailable, resp.StatusCode), resp.StatusCode >= 500
	}
	var r code2SessionResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: unparseable answer (%d bytes)", ErrUnavailable, len(body)), false
	}
	if r.ErrCode != 0 {
		werr := &Error{Code: r.ErrCode, Msg: r.ErrMsg}
		return nil, werr, r.ErrCode == CodeSystemBusy
	}
	if r.OpenID == "" || r.SessionKey == "" {
		return nil, fmt.Errorf("%w: answer without openid or session_key", ErrUnavailable), false
	}
	return &Session{OpenID: r.OpenID, UnionID: r.UnionID, SessionKey: r.SessionKey}, nil, false
}

func isTransient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
