package errcode

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLimitedSaysWhenToRetry: the message and extensions.retryAfter name
// the same whole number of seconds, rounded up, at least one.
func TestLimitedSaysWhenToRetry(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want int
	}{{2500 * time.Millisecond, 3}, {3 * time.Second, 3}, {time.Millisecond, 1}, {0, 1}} {
		e := Limited(c.wait, "too many")
		if got := e.retrySeconds(); got != c.want {
			t.Errorf("Limited(%v): %d s, want %d", c.wait, got, c.want)
		}
		if c.wait > 0 && e.Extensions()["retryAfter"] != c.want {
			t.Errorf("Limited(%v): retryAfter %v, want %d", c.wait, e.Extensions()["retryAfter"], c.want)
		}
		if !strings.HasSuffix(e.Message, " "+strconv.Itoa(c.want)+" s") || e.Code != RateLimited {
			t.Errorf("Limited(%v): %s %q", c.wait, e.Code, e.Message)
		}
	}
}
