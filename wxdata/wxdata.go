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
	// SessionKeys returns the sealed session_keys of the user's identity
	// in the app, or a NOT_FOUND error.
	SessionKeys(ctx context.Context, userID int64, appID string) (UserKeys, error)
	// SetPhoneNumber stores the user's phone number and returns the user.
	SetPhoneNumber(ctx context.Context, userID int64, phone string) (*user.User, error)
	// SealedKeysAfter returns up to limit identities with a stored
	// session_key and an IdentityID above afterID, in that order.
	SealedKeysAfter(ctx context.Context, afterID int64, limit int) ([]UserKeys, error)
	// ReplaceSealedKeys writes now's keys (and the current key's
	// fingerprint, when not nil) if the identity's keys are still was's,
	// and reports whether it wrote.
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

// App is one mini-program's side of WeChat: its API client and
// access_token, and what its data's watermark names.
type App struct {
	// ID is the AppID sessions and identities name.
	ID string
	// Watermark is the AppID decrypted data must name; "" means ID (the
	// development mock's data names its own).
	Watermark string
	API       WeChatAPI
	Tokens    AccessTokens
}

func (a *App) watermark() string {
	if a.Watermark != "" {
		return a.Watermark
	}
	return a.ID
}

// Service serves the WeChat data features, each through the app the
// caller signed in with: its session_key, its watermark, its
// access_token. Nothing it handles (session_key, access_token, phone
// number, plaintext) is logged.
type Service struct {
	// Apps are the mini-programs served.
	Apps []App
	// Keys open the sealed session_keys; nil opens none (as if the server
	// held no session_key).
	Keys  Keyring
	Store Store
	Log   *slog.Logger
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

// app is the served app appID.
func (s *Service) app(appID string) (*App, error) {
	for i := range s.Apps {
		if s.Apps[i].ID == appID {
			return &s.Apps[i], nil
		}
	}
	// A session of an app since removed from the configuration.
	return nil, &errcode.Error{Code: errcode.Forbidden, Message: "this session's mini-program is no longer served here: log in again from a served one"}
}

// sessionKeys opens the current and previous session_keys of the user's
// identity in the app ("" for none).
func (s *Service) sessionKeys(ctx context.Context, userID int64, appID string) (openID, current, previous string, err error) {
	k, err := s.Store.SessionKeys(ctx, userID, appID)
	if errcode.Code(err) == errcode.NotFound {
		return "", "", "", nil // no identity in this app: no key
	}
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

// DecryptData decrypts encryptedData with the current session_key of the
// user's identity in the app the caller signed in with, appID, and
// returns the JSON object, checked to be watermarked with that app.
// Errors: BAD_USER_INPUT (field encryptedData or iv) for data that is not
// base64, not whole blocks, badly padded or for another app;
// SESSION_KEY_STALE when it was encrypted under a session_key the user has
// moved on from.
func (s *Service) DecryptData(ctx context.Context, userID int64, appID, encryptedData, iv string) (json.RawMessage, error) {
	if b, err := base64.StdEncoding.DecodeString(iv); err != nil || len(b) != 16 {
		return nil, errcode.Input("iv", "iv must be the base64 of 16 bytes, as WeChat sends it")
	}
	if len(encryptedData) > maxEncryptedData {
		return nil, errcode.Input("encryptedData", "encryptedData must be at most %d bytes", maxEncryptedData)
	}
	app, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	openID, current, previous, err := s.sessionKeys(ctx, userID, appID)
	if err != nil {
		return nil, err
	}
	if !wellFormedKey(current) {
		// None kept (a session from before keys were kept, or a key
		// sealed under a DATA_KEY since dropped): a login brings one.
		return nil, errStale
	}
	out, err := wechat.DecryptData(current, encryptedData, iv, app.watermark())
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, wechat.ErrMalformed):
		return nil, errcode.Input("encryptedData", "encryptedData must be base64 of whole 16-byte blocks, as WeChat sends it")
	case errors.Is(err, wechat.ErrWatermark):
		return nil, errcode.Input("encryptedData", "encryptedData is not for the mini-program this session signed in with (its watermark names another AppID)")
	}
	// It does not decrypt under the current key. Under the one before, it
	// is data the client fetched before its last login.
	if wellFormedKey(previous) {
		if _, perr := wechat.DecryptData(previous, encryptedData, iv, app.watermark()); !errors.Is(perr, wechat.ErrDecrypt) {
			return nil, errStale
		}
	}
	// Under neither: the client may have called wx.login without logging
	// in here, which moves WeChat's key on; WeChat knows whether ours is
	// still current. When it is, or cannot say, the data is bad.
	if s.mayCheckStale(ctx, userID) && s.keyIsStale(ctx, app, openID, current) {
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
func (s *Service) keyIsStale(ctx context.Context, app *App, openID, sessionKey string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := app.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		return app.API.CheckSession(ctx, tok, openID, sessionKey)
	})
	var werr *wechat.Error
	stale := errors.As(err, &werr) && werr.Code == wechat.CodeInvalidSignature
	if err != nil && !stale {
		s.logger().InfoContext(ctx, "checksession after a failed decryption", "err", err)
	}
	return stale
}

