package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wxtodo/admin"
	"wxtodo/secret"
	"wxtodo/wechat"
)

// config is the server's configuration, read from the environment; flags
// of the same name in lower case (-addr, -database-url, ...) override it.
type config struct {
	Addr         string
	DatabaseURL  string
	WeChatAppID  string
	WeChatSecret string
	// Apps are the mini-programs served: WECHAT_APPS, or the one of
	// WECHAT_APPID and WECHAT_SECRET; none in development mode with the
	// one default app.
	Apps            []wechatApp
	WeChatAPIBase   string
	WeChatTimeout   time.Duration
	SessionTTL      time.Duration
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	Playground      bool
	Introspection   bool
	LoginPerMinute  int
	LoginBurst      int
	// WeChatCallsPerMinute and WeChatCallBurst bound per user the WeChat
	// calls of checkSession and bindPhoneNumber.
	WeChatCallsPerMinute int
	WeChatCallBurst      int
	// Per-user growth caps (0: none).
	MaxTodosPerUser      int
	MaxSessionsPerUser   int
	TodoCreatesPerMinute int
	TodoCreateBurst      int
	TrustProxy           bool
	Metrics              bool
	// Live updates: sockets and subscriptions.
	WSKeepAlive         time.Duration
	WSInitTimeout       time.Duration
	WSMaxSocketsPerUser int
	WSMaxSubscriptions  int
	WSMaxMessageBytes   int
	LiveBuffer          int
	DBMaxConns          int
	// DatabasePooler is "transaction" behind PgBouncer in transaction
	// mode; DatabaseDirectURL then names the database itself.
	DatabasePooler    string
	DatabaseDirectURL string
	SQLiteSync        string // NORMAL or FULL
	LogLevel          string
	DataKey           string   // base64 of 32 bytes; "" means the key file
	DataKeyOld        []string // keys that still open what they sealed
	DataKeyFile       string
	// CloudHosting: WeChat Cloud Hosting mode (see README).
	CloudHosting bool
	// AdminUI serves the admin page at /admin; AdminTokenTTL is an
	// operator token's default lifetime.
	AdminUI       bool
	AdminTokenTTL time.Duration
}

// wechatApp is one mini-program's credentials. Secret is never logged,
// nor named in an error.
type wechatApp struct {
	ID, Secret string
}

// devMode reports whether the built-in mock stands in for WeChat: no
// app has a secret (outside Cloud Hosting, where logins may go without).
func (c *config) devMode() bool {
	if c.CloudHosting {
		return false
	}
	for _, a := range c.Apps {
		if a.Secret != "" {
			return false
		}
	}
	return true
}

// appIDs lists the configured AppIDs.
func (c *config) appIDs() []string {
	var ids []string
	for _, a := range c.Apps {
		ids = append(ids, a.ID)
	}
	return ids
}

// Cloud Hosting's platform rules.
const (
	cloudPort    = "80"
	cloudAPIBase = "http://api.weixin.qq.com" // the open-API service, token-free
	// cloudTimeout keeps a request under callContainer's 15s limit.
	cloudTimeout = "12s"
)

type setting struct {
	env, def, help string
}

