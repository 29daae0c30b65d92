package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
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

func TestDecryptData(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		token, _ := e.login("dora")
		key := wechattest.SessionKey("dora")
		plain := fmt.Sprintf(werunTemplate, 8000, wechattest.AppID)

		for _, doc := range []string{decryptQuery, decryptMut} {
			var got struct{ DecryptData json.RawMessage }
			e.ok(token, doc, map[string]any{"input": encryptFor(t, key, plain)}, &got)
			var want, have any
			json.Unmarshal([]byte(plain), &want) //nolint:errcheck // a constant
			if err := json.Unmarshal(got.DecryptData, &have); err != nil || fmt.Sprint(have) != fmt.Sprint(want) {
				t.Errorf("decryptData: got %s, want %s", got.DecryptData, plain)
			}
		}

		bad := []struct {
			name, field string
			input       map[string]any
		}{
			{"encryptedData not base64", "encryptedData", map[string]any{"encryptedData": "%%%not base64", "iv": encryptFor(t, key, plain)["iv"]}},
			{"iv not base64", "iv", map[string]any{"encryptedData": encryptFor(t, key, plain)["encryptedData"], "iv": "?!"}},
			{"iv of 15 bytes", "iv", map[string]any{"encryptedData": encryptFor(t, key, plain)["encryptedData"], "iv": base64.StdEncoding.EncodeToString(make([]byte, 15))}},
			{"not whole blocks", "encryptedData", map[string]any{"encryptedData": base64.StdEncoding.EncodeToString(make([]byte, 17)), "iv": base64.StdEncoding.EncodeToString(make([]byte, 16))}},
			{"empty", "encryptedData", map[string]any{"encryptedData": "", "iv": base64.StdEncoding.EncodeToString(make([]byte, 16))}},
			{"bad padding", "encryptedData", encryptUnpadded(t, key, []byte(`{"watermark":{"appid":"x"}}     `))},
			{"another app's data", "encryptedData", encryptFor(t, key, fmt.Sprintf(werunTemplate, 1, "wx_someone_else"))},
			{"no watermark", "encryptedData", encryptFor(t, key, `{"stepInfoList":[]}`)},
			{"not a JSON object", "encryptedData", encryptFor(t, key, `[1,2,3]`)},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				r := e.fails(token, decryptQuery, map[string]any{"input": c.input}, "BAD_USER_INPUT")
				if f := r.ext("field"); f != c.field {
					t.Errorf("field %q, want %q: %s", f, c.field, r.Raw)
				}
			})
		}
		e.fails("", decryptQuery, map[string]any{"input": encryptFor(t, key, plain)}, "UNAUTHENTICATED")
	})
}

// TestDecryptDataAfterTheSessionKeyMovedOn: data the client fetched before
// a new login decrypts no more (SESSION_KEY_STALE: log in, fetch again);
// data under the new key does, on every session of the user.
func TestDecryptDataAfterTheSessionKeyMovedOn(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		oldKey := wechattest.SessionKey("erin-phone")
		newKey := base64.StdEncoding.EncodeToString([]byte("a new 16B key..."))
		e.wx.On("erin-1", wechattest.Reply{Body: fmt.Sprintf(`{"openid":"oid-erin","session_key":%q}`, oldKey)})
		e.wx.On("erin-2", wechattest.Reply{Body: fmt.Sprintf(`{"openid":"oid-erin","session_key":%q}`, newKey)})
		first, _ := e.login("erin-1")
		old := encryptFor(t, oldKey, fmt.Sprintf(werunTemplate, 1, wechattest.AppID))
		e.ok(first, decryptQuery, map[string]any{"input": old}, nil)

		second, _ := e.login("erin-2")
		for _, tok := range []string{first, second} {
			r := e.fails(tok, decryptQuery, map[string]any{"input": old}, "SESSION_KEY_STALE")
			if !strings.Contains(r.Errors[0].Message, "login") {
				t.Errorf("the message should say to log in again: %q", r.Errors[0].Message)
			}
			e.ok(tok, decryptQuery, map[string]any{"input": encryptFor(t, newKey, fmt.Sprintf(werunTemplate, 2, wechattest.AppID))}, nil)
		}

		// Under a key the server never held, WeChat tells: when it says the
		// server's key is no longer current, the client logs in again.
		e.wx.SetSessionKey("oid-erin", newKey) // what the scripted login handed out
		unknown := encryptFor(t, base64.StdEncoding.EncodeToString([]byte("never seen key!!")), fmt.Sprintf(werunTemplate, 3, wechattest.AppID))
		if r := e.post(second, decryptQuery, map[string]any{"input": unknown}); r.code() != "BAD_USER_INPUT" {
			t.Errorf("unknown key while WeChat holds the server's key current: %s, want BAD_USER_INPUT", r.Raw)
		}
		e.wx.SetSessionKey("oid-erin", base64.StdEncoding.EncodeToString([]byte("wx.login again..")))
		e.fails(second, decryptQuery, map[string]any{"input": unknown}, "SESSION_KEY_STALE")
		if n := e.wx.ForcedRefreshes(); n != 0 {
			t.Errorf("%d forced access_token refreshes, want none", n)
		}
	})
}

