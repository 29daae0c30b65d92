// Package errcode provides the application's error type: a stable, machine
// readable code that clients act on, a message safe to show them, and
// optional details such as the input field at fault.
//
// Errors that are not *Error are internal: the GraphQL layer logs them and
// answers INTERNAL_SERVER_ERROR without their text.
package errcode

import (
	"errors"
	"fmt"
)

// Codes sent to clients in extensions.code. They are part of the API
// contract: never rename one.
const (
	Unauthenticated   = "UNAUTHENTICATED"
	BadUserInput      = "BAD_USER_INPUT"
	NotFound          = "NOT_FOUND"
	WeChatError       = "WECHAT_ERROR"
	WeChatUnavailable = "WECHAT_UNAVAILABLE"
	RateLimited       = "RATE_LIMITED"
	Timeout           = "TIMEOUT"
	Unavailable       = "SERVICE_UNAVAILABLE"
	Internal          = "INTERNAL_SERVER_ERROR"
	// SessionKeyStale: WeChat data was encrypted with a session_key the
	// server no longer holds; the client logs in again.
	SessionKeyStale = "SESSION_KEY_STALE"
)

// Codes lists the codes above; the schema's ErrorCode enum must document
// each (a test checks).
var Codes = []string{Unauthenticated, BadUserInput, NotFound, WeChatError, WeChatUnavailable, RateLimited, Timeout, Unavailable, Internal, SessionKeyStale}

// Reasons for UNAUTHENTICATED, in extensions.reason.
const (
	ReasonMissingToken = "MISSING_TOKEN"
	ReasonInvalidToken = "INVALID_TOKEN"
	ReasonExpiredToken = "EXPIRED_TOKEN"
)

// Error is an error a client is meant to see.
type Error struct {
	Code    string // one of the codes above
	Message string // human readable, safe to show
	Field   string // the input field at fault, if one is
	Reason  string // a finer reason a client can act on, if any
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
	return ext
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
