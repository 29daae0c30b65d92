package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"wxtodo/errcode"
)

// DefaultNewDocumentShare is the share of one CPU that new documents may
// take (see lane).
const DefaultNewDocumentShare = 0.15

// lane admits the work of documents the validated-document cache does not
// hold (the document limits, then gqlgen's parse and validation; refused
// before APQ, so a persisted query was checked when it was registered)
// one request at a time,
// and to a share of one CPU: after work that took d, the lane stays
// closed for d*(1/share-1). That work is what an attacker can make
// expensive (fresh text each time defeats every cache), and a real
// client's documents are few and cached after their first request, so
// under attack only new documents wait while cached ones go on at full
// speed. Waiting ends with the request's deadline.
type lane struct {
	slot chan struct{}
	rest float64 // closed time per unit of work
	seen graphql.Cache[*ast.QueryDocument]
	// check refuses a new document before gqlgen validates it.
	check func(query string) *gqlerror.Error
}

func newLane(share float64, validated graphql.Cache[*ast.QueryDocument], check func(string) *gqlerror.Error) *lane {
	if share <= 0 || share > 1 {
		share = DefaultNewDocumentShare
	}
	return &lane{slot: make(chan struct{}, 1), rest: 1/share - 1, seen: validated, check: check}
}

// admit wraps a transport so that its requests' new documents pass the lane.
func (l *lane) admit(t graphql.Transport) graphql.Transport {
	return admitted{Transport: t, lane: l}
}

type admitted struct {
	graphql.Transport
	lane *lane
}

func (a admitted) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	a.Transport.Do(w, r, laneExecutor{GraphExecutor: exec, lane: a.lane})
}

type laneExecutor struct {
	graphql.GraphExecutor
	lane *lane
}

func (e laneExecutor) CreateOperationContext(ctx context.Context, params *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	l := e.lane
	// A hash-only persisted query was admitted when it was registered.
	if params.Query == "" || l.cached(ctx, params.Query) {
		return e.GraphExecutor.CreateOperationContext(ctx, params)
	}
	select {
	case l.slot <- struct{}{}:
	case <-ctx.Done():
		err := gqlerror.Errorf("the server is busy with new documents; send the request again")
		err.Extensions = map[string]any{"code": errcode.Timeout}
		return &graphql.OperationContext{RawQuery: params.Query}, gqlerror.List{err}
	}
	if l.cached(ctx, params.Query) {
		// Validated while this request waited (the same document from
		// many clients at once): no work, so no rest.
		<-l.slot
		return e.GraphExecutor.CreateOperationContext(ctx, params)
	}
	start := time.Now()
	defer func() {
		rest := time.Duration(float64(time.Since(start)) * l.rest)
		time.AfterFunc(rest, func() { <-l.slot })
	}()
	if err := l.check(params.Query); err != nil {
		return &graphql.OperationContext{RawQuery: params.Query}, gqlerror.List{err}
	}
	return e.GraphExecutor.CreateOperationContext(ctx, params)
}

func (l *lane) cached(ctx context.Context, query string) bool {
	_, ok := l.seen.Get(ctx, query)
	return ok
}
