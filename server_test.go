package main

// The specs of the wired server as a whole: what only the process shows,
// because it depends on server.go's wiring from the configuration
// (development mode, the switches, metrics, DATA_KEY rotation with the
// rekey command) or on several instances sharing one database. Shutdown
// and database outages are in server_faults_test.go, the playground in a
// browser in server_browser_test.go. Each domain's own specs live beside
// its code, on apitest.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/secret"
	"wxtodo/wechat"
	"wxtodo/wechat/wechattest"
)

// instance is one server as the process wires it (newApp), from a
// configuration, on a test database.
type instance struct {
	*apitest.Client
	app  *app
	cfg  *config
	wx   *wechattest.Fake // nil in development mode
	logs *apitest.Logs
	db   *sql.DB // the test's own view of the database
}

// testEnv is the environment of a production-mode server on databaseURL
// against the fake wx; vars (name, value, ...) add to it or override it.
func testEnv(databaseURL string, wx *wechattest.Fake, vars ...string) func(string) string {
	env := map[string]string{
		"DATABASE_URL":          databaseURL,
		"WECHAT_APPID":          wechattest.AppID,
		"WECHAT_SECRET":         wechattest.Secret,
		"WECHAT_API_BASE":       wx.URL,
		"WECHAT_TIMEOUT":        "2s",
		"LOGIN_RATE_PER_MINUTE": "0",
		"LOG_LEVEL":             "debug",
		"DATA_KEY":              secret.NewKey(),
	}
	for _, kv := range dbtest.Env(databaseURL) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for i := 0; i+1 < len(vars); i += 2 {
		env[vars[i]] = vars[i+1]
	}
	return func(k string) string { return env[k] }
}

// newInstance starts a production-mode server on databaseURL with a fake
// WeChat of its own; vars change its environment.
func newInstance(tb testing.TB, databaseURL string, vars ...string) *instance {
	tb.Helper()
	wx := wechattest.New(tb)
	return startInstance(tb, testEnv(databaseURL, wx, vars...), wx)
}

// devInstance starts a server in development mode (the mock WeChat), as
// `go run .` does.
func devInstance(tb testing.TB) *instance {
	tb.Helper()
	return startInstance(tb, configEnv("DATABASE_URL", dbtest.SQLiteURL(tb), "LOG_LEVEL", "debug",
		"DATA_KEY_FILE", filepath.Join(tb.TempDir(), "data.key")), nil)
}

// startInstance wires a server from the environment, closed when the test
// ends.
func startInstance(tb testing.TB, getenv func(string) string, wx *wechattest.Fake) *instance {
	tb.Helper()
	cfg, err := loadConfig(getenv, nil)
	if err != nil {
		tb.Fatalf("config: %v", err)
	}
	logs := &apitest.Logs{}
	a, err := newApp(context.Background(), cfg, newLogger(logs, cfg.LogLevel))
	if err != nil {
		tb.Fatalf("newApp: %v", err)
	}
	tb.Cleanup(func() {
		a.Close()
		if tb.Failed() {
			tb.Logf("server log:\n%s", logs.String())
		}
	})
	// Changes made before the live listener listens reach no subscriber.
	select {
	case <-a.live.Ready():
	case <-time.After(30 * time.Second):
		tb.Fatal("the live listener did not listen within 30s")
	}
	in := &instance{Client: apitest.NewClient(a.Handler), app: a, cfg: cfg, wx: wx, logs: logs}
	if cfg.DatabaseURL != "" {
		in.db = dbtest.Open(tb, cfg.DatabaseURL)
	}
	return in
}

// another starts a second instance on the same database and fake WeChat,
// as a second process behind a load balancer would be; vars change its
// environment.
func (in *instance) another(tb testing.TB, vars ...string) *instance {
	tb.Helper()
	base := []string{"DATA_KEY", in.cfg.DataKey}
	return startInstance(tb, testEnv(in.cfg.DatabaseURL, in.wx, append(base, vars...)...), in.wx)
}

