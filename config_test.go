package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"wxtodo/db/dbtest"
	"wxtodo/secret"
	"wxtodo/wechat"
)

// configEnv returns a getenv over the pairs.
func configEnv(pairs ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	// A database behind the tests' PgBouncer needs its pooler settings.
	if direct, ok := dbtest.DirectURL(m["DATABASE_URL"]); ok {
		m["DATABASE_POOLER"], m["DATABASE_DIRECT_URL"] = "transaction", direct
	}
	return func(k string) string { return m[k] }
}

// productionEnv is the environment of a server with real WeChat
// credentials and its data key.
var productionEnv = []string{"WECHAT_APPID", "wx123", "WECHAT_SECRET", "s3cr3t-value-4b9c", "DATA_KEY", secret.NewKey()}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(configEnv(), nil)
	if err != nil {
		t.Fatalf("loadConfig with an empty environment: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", cfg.Addr, "127.0.0.1:8080"},
		{"SessionTTL", cfg.SessionTTL, 168 * time.Hour},
		{"WeChatTimeout", cfg.WeChatTimeout, 5 * time.Second},
		{"WeChatAPIBase", cfg.WeChatAPIBase, wechat.DefaultBaseURL},
		{"WeChatAPIBase literal", cfg.WeChatAPIBase, "https://api.weixin.qq.com"},
		{"DatabaseURL", cfg.DatabaseURL, ""},
		{"LogLevel", cfg.LogLevel, "info"},
		{"TrustProxy", cfg.TrustProxy, false},
		{"devMode", cfg.devMode(), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigBadValueNamesVariable(t *testing.T) {
	tests := []struct {
		env, value string
	}{
		{"SESSION_TTL", "abc"},
		{"SESSION_TTL", "0s"},
		{"WECHAT_TIMEOUT", "-1s"},
		{"WECHAT_TIMEOUT", "5"},
		{"REQUEST_TIMEOUT", "soon"},
		{"ADDR", "nonsense"},
		{"ADDR", "127.0.0.1"},
		{"PLAYGROUND", "maybe"},
		{"INTROSPECTION", "perhaps"},
		{"TRUST_PROXY", "yes please"},
		{"LOGIN_RATE_PER_MINUTE", "x"},
		{"LOGIN_RATE_PER_MINUTE", "-1"},
		{"LOGIN_BURST", "1.5"},
		{"DB_MAX_CONNS", "many"},
		{"LOG_LEVEL", "verbose"},
		{"WECHAT_API_BASE", "api.weixin.qq.com"},
		{"DATABASE_POOLER", "session"},
		{"DATABASE_POOLER", "transaction"}, // without DATABASE_DIRECT_URL
		{"WECHAT_CALLS_PER_MINUTE", "-3"},
		{"MAX_TODOS_PER_USER", "-1"},
		{"MAX_SESSIONS_PER_USER", "lots"},
		{"TODO_CREATES_PER_MINUTE", "1e3"},
		{"TODO_CREATE_BURST", "-2"},
		{"SQLITE_SYNCHRONOUS", "OFF"},
	}
	for _, mode := range []struct {
		name string
		env  []string
	}{{"development", nil}, {"production", productionEnv}} {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.env+"="+tt.value, func(t *testing.T) {
				env := append(append([]string{}, mode.env...), tt.env, tt.value)
				cfg, err := loadConfig(configEnv(env...), nil)
				if err == nil {
					t.Fatalf("got config %+v, want an error", cfg)
				}
				if !strings.Contains(err.Error(), tt.env) {
					t.Errorf("got error %q, want it to name %s", err, tt.env)
				}
			})
		}
	}
}

func TestConfigReportsEveryBadValue(t *testing.T) {
	_, err := loadConfig(configEnv("SESSION_TTL", "abc", "PLAYGROUND", "maybe", "ADDR", "nonsense"), nil)
	if err == nil {
		t.Fatal("got no error, want one naming each bad variable")
	}
	for _, env := range []string{"SESSION_TTL", "PLAYGROUND", "ADDR"} {
		if !strings.Contains(err.Error(), env) {
			t.Errorf("got error %q, want it to name %s too", err, env)
		}
	}
}

