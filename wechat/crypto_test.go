package wechat_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"wxtodo/wechat"
)

// WeChat's demo vector, from the sample code linked from "开放数据校验与解密"
// (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html);
// the same values appear in the demo of every language in that download.
const (
	demoAppID         = "wx4f4bc4dec97d474b"
	demoSessionKey    = "tiihtNczf5v6AKRyjwEUhQ=="
	demoIV            = "r7BXXKkLb8qrSNn05n0qiA=="
	demoEncryptedData = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZM" +
		"QmRzooG2xrDcvSnxIMXFufNstNGTyaGS" +
		"9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+" +
		"3hVbJSRgv+4lGOETKUQz6OYStslQ142d" +
		"NCuabNPGBzlooOmB231qMM85d2/fV6Ch" +
		"evvXvQP8Hkue1poOFtnEtpyxVLW1zAo6" +
		"/1Xx1COxFvrc2d7UL/lmHInNlxuacJXw" +
		"u0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn" +
		"/Hz7saL8xz+W//FRAUid1OksQaQx4CMs" +
		"8LOddcQhULW4ucetDf96JcR3g0gfRK4P" +
		"C7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB" +
		"6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns" +
		"/8wR2SiRS7MNACwTyrGvt9ts8p12PKFd" +
		"lqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYV" +
		"oKlaRv85IfVunYzO0IKXsyl7JCUjCpoG" +
		"20f0a04COwfneQAGGwd5oa+T8yO5hzuy" +
		"Db/XcxxmK01EpqOyuxINew=="
	demoPlaintext = `{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,` +
		`"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN",` +
		`"avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0",` +
		`"unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}`
)

func TestDecryptDataWeChatDemoVector(t *testing.T) {
	got, err := wechat.DecryptData(demoSessionKey, demoEncryptedData, demoIV, demoAppID)
	if err != nil {
		t.Fatalf("DecryptData: got error %v, want success", err)
	}
	if string(got) != demoPlaintext {
		t.Errorf("got plaintext\n%s\nwant\n%s", got, demoPlaintext)
	}
	var v struct {
		OpenID    string `json:"openId"`
		Watermark struct {
			Timestamp int64  `json:"timestamp"`
			AppID     string `json:"appid"`
		} `json:"watermark"`
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if v.OpenID != "oGZUI0egBJY1zhBYw2KhdUfwVJJE" || v.Watermark.AppID != demoAppID || v.Watermark.Timestamp != 1477314187 {
		t.Errorf("got %+v, want openId oGZUI0egBJY1zhBYw2KhdUfwVJJE with watermark %s/1477314187", v, demoAppID)
	}

	t.Run("another app's watermark", func(t *testing.T) {
		_, err := wechat.DecryptData(demoSessionKey, demoEncryptedData, demoIV, "wx_other_app")
		if !errors.Is(err, wechat.ErrWatermark) {
			t.Fatalf("got %v, want ErrWatermark", err)
		}
	})
	t.Run("re-encrypting gives the demo ciphertext", func(t *testing.T) {
		iv, _ := base64.StdEncoding.DecodeString(demoIV)
		enc, ivB64, err := wechat.EncryptData(demoSessionKey, []byte(demoPlaintext), iv)
		if err != nil {
			t.Fatalf("EncryptData: %v", err)
		}
		if enc != demoEncryptedData || ivB64 != demoIV {
			t.Errorf("got %s / %s, want the demo's encryptedData and iv", enc, ivB64)
		}
	})
}

// testKey is a session_key made up for generated vectors.
const testKey = "MDEyMzQ1Njc4OWFiY2RlZg==" // "0123456789abcdef"

func mustEncrypt(tb testing.TB, key string, plain string) (data, iv string) {
	tb.Helper()
	data, iv, err := wechat.EncryptData(key, []byte(plain), nil)
	if err != nil {
		tb.Fatalf("EncryptData: %v", err)
	}
	return data, iv
}

func TestDecryptDataRoundTrip(t *testing.T) {
	const app = "wx_roundtrip"
	wm := `"watermark":{"timestamp":1700000000,"appid":"` + app + `"}`
	tests := []struct{ name, plain string }{
		{"shortest object with a watermark", "{" + wm + "}"},
		{"WeRun data", `{"stepInfoList":[{"timestamp":1445866601,"step":100},{"timestamp":1445876601,"step":120}],` + wm + `}`},
		{"share info", `{"openGId":"OPENGID",` + wm + `}`},
		{"unicode", `{"city":"广州","emoji":"🏃",` + wm + `}`},
		{"leading whitespace", "\n {" + wm + "}"},
	}
	// Pad the object to each length mod 16, so that every pad size (1..16)
	// is exercised, including a whole block of padding.
	for i := range 16 {
		tests = append(tests, struct{ name, plain string }{
			"pad length " + string(rune('a'+i)),
			`{"x":"` + strings.Repeat("y", i) + `",` + wm + `}`,
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, iv := mustEncrypt(t, testKey, tt.plain)
			got, err := wechat.DecryptData(testKey, data, iv, app)
			if err != nil {
				t.Fatalf("DecryptData: got error %v, want success", err)
			}
			if string(got) != tt.plain {
				t.Errorf("got %q, want %q", got, tt.plain)
			}
		})
	}

	t.Run("a fresh iv each time", func(t *testing.T) {
		_, iv1 := mustEncrypt(t, testKey, "{}")
		_, iv2 := mustEncrypt(t, testKey, "{}")
		if iv1 == iv2 {
			t.Errorf("got iv %s twice, want random ivs", iv1)
		}
	})
}

// encryptRaw encrypts whole blocks without adding padding, to build
// ciphertexts whose padding is wrong.
func encryptRaw(tb testing.TB, key string, plain []byte) (data, iv string) {
	tb.Helper()
	k, _ := base64.StdEncoding.DecodeString(key)
	block, err := aes.NewCipher(k)
	if err != nil {
		tb.Fatal(err)
	}
	ivb := bytes.Repeat([]byte{7}, aes.BlockSize)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, ivb).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out), base64.StdEncoding.EncodeToString(ivb)
}