// VerifyUserData reports whether signature is sha1(rawData + session_key)
// under the current session_key of the user's identity in the app appID.
// SESSION_KEY_STALE when the server holds no session_key for it.
func (s *Service) VerifyUserData(ctx context.Context, userID int64, appID, rawData, signature string) (bool, error) {
	if len(rawData) > maxEncryptedData {
		return false, errcode.Input("rawData", "rawData must be at most %d bytes", maxEncryptedData)
	}
	if _, err := s.app(appID); err != nil {
		return false, err
	}
	_, current, _, err := s.sessionKeys(ctx, userID, appID)
	if err != nil {
		return false, err
	}
	if current == "" {
		return false, errStale
	}
	return wechat.VerifyUserData(rawData, signature, current), nil
}

// CheckSession asks WeChat, as the app appID, whether the session_key of
// the user's identity in that app is still valid.
func (s *Service) CheckSession(ctx context.Context, userID int64, appID string) (bool, error) {
	app, err := s.app(appID)
	if err != nil {
		return false, err
	}
	openID, current, _, err := s.sessionKeys(ctx, userID, appID)
	if err != nil {
		return false, err
	}
	if current == "" {
		return false, nil
	}
	if err := s.mayCall(ctx, userID); err != nil {
		return false, err
	}
	err = app.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		return app.API.CheckSession(ctx, tok, openID, current)
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

// BindPhoneNumber trades the code from a getPhoneNumber button at WeChat,
// as the app appID (whose button it was), and stores the number on the
// user (the person, in every app).
func (s *Service) BindPhoneNumber(ctx context.Context, userID int64, appID, code string) (*user.User, error) {
	if err := input.Code("code", code); err != nil {
		return nil, err
	}
	app, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	k, err := s.Store.SessionKeys(ctx, userID, appID)
	if err != nil {
		return nil, fmt.Errorf("user identity: %w", err)
	}
	if err := s.mayCall(ctx, userID); err != nil {
		return nil, err
	}
	var info *wechat.PhoneInfo
	err = app.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		var err error
		info, err = app.API.PhoneNumber(ctx, tok, code, k.OpenID)
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
// development mock's AppID (or the caller's app's, with several
// development apps), so that decryptData can be tried in
// development mode, where the mock stands in for WeChat. It must never be
// served in production. Errors: UNAUTHENTICATED without a caller,
// SESSION_KEY_STALE when the server holds no session_key for them.
func (s *Service) SampleEncryptedData(ctx context.Context) (encryptedData, iv string, err error) {
	c, err := auth.RequireUser(ctx)
	if err != nil {
		return "", "", err
	}
	app, err := s.app(c.AppID)
	if err != nil {
		return "", "", err
	}
	_, current, _, err := s.sessionKeys(ctx, c.User.ID, c.AppID)
	if err != nil {
		return "", "", err
	}
	if !wellFormedKey(current) {
		return "", "", errStale
	}
	return wechat.Mock{App: app.watermark()}.SampleEncryptedData(current)
}
