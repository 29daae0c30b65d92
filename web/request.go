package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"wxtodo/errcode"
	"wxtodo/reqctx"
)

// withRequest gives every request an ID (the client's X-Request-Id when it
// looks sane), its client IP and a deadline, and logs and counts it when
// done. The log has the path but never the query string or headers, which
// can hold a token or a login code.
func (s *Server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = reqctx.NewID()
		}
		w.Header().Set("X-Request-Id", id)
		// One derived request for what the handlers need: the ID and
		// client IP (logs, rate limits) and the deadline. A subscription's
		// socket or stream lives for as long as the client keeps it: no
		// deadline. (The connection's read and write timeouts stay until
		// the transport has the request: a socket's go with the hijack, an
		// SSE stream clears them once it has read the body.)
		ctx := r.Context()
		streamed := streams(r)
		if !streamed {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
			defer cancel()
		}
		ctx = reqctx.With(ctx, id, s.clientIP(r))
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if s.cfg.Metrics != nil {
			// The mux has set the pattern it matched on r. A socket's
			// lifetime is no request latency: streams have a route of
			// their own.
			label := route(r.Pattern)
			if streamed {
				label += " (stream)"
			}
			s.cfg.Metrics.ObserveHTTP(label, sw.status, time.Since(start))
		}
		if !s.cfg.Log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		s.cfg.Log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client_ip", reqctx.ClientIP(ctx)),
		)
	})
}

// streams reports whether a request opens a subscription's socket (a
// WebSocket upgrade) or stream (SSE) on /query.
func streams(r *http.Request) bool {
	if r.URL.Path != GraphQLPath {
		return false
	}
	if r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return true
	}
	return r.Method == http.MethodPost && strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// route labels a request for metrics by the route pattern it matched,
// without its method ("GET /readyz" is "/readyz", "GET /{$}" is "/"), or
// "other" when it matched none, so that scanners probing random paths add
// no series.
func route(pattern string) string {
	if pattern == "" {
		return "other"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	return strings.TrimSuffix(pattern, "{$}")
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

// clientIP is the address the request came from: the TCP peer, or behind
// a trusted proxy the address the proxy saw.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
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
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.cfg.Log.ErrorContext(r.Context(), "panic in handler", "panic", p, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, errcode.Internal, "internal server error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and size of the answer, for the log
// and the metrics.
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

// Flush sends what is buffered: an SSE stream's events go out one by one.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
