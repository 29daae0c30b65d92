// Package wxdata serves the WeChat data a mini-program hands the server
// beside its login code: encrypted data (decryptData), signed user data
// (verifyUserData), the session check (checkSession) and phone numbers
// (bindPhoneNumber). It keeps the users' session_keys sealed at rest
// (SessionKeys), re-seals them after a DATA_KEY rotation (Rekey), and in
// development hands out sample data to decrypt.
package wxdata

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"wxtodo/auth"
	"wxtodo/errcode"
	"wxtodo/input"
	"wxtodo/user"
	"wxtodo/wechat"
)

// Store is what the WeChat data features keep on users.
type Store interface {
	// SessionKeys returns the user's sealed session_keys.
	SessionKeys(ctx context.Context, userID int64) (UserKeys, error)
	// SetPhoneNumber stores the user's phone number and returns the user.
	SetPhoneNumber(ctx context.Context, userID int64, phone string) (*user.User, error)
	// SealedKeysAfter returns up to limit users with a stored session_key
	// and an ID above afterID, in ID order.
	SealedKeysAfter(ctx context.Context, afterID int64, limit int) ([]UserKeys, error)
	// ReplaceSealedKeys writes now's keys (and the current key's
	// fingerprint, when not nil) if the user's keys are still was's, and
	// reports whether it wrote.
	ReplaceSealedKeys(ctx context.Context, was, now UserKeys, fingerprint []byte) (bool, error)
}

// WeChatAPI is what the data features ask of WeChat (wechat.Client, or
// wechat.Mock in development).
type WeChatAPI interface {
	PhoneNumber(ctx context.Context, accessToken, code, openid string) (*wechat.PhoneInfo, error)
	CheckSession(ctx context.Context, accessToken, openid, sessionKey string) error
}

// AccessTokens runs a call with the app's access_token, refreshing it once
// when WeChat rejects it (wechat.TokenCache).
type AccessTokens interface {
	Do(ctx context.Context, fn func(ctx context.Context, accessToken string) error) error
}

// Service serves the WeChat data features. Nothing it handles
// (session_key, access_token, phone number, plaintext) is logged.
type Service struct {
	// AppID is what decrypted data's watermark must name.
	AppID string
	// Keys open the sealed session_keys; nil opens none (as if the server
	// held no session_key).
	Keys   Keyring
	Store  Store
	API    WeChatAPI
	Tokens AccessTokens
	Log    *slog.Logger
	// StaleCheckLimiter, if set, bounds per user how often a failed
	// decryption asks WeChat whether the session_key is stale, so that a
	// client sending garbage cannot spend the app's WeChat quota.
	StaleCheckLimiter interface{ Allow(key string) bool }
	// CallLimiter, if set, bounds per user the calls checkSession and
	// bindPhoneNumber make to WeChat, so that no user (aliases included)
	// can spend the app's quota; past it they answer RATE_LIMITED with a
	// retry hint.
	CallLimiter interface {
		Reserve(key string) (ok bool, retryAfter time.Duration)
	}
}

// MaxCallsPerRequest bounds the WeChat calls of one request (see
// WithCallBudget): a mini-program has no reason to check its session or
// bind a phone number twice at once.
const MaxCallsPerRequest = 2

type budgetKey struct{}

// WithCallBudget returns ctx allowing its request MaxCallsPerRequest calls
// to WeChat from this package; a ctx without one allows any number.
func WithCallBudget(ctx context.Context) context.Context {
	b := new(atomic.Int32)
	b.Store(MaxCallsPerRequest)
	return context.WithValue(ctx, budgetKey{}, b)
}

// spendRequest takes one call from ctx's request budget.
func spendRequest(ctx context.Context) bool {
	b, _ := ctx.Value(budgetKey{}).(*atomic.Int32)
	return b == nil || b.Add(-1) >= 0
}

