package apitest

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wxtodo/admin"
	"wxtodo/adminui"
	"wxtodo/auth"
	"wxtodo/db"
	"wxtodo/db/dbtest"
	"wxtodo/graph"
	"wxtodo/live"
	"wxtodo/ratelimit"
	"wxtodo/reqctx"
	"wxtodo/secret"
	"wxtodo/todo"
	"wxtodo/user"
	"wxtodo/web"
	"wxtodo/wechat"
	"wxtodo/wechat/wechattest"
	"wxtodo/wxdata"
)

// Options change the server from its test defaults.
type Options struct {
	// WeChat is the fake WeChat to use, so that two servers can share
	// one; nil starts a new one.
	WeChat *wechattest.Fake
	// WeChatTimeout bounds one jscode2session exchange; default 2s.
	WeChatTimeout time.Duration
	// LoginPerMinute and LoginBurst limit logins per client IP; 0 means
	// no limit.
	LoginPerMinute, LoginBurst int
	// WeChatCallBurst is how many WeChat calls (checkSession,
	// bindPhoneNumber) a user may make at once; 0 means production's 5.
	WeChatCallBurst int
	// MaxTodos and MaxSessions cap each user's todos and live sessions;
	// TodoCreatesPerMinute and TodoCreateBurst limit each user's creates.
	// 0 means no cap or limit.
	MaxTodos, MaxSessions                 int
	TodoCreatesPerMinute, TodoCreateBurst int
	// TrustProxy takes the client IP from X-Forwarded-For.
	TrustProxy bool
	// RequestTimeout is each request's deadline; default 15s.
	RequestTimeout time.Duration
	// SessionTTL is a session's lifetime since its last use; default
	// auth.DefaultTTL.
	SessionTTL time.Duration
	// Introspection allows __schema and __type queries.
	Introspection bool
	// DataKey (base64) seals session_keys and the access_token; default a
	// new key. DataKeyOld are retired keys that still open.
	DataKey    string
	DataKeyOld []string
	// Resolver, when set, may change the resolver before the server is
	// built (a test wraps a store).
	Resolver func(*graph.Resolver)
	// Live changes the subscription settings from production's (the hub
	// and auth service are the server's own).
	Live graph.LiveOptions
	// LiveBuffer, MaxSockets and MaxSubscriptions are the hub's limits; 0
	// means production's.
	LiveBuffer, MaxSockets, MaxSubscriptions int
	// CloudHosting turns on WeChat Cloud Hosting mode: the platform's
	// X-WX-* headers of the served apps identify callers.
	CloudHosting bool
	// Apps are the mini-programs served, each with its own credentials
	// (wechattest.SecretOf), added to the fake beside wechattest.AppID;
	// default wechattest.AppID alone. With several, a login names its
	// appId, and the fake sends unionids.
	Apps []string
	// AdminUI serves the admin page at /admin.
	AdminUI bool
}

// Server is the API on a real database, with a fake WeChat.
type Server struct {
	*Client
	// Handler is the HTTP handler: every route of web, /query among them.
	Handler *web.Server
	// WeChat is the fake WeChat the server talks to.
	WeChat *wechattest.Fake
	// DatabaseURL is the server's database; DB is the test's own handle
	// on it (dbtest.Open), to look at and change rows.
	DatabaseURL string
	DB          *sql.DB
	// Logs is what the server logged, at debug level.
	Logs *Logs
	// Auth is the auth service, for what has no request (the janitor).
	Auth *auth.Service
	// Hub is the live updates' hub; Shutdown closes its sockets as the
	// server's shutdown does.
	Hub *live.Hub
	// Admin is the operators' service, for what the command line does.
	Admin *admin.Service

	closeOnce sync.Once
	store     *db.DB
	httpOnce  sync.Once
	http      *httptest.Server
}