func TestConfigWeChatCredentialsComeInPairs(t *testing.T) {
	tests := []struct {
		name string
		env  []string
	}{
		{"appid only", []string{"WECHAT_APPID", "wx123"}},
		{"secret only", []string{"WECHAT_SECRET", "s3cr3t-value-4b9c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(configEnv(tt.env...), nil)
			if err == nil {
				t.Fatalf("got config %+v, want an error", cfg)
			}
			if !strings.Contains(err.Error(), "WECHAT_APPID") || !strings.Contains(err.Error(), "WECHAT_SECRET") {
				t.Errorf("got error %q, want it to name WECHAT_APPID and WECHAT_SECRET", err)
			}
			if strings.Contains(err.Error(), "s3cr3t-value-4b9c") {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestConfigListenAddress(t *testing.T) {
	tests := []struct {
		mode   string
		addr   string
		wantOK bool
	}{
		{"development", "0.0.0.0:8080", false},
		{"development", ":8080", false},
		{"development", "[::]:8080", false},
		{"development", "192.168.1.10:8080", false},
		{"development", "example.com:8080", false},
		{"development", "127.0.0.1:0", true},
		{"development", "127.0.0.1:8080", true},
		{"development", "[::1]:0", true},
		{"development", "localhost:0", true},
		{"production", "0.0.0.0:8080", true},
		{"production", ":8080", true},
		{"production", "[::]:8080", true},
		{"production", "127.0.0.1:8080", true},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.addr, func(t *testing.T) {
			env := []string{"ADDR", tt.addr}
			if tt.mode == "production" {
				env = append(env, productionEnv...)
			}
			cfg, err := loadConfig(configEnv(env...), nil)
			switch {
			case tt.wantOK && err != nil:
				t.Fatalf("got error %v, want %s accepted", err, tt.addr)
			case !tt.wantOK && err == nil:
				t.Fatalf("got config with Addr %q, want an error", cfg.Addr)
			case !tt.wantOK && !strings.Contains(err.Error(), "ADDR"):
				t.Errorf("got error %q, want it to name ADDR", err)
			case tt.wantOK && cfg.Addr != tt.addr:
				t.Errorf("Addr: got %q, want %q", cfg.Addr, tt.addr)
			}
		})
	}
}

func TestConfigPlaygroundAndIntrospectionDefaults(t *testing.T) {
	tests := []struct {
		name                           string
		env                            []string
		wantPlayground, wantIntrospect bool
		wantDevMode                    bool
	}{
		{"development", nil, true, true, true},
		{"production", productionEnv, false, false, false},
		{"production with both on", append([]string{"PLAYGROUND", "true", "INTROSPECTION", "1"}, productionEnv...), true, true, false},
		{"development with both off", []string{"PLAYGROUND", "false", "INTROSPECTION", "0"}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(configEnv(tt.env...), nil)
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if cfg.devMode() != tt.wantDevMode {
				t.Errorf("devMode: got %v, want %v", cfg.devMode(), tt.wantDevMode)
			}
			if cfg.Playground != tt.wantPlayground {
				t.Errorf("Playground: got %v, want %v", cfg.Playground, tt.wantPlayground)
			}
			if cfg.Introspection != tt.wantIntrospect {
				t.Errorf("Introspection: got %v, want %v", cfg.Introspection, tt.wantIntrospect)
			}
		})
	}
}

func TestConfigFlagsOverrideEnvironment(t *testing.T) {
	env := configEnv(append([]string{"ADDR", "127.0.0.1:8080", "SESSION_TTL", "1h", "LOG_LEVEL", "warn"}, productionEnv...)...)

	t.Run("flags given", func(t *testing.T) {
		cfg, err := loadConfig(env, []string{"-addr", "0.0.0.0:9090", "-session-ttl", "2h", "--log-level=debug", "-wechat-timeout", "750ms"})
		if err != nil {
			t.Fatalf("loadConfig: %v", err)
		}
		if cfg.Addr != "0.0.0.0:9090" {
			t.Errorf("Addr: got %q, want %q (the flag)", cfg.Addr, "0.0.0.0:9090")
		}
		if cfg.SessionTTL != 2*time.Hour {
			t.Errorf("SessionTTL: got %v, want 2h (the flag)", cfg.SessionTTL)
		}
		if cfg.LogLevel != "debug" {
			t.Errorf("LogLevel: got %q, want debug (the flag)", cfg.LogLevel)
		}
		if cfg.WeChatTimeout != 750*time.Millisecond {
			t.Errorf("WeChatTimeout: got %v, want 750ms (the flag)", cfg.WeChatTimeout)
		}
	})
	t.Run("no flags", func(t *testing.T) {
		cfg, err := loadConfig(env, nil)
		if err != nil {
			t.Fatalf("loadConfig: %v", err)
		}
		if cfg.Addr != "127.0.0.1:8080" || cfg.SessionTTL != time.Hour || cfg.LogLevel != "warn" {
			t.Errorf("got Addr %q, SessionTTL %v, LogLevel %q; want the environment's 127.0.0.1:8080, 1h, warn",
				cfg.Addr, cfg.SessionTTL, cfg.LogLevel)
		}
	})
	t.Run("a bad flag value names the variable", func(t *testing.T) {
		_, err := loadConfig(env, []string{"-session-ttl", "forever"})
		if err == nil || !strings.Contains(err.Error(), "SESSION_TTL") {
			t.Errorf("got error %v, want one naming SESSION_TTL", err)
		}
	})
	t.Run("flag leaving development mode's loopback is refused", func(t *testing.T) {
		_, err := loadConfig(configEnv(), []string{"-addr", "0.0.0.0:8080"})
		if err == nil || !strings.Contains(err.Error(), "ADDR") {
			t.Errorf("got error %v, want one naming ADDR", err)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		if _, err := loadConfig(env, []string{"-no-such-flag"}); err == nil {
			t.Errorf("got no error, want one for an unknown flag")
		}
	})
}

func TestConfigRefusesUnsafeCombinations(t *testing.T) {
	tests := []struct {
		name, want string
		env        map[string]string
	}{
		{"WeChat over plain http", "WECHAT_API_BASE", map[string]string{"WECHAT_APPID": "a", "WECHAT_SECRET": "s", "WECHAT_API_BASE": "http://api.weixin.qq.com"}},
		{"development mode behind a proxy", "TRUST_PROXY", map[string]string{"TRUST_PROXY": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(func(k string) string { return tt.env[k] }, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one naming %s", err, tt.want)
			}
		})
	}
	ok := map[string]string{"WECHAT_APPID": "a", "WECHAT_SECRET": "s", "WECHAT_API_BASE": "http://127.0.0.1:9999", "DATA_KEY_FILE": "data/data.key"}
	if _, err := loadConfig(func(k string) string { return ok[k] }, nil); err != nil {
		t.Errorf("http to a loopback test server: got %v, want it accepted", err)
	}
}

// TestConfigProductionNeedsDataKey: instances with key files of their own
// cannot open each other's data, so production mode refuses to start
// without DATA_KEY unless DATA_KEY_FILE is set on purpose (environment
// or flag); development mode keeps its key file.
func TestConfigProductionNeedsDataKey(t *testing.T) {
	prod := []string{"WECHAT_APPID", "wx123", "WECHAT_SECRET", "s3cr3t-value-4b9c"}
	tests := []struct {
		name string
		env  []string
		args []string
		ok   bool
	}{
		{"production without DATA_KEY", prod, nil, false},
		{"production with DATA_KEY", append(prod, "DATA_KEY", secret.NewKey()), nil, true},
		{"production with DATA_KEY_FILE", append(prod, "DATA_KEY_FILE", "/var/lib/wxtodo/data.key"), nil, true},
		{"production with -data-key-file", prod, []string{"-data-key-file", "/var/lib/wxtodo/data.key"}, true},
		{"production with a blank DATA_KEY_FILE", append(prod, "DATA_KEY_FILE", "  "), nil, false},
		{"development", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(configEnv(tt.env...), tt.args)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("got error %v, want it accepted", err)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), "DATA_KEY")):
				t.Fatalf("got error %v, want one naming DATA_KEY", err)
			case tt.ok && cfg.DataKey == "" && cfg.DataKeyFile == "":
				t.Fatalf("accepted with neither a key nor a key file")
			}
		})
	}
}

