package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"wxtodo/todo"
)

type fakeLists struct{ version, count int }

func (f fakeLists) Version(context.Context, int64) (int, error) { return f.version, nil }
func (f fakeLists) Count(context.Context, int64, todo.Filter) (int, error) {
	return f.count, nil
}

type counts struct {
	mu                                        sync.Mutex
	sockets, subs                             int
	delivered, dropped, resynced, reconnected int
}

func (c *counts) ObserveSockets(d int)       { c.mu.Lock(); c.sockets += d; c.mu.Unlock() }
func (c *counts) ObserveSubscriptions(d int) { c.mu.Lock(); c.subs += d; c.mu.Unlock() }
func (c *counts) ObserveFeedLost()           { c.mu.Lock(); c.reconnected++; c.mu.Unlock() }
func (c *counts) ObserveEvent(o string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch o {
	case "delivered":
		c.delivered++
	case "dropped":
		c.dropped++
	case "resynced":
		c.resynced++
	}
}

// closer records how a socket was closed.
type closer struct {
	mu     sync.Mutex
	code   int
	reason string
}

func (c *closer) close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code, c.reason = code, reason
}

func (c *closer) got() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.reason
}

func open(tb testing.TB, h *Hub, user, session int64) (*Socket, *closer) {
	tb.Helper()
	c := &closer{}
	s, err := h.Open(user, session, c.close, nil)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(s.Release)
	return s, c
}

func subscribe(tb testing.TB, h *Hub, s *Socket) <-chan Change {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	ch, err := Subscribe(ctx, h, s, func(c Change) Change { return c })
	if err != nil {
		tb.Fatalf("subscribe: %v", err)
	}
	return ch
}

func next(tb testing.TB, ch <-chan Change) Change {
	tb.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(2 * time.Second):
		tb.Fatal("no change within 2s")
		return Change{}
	}
}

