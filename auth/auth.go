// Package auth owns signing in: it trades a wx.login code at WeChat (with
// the code claim that makes a retried login safe), issues and checks the
// server's own session tokens, carries the caller in the context, and
// provides the HTTP middleware that reads a request's credentials.
package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"wxtodo/errcode"
	"wxtodo/input"
	"wxtodo/reqctx"
	"wxtodo/user"
	"wxtodo/wechat"
)

// DefaultTTL is a session's lifetime since its last use when Service.TTL
// is unset.
const DefaultTTL = 7 * 24 * time.Hour

// CodeExchanger trades a wx.login code for the user's WeChat identity
// (wechat.Client, or wechat.Mock in development).
type CodeExchanger interface {
	Code2Session(ctx context.Context, code string) (*wechat.Session, error)
}

// Session is a signed-in device.
type Session struct {
	ID     int64
	UserID int64
	// AppID is the mini-program the session signed in through: its WeChat
	// data (session_key, watermark, phone number) is that app's.
	AppID     string
	TokenHash TokenHash
	ExpiresAt time.Time
}

// Identity is who WeChat says signed in to one app, with the session_key
// it handed out for this sign-in. A person (user.User) has one identity
// per app; the unionid, when WeChat sends one, is the same in every app
// bound to one Open Platform account, and joins them.
type Identity struct {
	AppID      string
	OpenID     string
	UnionID    string
	SessionKey SealedKey
}

// SealedKey is a session_key as it is stored: sealed with DATA_KEY, and a
// keyed fingerprint that tells whether a new key differs from the stored
// one without opening it. Empty when there is no SessionKeySealer.
type SealedKey struct {
	Sealed      string
	Fingerprint []byte
}

// SessionKeySealer seals the session_key WeChat hands out at sign-in, for
// the WeChat data features to open later (wxdata.Keys).
type SessionKeySealer interface {
	SealSessionKey(appID, openID, sessionKey string) (sealed string, fingerprint []byte, err error)
}

// Store persists users and sessions.
type Store interface {
	// SignIn finds the person of the identity (by the identity, else by
	// its unionid), or creates both, and stores the session for them, in
	// one transaction. It is race-free: concurrent first sign-ins make one
	// person, also from two apps with one unionid, and exactly one of them
	// has Created set. A unionid the identity's person lacks links them;
	// when another person has it, the two are merged (see Merge). A
	// non-nil codeHash records the user against the code claimed with
	// ClaimCode. keep > 0 caps the user's live sessions: of them only the
	// keep newest, the new one included, stay; older ones are revoked.
	SignIn(ctx context.Context, id Identity, s *Session, codeHash []byte, keep int) (SignedIn, error)
	// ResumeSignIn stores a new session for the user an earlier login with
	// the code signed in (with that login's session_key), in place of the
	// session that login made, and returns the user; keep is SignIn's.
	ResumeSignIn(ctx context.Context, codeHash []byte, userID int64, s *Session, keep int) (*user.User, error)
	// SaveExchange keeps what WeChat answered for a claimed code whose
	// sign-in failed, so that a retry signs in without WeChat (which
	// refuses a code twice).
	SaveExchange(ctx context.Context, codeHash []byte, id Identity) error
	// ClaimCode records that a login with the code hash is under way.
	// claimed is true when the caller is to exchange the code; otherwise
	// prior is the login that claimed it first.
	ClaimCode(ctx context.Context, codeHash []byte, now time.Time) (claimed bool, prior CodeLogin, err error)
	// ReleaseCode forgets a claimed code, so that a retry exchanges it again.
	ReleaseCode(ctx context.Context, codeHash []byte) error
	// SessionByToken returns the session with the token hash and its user,
	// or a NOT_FOUND error.
	SessionByToken(ctx context.Context, h TokenHash) (*Session, *user.User, error)
	// ExtendSession moves a session's expiry.
	ExtendSession(ctx context.Context, sessionID int64, expiresAt time.Time) error
	// DeleteSession revokes a session and retires the login code that
	// made it, so the code cannot open another.
	DeleteSession(ctx context.Context, sessionID int64) error
	// IdentifyUser finds the person of the identity, or creates it, as
	// SignIn does (linking and merging alike), with no session and
	// without touching the stored session_key.
	IdentifyUser(ctx context.Context, id Identity) (SignedIn, error)
	// DeleteExpired removes the sessions that expired before cutoff and
	// the login codes claimed before codeCutoff, and returns how many
	// sessions it removed.
	DeleteExpired(ctx context.Context, cutoff, codeCutoff time.Time) (int64, error)
}