func TestConfigDatabasePooler(t *testing.T) {
	cfg, err := loadConfig(configEnv("DATABASE_URL", "postgres://app@pgbouncer:6432/app", "DATABASE_POOLER", "transaction",
		"DATABASE_DIRECT_URL", "postgres://app@db:5432/app"), nil)
	if err != nil {
		t.Fatalf("a pooler with its direct URL: %v", err)
	}
	if o := dbOptions(cfg, 0); !o.Pooled || o.DirectURL != "postgres://app@db:5432/app" {
		t.Errorf("database options %+v, want pooled with the direct URL", o)
	}
	if _, err := loadConfig(configEnv("DATABASE_POOLER", "transaction", "DATABASE_DIRECT_URL", "postgres://app@db/app"), nil); err == nil ||
		!strings.Contains(err.Error(), "DATABASE_POOLER") {
		t.Errorf("a pooler in front of SQLite: got %v, want an error naming DATABASE_POOLER", err)
	}
}

// TestConfigCloudHosting: CLOUD_HOSTING=true takes the platform's rules:
// PORT (80 by default) on every address, WeChat's APIs over
// http://api.weixin.qq.com (the token-free open-API service, allowed only
// in this mode), a request deadline under callContainer's 15s, the AppID
// callers must come from, the AppSecret optional, and a PostgreSQL
// database (an SQLite default would be lost with the container).
func TestConfigCloudHosting(t *testing.T) {
	pg := "postgres://u:p@db.internal/wxtodo"
	base := []string{"CLOUD_HOSTING", "true", "WECHAT_APPID", "wx1234", "DATABASE_URL", pg, "DATA_KEY", secret.NewKey()}
	cfg, err := loadConfig(configEnv(base...), nil)
	if err != nil {
		t.Fatalf("the mode with its settings: %v", err)
	}
	if !cfg.CloudHosting || cfg.Addr != ":80" || cfg.WeChatAPIBase != "http://api.weixin.qq.com" || cfg.RequestTimeout != 12*time.Second || cfg.devMode() {
		t.Errorf("got addr %q, API base %q, timeout %s, dev %v; want :80, http://api.weixin.qq.com, 12s, production", cfg.Addr, cfg.WeChatAPIBase, cfg.RequestTimeout, cfg.devMode())
	}
	if cfg, err := loadConfig(configEnv(append(base, "PORT", "8080")...), nil); err != nil || cfg.Addr != ":8080" {
		t.Errorf("PORT=8080: addr %q, %v", cfg.Addr, err)
	}
	for _, tc := range []struct {
		name  string
		env   []string
		names string
	}{
		{"SQLite default", []string{"DATABASE_URL", ""}, "DATABASE_URL"},
		{"SQLite file", []string{"DATABASE_URL", "sqlite:/data/x.db"}, "DATABASE_URL"},
		{"no AppID", []string{"WECHAT_APPID", ""}, "WECHAT_APPID"},
		{"a 15s deadline", []string{"REQUEST_TIMEOUT", "15s"}, "REQUEST_TIMEOUT"},
		{"a bad PORT", []string{"PORT", "eighty"}, "PORT"},
		{"another http API base", []string{"WECHAT_API_BASE", "http://example.com"}, "WECHAT_API_BASE"},
	} {
		env := map[string]string{}
		for i := 0; i+1 < len(base); i += 2 {
			env[base[i]] = base[i+1]
		}
		for i := 0; i+1 < len(tc.env); i += 2 {
			env[tc.env[i]] = tc.env[i+1]
		}
		var pairs []string
		for k, v := range env {
			pairs = append(pairs, k, v)
		}
		if _, err := loadConfig(configEnv(pairs...), nil); err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.names)
		}
	}
	// With the mode off, http to WeChat's own host stays refused.
	if _, err := loadConfig(configEnv("WECHAT_APPID", "wx1", "WECHAT_SECRET", "s", "DATA_KEY", secret.NewKey(), "WECHAT_API_BASE", "http://api.weixin.qq.com"), nil); err == nil {
		t.Error("http://api.weixin.qq.com accepted with the mode off")
	}
}

