package main

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/db/dbtest"
	"wxtodo/secret"
	"wxtodo/wechat"
	"wxtodo/wechat/wechattest"
)

const (
	decryptQuery  = `query($input: DecryptDataInput!) { decryptData(input: $input) }`
	decryptMut    = `mutation($input: DecryptDataInput!) { decryptData(input: $input) }`
	verifyQuery   = `query($raw: String!, $sig: String!) { verifyUserData(input: {rawData: $raw, signature: $sig}) }`
	checkQuery    = `query { checkSession }`
	bindPhoneMut  = `mutation($code: String!) { bindPhoneNumber(input: {code: $code}) { id phoneNumber } }`
	werunTemplate = `{"stepInfoList":[{"timestamp":1794700800,"step":%d}],"watermark":{"timestamp":1794787200,"appid":%q}}`
)

// encryptFor encrypts plaintext as WeChat does for a client whose
// session_key is key.
func encryptFor(t *testing.T, key string, plaintext string) map[string]any {
	t.Helper()
	enc, iv, err := wechat.EncryptData(key, []byte(plaintext), nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"encryptedData": enc, "iv": iv}
}

// encryptUnpadded encrypts whole blocks without PKCS#7 padding: valid
// base64 and length, wrong padding under the right key.
func encryptUnpadded(t *testing.T, key string, plaintext []byte) map[string]any {
	t.Helper()
	k, _ := base64.StdEncoding.DecodeString(key)
	block, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 16)
	ct := make([]byte, len(plaintext))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plaintext)
	return map[string]any{"encryptedData": base64.StdEncoding.EncodeToString(ct), "iv": base64.StdEncoding.EncodeToString(iv)}
}

// TestAccessTokenIsSharedByInstances runs three instances on one database
// against a fake that counts stable_token calls: concurrent phone binds
// make one call per token lifetime, and when WeChat rejects the token the
// instances refresh it once between them.
func TestAccessTokenIsSharedByInstances(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		instances := []*env{e, e.another(), e.another()}
		tokens := make([]string, len(instances))
		for i, inst := range instances {
			tokens[i], _ = inst.login(fmt.Sprintf("shared-%d", i))
		}
		wave := func(name string) {
			t.Helper()
			var wg sync.WaitGroup
			for i := range 30 {
				wg.Go(func() {
					inst := instances[i%len(instances)]
					r := inst.post(tokens[i%len(instances)], bindPhoneMut, map[string]any{"code": fmt.Sprintf("%s-%d", name, i)})
					if len(r.Errors) > 0 {
						t.Errorf("%s: bind %d: %s", name, i, r.Raw)
					}
				})
			}
			wg.Wait()
		}

		wave("first")
		if n := e.wx.StableTokenCalls(); n != 1 {
			t.Errorf("first wave: %d stable_token calls across 3 instances, want 1", n)
		}
		wave("again")
		if n := e.wx.StableTokenCalls(); n != 1 {
			t.Errorf("second wave with a valid token: %d stable_token calls in all, want 1", n)
		}

		// WeChat ends the token early (42001 for it): one instance
		// refreshes, the others find the new token in the database.
		e.wx.ExpireToken()
		wave("expired")
		if n := e.wx.StableTokenCalls(); n != 2 {
			t.Errorf("after the token expired: %d stable_token calls in all, want 2", n)
		}

		// A token that lives 3s is fetched again once per lifetime,
		// whichever instance is asked.
		e.wx.SetTokenTTL(3 * time.Second)
		e.wx.RotateToken() // as a forced refresh elsewhere would: 40001 for the stored one
		wave("rotated")
		if n := e.wx.StableTokenCalls(); n != 3 {
			t.Errorf("after the token was rotated: %d stable_token calls in all, want 3", n)
		}
		time.Sleep(3100 * time.Millisecond)
		wave("after-expiry")
		if n := e.wx.StableTokenCalls(); n != 4 {
			t.Errorf("after the 3s token's life: %d stable_token calls in all, want 4", n)
		}
		if n := e.wx.ForcedRefreshes(); n != 0 {
			t.Errorf("%d forced refreshes, want none", n)
		}
		if n := e.count("wechat_tokens", ""); n != 1 {
			t.Errorf("%d stored tokens, want one for the AppID", n)
		}
		if dump := dumpTables(t, e); strings.Contains(dump, e.wx.CurrentToken()) {
			t.Errorf("the database holds the access_token in plaintext")
		}
	})
}

