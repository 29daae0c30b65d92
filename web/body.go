package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"

	"wxtodo/errcode"
)

// guardBody admits GET with sound parameters, and POST with a body of at
// most MaxBodyBytes that is one strict JSON object (see checkJSONObject)
// whose GraphQL members have the right kinds; anything else gets a
// GraphQL-shaped error with a code, whose message never echoes the input.
func guardBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			if err := checkQueryParams(r.URL.RawQuery); err != nil {
				writeError(w, http.StatusBadRequest, errcode.BadRequest, err.Error())
				return
			}
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
		if err := checkJSONObject(body, requestMembers); err != nil {
			writeError(w, http.StatusBadRequest, errcode.BadRequest, "request body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// requestMembers are the members of a GraphQL-over-HTTP request and their
// kinds, checked so that gqlgen never fails to decode a body (its message
// would echo the body).
var requestMembers = map[string]byte{"query": 's', "operationName": 's', "variables": 'o', "extensions": 'o'}

// checkQueryParams checks a GET request's parameters as checkJSONObject
// checks a body: valid UTF-8, each GraphQL parameter at most once, and
// variables and extensions strict JSON objects.
func checkQueryParams(raw string) error {
	params, err := url.ParseQuery(raw)
	if err != nil {
		return errors.New("query string: malformed")
	}
	for name, values := range params {
		if !utf8.ValidString(name) {
			return fmt.Errorf("query string: %w", errNotUTF8)
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return fmt.Errorf("query string: %w", errNotUTF8)
			}
		}
		if _, ok := requestMembers[name]; !ok {
			continue
		}
		if len(values) > 1 {
			return fmt.Errorf("query string: %s appears twice", name)
		}
		if kind := requestMembers[name]; kind == 'o' && values[0] != "" && values[0] != "null" {
			if err := checkJSONObject([]byte(values[0]), nil); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}