// TestCloudHostingKeepsTheSecretOffPlainHTTP: in Cloud Hosting mode the
// token-free calls go to the open-API service over http, but login's
// jscode2session, which carries the AppSecret in its query, goes over
// https.
func TestCloudHostingKeepsTheSecretOffPlainHTTP(t *testing.T) {
	cfg, err := loadConfig(configEnv("CLOUD_HOSTING", "true", "WECHAT_APPID", "wx1234", "WECHAT_SECRET", "s3cret",
		"DATABASE_URL", "postgres://u:p@db.internal/wxtodo", "DATA_KEY", secret.NewKey()), nil)
	if err != nil {
		t.Fatal(err)
	}
	wx := newWeChat(cfg, nil, slog.New(slog.DiscardHandler))
	if len(wx.apps) != 1 {
		t.Fatalf("got %d apps, want 1", len(wx.apps))
	}
	app := wx.apps[0]
	login, ok := app.exchanger.(*wechat.Client)
	if !ok || login.BaseURL() != wechat.DefaultBaseURL {
		t.Errorf("login exchanges codes at %v, want %s", app.exchanger, wechat.DefaultBaseURL)
	}
	if api, ok := app.api.(*wechat.Client); !ok || api.BaseURL() != "http://api.weixin.qq.com" {
		t.Errorf("token-free calls go to %v, want http://api.weixin.qq.com", app.api)
	}
	if _, ok := wx.dataApps(nil, nil)[0].Tokens.(wechat.NoAccessToken); !ok {
		t.Error("the mode fetches access_tokens, want none")
	}
}