// get sends a GET for path (with a bearer token unless "") through the
// server's handler.
func (in *instance) get(tb testing.TB, path, token string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	in.app.Handler.ServeHTTP(rec, req)
	return rec
}

func (in *instance) count(tb testing.TB, table, where string, args ...any) int {
	tb.Helper()
	return dbtest.Count(tb, in.db, table, where, args...)
}

const (
	bindPhoneMutation = `mutation($code: String!) { bindPhoneNumber(input: {code: $code}) { id phoneNumber } }`
	decryptQuery      = `query($input: DecryptDataInput!) { decryptData(input: $input) }`
	checkQuery        = `query { checkSession }`
	introspection     = `{ __schema { queryType { name } } }`
)

func TestTwoInstancesShareSessions(t *testing.T) {
	a := newInstance(t, dbtest.PostgresURL(t))
	b := a.another(t)
	token, userID := a.Login(t, "hank")
	var me struct{ Me struct{ ID string } }
	b.OK(t, `{ me { id } }`, &me, apitest.As(token))
	if me.Me.ID != userID {
		t.Fatalf("instance b: got user %q, want %q", me.Me.ID, userID)
	}
	a.OK(t, `mutation { logout }`, nil, apitest.As(token))
	r := b.Fails(t, `{ me { id } }`, "UNAUTHENTICATED", apitest.As(token))
	if r.Ext("reason") != "INVALID_TOKEN" {
		t.Errorf("after logout on a, b: got reason %q, want INVALID_TOKEN", r.Ext("reason"))
	}
}

// TestLoginRetriedOnAnotherInstance: a retried login that lands on another
// instance waits for the first exchange there, and WeChat is asked once.
func TestLoginRetriedOnAnotherInstance(t *testing.T) {
	a := newInstance(t, dbtest.PostgresURL(t))
	b := a.another(t)
	a.wx.On("gina", wechattest.Reply{Delay: 300 * time.Millisecond})
	const n = 6
	answers := make([]*apitest.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		in := []*instance{a, b}[i%2]
		wg.Go(func() {
			answers[i], errs[i] = in.Send(apitest.LoginMutation, apitest.Vars(map[string]any{"code": "gina"}))
		})
	}
	wg.Wait()
	users := map[string]bool{}
	for i, r := range answers {
		if errs[i] != nil || len(r.Errors) > 0 {
			t.Fatalf("login %d: %v %v", i, errs[i], r)
		}
		var d apitest.LoginData
		r.Decode(t, &d)
		users[d.Login.User.ID] = true
	}
	if len(users) != 1 {
		t.Errorf("got users %v, want one", users)
	}
	if got := a.wx.Calls("gina"); got != 1 {
		t.Errorf("got %d WeChat calls across two instances, want 1", got)
	}
}