func TestDecryptDataErrors(t *testing.T) {
	const app = "wx_errors"
	good := `{"a":1,"watermark":{"appid":"` + app + `","timestamp":1}}`
	goodData, goodIV := mustEncrypt(t, testKey, good)
	b64 := base64.StdEncoding.EncodeToString
	otherKey := b64([]byte("fedcba9876543210"))
	// 16 bytes of JSON then bad padding: only the padding is wrong.
	padded := func(pad ...byte) []byte {
		return append([]byte(`{"watermark":1}`+strings.Repeat(" ", 16-len(pad)+1)), pad...)
	}

	type tc struct {
		name                string
		key, data, iv, want string
		wantErr             error
	}
	tests := []tc{
		{name: "session key not base64", key: "not base64!", data: goodData, iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "session key of 15 bytes", key: b64(make([]byte, 15)), data: goodData, iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "session key of 32 bytes", key: b64(make([]byte, 32)), data: goodData, iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "empty session key", key: "", data: goodData, iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "iv not base64", key: testKey, data: goodData, iv: "%%%", wantErr: wechat.ErrMalformed},
		{name: "iv of 8 bytes", key: testKey, data: goodData, iv: b64(make([]byte, 8)), wantErr: wechat.ErrMalformed},
		{name: "data not base64", key: testKey, data: "@@@@", iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "url-safe base64 data", key: testKey, data: strings.NewReplacer("+", "-", "/", "_").Replace(demoEncryptedData), iv: demoIV, wantErr: wechat.ErrMalformed},
		{name: "empty data", key: testKey, data: "", iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "data of 17 bytes", key: testKey, data: b64(make([]byte, 17)), iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "data of 15 bytes", key: testKey, data: b64(make([]byte, 15)), iv: goodIV, wantErr: wechat.ErrMalformed},
		{name: "another session key", key: otherKey, data: goodData, iv: goodIV, wantErr: wechat.ErrDecrypt},
		{name: "demo data under another key", key: testKey, data: demoEncryptedData, iv: demoIV, wantErr: wechat.ErrDecrypt},
		{name: "another iv", key: testKey, data: goodData, iv: b64(make([]byte, 16)), wantErr: wechat.ErrDecrypt},
	}
	for _, p := range []struct {
		name  string
		plain []byte
	}{
		{"pad byte 0", padded(0)},
		{"pad byte 17", append([]byte(`{"watermark":1}`+strings.Repeat(" ", 16)), 17)},
		{"pad bytes unequal", padded(3, 2, 3)},
		{"pad byte 255", padded(255)},
	} {
		d, iv := encryptRaw(t, testKey, p.plain)
		tests = append(tests, tc{name: p.name, key: testKey, data: d, iv: iv, wantErr: wechat.ErrDecrypt})
	}
	for _, p := range []struct{ name, plain string }{
		{"plaintext not JSON", "hello, world"},
		{"JSON array", `[{"watermark":{"appid":"` + app + `"}}]`},
		{"JSON null", "null"},
		{"JSON string", `"{}"`},
		{"truncated object", `{"watermark":{"appid":"` + app + `"}`},
		{"object then garbage", good + "x"},
		{"empty plaintext", ""},
	} {
		d, iv := mustEncrypt(t, testKey, p.plain)
		tests = append(tests, tc{name: p.name, key: testKey, data: d, iv: iv, wantErr: wechat.ErrDecrypt})
	}
	for _, p := range []struct{ name, plain, app string }{
		{"no watermark", `{"a":1}`, app},
		{"watermark null", `{"watermark":null}`, app},
		{"watermark not an object", `{"watermark":"` + app + `"}`, app},
		{"watermark without appid", `{"watermark":{"timestamp":1}}`, app},
		{"watermark of another app", `{"watermark":{"appid":"wx_someone_else"}}`, app},
		{"appid differs in case", `{"watermark":{"appid":"WX_ERRORS"}}`, app},
		{"no app id to check", good, ""},
	} {
		d, iv := mustEncrypt(t, testKey, p.plain)
		tests = append(tests, tc{name: p.name, key: testKey, data: d, iv: iv, want: p.app, wantErr: wechat.ErrWatermark})
	}

	sentinels := []error{wechat.ErrMalformed, wechat.ErrDecrypt, wechat.ErrWatermark}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			appID := app
			if tt.wantErr == wechat.ErrWatermark {
				appID = tt.want
			}
			got, err := wechat.DecryptData(tt.key, tt.data, tt.iv, appID)
			if got != nil {
				t.Errorf("got plaintext %q, want none", got)
			}
			for _, s := range sentinels {
				if is := errors.Is(err, s); is != (s == tt.wantErr) {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, s, is, !is)
				}
			}
			if err == nil {
				return
			}
			msg := err.Error()
			for _, secret := range []string{testKey, otherKey, "watermark\":", "hello", `"a":1`} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains %q", msg, secret)
				}
			}
		})
	}
}

