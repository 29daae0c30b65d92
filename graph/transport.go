package graph

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	gqlcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"wxtodo/errcode"
)

// getTransport serves queries over GET (automatic persisted queries let a
// phone send a short hash). It is gqlgen's transport.GET but for its
// answers, which all carry a code: a mutation over GET is 405
// METHOD_NOT_ALLOWED with Allow: POST, and parameters that do not decode
// are BAD_REQUEST without an echo of them. A query of the caller's list
// alone has an ETag, and If-None-Match gets 304 while it holds (see
// listTags).
type getTransport struct {
	tags *listTags
}

var _ graphql.Transport = getTransport{}

func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (t getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	params := &graphql.RawParams{
		Query:         q.Get("query"),
		OperationName: q.Get("operationName"),
		Headers:       r.Header,
	}
	params.ReadTime.Start = graphql.Now()
	for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if v := q.Get(name); v != "" {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(into); err != nil {
				writeResponse(w, http.StatusBadRequest, exec, r, requestError(errcode.BadRequest, name+" is not a JSON object"))
				return
			}
		}
	}
	params.ReadTime.End = graphql.Now()

	ctx := r.Context()
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		writeResponse(w, statusFor(errs), exec, r.WithContext(graphql.WithOperationContext(ctx, opCtx)), errs)
		return
	}
	if opCtx.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeResponse(w, http.StatusMethodNotAllowed, exec, r, requestError(errcode.MethodNotAllowed, "send a "+string(opCtx.Operation.Operation)+" with POST; GET serves queries only"))
		return
	}
	if tag, ok := t.tags.tag(ctx, opCtx, q.Get("variables")); ok {
		h := w.Header()
		h.Set("ETag", tag)
		// Each device keeps its own copy and asks every time.
		h.Set("Cache-Control", "private, no-cache")
		h.Add("Vary", "Authorization")
		if notModified(r, tag) {
			h.Del("Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	writeJSON(w, responses(ctx))
}

// unsupported answers the requests no transport takes (gqlgen's own answer
// has no code): a WebSocket upgrade, for one.
type unsupported struct{}

var _ graphql.Transport = unsupported{}

func (unsupported) Supports(*http.Request) bool { return true }

func (unsupported) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	w.Header().Set("Content-Type", "application/json")
	writeResponse(w, http.StatusBadRequest, exec, r, requestError(errcode.BadRequest, "send GraphQL as a POST of application/json, or a query as GET"))
}

func requestError(code, msg string) gqlerror.List {
	return gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}}
}

// statusFor is gqlgen's: 422 when the document cannot run at all.
func statusFor(errs gqlerror.List) int {
	if gqlcode.GetErrorKind(errs) == gqlcode.KindProtocol {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

func writeResponse(w http.ResponseWriter, status int, exec graphql.GraphExecutor, r *http.Request, errs gqlerror.List) {
	w.WriteHeader(status)
	writeJSON(w, exec.DispatchError(r.Context(), errs))
}

func writeJSON(w http.ResponseWriter, resp *graphql.Response) {
	json.NewEncoder(w).Encode(resp) //nolint:errcheck // the client went away
}
