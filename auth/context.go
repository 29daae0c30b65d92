package auth

import (
	"context"
	"strings"
	"sync"

	"wxtodo/errcode"
	"wxtodo/user"
)

// Caller is who signed in: a user, or an operator. Session is nil for a caller
// whom WeChat Cloud Hosting's headers identify (no token, no session).
type Caller struct {
	Session *Session
	User    *user.User
	// Operator is set, and Session and User are nil, for an operator
	// token's caller (see RequireOperator).
	Operator *Operator
	// AppID is the mini-program the caller signed in through (the
	// session's, or the platform headers').
	AppID string
}

type ctxKey struct{}

// request holds a request's credentials; they are checked on first use
// only, so a request without @auth fields never touches the session store.
type request struct {
	svc    *Service
	header string
	// platform is who Cloud Hosting's headers say is calling, in that
	// mode; a bearer token wins over it.
	platform *Identity
	once     sync.Once
	mu       sync.Mutex // guards caller and err after once, for revoke
	caller   *Caller
	err      error
}

// WithCredentials returns ctx carrying a request's Authorization header
// for Require. It never rejects a request: only @auth fields fail without
// a valid token.
func (s *Service) WithCredentials(ctx context.Context, authorization string) context.Context {
	return context.WithValue(ctx, ctxKey{}, &request{svc: s, header: authorization})
}

// Require returns the request's caller, authenticating the token the first
// time. Errors are UNAUTHENTICATED with reason MISSING_TOKEN, INVALID_TOKEN
// or EXPIRED_TOKEN.
func Require(ctx context.Context) (*Caller, error) {
	rq, _ := ctx.Value(ctxKey{}).(*request)
	if rq == nil {
		return nil, errMissingToken
	}
	rq.once.Do(func() {
		if rq.header == "" && rq.platform != nil {
			rq.caller, rq.err = rq.svc.platformCaller(ctx, *rq.platform)
			return
		}
		token, ok := Bearer(rq.header)
		if !ok {
			rq.err = errMissingToken
			if rq.header != "" {
				rq.err = errcode.Unauth(errcode.ReasonInvalidToken, "Authorization header must be \"Bearer <token>\"")
			}
			return
		}
		if isOperatorToken(token) {
			rq.caller, rq.err = rq.svc.authenticateOperator(ctx, token)
			return
		}
		sess, u, err := rq.svc.Authenticate(ctx, token)
		if err != nil {
			rq.err = err
			return
		}
		rq.caller = &Caller{Session: sess, User: u, AppID: sess.AppID}
	})
	rq.mu.Lock()
	defer rq.mu.Unlock()
	return rq.caller, rq.err
}

// revoke makes the rest of the request unauthenticated: after logout, a
// later field of the same request must not act with the revoked token.
func revoke(ctx context.Context) {
	if rq, _ := ctx.Value(ctxKey{}).(*request); rq != nil {
		rq.mu.Lock()
		rq.caller, rq.err = nil, errcode.Unauth(errcode.ReasonInvalidToken, "logged out, log in again")
		rq.mu.Unlock()
	}
}

// Authorization returns the Authorization header the request's
// credentials came from ("" without any).
func Authorization(ctx context.Context) string {
	if rq, _ := ctx.Value(ctxKey{}).(*request); rq != nil {
		return rq.header
	}
	return ""
}

var errMissingToken = errcode.Unauth(errcode.ReasonMissingToken, "sign in first: no token sent")

// Bearer returns the token of an "Authorization: Bearer <token>" header.
func Bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
