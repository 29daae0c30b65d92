// Command wxtodo is the GraphQL backend of WeChat mini-programs: WeChat
// login, sessions and a per-user todo list, on PostgreSQL or an embedded
// SQLite file.
//
// This file wires everything: configuration, database and migrations, the
// WeChat client, the services, the GraphQL handler and the HTTP server with
// graceful shutdown.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"wxtodo/auth"
	"wxtodo/db"
	"wxtodo/graph"
	"wxtodo/metrics"
	"wxtodo/ratelimit"
	"wxtodo/reqctx"
	"wxtodo/secret"
	"wxtodo/todo"
	"wxtodo/user"
	"wxtodo/wechat"
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
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "playground", cfg.Playground, "introspection", cfg.Introspection)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish (bounded), then close
	// the pool (deferred above) so nothing is cut off half-written.
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish in time", "err", err)
		srv.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
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
	stop     context.CancelFunc
	done     chan struct{}
}

// Close stops background work and closes the database.
func (a *app) Close() {
	a.stop()
	<-a.done
	a.DB.Close()
}

func newApp(ctx context.Context, cfg *config, log *slog.Logger) (*app, error) {
	store, err := db.Open(ctx, cfg.DatabaseURL, db.Options{MaxOpenConns: cfg.DBMaxConns})
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if err := store.Prepare(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("database: %w", err)
	}

	var met *metrics.Metrics
	if cfg.Metrics {
		met = metrics.New()
		met.WatchDB(store.DB.DB, "wxtodo")
	}

	keys, err := dataKeys(cfg, log)
	if err != nil {
		store.Close()
		return nil, err
	}

	var (
		exchanger auth.CodeExchanger
		api       auth.WeChatAPI
		tokens    wechat.TokenSource
		appID     = cfg.WeChatAppID
		dataAppID = cfg.WeChatAppID
	)
	if cfg.devMode() {
		appID, dataAppID = "dev", wechat.MockAppID
		exchanger, api, tokens = wechat.Mock{}, wechat.Mock{}, wechat.Mock{}
		log.Warn("DEVELOPMENT MODE: WECHAT_APPID and WECHAT_SECRET are unset, so a built-in mock stands in for WeChat " +
			"and ANY code signs in (the same code as the same user). Never expose this server; set both for production.")
	} else {
		client := wechat.New(cfg.WeChatAPIBase, cfg.WeChatAppID, cfg.WeChatSecret, cfg.WeChatTimeout)
		if met != nil {
			client.Observe = func(api string, d time.Duration, errcode int, err error) {
				met.ObserveWeChat(api, wechatOutcome(errcode, err), d)
			}
		}
		exchanger, api, tokens = client, client, client
	}

	wxStore := db.NewWeChatStore(store)
	authStore := db.NewAuthStore(store)
	authSvc := &auth.Service{
		AppID:        appID,
		Exchanger:    exchanger,
		Store:        authStore,
		TTL:          cfg.SessionTTL,
		Log:          log,
		LoginLimiter: ratelimit.New(cfg.LoginPerMinute, cfg.LoginBurst),
		Keys:         keys,
	}
	data := &auth.Data{
		AppID: dataAppID,
		Keys:  keys,
		Store: wxStore,
		API:   api,
		// One access_token for all instances, through the database.
		Tokens: wechat.NewSharedTokenCache(tokens, &wechat.Shared{Store: wxStore, Keys: keys, AppID: appID}),
		Log:    log,
		// A few checksession calls a minute per user after failed
		// decryptions; past that, undecryptable data is bad input.
		StaleCheckLimiter: ratelimit.New(6, 3),
	}
	resolver := &graph.Resolver{
		AuthService: authSvc,
		UserService: &user.Service{Store: db.NewUserStore(store)},
		TodoService: &todo.Service{Store: db.NewTodoStore(store)},
		DataService: data,
	}
	gqlOpt := graph.Options{Log: log, Introspection: cfg.Introspection}
	if met != nil {
		gqlOpt.Observer = met
	}
	gql := graph.NewHandler(resolver, gqlOpt)
	rt := &routes{
		log:            log,
		graphql:        gql,
		auth:           authSvc,
		db:             store,
		playground:     cfg.Playground,
		signInCode:     devSignInCode(cfg),
		requestTimeout: cfg.RequestTimeout,
		trustProxy:     cfg.TrustProxy,
		metrics:        met,
	}
	if cfg.devMode() {
		rt.devData = data
	}

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a := &app{Handler: rt.handler(), DB: store, resolver: resolver, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		janitor(bg, authStore, cfg.SessionTTL, log)
	}()
	return a, nil
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
			"; set DATA_KEY (the same on every instance) in production", "key_file", path)
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

// janitor deletes sessions long expired and login codes past their life.
func janitor(ctx context.Context, s *db.AuthStore, ttl time.Duration, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		// Expired sessions stay a while so their tokens get EXPIRED_TOKEN.
		n, err := s.DeleteExpired(ctx, now.Add(-ttl), now.Add(-auth.CodeReuseWindow))
		if err != nil {
			log.Warn("delete expired sessions", "err", err)
			continue
		}
		if n > 0 {
			log.Info("deleted expired sessions", "count", n)
		}
	}
}
