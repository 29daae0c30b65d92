// Package errcode is the one home of every error code and reason that can
// reach a client, and provides the application's error type: a stable,
// machine-readable code that clients act on, a message safe to show them,
// and optional details such as the input field at fault.
//
// Errors that are not *Error are internal: the GraphQL layer logs them and
// answers INTERNAL_SERVER_ERROR without their text.
package errcode

import (
	"errors"
	"fmt"
	"time"
)

// Codes sent to clients in extensions.code. They are part of the API
// contract: never rename one. The schema's ErrorCode enum documents
// exactly these (a test checks).
const (
	// Signing in and the caller's requests.
	Unauthenticated   = "UNAUTHENTICATED"
	BadUserInput      = "BAD_USER_INPUT"
	NotFound          = "NOT_FOUND"
	WeChatError       = "WECHAT_ERROR"
	WeChatUnavailable = "WECHAT_UNAVAILABLE"
	RateLimited       = "RATE_LIMITED"
	Timeout           = "TIMEOUT"
	// LimitExceeded: a per-user cap (e.g. todos per user) is reached;
	// extensions.limit is the cap. Retrying does not help until the user
	// has fewer (deletes some).
	LimitExceeded = "LIMIT_EXCEEDED"
	Unavailable   = "SERVICE_UNAVAILABLE"
	// Forbidden: this server does not do that for this caller: an app it
	// does not serve (WeChat Cloud Hosting's X-WX-APPID), login on a
	// server without the AppSecret, a disabled account (reason
	// USER_DISABLED), an admin field for a user or a user's field for an
	// operator. Retrying does not help.
	Forbidden = "FORBIDDEN"
	// SessionKeyStale: WeChat data was encrypted with a session_key the
	// server no longer holds; the client logs in again.
	SessionKeyStale = "SESSION_KEY_STALE"
	Internal        = "INTERNAL_SERVER_ERROR"

	// The GraphQL document. The first three are gqlgen's own codes (a
	// test checks that they match); the limits are the server's.
	ParseFailed            = "GRAPHQL_PARSE_FAILED"
	ValidationFailed       = "GRAPHQL_VALIDATION_FAILED"
	PersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
	ComplexityLimit        = "COMPLEXITY_LIMIT_EXCEEDED"
	DepthLimit             = "DEPTH_LIMIT_EXCEEDED"
	AliasLimit             = "ALIAS_LIMIT_EXCEEDED"
	RootFieldLimit         = "ROOT_FIELD_LIMIT_EXCEEDED"
	// DocumentLimit refuses, before validation, a document with more
	// selections, fragments, same-name fields, directives, variables or
	// arguments than any real client sends.
	DocumentLimit = "DOCUMENT_LIMIT_EXCEEDED"
	// IntrospectionDisabled refuses __schema and __type where
	// introspection is off.
	IntrospectionDisabled = "INTROSPECTION_DISABLED"

	// HTTP-level rejections, answered with a GraphQL-shaped body.
	RequestTooLarge      = "REQUEST_TOO_LARGE"      // 413
	BadRequest           = "BAD_REQUEST"            // 400
	UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE" // 415
	MethodNotAllowed     = "METHOD_NOT_ALLOWED"     // 405
)

// Codes lists every code above, in the order the schema documents them.
var Codes = []string{
	Unauthenticated, BadUserInput, NotFound, WeChatError, WeChatUnavailable,
	RateLimited, LimitExceeded, Timeout, Unavailable, Forbidden, SessionKeyStale, Internal,
	ParseFailed, ValidationFailed, PersistedQueryNotFound,
	ComplexityLimit, DepthLimit, AliasLimit, RootFieldLimit, DocumentLimit,
	IntrospectionDisabled,
	RequestTooLarge, BadRequest, UnsupportedMediaType, MethodNotAllowed,
}

// Reasons refine a code in extensions.reason. The schema's ErrorReason
// enum documents exactly these (a test checks).
const (
	// UNAUTHENTICATED
	ReasonMissingToken = "MISSING_TOKEN"
	ReasonInvalidToken = "INVALID_TOKEN"
	ReasonExpiredToken = "EXPIRED_TOKEN"
	// WECHAT_ERROR, from WeChat's errcode
	ReasonInvalidCode = "INVALID_CODE" // the wx.login or phone code is invalid or used
	ReasonRateLimited = "RATE_LIMITED" // WeChat's frequency limit
	ReasonBlockedUser = "BLOCKED_USER" // WeChat blocked the user
	ReasonRejected    = "REJECTED"     // the server's own credentials or request: logged
	// FORBIDDEN
	ReasonUserDisabled = "USER_DISABLED" // an operator disabled the account
)

// Reasons lists every reason above, in the order the schema documents them.
var Reasons = []string{
	ReasonMissingToken, ReasonInvalidToken, ReasonExpiredToken,
	ReasonInvalidCode, ReasonRateLimited, ReasonBlockedUser, ReasonRejected,
	ReasonUserDisabled,
}

// Error is an error a client is meant to see.
type Error struct {
	Code    string // one of the codes above
	Message string // human readable, safe to show
	Field   string // the input field at fault, if one is
	Reason  string // one of the reasons above, if any
	// RetryAfter, when set, is how long the client should wait before
	// trying again (extensions.retryAfter, in whole seconds, at least 1).
	RetryAfter time.Duration
	// Extra holds further extensions (e.g. WeChat's errcode).
	Extra map[string]any
	// Err is the cause, kept for logs and errors.Is; never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Extensions returns the GraphQL error extensions for e.
func (e *Error) Extensions() map[string]any {
	ext := make(map[string]any, 3+len(e.Extra))
	for k, v := range e.Extra {
		ext[k] = v
	}
	ext["code"] = e.Code
	if e.Field != "" {
		ext["field"] = e.Field
	}
	if e.Reason != "" {
		ext["reason"] = e.Reason
	}
	if e.RetryAfter > 0 {
		ext["retryAfter"] = e.retrySeconds()
	}
	return ext
}

// Limited returns a RATE_LIMITED error whose client should retry after
// retryAfter; the message says why and ends with when.
func Limited(retryAfter time.Duration, why string) *Error {
	e := &Error{Code: RateLimited, RetryAfter: retryAfter}
	e.Message = fmt.Sprintf("%s: try again in %d s", why, e.retrySeconds())
	return e
}

// retrySeconds is RetryAfter in whole seconds, rounded up, at least 1.
func (e *Error) retrySeconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

// Capped returns a LIMIT_EXCEEDED error about a per-user cap of limit.
func Capped(limit int, why string) *Error {
	return &Error{Code: LimitExceeded, Message: fmt.Sprintf("%s (at most %d)", why, limit), Extra: map[string]any{"limit": limit}}
}

// Input returns a BAD_USER_INPUT error about one input field.
func Input(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unauth returns an UNAUTHENTICATED error with the given reason.
func Unauth(reason, message string) *Error {
	return &Error{Code: Unauthenticated, Reason: reason, Message: message}
}

// NotFoundf returns a NOT_FOUND error.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Code: NotFound, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, or nil when err is internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Code returns err's code: "" for nil, Internal for errors that are not *Error.
func Code(err error) string {
	if err == nil {
		return ""
	}
	if e := As(err); e != nil {
		return e.Code
	}
	return Internal
}