func TestVerifyUserData(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		token, _ := e.login("fred")
		raw := `{"nickName":"Fred","gender":0,"language":"zh_CN","city":"","province":"","country":"","avatarUrl":"https://example.com/a.png"}`
		sum := sha1.Sum([]byte(raw + wechattest.SessionKey("fred")))
		sig := hex.EncodeToString(sum[:])
		cases := []struct {
			name, raw, sig string
			want           bool
		}{
			{"WeChat's signature", raw, sig, true},
			{"upper-case hex", raw, strings.ToUpper(sig), true},
			{"rawData changed", raw + " ", sig, false},
			{"signature changed", raw, "0" + sig[1:], false},
			{"sha1 of rawData alone", raw, func() string { s := sha1.Sum([]byte(raw)); return hex.EncodeToString(s[:]) }(), false},
			{"empty", "", "", false},
		}
		for _, c := range cases {
			var got struct{ VerifyUserData bool }
			e.ok(token, verifyQuery, map[string]any{"raw": c.raw, "sig": c.sig}, &got)
			if got.VerifyUserData != c.want {
				t.Errorf("%s: got %v, want %v", c.name, got.VerifyUserData, c.want)
			}
		}
		var m struct{ VerifyUserData bool }
		e.ok(token, `mutation($raw: String!, $sig: String!) { verifyUserData(input: {rawData: $raw, signature: $sig}) }`, map[string]any{"raw": raw, "sig": sig}, &m)
		if !m.VerifyUserData {
			t.Errorf("Mutation.verifyUserData disagrees with Query.verifyUserData")
		}
		e.fails("", verifyQuery, map[string]any{"raw": raw, "sig": sig}, "UNAUTHENTICATED")
	})
}

func TestCheckSession(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		token, _ := e.login("gina")
		var got struct{ CheckSession bool }
		e.ok(token, checkQuery, nil, &got)
		if !got.CheckSession {
			t.Errorf("checkSession right after login: false, want true")
		}
		// The client called wx.login without logging in here: WeChat's
		// key moved on, the server's is stale.
		e.wx.SetSessionKey(wechattest.OpenID("gina"), base64.StdEncoding.EncodeToString([]byte("moved on, 16 B.")))
		e.ok(token, `mutation { checkSession }`, nil, &got)
		if got.CheckSession {
			t.Errorf("checkSession after WeChat's key moved on: true, want false")
		}
		e.wx.OnCheckSession(wechattest.OpenID("gina"), wechattest.Reply{Status: 502})
		e.fails(token, checkQuery, nil, "WECHAT_UNAVAILABLE")
		e.fails("", checkQuery, nil, "UNAUTHENTICATED")
	})
}

func TestBindPhoneNumber(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url, "WECHAT_TIMEOUT", "500ms")
		token, userID := e.login("hana")
		var got struct {
			BindPhoneNumber struct{ ID, PhoneNumber string }
		}
		e.ok(token, bindPhoneMut, map[string]any{"code": "phone-code-1"}, &got)
		if got.BindPhoneNumber.ID != userID || got.BindPhoneNumber.PhoneNumber != wechattest.PhoneNumber("phone-code-1") {
			t.Errorf("bindPhoneNumber: got %+v, want user %s with %s", got.BindPhoneNumber, userID, wechattest.PhoneNumber("phone-code-1"))
		}
		var me struct{ Me struct{ PhoneNumber *string } }
		e.ok(token, `{ me { phoneNumber } }`, nil, &me)
		if me.Me.PhoneNumber == nil || *me.Me.PhoneNumber != wechattest.PhoneNumber("phone-code-1") {
			t.Errorf("me.phoneNumber: %v", me.Me.PhoneNumber)
		}
		other, _ := e.login("ivan")
		e.ok(other, `{ me { phoneNumber } }`, nil, &me)
		if me.Me.PhoneNumber != nil {
			t.Errorf("another user sees phone number %q", *me.Me.PhoneNumber)
		}

		failures := []struct {
			name   string
			reply  wechattest.Reply
			code   string
			reason string
		}{
			{"invalid code", wechattest.Reply{Errcode: 40029}, "WECHAT_ERROR", "INVALID_CODE"},
			{"rate limited", wechattest.Reply{Errcode: 45011}, "WECHAT_ERROR", "RATE_LIMITED"},
			{"other errcode", wechattest.Reply{Errcode: 40013}, "WECHAT_ERROR", "REJECTED"},
			{"system busy throughout", wechattest.Reply{Errcode: -1}, "WECHAT_UNAVAILABLE", ""},
			{"HTTP 500", wechattest.Reply{Status: 500}, "WECHAT_UNAVAILABLE", ""},
			{"garbage", wechattest.Reply{Body: "<html>busy</html>"}, "WECHAT_UNAVAILABLE", ""},
			{"no phone_info", wechattest.Reply{Body: `{"errcode":0,"errmsg":"ok"}`}, "WECHAT_UNAVAILABLE", ""},
			{"slow", wechattest.Reply{Delay: 3 * time.Second}, "WECHAT_UNAVAILABLE", ""},
		}
		for i, f := range failures {
			t.Run(f.name, func(t *testing.T) {
				code := fmt.Sprintf("bad-phone-%d", i)
				e.wx.OnPhone(code, f.reply)
				r := e.fails(token, bindPhoneMut, map[string]any{"code": code}, f.code)
				if r.ext("reason") != f.reason {
					t.Errorf("reason %q, want %q: %s", r.ext("reason"), f.reason, r.Raw)
				}
			})
		}
		// Nothing changed on the user after the failures.
		e.ok(token, `{ me { phoneNumber } }`, nil, &me)
		if me.Me.PhoneNumber == nil || *me.Me.PhoneNumber != wechattest.PhoneNumber("phone-code-1") {
			t.Errorf("phone number after failed binds: %v", me.Me.PhoneNumber)
		}
		e.fails(token, bindPhoneMut, map[string]any{"code": ""}, "BAD_USER_INPUT")
		e.fails("", bindPhoneMut, map[string]any{"code": "x"}, "UNAUTHENTICATED")
	})
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

