package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"wxtodo/errcode"
)

// guardBody admits GET, and POST with a JSON body of at most MaxBodyBytes
// that parses; anything else gets a GraphQL-shaped error with a code.
func guardBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			next.ServeHTTP(w, r)
			return
		case http.MethodPost:
		default:
			w.Header().Set("Allow", "GET, POST")
			writeError(w, http.StatusMethodNotAllowed, errcode.MethodNotAllowed, "use POST (or GET for queries)")
			return
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, errcode.UnsupportedMediaType, "Content-Type must be application/json")
			return
		}
		if r.ContentLength > MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, errcode.RequestTooLarge, "request body is larger than 1 MiB")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, http.StatusRequestEntityTooLarge, errcode.RequestTooLarge, "request body is larger than 1 MiB")
				return
			}
			writeError(w, http.StatusBadRequest, errcode.BadRequest, "could not read the request body")
			return
		}
		if !json.Valid(body) {
			writeError(w, http.StatusBadRequest, errcode.BadRequest, "request body is not valid JSON")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
