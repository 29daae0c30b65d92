// Package web is wxtodo's HTTP layer: the routes, and what every request
// goes through (a request ID, the client IP, a deadline, panic recovery,
// the access log and metrics), the guard on GraphQL bodies, health and
// readiness, the development sample endpoint, and JSON error bodies in
// GraphQL's shape with an extensions.code from errcode.
//
// Its collaborators come in through Config: it knows neither the database
// nor WeChat.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"wxtodo/errcode"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// Config is what the server is made of.
type Config struct {
	Log *slog.Logger
	// GraphQL serves /query.
	GraphQL http.Handler
	// Ready reports whether the server can serve (the database answers),
	// for /readyz; it is given two seconds.
	Ready func(ctx context.Context) error
	// Auth puts a request's credentials into its context; it wraps the
	// routes that act for a caller (/query and the development sample).
	Auth func(http.Handler) http.Handler
	// Metrics, when set, counts every request and serves /metrics.
	Metrics Metrics
	// Playground, when set, serves GET / and its files.
	Playground Playground
	// Admin, when set, serves the operators' page at /admin and its files.
	Admin AdminPage
	// DevSample, when set (development mode only), serves
	// /dev/sample-encrypted-data.
	DevSample DevSample
	// RequestTimeout is each request's deadline; it reaches WeChat and the
	// database.
	RequestTimeout time.Duration
	// TrustProxy takes the client IP from the last X-Forwarded-For entry
	// (or X-Real-IP), which a proxy of the operator's own appends.
	TrustProxy bool
}

// Metrics counts requests and serves the metrics (metrics.Metrics).
type Metrics interface {
	// ObserveHTTP records one request; route is one of the server's
	// routes or "other".
	ObserveHTTP(route string, status int, d time.Duration)
	Handler() http.Handler
}

// DevSample hands the signed-in caller sample encrypted data to try
// decryptData with (wxdata.Service in development mode). Errors:
// UNAUTHENTICATED without a caller, SESSION_KEY_STALE when the caller has
// no session_key.
type DevSample interface {
	SampleEncryptedData(ctx context.Context) (encryptedData, iv string, err error)
}

// Playground is an in-browser GraphQL IDE (playground.Playground).
type Playground interface {
	// ServeHTTP serves the page, at GET /, and its files.
	http.Handler
	// AssetPrefix is the path under which it serves its files.
	AssetPrefix() string
}

// AdminPage is the operators' page (adminui.Page): it signs in with an
// operator token of its own, so it needs no credentials from here.
type AdminPage interface {
	// ServeHTTP serves the page, at GET /admin, and its files.
	http.Handler
	// AssetPrefix is the path under which it serves its files.
	AssetPrefix() string
}

// GraphQLPath is where GraphQL is served.
const GraphQLPath = "/query"

// Server is the HTTP surface. Its fields are read-only once built.
type Server struct {
	cfg     Config
	handler http.Handler
}

// New returns the server's whole HTTP surface.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = func(h http.Handler) http.Handler { return h }
	}
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	mux.Handle(GraphQLPath, cfg.Auth(guardBody(cfg.GraphQL)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	if cfg.DevSample != nil {
		mux.Handle("GET /dev/sample-encrypted-data", cfg.Auth(http.HandlerFunc(s.sampleEncryptedData)))
	}
	if cfg.Playground != nil {
		mux.Handle("GET /{$}", cfg.Playground)
		mux.Handle("GET "+cfg.Playground.AssetPrefix(), cfg.Playground)
	}
	if cfg.Admin != nil {
		mux.Handle("GET "+strings.TrimSuffix(cfg.Admin.AssetPrefix(), "/"), cfg.Admin)
		mux.Handle("GET "+cfg.Admin.AssetPrefix(), cfg.Admin)
	}
	s.handler = s.withRequest(s.recoverPanics(withCodes(mux)))
	return s
}

// withCodes answers what the mux matches no route for in GraphQL's error
// shape with a code, as every other error: NOT_FOUND, or
// METHOD_NOT_ALLOWED (with Allow) where the path has routes for other
// methods.
func withCodes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own answer says which it is; only its status and
		// Allow header are kept.
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, errcode.MethodNotAllowed, "this path does not answer this method (see Allow)")
			return
		}
		writeError(w, http.StatusNotFound, errcode.NotFound, "no such path")
	})
}

// headerRecorder keeps a handler's status and headers and drops its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.header }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.cfg.Log.WarnContext(ctx, "readiness check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// sampleEncryptedData hands the signed-in caller encryptedData and iv,
// as wx.getWeRunData would: what to pass to decryptData in development.
func (s *Server) sampleEncryptedData(w http.ResponseWriter, r *http.Request) {
	enc, iv, err := s.cfg.DevSample.SampleEncryptedData(r.Context())
	switch errcode.Code(err) {
	case "":
	case errcode.Unauthenticated:
		writeError(w, http.StatusUnauthorized, errcode.Unauthenticated, "send Authorization: Bearer <token> (log in first)")
		return
	case errcode.SessionKeyStale:
		writeError(w, http.StatusConflict, errcode.SessionKeyStale, "no session_key for this user: log in again")
		return
	default:
		s.cfg.Log.ErrorContext(r.Context(), "sample encrypted data", "err", err)
		writeError(w, http.StatusInternalServerError, errcode.Internal, "internal server error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"encryptedData": enc,
		"iv":            iv,
		"try":           `query ($input: DecryptDataInput!) { decryptData(input: $input) } with {"input": {"encryptedData": ..., "iv": ...}}`,
	})
}
