package wechat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Identity of the development mock: data it encrypts is watermarked with
// MockAppID, and its APIs accept only MockAccessToken.
const (
	MockAppID       = "wxdevmock0000000"
	MockAccessToken = "devmock-access-token"
)

// Mock stands in for WeChat in development: the same code always maps to
// the same openid, so codes such as "alice" and "bob" are two users, and
// each openid has one fixed session_key. With several development apps
// each has a Mock of its own App: as WeChat does, it gives a person
// (a code) an openid per app and one unionid across them, so "alice" in
// two apps is one person. It must never serve real traffic.
type Mock struct {
	// App is the AppID the mock stands for; "" is the one development
	// app, whose data is watermarked with MockAppID.
	App string
}

// AppID returns the app the mock's data is watermarked for: App, or
// MockAppID.
func (m Mock) AppID() string {
	if m.App != "" {
		return m.App
	}
	return MockAppID
}

// Code2Session derives a stable identity from code: the openid from the
// app and the code, the unionid from the code alone.
func (m Mock) Code2Session(_ context.Context, code string) (*Session, error) {
	if code == "" {
		return nil, &Error{Code: CodeInvalidCode, Msg: "invalid code"}
	}
	seed := code
	if m.App != "" && m.App != MockAppID {
		seed = m.App + "\x00" + code
	}
	sum := sha256.Sum256([]byte("wxtodo-dev-openid:" + seed))
	openID := "dev_" + hex.EncodeToString(sum[:12])
	union := sha256.Sum256([]byte("wxtodo-dev-unionid:" + code))
	return &Session{OpenID: openID, UnionID: "devu_" + hex.EncodeToString(union[:12]), SessionKey: mockSessionKey(openID)}, nil
}

// mockSessionKey is the session_key of a mock user: derived from the
// openid, so that CheckSession can tell a current key from another.
func mockSessionKey(openID string) string {
	key := sha256.Sum256([]byte("wxtodo-dev-session-key:" + openID))
	return base64.StdEncoding.EncodeToString(key[:16])
}

// StableToken returns MockAccessToken, valid for two hours.
func (Mock) StableToken(context.Context, bool) (*AccessToken, error) {
	return &AccessToken{Token: MockAccessToken, ExpiresIn: 2 * time.Hour}, nil
}

// PhoneNumber returns a made-up mainland number (138...), the same for the
// same openid (or, without one, the same code).
func (Mock) PhoneNumber(_ context.Context, accessToken, code, openid string) (*PhoneInfo, error) {
	if accessToken != MockAccessToken {
		return nil, &Error{Code: CodeInvalidCredential, Msg: "invalid credential"}
	}
	if code == "" {
		return nil, &Error{Code: CodeInvalidCode, Msg: "invalid code"}
	}
	seed := "code:" + code
	if openid != "" {
		seed = "openid:" + openid
	}
	sum := sha256.Sum256([]byte("wxtodo-dev-phone:" + seed))
	n := fmt.Sprintf("138%08d", binary.BigEndian.Uint64(sum[:8])%100_000_000)
	return &PhoneInfo{PhoneNumber: n, PurePhoneNumber: n, CountryCode: "86"}, nil
}

// CheckSession accepts exactly the session_key Code2Session gave openid,
// answering 87009 for any other, as WeChat does for a key that moved on.
func (Mock) CheckSession(_ context.Context, accessToken, openid, sessionKey string) error {
	if accessToken != MockAccessToken {
		return &Error{Code: CodeInvalidCredential, Msg: "invalid credential"}
	}
	want := SessionSignature(mockSessionKey(openid))
	if !hmac.Equal([]byte(SessionSignature(sessionKey)), []byte(want)) {
		return &Error{Code: CodeInvalidSignature, Msg: "invalid signature"}
	}
	return nil
}

// SampleEncryptedData encrypts a wx.getWeRunData-like answer (steps of the
// last seven days) under sessionKey with AppID's watermark, so that
// decryption can be tried in development. Errors wrap ErrMalformed.
func (mk Mock) SampleEncryptedData(sessionKey string) (encryptedData, iv string, err error) {
	type stepInfo struct {
		Timestamp int64 `json:"timestamp"`
		Step      int   `json:"step"`
	}
	now := time.Now()
	y, m, d := now.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	var steps []stepInfo
	for i := 6; i >= 0; i-- {
		steps = append(steps, stepInfo{Timestamp: midnight.AddDate(0, 0, -i).Unix(), Step: 4000 + 1000*i})
	}
	data := map[string]any{
		"stepInfoList": steps,
		"watermark":    map[string]any{"timestamp": now.Unix(), "appid": mk.AppID()},
	}
	plain, err := json.Marshal(data)
	if err != nil {
		return "", "", fmt.Errorf("encode sample: %w", err)
	}
	return EncryptData(sessionKey, plain, nil)
}