// TestAccessTokenIsSharedByInstances runs three instances on one database
// against a fake that counts stable_token calls: concurrent phone binds
// make one call per token lifetime, and when WeChat rejects the token the
// instances refresh it once between them.
func TestAccessTokenIsSharedByInstances(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		// Ten binds per user and wave: no per-user allowance here.
		first := newInstance(t, url, "WECHAT_CALLS_PER_MINUTE", "0")
		instances := []*instance{first, first.another(t, "WECHAT_CALLS_PER_MINUTE", "0"), first.another(t, "WECHAT_CALLS_PER_MINUTE", "0")}
		tokens := make([]string, len(instances))
		for i, in := range instances {
			tokens[i], _ = in.Login(t, fmt.Sprintf("shared-%d", i))
		}
		wave := func(tb testing.TB, name string) {
			tb.Helper()
			const n = 30
			answers := make([]*apitest.Response, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				k := i % len(instances)
				wg.Go(func() {
					answers[i], errs[i] = instances[k].Send(bindPhoneMutation, apitest.As(tokens[k]),
						apitest.Vars(map[string]any{"code": fmt.Sprintf("%s-%d", name, i)}))
				})
			}
			wg.Wait()
			for i, r := range answers {
				if errs[i] != nil {
					tb.Errorf("%s: bind %d: %v", name, i, errs[i])
				} else if len(r.Errors) > 0 {
					tb.Errorf("%s: bind %d: %s", name, i, r.Raw)
				}
			}
		}
		wx := first.wx

		wave(t, "first")
		if n := wx.StableTokenCalls(); n != 1 {
			t.Errorf("first wave: %d stable_token calls across 3 instances, want 1", n)
		}
		wave(t, "again")
		if n := wx.StableTokenCalls(); n != 1 {
			t.Errorf("second wave with a valid token: %d stable_token calls in all, want 1", n)
		}
		// WeChat ends the token early (42001 for it): one instance
		// refreshes, the others find the new token in the database.
		wx.ExpireToken()
		wave(t, "expired")
		if n := wx.StableTokenCalls(); n != 2 {
			t.Errorf("after the token expired: %d stable_token calls in all, want 2", n)
		}
		// A token that lives 3s is fetched again once per lifetime,
		// whichever instance is asked.
		wx.SetTokenTTL(3 * time.Second)
		wx.RotateToken() // as a forced refresh elsewhere would: 40001 for the stored one
		wave(t, "rotated")
		if n := wx.StableTokenCalls(); n != 3 {
			t.Errorf("after the token was rotated: %d stable_token calls in all, want 3", n)
		}
		time.Sleep(3100 * time.Millisecond)
		wave(t, "after-expiry")
		if n := wx.StableTokenCalls(); n != 4 {
			t.Errorf("after the 3s token's life: %d stable_token calls in all, want 4", n)
		}
		if n := wx.ForcedRefreshes(); n != 0 {
			t.Errorf("%d forced refreshes, want none", n)
		}
		if n := first.count(t, "wechat_tokens", ""); n != 1 {
			t.Errorf("%d stored tokens, want one for the AppID", n)
		}
		dump := dbtest.Dump(t, first.db, "users", "sessions", "login_codes", "todos", "wechat_tokens")
		if strings.Contains(dump, wx.CurrentToken()) {
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
		first := newInstance(t, url, "DATA_KEY", k1)
		token, _ := first.Login(t, "kim")
		enc, iv, err := wechat.EncryptData(wechattest.SessionKey("kim"),
			fmt.Appendf(nil, `{"stepInfoList":[{"timestamp":1794700800,"step":7}],"watermark":{"timestamp":1794787200,"appid":%q}}`, wechattest.AppID), nil)
		if err != nil {
			t.Fatal(err)
		}
		data := apitest.Vars(map[string]any{"input": map[string]any{"encryptedData": enc, "iv": iv}})
		first.OK(t, decryptQuery, nil, apitest.As(token), data)
		sealedUnder := func(tb testing.TB, key string) int {
			tb.Helper()
			kr, err := secret.ParseKeys(key)
			if err != nil {
				tb.Fatal(err)
			}
			return first.count(tb, "identities", "session_key LIKE $1", "%."+kr.PrimaryID()+".%")
		}
		if n := sealedUnder(t, k1); n != 1 {
			t.Fatalf("%d session_keys sealed under DATA_KEY, want 1", n)
		}

		// The new key seals, the old one still opens.
		second := first.another(t, "DATA_KEY", k2, "DATA_KEY_OLD", k1)
		second.OK(t, decryptQuery, nil, apitest.As(token), data)
		code, out, errOut := wxtodoCLI(t, configEnv("DATABASE_URL", url, "DATA_KEY", k2, "DATA_KEY_OLD", k1), "rekey")
		if code != exitOK || !strings.Contains(out, "of 1 users") {
			t.Fatalf("rekey: exit %d\n%s%s", code, out, errOut)
		}
		if n := sealedUnder(t, k2); n != 1 {
			t.Errorf("after rekey, %d session_keys sealed under the new key, want 1", n)
		}
		// Without the old key.
		first.another(t, "DATA_KEY", k2).OK(t, decryptQuery, nil, apitest.As(token), data)
		// A key that never sealed them opens nothing: the client logs in again.
		first.another(t, "DATA_KEY", secret.NewKey()).Fails(t, decryptQuery, "SESSION_KEY_STALE", apitest.As(token), data)
	})
}

