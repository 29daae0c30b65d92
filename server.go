// Command wxtodo is the GraphQL backend of WeChat mini-programs: WeChat
// login, sessions and a per-user todo list, on PostgreSQL or an embedded
// SQLite file.
//
// This file is the one place that wires everything: configuration, the
// database and its migrations, the WeChat client, the services, the
// GraphQL handler and the HTTP server with graceful shutdown; the
// command line's commands (cli.go) get their wiring from it too.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"wxtodo/admin"
	"wxtodo/adminui"
	"wxtodo/auth"
	"wxtodo/db"
	"wxtodo/errcode"
	"wxtodo/graph"
	"wxtodo/live"
	"wxtodo/metrics"
	"wxtodo/playground"
	"wxtodo/ratelimit"
	"wxtodo/reqctx"
	"wxtodo/secret"
	"wxtodo/todo"
	"wxtodo/user"
	"wxtodo/web"
	"wxtodo/wechat"
	"wxtodo/wxdata"
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := cli(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// tuneGC spends memory the server has to spare on less garbage collection:
// GraphQL execution allocates a lot per request, and at the default GOGC
// of 100 the collector takes a large share of the CPU under load. The
// memory limit keeps the heap, and so RSS, bounded all the same. GOGC and
// GOMEMLIMIT in the environment take precedence.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(48 << 20)
	}
}

// run serves until ctx is cancelled, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, logOut io.Writer) error {
	cfg, err := loadConfig(getenv, args)
	if err != nil {
		return err
	}
	log := newLogger(logOut, cfg.LogLevel)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR: listen on %s: %w", cfg.Addr, err)
	}
	// Handlers are counted: when SHUTDOWN_TIMEOUT runs out, Close cuts
	// the connections but not the handlers (a login finishes without its
	// client), and the database must outlive them.
	var handlers sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			a.Handler.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "playground", cfg.Playground, "introspection", cfg.Introspection, "admin_ui", cfg.AdminUI)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Close the subscription sockets (hijacked: Shutdown does not see
	// them) with 1012 so clients reconnect elsewhere, stop accepting, let
	// in-flight requests finish (bounded), then close the pool (deferred
	// above) so nothing is cut off half-written.
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	a.live.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish in time: closing connections, waiting for handlers", "err", err)
		srv.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	handlers.Wait()
	log.Info("stopped")
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level)) //nolint:errcheck // loadConfig checked it
	return slog.New(reqctx.LogHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})})
}

// app is the wired server: its HTTP handler and what to close.
type app struct {
	Handler  http.Handler
	DB       *db.DB
	resolver *graph.Resolver
	live     *live.Hub
	stop     context.CancelFunc
	done     chan struct{}
}

// Close stops background work and closes the database.
func (a *app) Close() {
	a.live.Shutdown()
	a.stop()
	<-a.done
	a.DB.Close()
}

