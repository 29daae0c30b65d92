package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"wxtodo/errcode"
	"wxtodo/user"
	"wxtodo/wechat"
)

// Sealer keeps secrets at rest (secret.Keyring: AES-GCM under DATA_KEY).
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
	// Fingerprint is a keyed hash of b: equal for equal b, and telling
	// nothing about b without the key.
	Fingerprint(b []byte) []byte
}

// sessionKeyAAD binds a sealed session_key to its user's identity, so a
// sealed value copied onto another user's row does not open.
func sessionKeyAAD(appID, openID string) []byte {
	return []byte("wxtodo/session_key\x00" + appID + "\x00" + openID)
}

func (s *Service) sealSessionKey(id Identity, sessionKey string) (SealedKey, error) {
	if s.Keys == nil || sessionKey == "" {
		return SealedKey{}, nil
	}
	sealed, err := s.Keys.Seal([]byte(sessionKey), sessionKeyAAD(id.AppID, id.OpenID))
	if err != nil {
		return SealedKey{}, fmt.Errorf("seal session_key: %w", err)
	}
	return SealedKey{Sealed: sealed, Fingerprint: s.Keys.Fingerprint([]byte(sessionKey))}, nil
}

// UserKeys are a user's sealed session_keys and the identity they are
// bound to.
type UserKeys struct {
	UserID            int64
	AppID, OpenID     string
	Current, Previous string // sealed; "" when none
}

// Rotator is a Sealer that can tell what a retired key sealed.
type Rotator interface {
	Sealer
	NeedsRotation(sealed string) bool
}

// RekeyStore is what Rekey rewrites.
type RekeyStore interface {
	SealedKeysAfter(ctx context.Context, afterID int64, limit int) ([]UserKeys, error)
	ReplaceSealedKeys(ctx context.Context, was, now UserKeys, fingerprint []byte) (bool, error)
	ClearToken(ctx context.Context) error
}

// Rekey re-seals every stored session_key that a retired key (DATA_KEY_OLD)
// sealed under the current DATA_KEY, and drops the shared access_token
// (the next use fetches it again). It returns how many users it rewrote.
// Values no configured key opens are dropped: they are lost already.
func Rekey(ctx context.Context, keys Rotator, store RekeyStore) (int, error) {
	if err := store.ClearToken(ctx); err != nil {
		return 0, fmt.Errorf("drop access_token: %w", err)
	}
	total := 0
	// A login between reading a user and rewriting them skips the user
	// (their new key is sealed under DATA_KEY already, the previous one
	// maybe not): passes repeat until none is skipped.
	for pass := 0; pass < 5; pass++ {
		n, skipped, err := rekeyPass(ctx, keys, store)
		total += n
		if err != nil || skipped == 0 {
			return total, err
		}
	}
	return total, errors.New("users kept logging in while being re-sealed: run rekey again")
}

func rekeyPass(ctx context.Context, keys Rotator, store RekeyStore) (n, skipped int, err error) {
	var after int64
	for {
		batch, err := store.SealedKeysAfter(ctx, after, 500)
		if err != nil {
			return n, skipped, fmt.Errorf("read session keys: %w", err)
		}
		if len(batch) == 0 {
			return n, skipped, nil
		}
		for _, k := range batch {
			after = k.UserID
			aad := sessionKeyAAD(k.AppID, k.OpenID)
			now, changed := k, false
			var fp []byte
			for _, p := range []*string{&now.Current, &now.Previous} {
				if *p == "" || !keys.NeedsRotation(*p) {
					continue
				}
				changed = true
				plain, err := keys.Open(*p, aad)
				if err != nil {
					*p = "" // no configured key opens it: lost already
					continue
				}
				if *p, err = keys.Seal(plain, aad); err != nil {
					return n, skipped, fmt.Errorf("seal: %w", err)
				}
				if p == &now.Current {
					fp = keys.Fingerprint(plain)
				}
			}
			if !changed {
				continue
			}
			ok, err := store.ReplaceSealedKeys(ctx, k, now, fp)
			if err != nil {
				return n, skipped, fmt.Errorf("user %d: %w", k.UserID, err)
			}
			if ok {
				n++
			} else {
				skipped++
			}
		}
	}
}

