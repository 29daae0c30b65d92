package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// textCache is an LRU cache keyed by document text that bounds the text it
// holds in all, not only its entries: what it keeps for a document (an
// AST, or the text itself) grows with the text, and a server under a soft
// memory limit that caches 1,000 large documents spends its time in the
// garbage collector. Documents over MaxCachedQuery bytes are not kept.
type textCache[T any] struct {
	mu     sync.Mutex
	lru    *simplelru.LRU[string, T]
	bytes  int // text held
	budget int
}

var _ graphql.Cache[any] = (*textCache[any])(nil)

func newTextCache[T any](entries, budget int) *textCache[T] {
	c := &textCache[T]{budget: budget}
	lru, err := simplelru.NewLRU[string, T](entries, func(key string, _ T) { c.bytes -= len(key) })
	if err != nil {
		panic("graph: cache of " + err.Error()) // entries is a positive constant
	}
	c.lru = lru
	return c
}

func (c *textCache[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Get(key)
}

func (c *textCache[T]) Add(_ context.Context, key string, value T) {
	if len(key) > MaxCachedQuery {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru.Contains(key) {
		return
	}
	for c.bytes+len(key) > c.budget && c.lru.Len() > 0 {
		c.lru.RemoveOldest()
	}
	c.bytes += len(key)
	c.lru.Add(key, value)
}