// TestSlowSubscriberGetsResync: a subscriber that stops reading holds up
// neither Publish nor the user's other subscriber; once its buffer
// overflowed, it gets a RESYNC with the list as it is, then new changes.
func TestSlowSubscriberGetsResync(t *testing.T) {
	obs := &counts{}
	h := &Hub{Buffer: 2, Lists: fakeLists{version: 42, count: 7}, Observer: obs}
	phone, _ := open(t, h, 1, 10)
	pc, _ := open(t, h, 1, 11)
	slow := subscribe(t, h, phone)
	fast := subscribe(t, h, pc)
	for v := int64(1); v <= 10; v++ {
		done := make(chan struct{})
		go func() { h.Publish(Change{UserID: 1, Kind: Created, TodoID: v, Version: v}); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatalf("Publish of change %d blocked", v)
		}
		if got := next(t, fast); got.Version != v {
			t.Fatalf("the reading subscriber got version %d, want %d", got.Version, v)
		}
	}
	// The slow one's pump held one change, its buffer two more; the
	// rest were dropped.
	var got []Change
	for {
		c := next(t, slow)
		got = append(got, c)
		if c.Kind == Resync || len(got) > 4 {
			break
		}
	}
	last := got[len(got)-1]
	if last.Kind != Resync || last.Version != 42 || last.TotalCount != 7 || last.TodoID != 0 || last.Todo != nil {
		t.Fatalf("slow subscriber got %+v, want a RESYNC (version 42, count 7) after at most 3 changes", got)
	}
	h.Publish(Change{UserID: 1, Kind: Deleted, TodoID: 99, Version: 43})
	if c := next(t, slow); c.Kind != Deleted || c.TodoID != 99 {
		t.Errorf("after the resync: got %+v, want the new change", c)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.dropped == 0 || obs.resynced != 1 || obs.delivered < 11 {
		t.Errorf("observed %d dropped, %d resynced, %d delivered; want some, 1, at least 11", obs.dropped, obs.resynced, obs.delivered)
	}
}

// TestChangesGoToTheirUserOnly: a change reaches its user's subscribers
// and no one else's.
func TestChangesGoToTheirUserOnly(t *testing.T) {
	h := &Hub{}
	a, _ := open(t, h, 1, 10)
	b, _ := open(t, h, 2, 20)
	alice, bob := subscribe(t, h, a), subscribe(t, h, b)
	h.Publish(Change{UserID: 1, Kind: Created, TodoID: 5})
	if c := next(t, alice); c.TodoID != 5 {
		t.Errorf("alice got %+v", c)
	}
	select {
	case c := <-bob:
		t.Errorf("bob got alice's %+v", c)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestResyncReachesEverySubscriberAndRechecksSessions: after the feed
// is back, every subscriber gets a RESYNC and every socket's session is
// checked again.
func TestResyncReachesEverySubscriberAndRechecksSessions(t *testing.T) {
	obs := &counts{}
	h := &Hub{Lists: fakeLists{version: 3, count: 1}, Observer: obs}
	var rechecked sync.WaitGroup
	rechecked.Add(2)
	var subs []<-chan Change
	for user := int64(1); user <= 2; user++ {
		s, err := h.Open(user, user*10, func(int, string) {}, rechecked.Done)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Release()
		subs = append(subs, subscribe(t, h, s))
	}
	h.FeedLost()
	h.Resync()
	for i, ch := range subs {
		if c := next(t, ch); c.Kind != Resync || c.Version != 3 {
			t.Errorf("subscriber %d got %+v, want RESYNC", i, c)
		}
	}
	done := make(chan struct{})
	go func() { rechecked.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("not every socket's session was checked again")
	}
	if obs.reconnected != 1 {
		t.Errorf("observed %d lost feeds, want 1", obs.reconnected)
	}
}

// TestEndSessionClosesThatSessionsSockets with 4401, and no other.
func TestEndSessionClosesThatSessionsSockets(t *testing.T) {
	h := &Hub{}
	_, ended := open(t, h, 1, 10)
	_, other := open(t, h, 1, 11)
	h.EndSession(10)
	if code, _ := ended.got(); code != CloseUnauthorized {
		t.Errorf("ended session's socket: code %d, want %d", code, CloseUnauthorized)
	}
	if code, _ := other.got(); code != 0 {
		t.Errorf("the other session's socket was closed with %d", code)
	}
}

// TestSocketAndSubscriptionLimits: a user's sockets and a socket's
// subscriptions are bounded; a released socket or an ended subscription
// frees its place.
func TestSocketAndSubscriptionLimits(t *testing.T) {
	obs := &counts{}
	h := &Hub{MaxSocketsPerUser: 2, MaxSubscriptionsPerSocket: 1, Observer: obs}
	first, _ := open(t, h, 1, 10)
	open(t, h, 1, 11)
	if _, err := h.Open(1, 12, func(int, string) {}, nil); !errors.Is(err, ErrTooManySockets) {
		t.Errorf("third socket: %v, want ErrTooManySockets", err)
	}
	open(t, h, 2, 20) // another user's
	first.Release()
	third, _ := open(t, h, 1, 12)

	ctx, cancel := context.WithCancel(context.Background())
	if _, err := Subscribe(ctx, h, third, func(c Change) Change { return c }); err != nil {
		t.Fatal(err)
	}
	if _, err := Subscribe(context.Background(), h, third, func(c Change) Change { return c }); !errors.Is(err, ErrTooManySubscriptions) {
		t.Errorf("second subscription: %v, want ErrTooManySubscriptions", err)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for {
		ctx, stop := context.WithCancel(context.Background())
		_, err := Subscribe(ctx, h, third, func(c Change) Change { return c })
		stop()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an ended subscription did not free its place: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if sockets, _ := h.Counts(); sockets != 3 {
		t.Errorf("%d sockets open, want 3", sockets)
	}
}

// TestShutdownClosesEverySocketWith1012 and refuses new ones.
func TestShutdownClosesEverySocketWith1012(t *testing.T) {
	h := &Hub{}
	_, a := open(t, h, 1, 10)
	_, b := open(t, h, 2, 20)
	h.Shutdown()
	for _, c := range []*closer{a, b} {
		if code, _ := c.got(); code != CloseServiceRestart {
			t.Errorf("code %d, want 1012", code)
		}
	}
	if _, err := h.Open(3, 30, func(int, string) {}, nil); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("open after shutdown: %v, want ErrShuttingDown", err)
	}
}

func TestReasonFitsACloseFrame(t *testing.T) {
	long := ""
	for range 100 {
		long += "é" // two bytes
	}
	if got := Reason(long); len(got) > 123 || len(got) != 122 {
		t.Errorf("Reason cut %d bytes to %d, want 122 (whole characters within 123)", len(long), len(got))
	}
	if got := Reason("short"); got != "short" {
		t.Errorf("Reason(short) = %q", got)
	}
}
