package auth

import "net/http"

// Middleware puts each request's Authorization header into its context
// for Require. It never rejects a request: only @auth fields fail without
// a valid token, and the token is checked on first use only.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(s.WithCredentials(r.Context(), r.Header.Get("Authorization"))))
	})
}
