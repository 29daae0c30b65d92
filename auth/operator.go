package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"wxtodo/errcode"
)

// Operators run the server: they are not WeChat users, and sign in with
// tokens of their own (package admin issues them), sent as
// "Authorization: Bearer <token>" like a session's. An operator token
// serves the @auth(role: ADMIN) fields only.

// OperatorTokenPrefix starts every operator token, so that a request's
// token is looked up where it can be (see isOperatorToken).
const OperatorTokenPrefix = "wxop_"

// isOperatorToken reports whether token has an operator token's form: the
// prefix and a session token's length after it. (A session token may
// start with the prefix too, by chance, but is shorter.)
func isOperatorToken(token string) bool {
	return len(token) == len(OperatorTokenPrefix)+TokenLen && strings.HasPrefix(token, OperatorTokenPrefix)
}

// NewOperatorToken returns a fresh random operator token and its hash.
func NewOperatorToken() (string, TokenHash) {
	t, _ := NewToken()
	token := OperatorTokenPrefix + t
	return token, sha256Of(token)
}

// ParseOperatorToken checks an operator token's shape and returns its
// hash (of the whole token, prefix included).
func ParseOperatorToken(s string) (TokenHash, bool) {
	rest, ok := strings.CutPrefix(s, OperatorTokenPrefix)
	if !ok {
		return TokenHash{}, false
	}
	if _, ok := ParseToken(rest); !ok {
		return TokenHash{}, false
	}
	return sha256Of(s), true
}

// Operator is a signed-in operator.
type Operator struct {
	// Name is the operator token's name: who acts, in the audit trail.
	Name string
}

// OperatorStore finds operator tokens (db.AdminStore).
type OperatorStore interface {
	// UseOperatorToken returns the name and expiry of the token with the
	// hash, and records its use at now; a NOT_FOUND error when there is
	// none (never issued, or revoked).
	UseOperatorToken(ctx context.Context, h TokenHash, now time.Time) (name string, expiresAt time.Time, err error)
}

// authenticateOperator checks an operator token. Errors are
// UNAUTHENTICATED with reason INVALID_TOKEN or EXPIRED_TOKEN.
func (s *Service) authenticateOperator(ctx context.Context, token string) (*Caller, error) {
	h, ok := ParseOperatorToken(token)
	if !ok || s.Operators == nil {
		return nil, errInvalidToken
	}
	now := s.now()
	name, exp, err := s.Operators.UseOperatorToken(ctx, h, now)
	if errcode.Code(err) == errcode.NotFound {
		return nil, errcode.Unauth(errcode.ReasonInvalidToken, "invalid operator token (revoked, or never issued)")
	}
	if err != nil {
		return nil, fmt.Errorf("look up operator token: %w", err)
	}
	if !now.Before(exp) {
		return nil, errcode.Unauth(errcode.ReasonExpiredToken, "operator token expired: issue a new one (wxtodo admin token)")
	}
	return &Caller{Operator: &Operator{Name: name}}, nil
}

// RequireUser returns the request's caller when it is a user (signed in
// through WeChat): an operator gets FORBIDDEN.
func RequireUser(ctx context.Context) (*Caller, error) {
	c, err := Require(ctx)
	if err != nil {
		return nil, err
	}
	if c.User == nil {
		return nil, errOperatorNotUser
	}
	return c, nil
}

// RequireOperator returns the request's caller when it is an operator: a
// signed-in user gets FORBIDDEN.
func RequireOperator(ctx context.Context) (*Caller, error) {
	c, err := Require(ctx)
	if err != nil {
		return nil, err
	}
	if c.Operator == nil {
		return nil, errNotOperator
	}
	return c, nil
}

var (
	errNotOperator     = &errcode.Error{Code: errcode.Forbidden, Message: "this field is for operators (an operator token, see wxtodo admin token)"}
	errOperatorNotUser = &errcode.Error{Code: errcode.Forbidden, Message: "an operator token serves the admin fields only: this field is a signed-in user's"}
)

// ErrUserDisabled refuses a disabled account's login (and its Cloud
// Hosting calls): an operator disabled it.
var ErrUserDisabled = &errcode.Error{Code: errcode.Forbidden, Reason: errcode.ReasonUserDisabled,
	Message: "this account is disabled; contact the mini-program's support"}
