package wechat

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Mock stands in for jscode2session in development: the same code always
// maps to the same openid, so codes such as "alice" and "bob" are two users.
// It must never serve real traffic.
type Mock struct{}

// Code2Session derives a stable identity from code.
func (Mock) Code2Session(_ context.Context, code string) (*Session, error) {
	if code == "" {
		return nil, &Error{Code: CodeInvalidCode, Msg: "invalid code"}
	}
	sum := sha256.Sum256([]byte("wxtodo-dev-openid:" + code))
	key := sha256.Sum256([]byte("wxtodo-dev-session-key:" + code))
	return &Session{
		OpenID:     "dev_" + hex.EncodeToString(sum[:12]),
		SessionKey: base64.StdEncoding.EncodeToString(key[:16]),
	}, nil
}
