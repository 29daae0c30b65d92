package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// call is one API exchange. Its URL and body may hold secrets: they never
// reach an error.
type call struct {
	api    string // name passed to Client.Observe
	method string
	url    string
	body   []byte // JSON, sent with POST
	// secrets are scrubbed from any text that reaches an error, in case a
	// transport error or an errmsg echoes them.
	secrets []string
	// usedCodes are errcodes saying a one-time code was spent. On a retry
	// they are not the user's fault: an attempt whose answer was lost may
	// have spent it, so the outcome is unknown.
	usedCodes []int
	// decode reads an answer with errcode 0; its errors wrap ErrUnavailable.
	decode func(body []byte) error
}

// envelope is what every WeChat answer may carry.
type envelope struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// do runs k within the client's timeout, retrying system busy (-1),
// network errors and 5xx with jittered exponential backoff while the
// deadline allows. It returns a *Error for a definite refusal and an error
// wrapping ErrUnavailable otherwise.
func (c *Client) do(ctx context.Context, k *call) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	backoff := c.BaseBackoff
	for attempt := 1; ; attempt++ {
		retry, err := c.attempt(ctx, k)
		if err == nil {
			return nil
		}
		var werr *Error
		if attempt > 1 && errors.As(err, &werr) && slices.Contains(k.usedCodes, werr.Code) {
			return fmt.Errorf("%w: code used by an attempt whose answer was lost", ErrUnavailable)
		}
		if !retry || attempt >= c.MaxAttempts {
			return err
		}
		// Full jitter keeps many retrying instances from hitting WeChat in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff *= 2
	}
}

// attempt makes one request and reports it to Observe.
func (c *Client) attempt(ctx context.Context, k *call) (retry bool, err error) {
	start := time.Now()
	code, retry, err := c.send(ctx, k)
	if c.Observe != nil {
		c.Observe(k.api, time.Since(start), code, err)
	}
	return retry, err
}

// send makes one request; retry reports whether another attempt may
// succeed, code is WeChat's errcode when it gave one.
func (c *Client) send(ctx context.Context, k *call) (code int, retry bool, err error) {
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, k.url, body)
	if err != nil {
		return 0, false, fmt.Errorf("%w: build request", ErrUnavailable)
	}
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error carries the URL, which holds secrets: keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if cerr := ctx.Err(); cerr != nil {
			// Keep the deadline recognisable (metrics count timeouts).
			return 0, false, fmt.Errorf("%w: %w", ErrUnavailable, cerr)
		}
		return 0, isTransient(err), fmt.Errorf("%w: %s", ErrUnavailable, k.scrub(err.Error()))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return 0, false, fmt.Errorf("%w: read answer: %w", ErrUnavailable, cerr)
		}
		return 0, true, fmt.Errorf("%w: read answer: %s", ErrUnavailable, k.scrub(err.Error()))
	}
	if resp.StatusCode != http.StatusOK {
		return 0, resp.StatusCode >= 500, fmt.Errorf("%w: http status %d", ErrUnavailable, resp.StatusCode)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return 0, false, unparseable(raw)
	}
	if env.ErrCode != 0 {
		return env.ErrCode, transientCode(env.ErrCode), &Error{Code: env.ErrCode, Msg: k.scrub(env.ErrMsg)}
	}
	return 0, false, k.decode(raw)
}

// transientCode reports whether an errcode says to try again: system
// busy, or Cloud Hosting's open-API service not ready yet.
func transientCode(code int) bool { return code == CodeSystemBusy || code == CodeNotReady }

// withToken is query (url.Values encoded, or "") with the access_token,
// which a call through Cloud Hosting's open-API service goes without
// (accessToken ""), naming the app it is for (FromAppID) instead.
func (c *Client) withToken(query, accessToken string) string {
	t := "access_token=" + url.QueryEscape(accessToken)
	if accessToken == "" {
		if c.FromAppID == "" {
			return query
		}
		t = "from_appid=" + url.QueryEscape(c.FromAppID)
	}
	if query == "" {
		return t
	}
	return t + "&" + query
}

// scrub replaces the call's secrets in s.
func (k *call) scrub(s string) string {
	for _, secret := range k.secrets {
		// Short values would mangle ordinary text and are no real secret.
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
			s = strings.ReplaceAll(s, url.QueryEscape(secret), "[redacted]")
		}
	}
	return s
}

func unparseable(body []byte) error {
	return fmt.Errorf("%w: unparseable answer (%d bytes)", ErrUnavailable, len(body))
}

func isTransient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
