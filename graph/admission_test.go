package graph

import (
	"context"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"wxtodo/errcode"
)

// countingExecutor stands in for gqlgen's executor: it counts the
// operations it is asked to create.
type countingExecutor struct {
	graphql.GraphExecutor
	created int
	work    time.Duration
}

func (e *countingExecutor) CreateOperationContext(_ context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	e.created++
	if p.Query != "{ cached }" { // a cached document costs nothing
		time.Sleep(e.work)
	}
	return &graphql.OperationContext{}, nil
}

// TestLaneHoldsBackNewDocumentsOnly: while the lane is taken, a cached
// document goes through and a new one waits until its deadline (TIMEOUT);
// new work leaves the lane resting after it.
func TestLaneHoldsBackNewDocumentsOnly(t *testing.T) {
	ctx := context.Background()
	cache := newTextCache[*ast.QueryDocument](10, 1<<10)
	cache.Add(ctx, "{ cached }", &ast.QueryDocument{})
	l := newLane(0.01, cache, func(string) *gqlerror.Error { return nil }) // rests 99 times as long as it worked
	inner := &countingExecutor{work: 10 * time.Millisecond}
	exec := laneExecutor{GraphExecutor: inner, lane: l}

	if _, errs := exec.CreateOperationContext(ctx, &graphql.RawParams{Query: "{ new }"}); errs != nil {
		t.Fatalf("a new document with the lane free: %v", errs)
	}
	if len(l.slot) != 1 {
		t.Fatalf("the lane is free right after 10 ms of work; it should rest about a second")
	}

	// A request whose deadline has passed gets through only where it
	// need not wait.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, errs := exec.CreateOperationContext(done, &graphql.RawParams{Query: "{ cached }"}); errs != nil {
		t.Errorf("a cached document while the lane rests: %v", errs)
	}
	_, errs := exec.CreateOperationContext(done, &graphql.RawParams{Query: "{ other }"})
	if len(errs) != 1 || errs[0].Extensions["code"] != errcode.Timeout {
		t.Errorf("a new document while the lane rests, past its deadline: got %v, want one %s error", errs, errcode.Timeout)
	}
	if inner.created != 2 {
		t.Errorf("the executor created %d operations, want 2 (the waiting one never reaches it)", inner.created)
	}
}