// SignedIn is the person a sign-in found or created.
type SignedIn struct {
	User *user.User
	// Created is true when the sign-in created the person.
	Created bool
	// Merged is set when the sign-in found two persons to be one.
	Merged *Merge
}

// Merge reports two persons merged into one: a unionid that WeChat sent
// late named a person other than the identity's. The older person (the
// lower ID) is kept, so the outcome does not depend on which app signs
// in first; the other's todos, sessions, identities and login codes move
// to it, its profile and phone number fill what the kept one lacks, and
// it is deleted, all in one transaction.
type Merge struct {
	Kept, Removed int64
	// Todos and Sessions are how many moved.
	Todos, Sessions int64
}

// CodeLogin is an earlier login with the same code.
type CodeLogin struct {
	UserID    int64 // 0 while that login is still under way
	CreatedAt time.Time
	// Exchanged is what WeChat answered when that login exchanged the
	// code but failed to sign in (without AppID: the code's); nil
	// otherwise.
	Exchanged *Identity
}

// App is a mini-program users sign in through, with the exchanger that
// holds its credentials.
type App struct {
	ID        string
	Exchanger CodeExchanger
}

// Service signs users in and authenticates tokens.
type Service struct {
	// AppID and Exchanger are the one app, when Apps is empty.
	AppID     string
	Exchanger CodeExchanger
	// Apps are the mini-programs served, each signing in with its own
	// credentials; with more than one, a login names its app.
	Apps  []App
	Store Store
	TTL   time.Duration
	Log   *slog.Logger
	// LoginLimiter, if set, bounds logins per client IP.
	LoginLimiter interface {
		Reserve(key string) (ok bool, retryAfter time.Duration)
	}
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionKeys seal session_keys at rest; nil stores none (and the
	// WeChat data features answer that the session_key is unknown).
	SessionKeys SessionKeySealer
	// FinishTimeout bounds a login once it has claimed its code: the
	// exchange and the sign-in go on for that long even when the client
	// has gone (its phone lost the network), so that its retry finds the
	// login done instead of a code WeChat has spent. A claim older than
	// that is taken over by the next login. 0 means DefaultFinishTimeout;
	// keep it under REQUEST_TIMEOUT, so that a retry waiting on an
	// abandoned claim takes it over within its own deadline.
	FinishTimeout time.Duration
	// MaxSessions caps each user's live sessions (signed-in devices; 0:
	// no cap): a login past it revokes the user's oldest sessions, so
	// logins in a loop cannot grow the session table without bound.
	MaxSessions int
	// PlatformAppIDs, when set, turns on WeChat Cloud Hosting mode: a
	// request with the platform's X-WX-SOURCE and the openid of one of
	// these apps is that app's user (see platformIdentity); another app
	// is FORBIDDEN. Nil ignores the headers.
	PlatformAppIDs []string
	// Operators, if set, finds operator tokens: without it no operator
	// signs in.
	Operators OperatorStore
	// Observe, if set, counts logins by app and result ("new",
	// "returning", "error"); app is always one of the configured ones.
	Observe func(app, result string)
}

// DefaultFinishTimeout is FinishTimeout when unset: WECHAT_TIMEOUT's
// default and time for the database.
const DefaultFinishTimeout = 10 * time.Second

// FinishTimeoutFor is the FinishTimeout for an exchange bounded by
// exchange and requests bounded by request: the exchange and 5s for the
// database, but within two thirds of a request's deadline, so that a
// retry can take an abandoned claim over within its own.
func FinishTimeoutFor(exchange, request time.Duration) time.Duration {
	return min(exchange+5*time.Second, request*2/3)
}

func (s *Service) finishTimeout() time.Duration {
	if s.FinishTimeout > 0 {
		return s.FinishTimeout
	}
	return DefaultFinishTimeout
}

// LoginResult is a successful login.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time
	User      *user.User
	IsNewUser bool
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

// renewAfter is how much of a session's lifetime may pass before a request
// moves its expiry: the store is written at most this often per session.
func (s *Service) renewAfter() time.Duration {
	return min(s.ttl()/4, time.Hour)
}

// Login is LoginWith for the one app (or Apps' only one).
func (s *Service) Login(ctx context.Context, code string) (*LoginResult, error) {
	return s.LoginWith(ctx, "", code)
}

// LoginWith trades a wx.login code of the app appID at WeChat, with that
// app's credentials, and opens a session. appID may be "" when one app
// is served. Errors: BAD_USER_INPUT for a malformed code, or (field
// appId) a missing or unknown app, RATE_LIMITED when the client IP
// has logged in too often, WECHAT_ERROR when WeChat refuses it
// (with errcode and reason), WECHAT_UNAVAILABLE when WeChat cannot be
// reached. Nothing but a hash of the code is stored unless WeChat accepts
// it. The same code sent again within CodeReuseWindow (a retry from a weak
// network) signs the same user in without asking WeChat again.
func (s *Service) LoginWith(ctx context.Context, appID, code string) (*LoginResult, error) {
	app, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	if err := input.Code("code", code); err != nil {
		return nil, err
	}
	res, err := s.login(ctx, app, code)
	if s.Observe != nil {
		switch {
		case err != nil:
			s.Observe(app.ID, "error")
		case res.IsNewUser:
			s.Observe(app.ID, "new")
		default:
			s.Observe(app.ID, "returning")
		}
	}
	return res, err
}

// apps are the mini-programs served.
func (s *Service) apps() []App {
	if len(s.Apps) > 0 {
		return s.Apps
	}
	return []App{{ID: s.AppID, Exchanger: s.Exchanger}}
}

// AppIDs lists the served mini-programs' AppIDs.
func (s *Service) AppIDs() []string {
	var ids []string
	for _, a := range s.apps() {
		ids = append(ids, a.ID)
	}
	return ids
}

// app is the served app named appID; "" names the only one.
func (s *Service) app(appID string) (App, error) {
	apps := s.apps()
	if appID == "" {
		if len(apps) == 1 {
			return apps[0], nil
		}
		return App{}, errcode.Input("appId", "appId is required: this server serves several mini-programs (%s); send the AppID of the one signing in (wx.getAccountInfoSync().miniProgram.appId)", strings.Join(s.AppIDs(), ", "))
	}
	for _, a := range apps {
		if a.ID == appID {
			return a, nil
		}
	}
	if len(appID) > 64 {
		appID = appID[:64] + "…"
	}
	return App{}, errcode.Input("appId", "appId %q is not a mini-program this server serves (%s)", appID, strings.Join(s.AppIDs(), ", "))
}

func (s *Service) login(ctx context.Context, app App, code string) (*LoginResult, error) {
	if s.LoginLimiter != nil {
		if ok, wait := s.LoginLimiter.Reserve(reqctx.ClientIP(ctx)); !ok {
			return nil, errcode.Limited(wait, "too many logins from this address")
		}
	}
	codeHash := CodeHash(app.ID, code)
	prior, err := s.claimCode(ctx, codeHash)
	if err != nil {
		return nil, err
	}
	// From here the login finishes even if the client goes: WeChat spends
	// the code when it answers, and only a finished login lets the
	// client's retry with the same code in.
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.finishTimeout())
	defer cancel()
	token, hash := NewToken()
	sess := &Session{AppID: app.ID, TokenHash: hash, ExpiresAt: s.now().Add(s.ttl())}
	switch {
	case prior != nil && prior.UserID != 0:
		// A retry of a login that succeeded (its answer may have been lost
		// on the way): WeChat would refuse the used code, so sign the same
		// user in again, in place of the session that login made. Only the
		// first login has isNewUser.
		u, err := s.Store.ResumeSignIn(work, codeHash, prior.UserID, sess, s.MaxSessions)
		if err != nil {
			return nil, fmt.Errorf("resume sign in: %w", err)
		}
		return &LoginResult{Token: token, ExpiresAt: sess.ExpiresAt, User: u}, nil
	case prior != nil:
		// An earlier login exchanged the code and failed to sign in.
		id := *prior.Exchanged
		id.AppID = app.ID
		return s.signIn(work, codeHash, id, sess, token)
	}

	ws, err := app.Exchanger.Code2Session(work, code)
	if err != nil {
		s.releaseCode(work, codeHash)
		return nil, wechat.ClientError(err, "WeChat refused the login code")
	}
	id := Identity{AppID: app.ID, OpenID: ws.OpenID, UnionID: ws.UnionID}
	if id.SessionKey, err = s.sealSessionKey(id, ws.SessionKey); err != nil {
		s.releaseCode(work, codeHash)
		return nil, err
	}
	res, err := s.signIn(work, codeHash, id, sess, token)
	if err != nil {
		// WeChat has spent the code: keep its answer for the retry.
		if serr := s.Store.SaveExchange(work, codeHash, id); serr != nil {
			s.logger().WarnContext(ctx, "keep a login's exchange for its retry", "err", serr)
			s.releaseCode(work, codeHash)
		}
		return nil, err
	}
	return res, nil
}