// TestDevelopmentMode: with no WeChat credentials the mock signs anyone in
// (the same code as the same user), the playground and introspection are
// on, and the WeChat data features answer, with a development-only
// endpoint handing out data to decrypt.
func TestDevelopmentMode(t *testing.T) {
	in := devInstance(t)
	_, aliceID := in.Login(t, "alice")
	_, bobID := in.Login(t, "bob")
	if aliceID == bobID {
		t.Errorf("alice and bob are the same user in development mode")
	}
	// The same code again is a retry: the same user, in place of the
	// first session.
	alice, again := in.Login(t, "alice")
	if again != aliceID {
		t.Errorf("alice again: got user %s, want %s", again, aliceID)
	}
	in.OK(t, introspection, nil)
	page := in.get(t, "/", "")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Sign in as alice") {
		t.Errorf("GET /: %d; want the playground with its sign-in note: %.300s", page.Code, page.Body.String())
	}

	rec := in.get(t, "/dev/sample-encrypted-data", alice)
	var sample struct{ EncryptedData, IV string }
	if rec.Code != http.StatusOK {
		t.Fatalf("sample: %d %s", rec.Code, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &sample); err != nil {
		t.Fatalf("sample: %v: %s", err, rec.Body.String())
	}
	var got struct{ DecryptData map[string]any }
	in.OK(t, decryptQuery, &got, apitest.As(alice),
		apitest.Vars(map[string]any{"input": map[string]any{"encryptedData": sample.EncryptedData, "iv": sample.IV}}))
	if wm, _ := got.DecryptData["watermark"].(map[string]any); wm["appid"] != wechat.MockAppID {
		t.Errorf("decrypted sample: %v", got.DecryptData)
	}
	var ok struct{ CheckSession bool }
	in.OK(t, checkQuery, &ok, apitest.As(alice))
	if !ok.CheckSession {
		t.Errorf("checkSession in development mode: false")
	}
	in.OK(t, bindPhoneMutation, nil, apitest.As(alice), apitest.Vars(map[string]any{"code": "any"}))
	if got := in.get(t, "/dev/sample-encrypted-data", "").Code; got != http.StatusUnauthorized {
		t.Errorf("sample without a token: %d, want 401", got)
	}
}

