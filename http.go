package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"wxtodo/auth"
	"wxtodo/errcode"
	"wxtodo/metrics"
	"wxtodo/playground"
	"wxtodo/reqctx"
	"wxtodo/wechat"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// HTTP-level error codes, in extensions.code of the JSON error body.
const (
	codeBodyTooLarge    = "REQUEST_TOO_LARGE"
	codeBadRequest      = "BAD_REQUEST"
	codeUnsupportedType = "UNSUPPORTED_MEDIA_TYPE"
	codeMethod          = "METHOD_NOT_ALLOWED"
)

type pinger interface {
	Ping(ctx context.Context) error
}

type routes struct {
	log        *slog.Logger
	graphql    http.Handler
	auth       *auth.Service
	db         pinger
	playground bool
	signInCode string // the playground's sign-in button (development mode)
	// devData, in development mode only, serves sample encrypted data.
	devData        *auth.Data
	requestTimeout time.Duration
	trustProxy     bool
	metrics        *metrics.Metrics // nil: no /metrics and nothing counted
}

// handler returns the server's whole HTTP surface.
func (rt *routes) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/query", rt.guardBody(rt.graphql))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", rt.ready)
	if rt.metrics != nil {
		mux.Handle("GET /metrics", rt.metrics.Handler())
	}
	if rt.devData != nil {
		mux.HandleFunc("GET /dev/sample-encrypted-data", rt.sampleEncryptedData)
	}
	if rt.playground {
		playground.Register(mux, playground.Options{Endpoint: "/query", SignInCode: rt.signInCode})
	}
	return rt.withRequest(rt.recoverPanics(mux))
}

func (rt *routes) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := rt.db.Ping(ctx); err != nil {
		rt.log.WarnContext(ctx, "readiness check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// sampleEncryptedData hands the signed-in caller encryptedData and iv
// sealed with their session_key and the mock's AppID, as wx.getWeRunData
// would: what to pass to decryptData in development.
func (rt *routes) sampleEncryptedData(w http.ResponseWriter, r *http.Request) {
	c, err := auth.Require(r.Context())
	if err != nil {
		writeError(w, http.StatusUnauthorized, errcode.Unauthenticated, "send Authorization: Bearer <token> (log in first)")
		return
	}
	enc, iv, err := rt.devData.Sample(r.Context(), c.User.ID, wechat.Mock{}.SampleEncryptedData)
	if err != nil {
		if errcode.Code(err) == errcode.SessionKeyStale {
			writeError(w, http.StatusConflict, errcode.SessionKeyStale, "no session_key for this user: log in again")
			return
		}
		rt.log.ErrorContext(r.Context(), "sample encrypted data", "err", err)
		writeError(w, http.StatusInternalServerError, errcode.Internal, "internal server error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"encryptedData": enc,
		"iv":            iv,
		"try":           `query ($input: DecryptDataInput!) { decryptData(input: $input) } with {"input": {"encryptedData": ..., "iv": ...}}`,
	})
}

// withRequest gives every request an ID (the client's X-Request-Id when it
// looks sane), its client IP, a deadline and its credentials, and logs it
// when done. The log has the
// path but never the query string or headers, which can hold a token or a
// login code.
func (rt *routes) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = reqctx.NewID()
		}
		w.Header().Set("X-Request-Id", id)
		// One derived request for everything a handler needs: the ID and
		// client IP (logs, rate limit), the deadline (it reaches WeChat and
		// the database) and the credentials for @auth.
		ctx, cancel := context.WithTimeout(r.Context(), rt.requestTimeout)
		defer cancel()
		ctx = reqctx.With(ctx, id, rt.clientIP(r))
		ctx = rt.auth.WithCredentials(ctx, r.Header.Get("Authorization"))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if rt.metrics != nil {
			rt.metrics.ObserveHTTP(route(r.URL.Path), sw.status, time.Since(start))
		}
		if !rt.log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		rt.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client_ip", reqctx.ClientIP(ctx)),
		)
	})
}

// route names a request's path for metrics: one of the server's routes or
// "other", so that scanners probing random paths add no series.
func route(path string) string {
	switch path {
	case "/query", "/healthz", "/readyz", "/metrics", "/":
		return path
	}
	if path == "/dev/sample-encrypted-data" {
		return path
	}
	if strings.HasPrefix(path, playground.AssetPrefix) {
		return playground.AssetPrefix
	}
	return "other"
}

func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (rt *routes) clientIP(r *http.Request) string {
	if rt.trustProxy {
		// The proxy appends the address it saw to whatever the client
		// sent: only the last entry is not the client's own word.
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
		if ip := net.ParseIP(strings.TrimSpace(r.Header.Get("X-Real-IP"))); ip != nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// recoverPanics keeps a panic outside the GraphQL executor (which has its
// own recovery) from killing the connection without an answer.
func (rt *routes) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				rt.log.ErrorContext(r.Context(), "panic in handler", "panic", p, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "internal server error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// guardBody admits GET, and POST with a JSON body of at most MaxBodyBytes
// that parses; anything else gets a GraphQL-shaped error with a code.
func (rt *routes) guardBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			next.ServeHTTP(w, r)
			return
		case http.MethodPost:
		default:
			w.Header().Set("Allow", "GET, POST")
			writeError(w, http.StatusMethodNotAllowed, codeMethod, "use POST (or GET for queries)")
			return
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedType, "Content-Type must be application/json")
			return
		}
		if r.ContentLength > MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, codeBodyTooLarge, "request body is larger than 1 MiB")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, http.StatusRequestEntityTooLarge, codeBodyTooLarge, "request body is larger than 1 MiB")
				return
			}
			writeError(w, http.StatusBadRequest, codeBadRequest, "could not read the request body")
			return
		}
		if !json.Valid(body) {
			writeError(w, http.StatusBadRequest, codeBadRequest, "request body is not valid JSON")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}