func TestEncryptDataErrors(t *testing.T) {
	if _, _, err := wechat.EncryptData("short", []byte("{}"), nil); !errors.Is(err, wechat.ErrMalformed) {
		t.Errorf("bad key: got %v, want ErrMalformed", err)
	}
	if _, _, err := wechat.EncryptData(testKey, []byte("{}"), make([]byte, 12)); !errors.Is(err, wechat.ErrMalformed) {
		t.Errorf("12-byte iv: got %v, want ErrMalformed", err)
	}
}

// The example of "数据签名校验" in WeChat's signature documentation.
const (
	docRawData    = `{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}`
	docSessionKey = "HyVFkGl5F5OQWJZZaNzBBg=="
	docSignature  = "75e81ceda165f4ffa64f4068af58c64b8f54b88c"
)

func TestVerifyUserData(t *testing.T) {
	tests := []struct {
		name                     string
		rawData, sig, sessionKey string
		want                     bool
	}{
		{"WeChat's example", docRawData, docSignature, docSessionKey, true},
		{"upper-case hex", docRawData, strings.ToUpper(docSignature), docSessionKey, true},
		{"rawData changed", strings.Replace(docRawData, "Band", "Bond", 1), docSignature, docSessionKey, false},
		{"another session key", docRawData, docSignature, testKey, false},
		{"signature truncated", docRawData, docSignature[:39], docSessionKey, false},
		{"signature with whitespace", docRawData, docSignature + " ", docSessionKey, false},
		{"empty signature", docRawData, "", docSessionKey, false},
		{"empty session key", docRawData, docSignature, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wechat.VerifyUserData(tt.rawData, tt.sig, tt.sessionKey); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSessionSignature(t *testing.T) {
	// hex(hmac_sha256(key = the base64 text, message = "")), computed with
	// Python's hmac module.
	tests := map[string]string{
		"o0q0otL8aEzpcZL/FT9WsQ==": "46e043c5525c2d817c44be603d30837a808a1d930d038f6fdc3e62a201fed128",
		demoSessionKey:             "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735",
	}
	for key, want := range tests {
		if got := wechat.SessionSignature(key); got != want {
			t.Errorf("SessionSignature(%s): got %s, want %s", key, got, want)
		}
	}
}