// TestDataKeyRotation moves the sealed session_keys from one DATA_KEY to
// the next: the old key still opens them while listed in DATA_KEY_OLD,
// `wxtodo rekey` re-seals them, and then the old key can go.
func TestDataKeyRotation(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		k1, k2 := secret.NewKey(), secret.NewKey()
		e1 := newEnv(t, url, "DATA_KEY", k1)
		token, _ := e1.login("kim")
		data := map[string]any{"input": encryptFor(t, wechattest.SessionKey("kim"), fmt.Sprintf(werunTemplate, 7, wechattest.AppID))}
		e1.ok(token, decryptQuery, data, nil)
		id := func(k string) string {
			kr, _ := secret.ParseKeys(k)
			return kr.PrimaryID()
		}
		if n := e1.count("users", "session_key LIKE $1", "%."+id(k1)+".%"); n != 1 {
			t.Fatalf("%d session_keys sealed under DATA_KEY, want 1", n)
		}

		// The new key seals, the old one still opens.
		e2 := startEnvWith(t, e1, "DATA_KEY", k2, "DATA_KEY_OLD", k1)
		e2.ok(token, decryptQuery, data, nil)
		code, out, errOut := wxtodoCLI(t, configEnv("DATABASE_URL", url, "DATA_KEY", k2, "DATA_KEY_OLD", k1), "rekey")
		if code != exitOK || !strings.Contains(out, "of 1 users") {
			t.Fatalf("rekey: exit %d\n%s%s", code, out, errOut)
		}
		if n := e1.count("users", "session_key LIKE $1", "%."+id(k2)+".%"); n != 1 {
			t.Errorf("after rekey, %d session_keys sealed under the new key, want 1", n)
		}
		// Without the old key.
		e3 := startEnvWith(t, e1, "DATA_KEY", k2)
		e3.ok(token, decryptQuery, data, nil)
		// A key that never sealed them opens nothing: the client logs in again.
		e4 := startEnvWith(t, e1, "DATA_KEY", secret.NewKey())
		e4.fails(token, decryptQuery, data, "SESSION_KEY_STALE")
	})
}

// startEnvWith starts another instance on e's database and fake WeChat,
// its configuration changed by vars.
func startEnvWith(t *testing.T, e *env, vars ...string) *env {
	t.Helper()
	envv := map[string]string{
		"DATABASE_URL": e.cfg.DatabaseURL, "WECHAT_APPID": wechattest.AppID, "WECHAT_SECRET": wechattest.Secret,
		"WECHAT_API_BASE": e.wx.URL, "LOGIN_RATE_PER_MINUTE": "0", "LOG_LEVEL": "debug",
	}
	for i := 0; i+1 < len(vars); i += 2 {
		envv[vars[i]] = vars[i+1]
	}
	cfg, err := loadConfig(func(k string) string { return envv[k] }, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return startEnv(t, cfg, e.wx)
}

// TestDevelopmentModeWeChatData: in development mode the mock answers the
// WeChat data APIs, and a dev-only endpoint hands out data to decrypt.
func TestDevelopmentModeWeChatData(t *testing.T) {
	e := devEnv(t)
	token, _ := e.login("alice")
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/dev/sample-encrypted-data", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var sample struct{ EncryptedData, IV string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &sample) != nil {
		t.Fatalf("sample: %d %s", resp.StatusCode, body)
	}
	var got struct{ DecryptData map[string]any }
	e.ok(token, decryptQuery, map[string]any{"input": map[string]any{"encryptedData": sample.EncryptedData, "iv": sample.IV}}, &got)
	if wm, _ := got.DecryptData["watermark"].(map[string]any); wm["appid"] != wechat.MockAppID {
		t.Errorf("decrypted sample: %v", got.DecryptData)
	}
	var ok struct{ CheckSession bool }
	e.ok(token, checkQuery, nil, &ok)
	if !ok.CheckSession {
		t.Errorf("checkSession in development mode: false")
	}
	e.ok(token, bindPhoneMut, map[string]any{"code": "any"}, nil)

	status := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(e.srv.URL + "/dev/sample-encrypted-data"); got != http.StatusUnauthorized {
		t.Errorf("sample without a token: %d, want 401", got)
	}
	prod := newEnv(t, dbtest.SQLiteURL(t))
	if got := status(prod.srv.URL + "/dev/sample-encrypted-data"); got != http.StatusNotFound {
		t.Errorf("production serves the dev sample endpoint: %d, want 404", got)
	}
}
