package ratelimit

import (
	"sync"
	"testing"
	"time"
)

func TestLimiterAllowsBurstPerKey(t *testing.T) {
	l := New(60, 3)
	for i := 0; i < 3; i++ {
		if !l.Allow("a") {
			t.Fatalf("event %d within the burst refused", i)
		}
	}
	if l.Allow("a") {
		t.Errorf("event past the burst allowed")
	}
	if !l.Allow("b") {
		t.Errorf("another key is limited by a's events")
	}
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	l := New(0, 0)
	if l != nil {
		t.Fatalf("New(0, 0): got a limiter, want nil (no limit)")
	}
	for i := 0; i < 100; i++ {
		if !l.Allow("a") {
			t.Fatal("nil limiter refused")
		}
	}
}

func TestLimiterConcurrentUse(t *testing.T) {
	l := New(60, 10)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Allow("k") {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed < 10 || allowed > 11 {
		t.Errorf("got %d of 50 concurrent events allowed, want the burst of 10 (11 if a token refilled)", allowed)
	}
}

func TestReserveHintsWhenToRetry(t *testing.T) {
	l := New(60, 1) // one a second
	if ok, wait := l.Reserve("k"); !ok || wait != 0 {
		t.Fatalf("first event: got %v, %v; want allowed", ok, wait)
	}
	ok, wait := l.Reserve("k")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("second event at once: got %v, %v; want refused with a wait in (0, 1s]", ok, wait)
	}
	// A refused event spends nothing: the wait does not grow.
	if _, again := l.Reserve("k"); again > wait {
		t.Errorf("a refused event pushed the wait from %v to %v", wait, again)
	}
	if ok, _ := (*Limiter)(nil).Reserve("k"); !ok {
		t.Errorf("a nil limiter refused")
	}
}