// TestSwitchesFromConfiguration: production serves neither the playground,
// nor introspection, nor the development endpoint unless switched on; the
// switches work in both directions in both modes.
func TestSwitchesFromConfiguration(t *testing.T) {
	url := dbtest.SQLiteURL(t)
	dev := []string{"WECHAT_APPID", "", "WECHAT_SECRET", "", "DATA_KEY", "", "DATA_KEY_FILE", filepath.Join(t.TempDir(), "data.key")}
	tests := []struct {
		name                      string
		vars                      []string
		playground, introspection bool
		adminPage                 bool
	}{
		{"production", nil, false, false, false},
		{"production with PLAYGROUND=true", []string{"PLAYGROUND", "true"}, true, true, false},
		{"production with INTROSPECTION=true", []string{"INTROSPECTION", "true"}, false, true, false},
		{"production with ADMIN_UI=true", []string{"ADMIN_UI", "true"}, false, false, true},
		{"development", dev, true, true, true},
		{"development with PLAYGROUND=false", append([]string{"PLAYGROUND", "false"}, dev...), false, true, true},
		{"development with both off", append([]string{"PLAYGROUND", "false", "INTROSPECTION", "false"}, dev...), false, false, true},
		{"development with ADMIN_UI=false", append([]string{"ADMIN_UI", "false"}, dev...), true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wx := wechattest.New(t)
			in := startInstance(t, testEnv(url, wx, tt.vars...), wx)
			page := in.get(t, "/", "")
			if got := page.Code == http.StatusOK; got != tt.playground {
				t.Errorf("GET /: got status %d, want the playground %v", page.Code, tt.playground)
			}
			if tt.playground {
				if ct := page.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(page.Body.String(), "/query") {
					t.Errorf("GET /: got %s %.200s, want the page pointing at /query", ct, page.Body.String())
				}
				if signIn := strings.Contains(page.Body.String(), "Sign in as"); signIn != in.cfg.devMode() {
					t.Errorf("sign-in button shown %v, want it only in development mode", signIn)
				}
			}
			r := in.Post(t, introspection)
			if got := len(r.Errors) == 0; got != tt.introspection {
				t.Errorf("introspection answered %v, want %v: %s", got, tt.introspection, r.Raw)
			}
			// The admin page, from the binary, under a strict CSP.
			for _, path := range []string{"/admin", "/admin/admin.js"} {
				if got := in.get(t, path, "").Code == http.StatusOK; got != tt.adminPage {
					t.Errorf("GET %s: got %v, want the admin page %v", path, got, tt.adminPage)
				}
			}
			if tt.adminPage {
				h := in.get(t, "/admin", "").Header()
				if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") ||
					strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
					t.Errorf("the admin page's CSP %q: want its own origin only, no inline code", csp)
				}
			}
			// Only / is the playground: other paths stay 404.
			if got := in.get(t, "/nope", "").Code; got != http.StatusNotFound {
				t.Errorf("GET /nope: got status %d, want 404", got)
			}
			if got, want := in.get(t, "/dev/sample-encrypted-data", "").Code, map[bool]int{true: http.StatusUnauthorized, false: http.StatusNotFound}[in.cfg.devMode()]; got != want {
				t.Errorf("GET /dev/sample-encrypted-data: got %d, want %d", got, want)
			}
		})
	}
}

// TestDefaultLoginLimitAllowsABurstAndStopsAFlood checks the limit's
// defaults as configured: 20 concurrent first logins from one address (a
// retrying fleet behind carrier NAT) all get through, a flood does not.
func TestDefaultLoginLimitAllowsABurstAndStopsAFlood(t *testing.T) {
	in := newInstance(t, dbtest.SQLiteURL(t), "LOGIN_RATE_PER_MINUTE", "", "LOGIN_BURST", "")
	in.wx.On("nat", wechattest.Reply{Delay: 50 * time.Millisecond})
	const n = 20
	answers := make([]*apitest.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			answers[i], errs[i] = in.Send(apitest.LoginMutation, apitest.Vars(map[string]any{"code": "nat"}))
		})
	}
	wg.Wait()
	for i, r := range answers {
		if errs[i] != nil || len(r.Errors) > 0 {
			t.Fatalf("login %d of the burst: %v %v", i, errs[i], r)
		}
	}
	limited := 0
	for i := range 60 {
		if r := in.Post(t, apitest.LoginMutation, apitest.Vars(map[string]any{"code": fmt.Sprintf("flood-%d", i)})); r.Code() == "RATE_LIMITED" {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("80 logins from one IP within seconds: none was RATE_LIMITED")
	}
}

