package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// tokenBytes is the entropy of a session token.
const tokenBytes = 32

// TokenLen is the length of a token as clients see it (unpadded base64url).
var TokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// TokenHash is what the database keeps of a token: the SHA-256 of the
// token as clients send it.
type TokenHash [sha256.Size]byte

// NewToken returns a fresh random token and its hash.
func NewToken() (string, TokenHash) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms.
		panic("auth: crypto/rand: " + err.Error())
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	return token, sha256.Sum256([]byte(token))
}

// ParseToken checks a token's shape and returns its hash; ok is false for
// anything that cannot be a token this server issued, so forged or
// truncated tokens are refused without a database round trip.
func ParseToken(s string) (h TokenHash, ok bool) {
	if len(s) != TokenLen {
		return h, false
	}
	var b [tokenBytes]byte
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s))
	if err != nil || n != tokenBytes {
		return h, false
	}
	return sha256Of(s), true
}

func sha256Of(s string) TokenHash { return sha256.Sum256([]byte(s)) }