// TestLoginNeverWaitsOnAccessToken: with stable_token failing, logins and
// everything but the WeChat APIs that need the token keep working.
func TestLoginNeverWaitsOnAccessToken(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteURL(t))
	e.wx.OnStableToken(wechattest.Reply{Status: 503})
	for i := range 5 {
		token, _ := e.login(fmt.Sprintf("no-token-%d", i))
		e.ok(token, `mutation { createTodo(input: {title: "still works"}) { id } }`, nil, nil)
	}
	if n := e.wx.StableTokenCalls(); n != 0 {
		t.Errorf("logins made %d stable_token calls, want 0", n)
	}
	token, _ := e.login("needs-token")
	e.fails(token, bindPhoneMut, map[string]any{"code": "c"}, "WECHAT_UNAVAILABLE")
}

// TestWeChatDataSecretsStayOnServer goes through every WeChat data feature,
// failures included, and checks that neither the log nor the database
// holds a session_key, access_token, the app secret or a phone number.
func TestWeChatDataSecretsStayOnServer(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		token, _ := e.login("jade")
		key := wechattest.SessionKey("jade")
		e.ok(token, decryptQuery, map[string]any{"input": encryptFor(t, key, fmt.Sprintf(werunTemplate, 4242, wechattest.AppID))}, nil)
		e.post(token, decryptQuery, map[string]any{"input": encryptUnpadded(t, key, make([]byte, 32))})
		e.ok(token, verifyQuery, map[string]any{"raw": "{}", "sig": "00"}, nil)
		e.ok(token, checkQuery, nil, nil)
		e.ok(token, bindPhoneMut, map[string]any{"code": "jade-phone"}, nil)
		e.wx.OnPhone("rejected", wechattest.Reply{Errcode: 40013})
		e.post(token, bindPhoneMut, map[string]any{"code": "rejected"})
		e.wx.RotateToken()
		e.ok(token, bindPhoneMut, map[string]any{"code": "jade-phone-2"}, nil)
		e.wx.OnStableToken(wechattest.Reply{Errcode: 40125})
		e.wx.RotateToken()
		e.post(token, bindPhoneMut, map[string]any{"code": "jade-phone-3"})

		logs, dump := e.logs.String(), dumpTables(t, e)
		secrets := map[string]string{
			"session_key":  key,
			"app secret":   wechattest.Secret,
			"phone number": wechattest.PhoneNumber("jade-phone"),
		}
		for n := 1; n <= 4; n++ {
			secrets[fmt.Sprintf("access_token %d", n)] = wechattest.Token(n)
		}
		for name, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds the %s", name)
			}
		}
		for _, name := range []string{"session_key", "app secret"} {
			if strings.Contains(dump, secrets[name]) {
				t.Errorf("the database holds the %s in plaintext", name)
			}
		}
		if strings.Contains(dump, wechattest.Token(2)) || strings.Contains(dump, wechattest.Token(3)) {
			t.Errorf("the database holds an access_token in plaintext")
		}
		if !strings.Contains(logs, "40013") {
			t.Errorf("the operator should see WeChat's rejection (40013) in the log")
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

// TestGarbageDoesNotSpendWeChatQuota: undecryptable data asks WeChat's
// checksession a few times a minute per user at most.
func TestGarbageDoesNotSpendWeChatQuota(t *testing.T) {
	e := newEnv(t, dbtest.SQLiteURL(t))
	token, _ := e.login("lena")
	for i := range 20 {
		garbage := encryptUnpadded(t, base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("garbage key %04d", i))), make([]byte, 32))
		e.fails(token, decryptQuery, map[string]any{"input": garbage}, "BAD_USER_INPUT")
	}
	if n := e.wx.CheckSessionCalls(wechattest.OpenID("lena")); n < 1 || n > 3 {
		t.Errorf("20 undecryptable payloads made %d checksession calls, want 1 to 3", n)
	}
}