// New serves the API on the database at databaseURL (dbtest.SQLiteURL or
// dbtest.PostgresURL), migrated, until the test ends. Its WeChat is
// wechattest's fake app.
func New(tb testing.TB, databaseURL string, opt Options) *Server {
	tb.Helper()
	wx := opt.WeChat
	if wx == nil {
		wx = wechattest.New(tb)
	}
	ctx := context.Background()
	store, err := db.Open(ctx, databaseURL, dbtest.Options(databaseURL))
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		tb.Fatalf("migrate: %v", err)
	}
	if err := store.Prepare(ctx); err != nil {
		store.Close()
		tb.Fatalf("prepare: %v", err)
	}
	dataKey := opt.DataKey
	if dataKey == "" {
		dataKey = secret.NewKey()
	}
	keys, err := secret.ParseKeys(dataKey, opt.DataKeyOld...)
	if err != nil {
		store.Close()
		tb.Fatalf("data keys: %v", err)
	}
	logs := &Logs{}
	log := slog.New(reqctx.LogHandler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})})

	appIDs := opt.Apps
	if len(appIDs) == 0 {
		appIDs = []string{wechattest.AppID}
	}
	var (
		authApps []auth.App
		dataApps []wxdata.App
	)
	for _, id := range appIDs {
		if id != wechattest.AppID {
			wx.AddApp(id, wechattest.SecretOf(id))
		}
		client := wechat.New(wx.URL, id, wechattest.SecretOf(id), or(opt.WeChatTimeout, 2*time.Second))
		var tokens wxdata.AccessTokens = wechat.NewSharedTokenCache(client, &wechat.Shared{Store: db.NewTokenStore(store), Keys: keys, AppID: id})
		api := client
		if opt.CloudHosting {
			tokens = wechat.NoAccessToken{}
			if len(appIDs) > 1 {
				// As server.go: the open-API service calls as this app.
				api = wechat.New(wx.URL, id, "", or(opt.WeChatTimeout, 2*time.Second))
				api.FromAppID = id
			}
		}
		authApps = append(authApps, auth.App{ID: id, Exchanger: client})
		dataApps = append(dataApps, wxdata.App{ID: id, API: api, Tokens: tokens})
	}
	authSvc := &auth.Service{
		Apps:          authApps,
		Store:         db.NewAuthStore(store),
		TTL:           opt.SessionTTL,
		Log:           log,
		LoginLimiter:  ratelimit.New(opt.LoginPerMinute, opt.LoginBurst),
		SessionKeys:   wxdata.SessionKeys{Keyring: keys},
		FinishTimeout: auth.FinishTimeoutFor(or(opt.WeChatTimeout, 2*time.Second), or(opt.RequestTimeout, 15*time.Second)),
		MaxSessions:   opt.MaxSessions,
	}
	if opt.CloudHosting {
		authSvc.PlatformAppIDs = appIDs
		wx.AsOpenAPIService()
	}
	resolver := &graph.Resolver{
		AuthService: authSvc,
		UserService: &user.Service{Store: db.NewUserStore(store)},
		TodoService: &todo.Service{
			Store:         db.NewTodoStore(store),
			MaxTodos:      opt.MaxTodos,
			CreateLimiter: ratelimit.New(opt.TodoCreatesPerMinute, opt.TodoCreateBurst),
		},
		DataService: &wxdata.Service{
			Apps:              dataApps,
			Keys:              keys,
			Store:             db.NewDataStore(store),
			Log:               log,
			StaleCheckLimiter: ratelimit.New(6, 3),
			CallLimiter:       ratelimit.New(20, cmp.Or(opt.WeChatCallBurst, 5)),
		},
	}
	adminStore := db.NewAdminStore(store)
	authSvc.Operators = adminStore
	resolver.AdminService = &admin.Service{Store: adminStore, Log: log}
	resolver.Live = &live.Hub{
		Lists:                     db.NewTodoStore(store),
		Buffer:                    opt.LiveBuffer,
		MaxSocketsPerUser:         opt.MaxSockets,
		MaxSubscriptionsPerSocket: opt.MaxSubscriptions,
		Log:                       log,
	}
	if opt.Resolver != nil {
		opt.Resolver(resolver)
	}
	liveOpt := opt.Live
	liveOpt.Hub, liveOpt.Auth = resolver.Live, authSvc
	liveOpt.RequestTimeout = or(liveOpt.RequestTimeout, or(opt.RequestTimeout, 15*time.Second))
	webCfg := web.Config{
		Log:            log,
		GraphQL:        graph.NewHandler(resolver, graph.Options{Log: log, Introspection: opt.Introspection, Live: &liveOpt}),
		Ready:          store.Ping,
		Auth:           authSvc.Middleware,
		RequestTimeout: or(opt.RequestTimeout, 15*time.Second),
		TrustProxy:     opt.TrustProxy,
	}
	if opt.AdminUI {
		webCfg.Admin = adminui.New()
	}
	h := web.New(webCfg)
	s := &Server{
		Client:      NewClient(h),
		Handler:     h,
		WeChat:      wx,
		DatabaseURL: databaseURL,
		DB:          dbtest.Open(tb, databaseURL),
		Logs:        logs,
		Auth:        authSvc,
		Hub:         resolver.Live,
		Admin:       resolver.AdminService,
		store:       store,
	}
	listenCtx, stopListening := context.WithCancel(ctx)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		store.Listen(listenCtx, resolver.Live, log)
	}()
	// Changes made before the listener listens would reach no subscriber.
	select {
	case <-resolver.Live.Ready():
	case <-time.After(30 * time.Second):
		stopListening()
		store.Close()
		tb.Fatal("the live listener did not listen within 30s")
	}
	tb.Cleanup(func() {
		resolver.Live.Shutdown() // sockets are hijacked: closing the server does not end them
		if s.http != nil {
			s.http.Close()
		}
		stopListening()
		<-listening
		s.CloseDatabase()
		if tb.Failed() {
			tb.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

// OperatorToken issues an operator token for name, as `wxtodo admin
// token -name NAME` does, and returns it.
func (s *Server) OperatorToken(tb testing.TB, name string) string {
	tb.Helper()
	token, _, err := s.Admin.IssueToken(context.Background(), admin.Actor{Operator: admin.CLI}, name, 0)
	if err != nil {
		tb.Fatalf("operator token for %s: %v", name, err)
	}
	return token
}

// CloseDatabase closes the server's connection pool, as an outage would
// (closing it again is harmless).
func (s *Server) CloseDatabase() {
	s.closeOnce.Do(func() { s.store.Close() })
}

// Count returns how many rows of table match where ("" for all), with
// args for its $1, $2, ...
func (s *Server) Count(tb testing.TB, table, where string, args ...any) int {
	tb.Helper()
	return dbtest.Count(tb, s.DB, table, where, args...)
}

// Dump renders every row of the server's tables as text, to check what a
// database dump would reveal.
func (s *Server) Dump(tb testing.TB) string {
	tb.Helper()
	return dbtest.Dump(tb, s.DB, "users", "identities", "sessions", "login_codes", "todos", "wechat_tokens", "operator_tokens", "admin_audit")
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Aliases returns n aliased copies of field, a0: field a1: field ...
func Aliases(field string, n int) string {
	var b []byte
	for i := 0; i < n; i++ {
		b = fmt.Appendf(b, " a%d: %s", i, field)
	}
	return string(b)
}