// settings lists every variable; README's configuration table mirrors it.
var settings = []setting{
	{"CLOUD_HOSTING", "false", "WeChat Cloud Hosting (微信云托管) mode: the platform's X-WX-* headers identify callers, WeChat APIs go token-free through the open-API service, PORT is the listen port; needs a postgres DATABASE_URL and WECHAT_APPID (see README)"},
	{"PORT", "", "Cloud Hosting: the port to listen on, on every address (default 80); ignored when ADDR is set"},
	{"ADDR", "127.0.0.1:8080", "listen address"},
	{"DATABASE_URL", "", "postgres://... for PostgreSQL; unset for SQLite under ./data/"},
	{"WECHAT_APPID", "", "mini-program AppID; unset (with WECHAT_SECRET) for development mode"},
	{"WECHAT_SECRET", "", "mini-program AppSecret"},
	{"WECHAT_APPS", "", "several mini-programs on one user base, as appid:secret pairs, comma-separated (wxa1:secret1,wxb2:secret2), in place of WECHAT_APPID and WECHAT_SECRET; login then names its appId. AppIDs without secrets (wxa1,wxb2) are development apps of the mock (see README)"},
	{"WECHAT_API_BASE", wechat.DefaultBaseURL, "WeChat API base URL"},
	{"WECHAT_TIMEOUT", "5s", "deadline of one jscode2session exchange, retries included"},
	{"SESSION_TTL", "168h", "session lifetime since last use"},
	{"REQUEST_TIMEOUT", "15s", "deadline of one request, database included"},
	{"SHUTDOWN_TIMEOUT", "20s", "how long in-flight requests may finish on SIGTERM"},
	{"PLAYGROUND", "", "serve GraphiQL at / (default: on in development mode only)"},
	{"INTROSPECTION", "", "allow schema introspection (default: on in development mode only)"},
	{"LOGIN_RATE_PER_MINUTE", "60", "logins allowed per client IP per minute (0: no limit)"},
	{"LOGIN_BURST", "40", "logins a client IP may make at once"},
	{"WECHAT_CALLS_PER_MINUTE", "20", "WeChat calls (checkSession, bindPhoneNumber) allowed per user per minute (0: no limit)"},
	{"WECHAT_CALL_BURST", "5", "WeChat calls a user may make at once"},
	{"MAX_TODOS_PER_USER", "5000", "todos a user may have; past it createTodo answers LIMIT_EXCEEDED (0: no cap)"},
	{"MAX_SESSIONS_PER_USER", "20", "live sessions (signed-in devices) a user may have; a login past it revokes the oldest (0: no cap)"},
	{"TODO_CREATES_PER_MINUTE", "60", "todos a user may create per minute, each aliased createTodo counted (0: no limit)"},
	{"TODO_CREATE_BURST", "30", "todos a user may create at once"},
	{"WS_KEEPALIVE", "25s", "how often an idle subscription socket hears from the server; keep it below the proxy's and WeChat's idle timeouts (60s)"},
	{"WS_INIT_TIMEOUT", "10s", "how long a new socket may take to send connection_init"},
	{"WS_MAX_SOCKETS_PER_USER", "5", "subscription sockets (and SSE streams) a user may hold open on one instance"},
	{"WS_MAX_SUBSCRIPTIONS_PER_SOCKET", "5", "subscriptions one socket may hold at once"},
	{"WS_MAX_MESSAGE_BYTES", "65536", "largest message a socket's client may send"},
	{"LIVE_BUFFER", "64", "changes a subscriber may fall behind by before it gets a RESYNC instead"},
	{"TRUST_PROXY", "false", "take the client IP from X-Forwarded-For / X-Real-IP (behind a proxy)"},
	{"METRICS", "true", "serve Prometheus metrics at /metrics (keep it off the public proxy)"},
	{"ADMIN_UI", "", "serve the admin page at /admin, where operators sign in with an operator token (default: on in development mode only)"},
	{"ADMIN_TOKEN_TTL", "8h", "lifetime of an operator token that 'wxtodo admin token' issues without -ttl"},
	{"DATABASE_POOLER", "", "transaction: DATABASE_URL leads to PgBouncer in transaction mode (no connect-time parameters, no prepared statements; see README)"},
	{"DATABASE_DIRECT_URL", "", "PostgreSQL itself, bypassing the pooler: migrations (and their session lock) go through it; required with DATABASE_POOLER"},
	{"SQLITE_SYNCHRONOUS", "NORMAL", "SQLite only: NORMAL loses nothing when the process crashes, but a power loss may roll back the last commits; FULL syncs every commit (slower writes)"},
	{"DB_MAX_CONNS", "0", "database pool size (0: 16 on PostgreSQL, 4 on SQLite)"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"DATA_KEY", "", "base64 of 32 random bytes sealing session_keys and access_tokens at rest (openssl rand -base64 32); unset: DATA_KEY_FILE"},
	{"DATA_KEY_OLD", "", "comma-separated earlier DATA_KEYs, still opening what they sealed until 'wxtodo rekey' has run"},
	{"DATA_KEY_FILE", "data/data.key", "where the data key is kept, created if missing, when DATA_KEY is unset (development, or one instance that sets it explicitly)"},
}