// DataStore is what the WeChat data features keep.
type DataStore interface {
	// SessionKeys returns the user's sealed session_keys.
	SessionKeys(ctx context.Context, userID int64) (UserKeys, error)
	// SetPhoneNumber stores the user's phone number and returns the user.
	SetPhoneNumber(ctx context.Context, userID int64, phone string) (*user.User, error)
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

// Data serves the WeChat data a mini-program hands the server: encrypted
// data, signed user data, the session check and phone numbers. Nothing it
// handles (session_key, access_token, phone number, plaintext) is logged.
type Data struct {
	// AppID is what decrypted data's watermark must name.
	AppID  string
	Keys   Sealer
	Store  DataStore
	API    WeChatAPI
	Tokens AccessTokens
	Log    *slog.Logger
	// StaleCheckLimiter, if set, bounds per user how often a failed
	// decryption asks WeChat whether the session_key is stale, so that a
	// client sending garbage cannot spend the app's WeChat quota.
	StaleCheckLimiter interface{ Allow(key string) bool }
}

var errStale = &errcode.Error{
	Code:    errcode.SessionKeyStale,
	Message: "the session_key this data needs has moved on: call wx.login() and login again, then get the data again",
}

// sessionKeys opens the user's current and previous session_keys ("" for
// none).
func (d *Data) sessionKeys(ctx context.Context, userID int64) (openID, current, previous string, err error) {
	k, err := d.Store.SessionKeys(ctx, userID)
	if err != nil {
		return "", "", "", fmt.Errorf("session keys: %w", err)
	}
	open := func(sealed string) string {
		if sealed == "" || d.Keys == nil {
			return ""
		}
		b, err := d.Keys.Open(sealed, sessionKeyAAD(k.AppID, k.OpenID))
		if err != nil {
			// Sealed under a key no longer configured: as good as none.
			d.logger().WarnContext(ctx, "cannot open a stored session_key (DATA_KEY changed without DATA_KEY_OLD?)", "err", err)
			return ""
		}
		return string(b)
	}
	return k.OpenID, open(k.Current), open(k.Previous), nil
}

// DecryptData decrypts encryptedData with the user's current session_key
// and returns the JSON object, checked to be watermarked with d.AppID.
// Errors: BAD_USER_INPUT (field encryptedData or iv) for data that is not
// base64, not whole blocks, badly padded or for another app;
// SESSION_KEY_STALE when it was encrypted under a session_key the user has
// moved on from.
func (d *Data) DecryptData(ctx context.Context, userID int64, encryptedData, iv string) (json.RawMessage, error) {
	if b, err := base64.StdEncoding.DecodeString(iv); err != nil || len(b) != 16 {
		return nil, errcode.Input("iv", "iv must be the base64 of 16 bytes, as WeChat sends it")
	}
	if len(encryptedData) > maxEncryptedData {
		return nil, errcode.Input("encryptedData", "encryptedData must be at most %d bytes", maxEncryptedData)
	}
	openID, current, previous, err := d.sessionKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !wellFormedKey(current) {
		// None kept (a session from before keys were kept, or a key
		// sealed under a DATA_KEY since dropped): a login brings one.
		return nil, errStale
	}
	out, err := wechat.DecryptData(current, encryptedData, iv, d.AppID)
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
		if _, perr := wechat.DecryptData(previous, encryptedData, iv, d.AppID); !errors.Is(perr, wechat.ErrDecrypt) {
			return nil, errStale
		}
	}
	// Under neither: the client may have called wx.login without logging
	// in here, which moves WeChat's key on; WeChat knows whether ours is
	// still current. When it is, or cannot say, the data is bad.
	if d.mayCheckStale(userID) && d.keyIsStale(ctx, openID, current) {
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

func (d *Data) mayCheckStale(userID int64) bool {
	return d.StaleCheckLimiter == nil || d.StaleCheckLimiter.Allow(strconv.FormatInt(userID, 10))
}

// keyIsStale asks WeChat, briefly, whether sessionKey is no longer the
// user's; false when WeChat cannot say.
func (d *Data) keyIsStale(ctx context.Context, openID, sessionKey string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := d.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		return d.API.CheckSession(ctx, tok, openID, sessionKey)
	})
	var werr *wechat.Error
	stale := errors.As(err, &werr) && werr.Code == wechat.CodeInvalidSignature
	if err != nil && !stale {
		d.logger().InfoContext(ctx, "checksession after a failed decryption", "err", err)
	}
	return stale
}

