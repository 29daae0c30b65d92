package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Errors of DecryptData. Their messages never hold key material or
// plaintext.
var (
	// ErrMalformed: an input is not base64, the session key or iv is not
	// 16 bytes, or the ciphertext is empty or not whole AES blocks.
	ErrMalformed = errors.New("malformed encrypted data")
	// ErrDecrypt: the padding or the plaintext is wrong, i.e. the data was
	// not encrypted under this session_key (usually it has moved on).
	ErrDecrypt = errors.New("encrypted data does not fit the session key")
	// ErrWatermark: the data decrypted but its watermark is missing or
	// names another app.
	ErrWatermark = errors.New("encrypted data is not watermarked for this app")
)

// DecryptData decrypts encryptedData that a mini-program API (such as
// wx.getWeRunData or wx.getShareInfo) handed the client: AES-128-CBC with
// PKCS#7 under the user's current session_key. All inputs are standard
// base64 as WeChat sends them. It returns the JSON object only when its
// watermark.appid is appID. Errors wrap ErrMalformed, ErrDecrypt or
// ErrWatermark.
func DecryptData(sessionKey, encryptedData, iv, appID string) (json.RawMessage, error) {
	key, err := decodeBlock("session key", sessionKey)
	if err != nil {
		return nil, err
	}
	ivb, err := decodeBlock("iv", iv)
	if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(encryptedData)
	if err != nil {
		return nil, fmt.Errorf("%w: encryptedData is not base64", ErrMalformed)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: encryptedData is %d bytes, not whole AES blocks", ErrMalformed, len(ct))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: session key", ErrMalformed)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(pt, ct)
	n, ok := unpad(pt)
	// One error for bad padding and bad JSON, so that callers cannot be
	// used as a padding oracle.
	if !ok || !isJSONObject(pt[:n]) {
		return nil, ErrDecrypt
	}
	pt = pt[:n]

	if appID == "" {
		return nil, fmt.Errorf("%w: no app id to check against", ErrWatermark)
	}
	var w struct {
		Watermark *struct {
			AppID string `json:"appid"`
		} `json:"watermark"`
	}
	if err := json.Unmarshal(pt, &w); err != nil || w.Watermark == nil {
		return nil, fmt.Errorf("%w: no watermark", ErrWatermark)
	}
	if w.Watermark.AppID != appID {
		return nil, fmt.Errorf("%w: watermark names another app", ErrWatermark)
	}
	return json.RawMessage(pt), nil
}

// EncryptData encrypts plaintext as WeChat does for DecryptData, for tests
// and the development mock. A nil iv means a random one.
func EncryptData(sessionKey string, plaintext []byte, iv []byte) (encryptedData, ivB64 string, err error) {
	key, err := decodeBlock("session key", sessionKey)
	if err != nil {
		return "", "", err
	}
	if iv == nil {
		iv = make([]byte, aes.BlockSize)
		rand.Read(iv) //nolint:errcheck // never fails (crypto/rand)
	}
	if len(iv) != aes.BlockSize {
		return "", "", fmt.Errorf("%w: iv is %d bytes, want %d", ErrMalformed, len(iv), aes.BlockSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", "", fmt.Errorf("%w: session key", ErrMalformed)
	}
	p := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(p)}, p)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), base64.StdEncoding.EncodeToString(iv), nil
}

// VerifyUserData reports whether signature is sha1(rawData + sessionKey)
// in hex (either case), as WeChat signs the rawData of wx.getUserInfo.
func VerifyUserData(rawData, signature, sessionKey string) bool {
	if sessionKey == "" {
		return false // sha1(rawData) alone anyone can compute
	}
	sum := sha1.Sum([]byte(rawData + sessionKey))
	want := hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) == 1
}

// SessionSignature is the user login-state signature that
// /wxa/checksession expects: hex hmac_sha256 over the empty message, keyed
// with the session_key string exactly as WeChat hands it out (base64 text,
// not its decoded bytes).
func SessionSignature(sessionKey string) string {
	return signSession(sessionKey, nil)
}

// signSession signs a request body with the session key as WeChat's
// login-state signature does (GET requests sign the empty body).
func signSession(sessionKey string, body []byte) string {
	m := hmac.New(sha256.New, []byte(sessionKey))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func decodeBlock(name, b64 string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", ErrMalformed, name)
	}
	if len(b) != aes.BlockSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrMalformed, name, len(b), aes.BlockSize)
	}
	return b, nil
}

// unpad checks PKCS#7 padding (1 to 16 bytes, all equal to the count)
// without branching on the pad bytes, and returns the plaintext length.
func unpad(b []byte) (int, bool) {
	n := len(b)
	pad := int(b[n-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := 1; i <= aes.BlockSize && i <= n; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, pad)
		same := subtle.ConstantTimeByteEq(b[n-i], byte(pad))
		good &= (1 - inPad) | same
	}
	if good != 1 {
		return 0, false
	}
	return n - pad, true
}

func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}