func (s *Service) signIn(ctx context.Context, codeHash []byte, id Identity, sess *Session, token string) (*LoginResult, error) {
	in, err := s.Store.SignIn(ctx, id, sess, codeHash, s.MaxSessions)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	s.logMerge(ctx, id.AppID, in.Merged)
	return &LoginResult{Token: token, ExpiresAt: sess.ExpiresAt, User: in.User, IsNewUser: in.Created}, nil
}

// logMerge records a merge of two persons: it moves one's data to the
// other, which support must be able to trace.
func (s *Service) logMerge(ctx context.Context, appID string, m *Merge) {
	if m == nil {
		return
	}
	s.logger().InfoContext(ctx, "merged two users who are one person (same unionid)",
		"kept_user", m.Kept, "removed_user", m.Removed, "todos_moved", m.Todos, "sessions_moved", m.Sessions, "app", appID)
}

// claimCode makes this login the one that exchanges the code, or returns
// the earlier login with the same code once that has finished. Logins with
// the same code that arrive together, on any instance, wait for the first.
func (s *Service) claimCode(ctx context.Context, codeHash []byte) (*CodeLogin, error) {
	for wait := 10 * time.Millisecond; ; wait = min(wait*2, 200*time.Millisecond) {
		now := s.now()
		claimed, prior, err := s.Store.ClaimCode(ctx, codeHash, now)
		if err != nil {
			return nil, fmt.Errorf("claim code: %w", err)
		}
		if claimed {
			return nil, nil
		}
		age := now.Sub(prior.CreatedAt)
		switch {
		case age > CodeReuseWindow || prior.UserID == 0 && prior.Exchanged == nil && age > s.finishTimeout():
			// WeChat has forgotten the code, or its login died: start over.
			if err := s.Store.ReleaseCode(ctx, codeHash); err != nil {
				return nil, fmt.Errorf("release stale code: %w", err)
			}
			continue
		case prior.UserID != 0 || prior.Exchanged != nil:
			return &prior, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Service) releaseCode(ctx context.Context, codeHash []byte) {
	// The request may be ending, but the claim must go: bounded on its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.Store.ReleaseCode(rctx, codeHash); err != nil {
		s.logger().WarnContext(ctx, "release login code", "err", err)
	}
}

// Authenticate checks a token and returns its session and user. Errors are
// UNAUTHENTICATED with reason INVALID_TOKEN or EXPIRED_TOKEN. A session
// in use has its expiry moved forward, at most once per renewAfter.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *user.User, error) {
	h, ok := ParseToken(token)
	if !ok {
		return nil, nil, errInvalidToken
	}
	sess, u, err := s.Store.SessionByToken(ctx, h)
	if errcode.Code(err) == errcode.NotFound {
		return nil, nil, errInvalidToken
	}
	if err != nil {
		return nil, nil, fmt.Errorf("look up session: %w", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return nil, nil, errcode.Unauth(errcode.ReasonExpiredToken, "token expired, log in again")
	}
	if ttl := s.ttl(); sess.ExpiresAt.Sub(now) < ttl-s.renewAfter() {
		exp := now.Add(ttl)
		if err := s.Store.ExtendSession(ctx, sess.ID, exp); err != nil {
			// The request may go on: the session is valid, only its renewal failed.
			s.logger().WarnContext(ctx, "extend session", "err", err)
		} else {
			sess.ExpiresAt = exp
		}
	}
	return sess, u, nil
}

// Logout revokes the session, also for the fields of this request that
// come after it.
func (s *Service) Logout(ctx context.Context, sessionID int64) error {
	if err := s.Store.DeleteSession(ctx, sessionID); err != nil && errcode.Code(err) != errcode.NotFound {
		return fmt.Errorf("delete session: %w", err)
	}
	revoke(ctx)
	return nil
}

// DeleteExpired removes sessions long expired and login codes past their
// life, and returns how many sessions it removed. Expired sessions stay a
// TTL longer, so that their tokens get EXPIRED_TOKEN rather than
// INVALID_TOKEN.
func (s *Service) DeleteExpired(ctx context.Context) (int64, error) {
	now := s.now()
	n, err := s.Store.DeleteExpired(ctx, now.Add(-s.ttl()), now.Add(-CodeReuseWindow))
	if err != nil {
		return n, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}

// RunJanitor calls DeleteExpired every interval until ctx ends.
func (s *Service) RunJanitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.DeleteExpired(ctx)
		if err != nil {
			s.logger().Warn("janitor", "err", err)
			continue
		}
		if n > 0 {
			s.logger().Info("deleted expired sessions", "count", n)
		}
	}
}

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

var errInvalidToken = errcode.Unauth(errcode.ReasonInvalidToken, "invalid token, log in again")

// CodeHash is what is kept of a wx.login code (for recognising a retried
// login): never the code itself.
func CodeHash(appID, code string) []byte {
	h := sha256.Sum256([]byte(appID + "\x00" + code))
	return h[:]
}

// CodeReuseWindow is how long a wx.login code lives at WeChat: within it a
// retried login with the same code signs in the same user.
const CodeReuseWindow = 5 * time.Minute

// sealSessionKey seals the session_key of a sign-in; nothing without a
// SessionKeySealer.
func (s *Service) sealSessionKey(id Identity, sessionKey string) (SealedKey, error) {
	if s.SessionKeys == nil || sessionKey == "" {
		return SealedKey{}, nil
	}
	sealed, fp, err := s.SessionKeys.SealSessionKey(id.AppID, id.OpenID, sessionKey)
	if err != nil {
		return SealedKey{}, fmt.Errorf("seal session_key: %w", err)
	}
	return SealedKey{Sealed: sealed, Fingerprint: fp}, nil
}