// VerifyUserData reports whether signature is sha1(rawData + session_key)
// under the user's current session_key. SESSION_KEY_STALE when the server
// holds no session_key for the user.
func (d *Data) VerifyUserData(ctx context.Context, userID int64, rawData, signature string) (bool, error) {
	if len(rawData) > maxEncryptedData {
		return false, errcode.Input("rawData", "rawData must be at most %d bytes", maxEncryptedData)
	}
	_, current, _, err := d.sessionKeys(ctx, userID)
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
func (d *Data) CheckSession(ctx context.Context, userID int64) (bool, error) {
	openID, current, _, err := d.sessionKeys(ctx, userID)
	if err != nil {
		return false, err
	}
	if current == "" {
		return false, nil
	}
	err = d.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		return d.API.CheckSession(ctx, tok, openID, current)
	})
	var werr *wechat.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &werr) && werr.Code == wechat.CodeInvalidSignature:
		return false, nil
	}
	return false, d.apiError(ctx, "checksession", "WeChat refused the session check", err)
}

// apiError maps a failed call of a WeChat API that needs the access_token.
// Without a token the call never reached the API: that is the server's
// problem (the log says which), and the client may only retry later.
func (d *Data) apiError(ctx context.Context, api, refused string, err error) error {
	if errors.Is(err, wechat.ErrAccessToken) {
		d.logger().WarnContext(ctx, "no access_token for "+api, "err", err)
		return &errcode.Error{Code: errcode.WeChatUnavailable, Message: "WeChat is unavailable, try again", Err: err}
	}
	return wechatError(ctx, d.logger(), api, refused, err)
}

// BindPhoneNumber trades the code from a getPhoneNumber button at WeChat
// and stores the number on the user.
func (d *Data) BindPhoneNumber(ctx context.Context, userID int64, code string) (*user.User, error) {
	if err := checkCode(code); err != nil {
		return nil, err
	}
	k, err := d.Store.SessionKeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("user identity: %w", err)
	}
	var info *wechat.PhoneInfo
	err = d.Tokens.Do(ctx, func(ctx context.Context, tok string) error {
		var err error
		info, err = d.API.PhoneNumber(ctx, tok, code, k.OpenID)
		return err
	})
	if err != nil {
		return nil, d.apiError(ctx, "getuserphonenumber", "WeChat refused the phone number code", err)
	}
	phone := info.PhoneNumber
	if phone == "" {
		phone = info.PurePhoneNumber
	}
	if phone == "" {
		return nil, &errcode.Error{Code: errcode.WeChatUnavailable, Message: "WeChat sent no phone number, try again"}
	}
	u, err := d.Store.SetPhoneNumber(ctx, userID, phone)
	if err != nil {
		return nil, fmt.Errorf("store phone number: %w", err)
	}
	return u, nil
}

func (d *Data) logger() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// Sample encrypts a sample with the user's current session_key, as a
// WeChat API would for the client: for development, where the mock stands
// in for WeChat, so that decryptData can be tried. It must never be served
// in production.
func (d *Data) Sample(ctx context.Context, userID int64, encrypt func(sessionKey string) (encryptedData, iv string, err error)) (string, string, error) {
	_, current, _, err := d.sessionKeys(ctx, userID)
	if err != nil {
		return "", "", err
	}
	if !wellFormedKey(current) {
		return "", "", errStale
	}
	return encrypt(current)
}