// TestRequestTimeoutReachesDatabase: REQUEST_TIMEOUT cuts off a request
// whose statement waits in PostgreSQL, with TIMEOUT.
func TestRequestTimeoutReachesDatabase(t *testing.T) {
	in := newInstance(t, dbtest.PostgresURL(t), "REQUEST_TIMEOUT", "500ms")
	token, _ := in.Login(t, "ivy")
	var c struct{ CreateTodo struct{ ID string } }
	in.OK(t, `mutation { createTodo(input: {title: "locked"}) { id } }`, &c, apitest.As(token))
	// Hold the todo's row lock in another transaction.
	tx, err := in.db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // test cleanup
	if _, err := tx.Exec("SELECT id FROM todos WHERE id = $1 FOR UPDATE", c.CreateTodo.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	in.Fails(t, `mutation($id: ID!) { updateTodo(id: $id, input: {done: true}) { id } }`, "TIMEOUT",
		apitest.As(token), apitest.Vars(map[string]any{"id": c.CreateTodo.ID}))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the request took %v; REQUEST_TIMEOUT did not cut it off", d)
	}
}

// TestDevelopmentModeWithSeveralApps: WECHAT_APPS with AppIDs alone runs
// the mock for each app: a code is a person, with an openid per app and
// one unionid, so alice in both apps is one user; a login names its app;
// each app's sample data is watermarked with its own AppID; the
// playground signs in to the first.
func TestDevelopmentModeWithSeveralApps(t *testing.T) {
	in := startInstance(t, configEnv("DATABASE_URL", dbtest.SQLiteURL(t), "LOG_LEVEL", "debug", "WECHAT_APPS", "wxshop,wxclub",
		"DATA_KEY_FILE", filepath.Join(t.TempDir(), "data.key")), nil)
	shop, aliceShop := in.LoginTo(t, "wxshop", "alice")
	club, aliceClub := in.LoginTo(t, "wxclub", "alice")
	if aliceShop != aliceClub {
		t.Errorf("alice is user %s in one app and %s in the other, want one", aliceShop, aliceClub)
	}
	if _, bob := in.LoginTo(t, "wxclub", "bob"); bob == aliceShop {
		t.Error("bob signed in as alice")
	}
	if n := in.count(t, "identities", "user_id = $1", aliceShop); n != 2 {
		t.Errorf("alice has %d identities, want 2", n)
	}
	if r := in.Fails(t, apitest.LoginMutation, "BAD_USER_INPUT", apitest.Vars(map[string]any{"code": "carol"})); r.Ext("field") != "appId" {
		t.Errorf("a login without appId: field %q, want appId", r.Ext("field"))
	}
	for app, token := range map[string]string{"wxshop": shop, "wxclub": club} {
		rec := in.get(t, "/dev/sample-encrypted-data", token)
		var sample struct{ EncryptedData, IV string }
		if err := json.Unmarshal(rec.Body.Bytes(), &sample); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s sample: %d %s", app, rec.Code, rec.Body.String())
		}
		var got struct{ DecryptData map[string]any }
		in.OK(t, decryptQuery, &got, apitest.As(token),
			apitest.Vars(map[string]any{"input": map[string]any{"encryptedData": sample.EncryptedData, "iv": sample.IV}}))
		if wm, _ := got.DecryptData["watermark"].(map[string]any); wm["appid"] != app {
			t.Errorf("%s: decrypted sample watermarked %v, want %s", app, wm["appid"], app)
		}
	}
	if page := in.get(t, "/", "").Body.String(); !strings.Contains(page, `data-signin-app="wxshop"`) {
		t.Errorf("the playground does not sign in to the first app: %.400s", page)
	}
}