// loadConfig reads the configuration. A bad value is an error that names
// the variable.
func loadConfig(getenv func(string) string, args []string) (*config, error) {
	fs := flag.NewFlagSet("wxtodo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := make(map[string]*string, len(settings))
	for _, s := range settings {
		v := getenv(s.env)
		if v == "" {
			v = s.def
		}
		vals[s.env] = fs.String(flagName(s.env), v, s.help+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, usageError(err.Error() + "; see wxtodo -h")
	}
	get := func(env string) string { return strings.TrimSpace(*vals[env]) }
	// explicit reports whether the environment or a flag set env.
	explicit := func(env string) bool {
		set := strings.TrimSpace(getenv(env)) != ""
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == flagName(env) && strings.TrimSpace(f.Value.String()) != "" })
		return set
	}

	var errs []error
	boolean := func(env string, def bool, dst *bool) {
		v := get(env)
		if v == "" {
			*dst = def
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", env, v))
			return
		}
		*dst = b
	}
	var cloud bool
	boolean("CLOUD_HOSTING", false, &cloud)
	if cloud {
		// The platform's rules, unless set on purpose.
		if !explicit("ADDR") {
			port := cmp.Or(get("PORT"), cloudPort)
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				errs = append(errs, fmt.Errorf("PORT: %q is not a port number", port))
			}
			*vals["ADDR"] = ":" + port
		}
		if !explicit("WECHAT_API_BASE") {
			*vals["WECHAT_API_BASE"] = cloudAPIBase
		}
		if !explicit("REQUEST_TIMEOUT") {
			*vals["REQUEST_TIMEOUT"] = cloudTimeout
		}
	}

	c := &config{
		CloudHosting:  cloud,
		Addr:          get("ADDR"),
		DatabaseURL:   get("DATABASE_URL"),
		WeChatAppID:   get("WECHAT_APPID"),
		WeChatSecret:  get("WECHAT_SECRET"),
		WeChatAPIBase: get("WECHAT_API_BASE"),
		LogLevel:      get("LOG_LEVEL"),
		DataKey:       get("DATA_KEY"),
		DataKeyFile:   get("DATA_KEY_FILE"),

		DatabasePooler:    get("DATABASE_POOLER"),
		DatabaseDirectURL: get("DATABASE_DIRECT_URL"),
		SQLiteSync:        strings.ToUpper(get("SQLITE_SYNCHRONOUS")),
	}
	errs = append(errs, c.readApps(get("WECHAT_APPS"))...)
	for _, k := range strings.Split(get("DATA_KEY_OLD"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.DataKeyOld = append(c.DataKeyOld, k)
		}
	}
	dur := func(env string, dst *time.Duration) {
		d, err := time.ParseDuration(get(env))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration such as 5s or 168h", env, get(env)))
			return
		}
		*dst = d
	}
	num := func(env string, dst *int) {
		n, err := strconv.Atoi(get(env))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number >= 0", env, get(env)))
			return
		}
		*dst = n
	}
	dur("WECHAT_TIMEOUT", &c.WeChatTimeout)
	dur("SESSION_TTL", &c.SessionTTL)
	dur("REQUEST_TIMEOUT", &c.RequestTimeout)
	dur("SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	num("LOGIN_RATE_PER_MINUTE", &c.LoginPerMinute)
	num("LOGIN_BURST", &c.LoginBurst)
	num("WECHAT_CALLS_PER_MINUTE", &c.WeChatCallsPerMinute)
	num("WECHAT_CALL_BURST", &c.WeChatCallBurst)
	num("MAX_TODOS_PER_USER", &c.MaxTodosPerUser)
	num("MAX_SESSIONS_PER_USER", &c.MaxSessionsPerUser)
	num("TODO_CREATES_PER_MINUTE", &c.TodoCreatesPerMinute)
	num("TODO_CREATE_BURST", &c.TodoCreateBurst)
	num("DB_MAX_CONNS", &c.DBMaxConns)
	dur("WS_KEEPALIVE", &c.WSKeepAlive)
	dur("WS_INIT_TIMEOUT", &c.WSInitTimeout)
	num("WS_MAX_SOCKETS_PER_USER", &c.WSMaxSocketsPerUser)
	num("WS_MAX_SUBSCRIPTIONS_PER_SOCKET", &c.WSMaxSubscriptions)
	num("WS_MAX_MESSAGE_BYTES", &c.WSMaxMessageBytes)
	num("LIVE_BUFFER", &c.LiveBuffer)
	boolean("PLAYGROUND", c.devMode(), &c.Playground)
	// The playground needs introspection to show the schema.
	boolean("INTROSPECTION", c.devMode() || c.Playground, &c.Introspection)
	boolean("TRUST_PROXY", false, &c.TrustProxy)
	boolean("METRICS", true, &c.Metrics)
	boolean("ADMIN_UI", c.devMode(), &c.AdminUI)
	dur("ADMIN_TOKEN_TTL", &c.AdminTokenTTL)
	if c.AdminTokenTTL > 0 && (c.AdminTokenTTL < time.Minute || c.AdminTokenTTL > admin.MaxTokenTTL) {
		errs = append(errs, fmt.Errorf("ADMIN_TOKEN_TTL: %s; operator tokens live between 1m and %s", c.AdminTokenTTL, admin.MaxTokenTTL))
	}

	switch {
	case c.CloudHosting:
		errs = append(errs, c.cloudHostingErrors()...)
	case len(c.Apps) > 1 && !c.devMode():
		for i, a := range c.Apps {
			if a.Secret == "" {
				// By position: a stray comma may have made a secret the "AppID".
				errs = append(errs, fmt.Errorf("WECHAT_APPS: app %d has no secret; give every app its AppSecret (appid:secret), or none for development mode", i+1))
			}
		}
	case get("WECHAT_APPS") == "" && (c.WeChatAppID == "") != (c.WeChatSecret == ""):
		errs = append(errs, errors.New("WECHAT_APPID and WECHAT_SECRET: set both for production, or neither for development mode"))
	}
	if u, err := url.Parse(c.WeChatAPIBase); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		errs = append(errs, fmt.Errorf("WECHAT_API_BASE: %q is not an http(s) URL", c.WeChatAPIBase))
	} else if u.Scheme == "http" && !isLoopback(u.Hostname()) && !(c.CloudHosting && u.Host == "api.weixin.qq.com") {
		// The app secret travels in the query string.
		errs = append(errs, fmt.Errorf("WECHAT_API_BASE: %q must use https (http only for a loopback test server)", c.WeChatAPIBase))
	}
	if c.SQLiteSync != "NORMAL" && c.SQLiteSync != "FULL" {
		errs = append(errs, fmt.Errorf("SQLITE_SYNCHRONOUS: %q is not NORMAL or FULL", c.SQLiteSync))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", c.LogLevel))
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("ADDR: %q is not host:port", c.Addr))
	} else if c.devMode() && c.TrustProxy {
		errs = append(errs, errors.New("TRUST_PROXY: development mode (no WECHAT_SECRET, or WECHAT_APPS without secrets) lets anyone sign in as anyone, so it refuses to sit behind a proxy"))
	} else if c.devMode() && !isLoopback(host) {
		errs = append(errs, fmt.Errorf("ADDR: %q is not a loopback address; development mode (no WECHAT_SECRET, or WECHAT_APPS without secrets) lets anyone sign in as anyone, so it only listens on 127.0.0.1, ::1 or localhost", c.Addr))
	}
	if c.DataKey != "" {
		if _, err := secret.ParseKeys(c.DataKey); err != nil {
			errs = append(errs, fmt.Errorf("DATA_KEY: %w (want the base64 of 32 random bytes: openssl rand -base64 32)", err))
		}
	}
	for i, k := range c.DataKeyOld {
		if _, err := secret.ParseKeys(k); err != nil {
			errs = append(errs, fmt.Errorf("DATA_KEY_OLD: key %d: %w", i+1, err))
		}
	}
	switch {
	case c.DatabasePooler != "" && c.DatabasePooler != "transaction":
		errs = append(errs, fmt.Errorf("DATABASE_POOLER: %q is not \"transaction\" (PgBouncer's pool_mode) or unset", c.DatabasePooler))
	case c.DatabasePooler != "" && !strings.HasPrefix(c.DatabaseDirectURL, "postgres"):
		errs = append(errs, errors.New("DATABASE_POOLER: set DATABASE_DIRECT_URL to PostgreSQL itself, for migrations, whose lock a transaction pooler cannot hold"))
	case c.DatabasePooler != "" && !strings.HasPrefix(c.DatabaseURL, "postgres"):
		errs = append(errs, errors.New("DATABASE_POOLER: DATABASE_URL must be a postgres:// URL of the pooler"))
	}
	// Instances with key files of their own cannot open each other's
	// data: production takes DATA_KEY, or a key file named on purpose.
	if !c.devMode() && c.DataKey == "" && !explicit("DATA_KEY_FILE") {
		errs = append(errs, errors.New("DATA_KEY: production mode (an app with its secret) needs DATA_KEY, the same on every instance (openssl rand -base64 32); for one instance with a key file, set DATA_KEY_FILE"))
	}
	if c.DataKey == "" && len(c.DataKeyOld) > 0 {
		errs = append(errs, errors.New("DATA_KEY_OLD: set DATA_KEY too; old keys only open what they sealed"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// readApps reads the apps from WECHAT_APPS (list), or else WECHAT_APPID
// and WECHAT_SECRET. Errors name an entry by its position and AppID,
// never by its secret.
func (c *config) readApps(list string) []error {
	if list == "" {
		if c.WeChatAppID != "" {
			c.Apps = []wechatApp{{ID: c.WeChatAppID, Secret: c.WeChatSecret}}
		}
		return nil
	}
	if c.WeChatAppID != "" || c.WeChatSecret != "" {
		return []error{errors.New("WECHAT_APPS and WECHAT_APPID/WECHAT_SECRET: both are set; use WECHAT_APPS alone for several apps, or WECHAT_APPID and WECHAT_SECRET for one")}
	}
	var errs []error
	seen := map[string]bool{}
	for i, entry := range strings.Split(list, ",") {
		id, secret, _ := strings.Cut(strings.TrimSpace(entry), ":")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		switch {
		case id == "" && secret == "":
			continue // a stray comma
		case !validAppID(id):
			errs = append(errs, fmt.Errorf("WECHAT_APPS: entry %d: the AppID must be letters, digits, _ or - (at most 64), as in wxa1:secret1", i+1))
		case looksLikeSecret(id):
			// wxa1,secret1 for wxa1:secret1 would start development mode
			// and name the secret as an app.
			errs = append(errs, fmt.Errorf("WECHAT_APPS: entry %d looks like an AppSecret (32 hex digits), not an AppID: write appid:secret", i+1))
		case seen[id]:
			errs = append(errs, fmt.Errorf("WECHAT_APPS: %s is listed twice", id))
		default:
			seen[id] = true
			c.Apps = append(c.Apps, wechatApp{ID: id, Secret: secret})
		}
	}
	if len(c.Apps) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("WECHAT_APPS: no app listed; write appid:secret pairs, comma-separated"))
	}
	return errs
}

// looksLikeSecret reports whether s has an AppSecret's form: 32 hex
// digits.
func looksLikeSecret(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// validAppID reports whether id can be an AppID (WeChat's are wx and 16
// hex digits; tests and development use other names).
func validAppID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// cloudHostingErrors checks the platform's rules.
func (c *config) cloudHostingErrors() []error {
	var errs []error
	if len(c.Apps) == 0 {
		errs = append(errs, errors.New("WECHAT_APPID: Cloud Hosting mode needs the mini-program's AppID (or WECHAT_APPS): the X-WX-APPID callers must come from"))
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("DATABASE_URL: Cloud Hosting keeps no local state (containers come and go, and scale to zero, with their files): set a postgres:// URL; the SQLite default would lose every user"))
	}
	if c.RequestTimeout >= 15*time.Second {
		errs = append(errs, fmt.Errorf("REQUEST_TIMEOUT: %s; Cloud Hosting ends a callContainer call at 15s, so keep each request under it", c.RequestTimeout))
	}
	return errs
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