// mayCall admits one WeChat call for the user, or answers RATE_LIMITED.
func (s *Service) mayCall(ctx context.Context, userID int64) error {
	if !spendRequest(ctx) {
		return errcode.Limited(time.Second, fmt.Sprintf("one request may ask WeChat at most %d times: send the rest in another request", MaxCallsPerRequest))
	}
	if s.CallLimiter != nil {
		if ok, wait := s.CallLimiter.Reserve(strconv.FormatInt(userID, 10)); !ok {
			return errcode.Limited(wait, "this user has asked WeChat too often")
		}
	}
	return nil
}

var errStale = &errcode.Error{
	Code:    errcode.SessionKeyStale,
	Message: "the session_key this data needs has moved on: call wx.login() and login again, then get the data again",
}

// sessionKeys opens the user's current and previous session_keys ("" for
// none).
func (s *Service) sessionKeys(ctx context.Context, userID int64) (openID, current, previous string, err error) {
	k, err := s.Store.SessionKeys(ctx, userID)
	if err != nil {
		return "", "", "", fmt.Errorf("session keys: %w", err)
	}
	open := func(sealed string) string {
		if sealed == "" || s.Keys == nil {
			return ""
		}
		b, err := s.Keys.Open(sealed, sessionKeyAAD(k.AppID, k.OpenID))
		if err != nil {
			// Sealed under a key no longer configured: as good as none.
			s.logger().WarnContext(ctx, "cannot open a stored session_key (DATA_KEY changed without DATA_KEY_OLD?)", "err", err)
			return ""
		}
		return string(b)
	}
	return k.OpenID, open(k.Current), open(k.Previous), nil
}

// DecryptData decrypts encryptedData with the user's current session_key
// and returns the JSON object, checked to be watermarked with s.AppID.
// Errors: BAD_USER_INPUT (field encryptedData or iv) for data that is not
// base64, not whole blocks, badly padded or for another app;
// SESSION_KEY_STALE when it was encrypted under a session_key the user has
// moved on from.
func (s *Service) DecryptData(ctx context.Context, userID int64, encryptedData, iv string) (json.RawMessage, error) {
	if b, err := base64.StdEncoding.DecodeString(iv); err != nil || len(b) != 16 {
		return nil, errcode.Input("iv", "iv must be the base64 of 16 bytes, as WeChat sends it")
	}
	if len(encryptedData) > maxEncryptedData {
		return nil, errcode.Input("encryptedData", "encryptedData must be at most %d bytes", maxEncryptedData)
	}
	openID, current, previous, err := s.sessionKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !wellFormedKey(current) {
		// None kept (a session from before keys were kept, or a key
		// sealed under a DATA_KEY since dropped): a login brings one.
		return nil, errStale
	}
	out, err := wechat.DecryptData(current, encryptedData, iv, s.AppID)
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, wechat.ErrMalformed):
		return nil, errcode.Input("encryptedData", "encryptedData must be base64 of whole 16-byte blocks, as WeChat sends it")
	case errors.Is(err, wechat.ErrWatermark):
		return nil, errcode.Input("encryptedData", "encryptedData is not for this mini-program (its watermark names another AppID)")
	}
	// It does not decrypt under the current key. Under the one before, it
	// is data the client fetched before its last login.
	if wellFormedKey(previous) {
		if _, perr := wechat.DecryptData(previous, encryptedData, iv, s.AppID); !errors.Is(perr, wechat.ErrDecrypt) {
			return nil, errStale
		}
	}
	// Under neither: the client may have called wx.login without logging
	// in here, which moves WeChat's key on; WeChat knows whether ours is
	// still current. When it is, or cannot say, the data is bad.
	if s.mayCheckStale(ctx, userID) && s.keyIsStale(ctx, openID, current) {
		return nil, errStale
	}
	return nil, &errcode.Error{Code: errcode.BadUserInput, Field: "encryptedData",
		Message: "encryptedData does not decrypt under this session (bad padding): send it exactly as WeChat handed it over", Err: err}
}

// wellFormedKey reports whether k looks like a session_key WeChat hands
// out: the base64 of 16 bytes.
func wellFormedKey(k string) bool {
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
}

// maxEncryptedData bounds encryptedData; WeChat's are a few KB (30 days of
// WeRun steps).
const maxEncryptedData = 256 << 10