// TestSeveralAppsInProduction: WECHAT_APPS serves two apps with their
// own credentials; logins and WeChat calls are counted by app, and no
// secret reaches the log.
func TestSeveralAppsInProduction(t *testing.T) {
	wx := wechattest.New(t)
	wx.AddApp(wechattest.OtherAppID, wechattest.OtherSecret)
	apps := wechattest.AppID + ":" + wechattest.Secret + "," + wechattest.OtherAppID + ":" + wechattest.OtherSecret
	in := startInstance(t, testEnv(dbtest.SQLiteURL(t), wx, "WECHAT_APPID", "", "WECHAT_SECRET", "", "WECHAT_APPS", apps), wx)
	tok, a := in.LoginTo(t, wechattest.AppID, "eve")
	tokB, b := in.LoginTo(t, wechattest.OtherAppID, "eve")
	in.LoginTo(t, wechattest.OtherAppID, "fay")
	if a != b {
		t.Errorf("eve is user %s in one app and %s in the other, want one", a, b)
	}
	// Each app asks WeChat with its own access_token, fetched once.
	in.OK(t, checkQuery, nil, apitest.As(tok))
	in.OK(t, checkQuery, nil, apitest.As(tokB))
	in.OK(t, checkQuery, nil, apitest.As(tokB))
	for _, app := range []string{wechattest.AppID, wechattest.OtherAppID} {
		if n := wx.StableTokenCallsFor(app); n != 1 {
			t.Errorf("%s: %d stable_token calls, want 1", app, n)
		}
	}

	fams := scrape(t, in)
	for _, c := range []struct {
		app, result string
		want        float64
	}{{wechattest.AppID, "new", 1}, {wechattest.OtherAppID, "returning", 1}, {wechattest.OtherAppID, "new", 1}} {
		if n, _ := sample(fams, "wxtodo_logins_total", "app", c.app, "result", c.result); n != c.want {
			t.Errorf("wxtodo_logins_total{app=%s,result=%s} = %v, want %v", c.app, c.result, n, c.want)
		}
	}
	if n, _ := sample(fams, "wxtodo_wechat_calls_total", "app", wechattest.OtherAppID, "api", "jscode2session", "errcode", "0"); n != 2 {
		t.Errorf("jscode2session calls of %s: %v, want 2", wechattest.OtherAppID, n)
	}
	if n, _ := sample(fams, "wxtodo_wechat_calls_total", "app", wechattest.OtherAppID, "api", "checksession", "errcode", "0"); n != 2 {
		t.Errorf("checksession calls of %s: %v, want 2", wechattest.OtherAppID, n)
	}
	if logs := in.logs.String(); strings.Contains(logs, wechattest.Secret) || strings.Contains(logs, wechattest.OtherSecret) {
		t.Error("a secret reached the log")
	}
}

// TestCloudHostingServesEveryApp: in Cloud Hosting mode with WECHAT_APPS,
// the platform's callers of each configured app are served, as one person
// by unionid; another app is FORBIDDEN.
func TestCloudHostingServesEveryApp(t *testing.T) {
	wx := wechattest.New(t)
	wx.AddApp(wechattest.OtherAppID, wechattest.OtherSecret)
	wx.AsOpenAPIService()
	a1, b2 := wechattest.AppID, wechattest.OtherAppID
	in := startInstance(t, testEnv(dbtest.PostgresURL(t), wx, "CLOUD_HOSTING", "true", "ADDR", "127.0.0.1:0",
		"WECHAT_APPID", "", "WECHAT_SECRET", "", "WECHAT_APPS", a1+","+b2), wx)
	caller := func(app string) []apitest.Option {
		return []apitest.Option{apitest.Header("X-WX-SOURCE", "wx_client"), apitest.Header("X-WX-APPID", app),
			apitest.Header("X-WX-OPENID", wechattest.OpenIDIn(app, "lea")), apitest.Header("X-WX-UNIONID", "uid-lea")}
	}
	var a, b struct{ Me struct{ ID string } }
	in.OK(t, `{ me { id } }`, &a, caller(a1)...)
	in.OK(t, `{ me { id } }`, &b, caller(b2)...)
	if a.Me.ID == "" || a.Me.ID != b.Me.ID {
		t.Errorf("lea is user %q in one app and %q in the other, want one", a.Me.ID, b.Me.ID)
	}
	in.Fails(t, `{ me { id } }`, "FORBIDDEN", caller("wxc3")...)
	// The open-API service calls as the app named (from_appid).
	in.OK(t, `mutation { bindPhoneNumber(input: {code: "lea-phone"}) { phoneNumber } }`, nil, caller(b2)...)
}
