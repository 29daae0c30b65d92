package auth

import (
	"context"
	"net/http"
)

// Middleware puts each request's Authorization header into its context
// for Require, and in WeChat Cloud Hosting mode (PlatformAppIDs set) the
// caller the platform's X-WX-* headers name. It never rejects a request:
// only @auth fields fail without a valid caller, and the credentials are
// checked on first use only. With the mode off the X-WX-* headers are
// ignored entirely: anyone can send them.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := &request{svc: s, header: r.Header.Get("Authorization")}
		if s.PlatformAppIDs != nil {
			rq.platform = platformIdentity(r.Header)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, rq)))
	})
}
