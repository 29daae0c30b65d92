package wxdata_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"os"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

const (
	decryptQuery = `query($input: DecryptDataInput!) { decryptData(input: $input) }`
	decryptMut   = `mutation($input: DecryptDataInput!) { decryptData(input: $input) }`
	verifyQuery  = `query($raw: String!, $sig: String!) { verifyUserData(input: {rawData: $raw, signature: $sig}) }`
	checkQuery   = `query { checkSession }`
	bindPhoneMut = `mutation($code: String!) { bindPhoneNumber(input: {code: $code}) { id phoneNumber } }`
	phoneQuery   = `{ me { phoneNumber } }`
)

// werun is what wx.getWeRunData decrypts to: one day's steps, watermarked
// for appID.
func werun(steps int, appID string) string {
	return fmt.Sprintf(`{"stepInfoList":[{"timestamp":1794700800,"step":%d}],"watermark":{"timestamp":1794787200,"appid":%q}}`, steps, appID)
}

// encryptFor encrypts plaintext as WeChat does for a client whose
// session_key is key: the DecryptDataInput of decryptData.
func encryptFor(tb testing.TB, key, plaintext string) map[string]any {
	tb.Helper()
	enc, iv, err := wechat.EncryptData(key, []byte(plaintext), nil)
	if err != nil {
		tb.Fatalf("encrypt: %v", err)
	}
	return map[string]any{"encryptedData": enc, "iv": iv}
}

// encryptUnpadded encrypts whole blocks without PKCS#7 padding: valid
// base64 and length, wrong padding under the right key.
func encryptUnpadded(tb testing.TB, key string, plaintext []byte) map[string]any {
	tb.Helper()
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		tb.Fatalf("key: %v", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		tb.Fatalf("key: %v", err)
	}
	iv := make([]byte, aes.BlockSize)
	ct := make([]byte, len(plaintext))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plaintext)
	return map[string]any{"encryptedData": base64.StdEncoding.EncodeToString(ct), "iv": base64.StdEncoding.EncodeToString(iv)}
}

// inputVars sends in as the request's $input.
func inputVars(in map[string]any) apitest.Option { return apitest.Vars(map[string]any{"input": in}) }

// codeVars sends code as the request's $code.
func codeVars(code string) apitest.Option { return apitest.Vars(map[string]any{"code": code}) }

// key16 is a session_key as WeChat hands them out, the base64 of 16 bytes.
func key16(tb testing.TB, raw string) string {
	tb.Helper()
	if len(raw) != 16 {
		tb.Fatalf("session_key %q: got %d bytes, want 16", raw, len(raw))
	}
	return base64.StdEncoding.EncodeToString([]byte(raw))
}