// TestConfigWeChatApps: WECHAT_APPS lists several apps with their
// secrets; it and WECHAT_APPID/WECHAT_SECRET are two forms of one
// setting, and a bad list is an error that names the problem but never
// a secret.
func TestConfigWeChatApps(t *testing.T) {
	const s1, s2 = "first-s3cr3t-7d1e", "second-s3cr3t-2c9a"
	const hexSecret = "0123456789abcdef0123456789abcdef"
	key := []string{"DATA_KEY", secret.NewKey()}
	cfg, err := loadConfig(configEnv(append([]string{"WECHAT_APPS", " wxa1:" + s1 + " , wxb2:" + s2 + ","}, key...)...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []wechatApp{{"wxa1", s1}, {"wxb2", s2}}; !slices.Equal(cfg.Apps, want) || cfg.devMode() {
		t.Errorf("got apps %v (development mode %v), want %v in production", cfg.appIDs(), cfg.devMode(), []string{"wxa1", "wxb2"})
	}
	if cfg, err := loadConfig(configEnv(productionEnv...), nil); err != nil || !slices.Equal(cfg.Apps, []wechatApp{{"wx123", "s3cr3t-value-4b9c"}}) {
		t.Errorf("WECHAT_APPID and WECHAT_SECRET: got %v, %v; want the one app", cfg, err)
	}
	// AppIDs alone are development apps of the mock.
	dev, err := loadConfig(configEnv("WECHAT_APPS", "wxa1,wxb2:"), nil)
	if err != nil || !dev.devMode() || !slices.Equal(dev.appIDs(), []string{"wxa1", "wxb2"}) || !dev.Playground {
		t.Errorf("development apps: got %+v, %v", dev, err)
	}

	for _, tt := range []struct {
		name string
		env  []string
		want string // in the error
	}{
		{"both forms", []string{"WECHAT_APPS", "wxa1:" + s1, "WECHAT_APPID", "wxa1", "WECHAT_SECRET", s2}, "WECHAT_APPS and WECHAT_APPID/WECHAT_SECRET"},
		{"both forms, the appid only", []string{"WECHAT_APPS", "wxa1:" + s1, "WECHAT_APPID", "wxa1"}, "WECHAT_APPS and WECHAT_APPID/WECHAT_SECRET"},
		{"twice", []string{"WECHAT_APPS", "wxa1:" + s1 + ",wxa1:" + s2}, "wxa1 is listed twice"},
		{"no appid", []string{"WECHAT_APPS", "wxa1:" + s1 + ",:" + s2}, "entry 2"},
		{"a bad appid", []string{"WECHAT_APPS", "wx a1=" + s1}, "entry 1"},
		{"one without a secret", []string{"WECHAT_APPS", "wxa1:" + s1 + ",wxb2"}, "app 2 has no secret"},
		{"a comma for a colon", []string{"WECHAT_APPS", "wxa1:" + s1 + ",wxb2," + s2}, "app 3 has no secret"},
		{"commas for colons", []string{"WECHAT_APPS", "wxa1," + hexSecret}, "entry 2 looks like an AppSecret"},
		{"commas only", []string{"WECHAT_APPS", ", ,"}, "no app listed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(configEnv(append(tt.env, key...)...), nil)
			if err == nil {
				t.Fatalf("got apps %v, want an error", cfg.appIDs())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), s1) || strings.Contains(err.Error(), s2) || strings.Contains(err.Error(), hexSecret) {
				t.Errorf("error %q repeats a secret", err)
			}
		})
	}

	// Cloud Hosting takes callers of every configured app; secrets may
	// be left out there.
	cloud, err := loadConfig(configEnv("CLOUD_HOSTING", "true", "WECHAT_APPS", "wxa1:"+s1+",wxb2", "DATABASE_URL", "postgres://u@db/wxtodo", "DATA_KEY", secret.NewKey()), nil)
	if err != nil || !slices.Equal(cloud.appIDs(), []string{"wxa1", "wxb2"}) {
		t.Errorf("Cloud Hosting with WECHAT_APPS: got %v, %v", cloud, err)
	}
}