func (s *Service) mayCheckStale(ctx context.Context, userID int64) bool {
	return spendRequest(ctx) && (s.StaleCheckLimiter == nil || s.StaleCheckLimiter.Allow(strconv.FormatInt(userID, 10)))
}

// keyIsStale asks WeChat, briefly, whether sessionKey is no longer the
// user's; false when WeChat cannot say.
func (s *Service) keyIsStale(ctx context.Context, openID, sessionKey string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := s.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		return s.API.CheckSession(ctx, tok, openID, sessionKey)
	})
	var werr *wechat.Error
	stale := errors.As(err, &werr) && werr.Code == wechat.CodeInvalidSignature
	if err != nil && !stale {
		s.logger().InfoContext(ctx, "checksession after a failed decryption", "err", err)
	}
	return stale
}

// VerifyUserData reports whether signature is sha1(rawData + session_key)
// under the user's current session_key. SESSION_KEY_STALE when the server
// holds no session_key for the user.
func (s *Service) VerifyUserData(ctx context.Context, userID int64, rawData, signature string) (bool, error) {
	if len(rawData) > maxEncryptedData {
		return false, errcode.Input("rawData", "rawData must be at most %d bytes", maxEncryptedData)
	}
	_, current, _, err := s.sessionKeys(ctx, userID)
	if err != nil {
		return false, err
	}
	if current == "" {
		return false, errStale
	}
	return wechat.VerifyUserData(rawData, signature, current), nil
}

// CheckSession asks WeChat whether the user's session_key on this server
// is still valid.
func (s *Service) CheckSession(ctx context.Context, userID int64) (bool, error) {
	openID, current, _, err := s.sessionKeys(ctx, userID)
	if err != nil {
		return false, err
	}
	if current == "" {
		return false, nil
	}
	if err := s.mayCall(ctx, userID); err != nil {
		return false, err
	}
	err = s.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		return s.API.CheckSession(ctx, tok, openID, current)
	})
	var werr *wechat.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &werr) && werr.Code == wechat.CodeInvalidSignature:
		return false, nil
	}
	return false, wechat.ClientError(err, "WeChat refused the session check")
}

// BindPhoneNumber trades the code from a getPhoneNumber button at WeChat
// and stores the number on the user.
func (s *Service) BindPhoneNumber(ctx context.Context, userID int64, code string) (*user.User, error) {
	if err := input.Code("code", code); err != nil {
		return nil, err
	}
	k, err := s.Store.SessionKeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("user identity: %w", err)
	}
	if err := s.mayCall(ctx, userID); err != nil {
		return nil, err
	}
	var info *wechat.PhoneInfo
	err = s.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		var err error
		info, err = s.API.PhoneNumber(ctx, tok, code, k.OpenID)
		return err
	})
	if err != nil {
		return nil, wechat.ClientError(err, "WeChat refused the phone number code")
	}
	phone := info.PhoneNumber
	if phone == "" {
		phone = info.PurePhoneNumber
	}
	if phone == "" {
		return nil, &errcode.Error{Code: errcode.WeChatUnavailable, Message: "WeChat sent no phone number, try again"}
	}
	u, err := s.Store.SetPhoneNumber(ctx, userID, phone)
	if err != nil {
		return nil, fmt.Errorf("store phone number: %w", err)
	}
	return u, nil
}

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// SampleEncryptedData encrypts a sample as wx.getWeRunData would, under
// the signed-in caller's current session_key and watermarked with the
// development mock's AppID, so that decryptData can be tried in
// development mode, where the mock stands in for WeChat. It must never be
// served in production. Errors: UNAUTHENTICATED without a caller,
// SESSION_KEY_STALE when the server holds no session_key for them.
func (s *Service) SampleEncryptedData(ctx context.Context) (encryptedData, iv string, err error) {
	c, err := auth.Require(ctx)
	if err != nil {
		return "", "", err
	}
	_, current, _, err := s.sessionKeys(ctx, c.User.ID)
	if err != nil {
		return "", "", err
	}
	if !wellFormedKey(current) {
		return "", "", errStale
	}
	return wechat.Mock{}.SampleEncryptedData(current)
}
