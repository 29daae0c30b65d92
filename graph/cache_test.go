package graph

import (
	"context"
	"strings"
	"testing"
)

// TestTextCacheBoundsTheTextItHolds: the cache evicts the least recently
// used documents to stay within its text budget, and keeps no document
// over MaxCachedQuery bytes.
func TestTextCacheBoundsTheTextItHolds(t *testing.T) {
	ctx := context.Background()
	doc := func(c byte) string { return strings.Repeat(string(c), 100) }
	c := newTextCache[int](1000, 300)
	c.Add(ctx, doc('a'), 1)
	c.Add(ctx, doc('b'), 2)
	c.Add(ctx, doc('c'), 3)
	if _, ok := c.Get(ctx, doc('a')); !ok { // a is now the most recent
		t.Fatalf("a was evicted within the budget")
	}
	c.Add(ctx, doc('d'), 4) // over the budget: b, the least recent, goes
	if _, ok := c.Get(ctx, doc('b')); ok {
		t.Errorf("b is still cached past the budget")
	}
	for _, k := range []byte("acd") {
		if _, ok := c.Get(ctx, doc(k)); !ok {
			t.Errorf("%c was evicted", k)
		}
	}
	if c.bytes > c.budget {
		t.Errorf("holds %d bytes of text, budget %d", c.bytes, c.budget)
	}
	c.Add(ctx, doc('a'), 5) // already there: nothing changes
	if c.bytes != 300 {
		t.Errorf("re-adding a cached document: %d bytes held, want 300", c.bytes)
	}

	big := strings.Repeat("x", MaxCachedQuery+1)
	c.Add(ctx, big, 6)
	if _, ok := c.Get(ctx, big); ok {
		t.Errorf("a document over MaxCachedQuery was cached")
	}
}