func newApp(ctx context.Context, cfg *config, log *slog.Logger) (*app, error) {
	store, err := openDatabase(ctx, cfg, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	if err := store.Prepare(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	var met *metrics.Metrics
	if cfg.Metrics {
		met = metrics.New()
		met.WatchDB(store.Pool(), "wxtodo")
		if store.IsPostgres() {
			met.WatchRoundTrips(store.RoundTrips)
		}
	}
	keys, err := dataKeys(cfg, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	wx := newWeChat(cfg, met, log)

	authSvc := &auth.Service{
		Apps:          wx.authApps(),
		Store:         db.NewAuthStore(store),
		TTL:           cfg.SessionTTL,
		Log:           log,
		LoginLimiter:  ratelimit.New(cfg.LoginPerMinute, cfg.LoginBurst),
		SessionKeys:   wxdata.SessionKeys{Keyring: keys},
		FinishTimeout: auth.FinishTimeoutFor(cfg.WeChatTimeout, cfg.RequestTimeout),
		MaxSessions:   cfg.MaxSessionsPerUser,
	}
	if cfg.CloudHosting {
		authSvc.PlatformAppIDs = cfg.appIDs()
	}
	if met != nil {
		authSvc.Observe = met.ObserveLogin
	}
	adminStore := db.NewAdminStore(store)
	authSvc.Operators = adminStore
	data := &wxdata.Service{
		// Each app with its own access_token, one for all instances,
		// through the database.
		Apps:  wx.dataApps(store, keys),
		Keys:  keys,
		Store: db.NewDataStore(store),
		Log:   log,
		// A few checksession calls a minute per user after failed
		// decryptions; past that, undecryptable data is bad input.
		StaleCheckLimiter: ratelimit.New(6, 3),
		// checkSession and bindPhoneNumber, per user (and
		// MaxCallsPerRequest per request).
		CallLimiter: ratelimit.New(cfg.WeChatCallsPerMinute, cfg.WeChatCallBurst),
	}
	resolver := &graph.Resolver{
		AuthService: authSvc,
		UserService: &user.Service{Store: db.NewUserStore(store)},
		TodoService: &todo.Service{
			Store:         db.NewTodoStore(store),
			MaxTodos:      cfg.MaxTodosPerUser,
			CreateLimiter: ratelimit.New(cfg.TodoCreatesPerMinute, cfg.TodoCreateBurst),
		},
		DataService:  data,
		AdminService: newAdmin(cfg, adminStore, log),
		Live: &live.Hub{
			Lists:                     db.NewTodoStore(store),
			Buffer:                    cfg.LiveBuffer,
			MaxSocketsPerUser:         cfg.WSMaxSocketsPerUser,
			MaxSubscriptionsPerSocket: cfg.WSMaxSubscriptions,
			Log:                       log,
		},
	}
	gqlOpt := graph.Options{Log: log, Introspection: cfg.Introspection, Live: &graph.LiveOptions{
		Hub:             resolver.Live,
		Auth:            authSvc,
		KeepAlive:       cfg.WSKeepAlive,
		InitTimeout:     cfg.WSInitTimeout,
		MaxMessageBytes: int64(cfg.WSMaxMessageBytes),
		RequestTimeout:  cfg.RequestTimeout,
	}}
	webCfg := web.Config{
		Log:            log,
		Ready:          store.Ping,
		Auth:           authSvc.Middleware,
		RequestTimeout: cfg.RequestTimeout,
		TrustProxy:     cfg.TrustProxy,
	}
	if met != nil {
		gqlOpt.Observer, webCfg.Metrics = met, met
		resolver.Live.Observer = met
	}
	webCfg.GraphQL = graph.NewHandler(resolver, gqlOpt)
	if cfg.Playground {
		webCfg.Playground = playground.New(playground.Options{Endpoint: web.GraphQLPath, SignInCode: devSignInCode(cfg), SignInAppID: devSignInApp(cfg)})
	}
	if cfg.devMode() {
		webCfg.DevSample = data
	}
	if cfg.AdminUI {
		webCfg.Admin = adminui.New()
	}

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a := &app{Handler: web.New(webCfg), DB: store, resolver: resolver, live: resolver.Live, stop: stop, done: make(chan struct{})}
	var background sync.WaitGroup
	background.Go(func() { authSvc.RunJanitor(bg, 10*time.Minute) })
	// Changes reach this instance's subscribers from the database.
	background.Go(func() { store.Listen(bg, resolver.Live, log) })
	go func() {
		defer close(a.done)
		background.Wait()
	}()
	return a, nil
}

// newAdmin is the operators' service on store.
func newAdmin(cfg *config, store admin.Store, log *slog.Logger) *admin.Service {
	return &admin.Service{Store: store, Log: log, TokenTTL: cfg.AdminTokenTTL}
}

// dbOptions are the database settings of cfg, with a pool of maxConns.
func dbOptions(cfg *config, maxConns int) db.Options {
	return db.Options{
		MaxOpenConns: maxConns,
		Pooled:       cfg.DatabasePooler == "transaction",
		DirectURL:    cfg.DatabaseDirectURL,
		SQLiteSync:   cfg.SQLiteSync,
	}
}

// openDatabase opens DATABASE_URL with a pool of maxConns (0: the
// dialect's default) and applies the migrations.
func openDatabase(ctx context.Context, cfg *config, maxConns int) (*db.DB, error) {
	store, err := db.Open(ctx, cfg.DatabaseURL, dbOptions(cfg, maxConns))
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// weChat is what the server asks of WeChat, per app: the real API, or in
// development mode the mock.
type weChat struct {
	apps []wxApp
	// tokenFree: Cloud Hosting's open-API service adds the credentials
	// itself.
	tokenFree bool
}

// wxApp is one mini-program's side of WeChat.
type wxApp struct {
	// id names the app for login codes, identities, sessions and the
	// shared access_token; watermark is what decrypted data's watermark
	// must name (the development mock's own, for the one default app).
	id, watermark string
	exchanger     auth.CodeExchanger
	api           wxdata.WeChatAPI
	tokens        wechat.TokenSource
}

// devAppID names the one development app when WECHAT_APPS is unset.
const devAppID = "dev"

func newWeChat(cfg *config, met *metrics.Metrics, log *slog.Logger) weChat {
	if cfg.devMode() {
		log.Warn("DEVELOPMENT MODE: no app has a secret (WECHAT_SECRET, WECHAT_APPS), so a built-in mock stands in for WeChat " +
			"and ANY code signs in (the same code as the same user). Never expose this server; set them for production.")
		if len(cfg.Apps) == 0 {
			m := wechat.Mock{}
			return weChat{apps: []wxApp{{id: devAppID, watermark: wechat.MockAppID, exchanger: m, api: m, tokens: m}}}
		}
		var wx weChat
		for _, a := range cfg.Apps {
			m := wechat.Mock{App: a.ID}
			wx.apps = append(wx.apps, wxApp{id: a.ID, watermark: a.ID, exchanger: m, api: m, tokens: m})
		}
		return wx
	}
	wx := weChat{tokenFree: cfg.CloudHosting}
	for _, a := range cfg.Apps {
		wx.apps = append(wx.apps, newWxApp(cfg, a, met))
	}
	return wx
}

// newWxApp is the WeChat client of one app, its calls counted by app.
func newWxApp(cfg *config, a wechatApp, met *metrics.Metrics) wxApp {
	client := func(base, secret string) *wechat.Client {
		c := wechat.New(base, a.ID, secret, cfg.WeChatTimeout)
		if met != nil {
			c.Observe = func(api string, d time.Duration, errcode int, err error) {
				met.ObserveWeChat(a.ID, api, wechatOutcome(errcode, err), d)
			}
		}
		return c
	}
	c := client(cfg.WeChatAPIBase, a.Secret)
	app := wxApp{id: a.ID, watermark: a.ID, exchanger: c, api: c, tokens: c}
	if !cfg.CloudHosting {
		return app
	}
	// Token-free calls go to the open-API service over the platform's
	// plain http, and carry no secret; login's jscode2session carries the
	// AppSecret in its query, so it never goes over http to another host
	// than a loopback test server.
	api := client(cfg.WeChatAPIBase, "")
	if len(cfg.Apps) > 1 {
		api.FromAppID = a.ID // the open-API service calls as this app, not the environment's
	}
	app.api = api
	if u, err := url.Parse(cfg.WeChatAPIBase); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		c = client(wechat.DefaultBaseURL, a.Secret)
	}
	app.exchanger, app.tokens = c, c
	if a.Secret == "" {
		app.exchanger = noSecret{}
	}
	return app
}

// authApps are the apps users sign in through.
func (wx weChat) authApps() []auth.App {
	var apps []auth.App
	for _, a := range wx.apps {
		apps = append(apps, auth.App{ID: a.id, Exchanger: a.exchanger})
	}
	return apps
}

// dataApps are the apps the WeChat data features go through, each with
// its access_token: one for all instances through the database, or in
// Cloud Hosting none.
func (wx weChat) dataApps(store *db.DB, keys *secret.Keyring) []wxdata.App {
	var apps []wxdata.App
	for _, a := range wx.apps {
		var tokens wxdata.AccessTokens = wechat.NoAccessToken{}
		if !wx.tokenFree {
			tokens = wechat.NewSharedTokenCache(a.tokens, &wechat.Shared{Store: db.NewTokenStore(store), Keys: keys, AppID: a.id})
		}
		apps = append(apps, wxdata.App{ID: a.id, Watermark: a.watermark, API: a.api, Tokens: tokens})
	}
	return apps
}

// noSecret refuses logins on a Cloud Hosting server without the
// AppSecret: the platform's headers sign callers in instead.
type noSecret struct{}

func (noSecret) Code2Session(context.Context, string) (*wechat.Session, error) {
	return nil, errLoginNeedsSecret
}

var errLoginNeedsSecret = &errcode.Error{Code: errcode.Forbidden,
	Message: "login needs WECHAT_SECRET; in WeChat Cloud Hosting, calls through wx.cloud.callContainer are signed in by the platform without it"}

// migrate runs "migrate up|down|status" on DATABASE_URL: it returns what
// down undid, and for up and status every migration's state.
func migrate(ctx context.Context, cfg *config, sub string) (undone []string, status []db.MigrationStatus, err error) {
	store, err := db.Open(ctx, cfg.DatabaseURL, dbOptions(cfg, 2))
	if err != nil {
		return nil, nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer store.Close()
	switch sub {
	case "down":
		undone, err := store.MigrateDown(ctx)
		return undone, nil, err
	case "up":
		if err := store.Migrate(ctx); err != nil {
			return nil, nil, err
		}
	}
	status, err = store.MigrationStatus(ctx)
	return nil, status, err
}

// rekey re-seals the stored session_keys under DATA_KEY (after a rotation
// that listed the previous key in DATA_KEY_OLD) and drops the shared
// access_token. It returns how many users it rewrote and the id of the
// key they are sealed under now.
func rekey(ctx context.Context, cfg *config, log *slog.Logger) (n int, keyID string, err error) {
	if cfg.DataKey == "" {
		return 0, "", errors.New("DATA_KEY: rekey moves secrets to DATA_KEY; set it (and the previous key in DATA_KEY_OLD)")
	}
	keys, err := dataKeys(cfg, log)
	if err != nil {
		return 0, "", err
	}
	store, err := openDatabase(ctx, cfg, 2)
	if err != nil {
		return 0, "", err
	}
	defer store.Close()
	if err := store.Prepare(ctx); err != nil {
		return 0, "", fmt.Errorf("database: %w", err)
	}
	n, err = wxdata.Rekey(ctx, keys, db.NewDataStore(store), db.NewTokenStore(store))
	if err != nil {
		return n, "", fmt.Errorf("rekey: %w", err)
	}
	return n, keys.PrimaryID(), nil
}

// dataKeys is the keyring sealing secrets at rest: DATA_KEY (with
// DATA_KEY_OLD), or else a key file, created on first start.
func dataKeys(cfg *config, log *slog.Logger) (*secret.Keyring, error) {
	if cfg.DataKey != "" {
		kr, err := secret.ParseKeys(cfg.DataKey, cfg.DataKeyOld...)
		if err != nil {
			return nil, fmt.Errorf("DATA_KEY: %w", err)
		}
		return kr, nil
	}
	path := cfg.DataKeyFile
	k, err := secret.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("DATA_KEY_FILE: %w", err)
	}
	if !cfg.devMode() {
		log.Warn("DATA_KEY is unset: session_keys are sealed with the key in "+path+
			", which only this instance can open; set DATA_KEY (the same on every instance) to run several", "key_file", path)
	}
	kr, err := secret.ParseKeys(k)
	if err != nil {
		return nil, fmt.Errorf("DATA_KEY_FILE %s: %w", path, err)
	}
	return kr, nil
}

// wechatOutcome classes a WeChat call for metrics: "0" for success,
// WeChat's errcode, "timeout", or "error" (network, HTTP status, garbage).
func wechatOutcome(errcode int, err error) string {
	switch {
	case errcode != 0:
		return strconv.Itoa(errcode)
	case err == nil:
		return "0"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout"
	default:
		return "error"
	}
}

// devSignInCode is the code the playground offers to sign in with: only in
// development mode, where the mock accepts any code.
func devSignInCode(cfg *config) string {
	if cfg.devMode() {
		return "alice"
	}
	return ""
}

// devSignInApp is the app the playground signs in to: with several
// development apps, the first.
func devSignInApp(cfg *config) string {
	if cfg.devMode() && len(cfg.Apps) > 1 {
		return cfg.Apps[0].ID
	}
	return ""
}
