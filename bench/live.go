package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// liveReport is the live-updates table: how long a change takes from the
// write to a subscriber's event (across two instances on PostgreSQL, one
// on SQLite), and what an instance holding many idle sockets costs.
type liveReport struct {
	Instances    int
	Subscribers  int
	Writes       int
	WriteP50     time.Duration // the mutation's own answer
	P50, P99     time.Duration // mutation sent -> event received
	Max          time.Duration
	Lost         int // writes whose event never came
	Sockets      int
	RSSBefore    int64 // the subscriber instance, before the sockets
	RSSWith      int64 // and holding them, idle
	FirstProblem string
}

func (l *liveReport) errors() int {
	if l == nil {
		return 0
	}
	n := l.Lost
	if l.FirstProblem != "" {
		n++
	}
	return n
}

// liveTable measures live updates on the instance a (the subscribers'),
// with the writes sent to a second instance on PostgreSQL.
func liveTable(ctx context.Context, o *options, postgres bool, tmp string, bins, vars map[string]string, a *target, f *fixture) (*liveReport, error) {
	lr := &liveReport{Instances: 1, Subscribers: min(50, len(f.Users)), Writes: o.liveWrites, Sockets: min(o.liveSockets, len(f.Users))}
	writeTo := a.proc.url
	if postgres {
		b, err := startProcess(ctx, "wxtodo-b", bins["wxtodo"], filepath.Join(tmp, "pg-wxtodo-b.log"), "/readyz", vars)
		if err != nil {
			return nil, err
		}
		defer b.stop()
		writeTo, lr.Instances = b.url, 2
	}
	if err := latency(ctx, lr, a.proc.url, writeTo, f); err != nil {
		return lr, err
	}
	runtime.GC()
	time.Sleep(time.Second)
	var err error
	if lr.RSSBefore, err = currentRSS(a.proc.pid()); err != nil {
		return lr, err
	}
	socks, err := openSockets(ctx, a.proc.url, f, lr.Sockets)
	defer func() {
		for _, s := range socks {
			s.conn.CloseNow()
		}
	}()
	if err != nil {
		return lr, err
	}
	time.Sleep(3 * time.Second) // idle
	lr.RSSWith, err = currentRSS(a.proc.pid())
	return lr, err
}

// socket is one benchmark subscriber.
type socket struct {
	conn *websocket.Conn
	user int
}

// subscribe opens a graphql-transport-ws socket for user and starts
// todoChanged on it.
func subscribe(ctx context.Context, baseURL string, f *fixture, user int) (*socket, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/query", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]string{"Authorization": "Bearer " + f.Users[user].Token}})
	sub, _ := json.Marshal(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]string{"query": "subscription { todoChanged { kind todo { title } } }"}})
	if err := conn.Write(dctx, websocket.MessageText, init); err != nil {
		conn.CloseNow()
		return nil, err
	}
	_, b, err := conn.Read(dctx)
	if err != nil || !strings.Contains(string(b), "connection_ack") {
		conn.CloseNow()
		return nil, fmt.Errorf("connection_init: %s %v", b, err)
	}
	if err := conn.Write(dctx, websocket.MessageText, sub); err != nil {
		conn.CloseNow()
		return nil, err
	}
	return &socket{conn: conn, user: user}, nil
}

// latency subscribes lr.Subscribers users on subURL, sends lr.Writes
// createTodos for them to writeURL from 4 clients, and times each from
// the mutation's send to its event.
func latency(ctx context.Context, lr *liveReport, subURL, writeURL string, f *fixture) error {
	var socks []*socket
	defer func() {
		for _, s := range socks {
			s.conn.CloseNow()
		}
	}()
	for u := range lr.Subscribers {
		s, err := subscribe(ctx, subURL, f, u)
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		socks = append(socks, s)
	}
	time.Sleep(500 * time.Millisecond) // the subscriptions start

	var (
		sent     sync.Map // title -> time sent
		mu       sync.Mutex
		lat      []time.Duration
		received atomic.Int64
	)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var readers sync.WaitGroup
	for _, s := range socks {
		readers.Go(func() {
			for {
				_, b, err := s.conn.Read(rctx)
				if err != nil {
					return
				}
				now := time.Now()
				var m struct {
					Type    string
					Payload struct {
						Data struct {
							TodoChanged struct{ Todo struct{ Title string } }
						}
					}
				}
				if json.Unmarshal(b, &m) != nil {
					continue
				}
				switch m.Type {
				case "ping":
					s.conn.Write(rctx, websocket.MessageText, []byte(`{"type":"pong"}`)) //nolint:errcheck // a lost socket shows as lost events
				case "next":
					if t0, ok := sent.Load(m.Payload.Data.TodoChanged.Todo.Title); ok {
						mu.Lock()
						lat = append(lat, now.Sub(t0.(time.Time)))
						mu.Unlock()
						received.Add(1)
					}
				}
			}
		})
	}

	c := newClient(writeURL, 4)
	defer c.close()
	var (
		next     atomic.Int64
		wmu      sync.Mutex
		writeLat []time.Duration
		problem  atomic.Value
	)
	var writers sync.WaitGroup
	for range 4 {
		writers.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(lr.Writes) || ctx.Err() != nil {
					return
				}
				u := f.Users[rand.IntN(lr.Subscribers)]
				title := fmt.Sprintf("live-%d", i)
				body, _ := json.Marshal(map[string]any{"query": `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`, "variables": map[string]string{"t": title}})
				t0 := time.Now()
				sent.Store(title, t0)
				if _, err := c.do(ctx, request{body: body, token: u.Token}); err != nil {
					problem.CompareAndSwap(nil, err.Error())
					continue
				}
				wmu.Lock()
				writeLat = append(writeLat, time.Since(t0))
				wmu.Unlock()
				// A paced load: latency, not throughput, is the point.
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	writers.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for received.Load() < int64(lr.Writes) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	for _, s := range socks {
		s.conn.CloseNow()
	}
	readers.Wait()
	lr.Lost = lr.Writes - int(received.Load())
	if p, ok := problem.Load().(string); ok {
		lr.FirstProblem = p
	}
	if len(lat) == 0 {
		return errors.New("live: no event arrived")
	}
	lr.P50, lr.P99 = percentile(lat, 50), percentile(lat, 99)
	lr.Max = lat[len(lat)-1] // percentile sorted it
	lr.WriteP50 = percentile(writeLat, 50)
	return nil
}

// openSockets opens n idle subscriber sockets, one per user, 50 at a time.
func openSockets(ctx context.Context, baseURL string, f *fixture, n int) ([]*socket, error) {
	socks := make([]*socket, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			socks[i], errs[i] = subscribe(ctx, baseURL, f, i)
		})
	}
	wg.Wait()
	var open []*socket
	for _, s := range socks {
		if s != nil {
			open = append(open, s)
		}
	}
	return open, errors.Join(errs...)
}

func (l *liveReport) markdown(b *strings.Builder, kind string) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	where := "the same instance"
	if l.Instances == 2 {
		where = "another instance (PostgreSQL's NOTIFY carries it across)"
	}
	p("\n### Live updates (%s)\n\n", kind)
	p("%d createTodo mutations sent to %s for %d subscribed users, 4 clients, each write 2 ms apart; "+
		"time from sending the mutation to the subscriber's event:\n\n", l.Writes, where, l.Subscribers)
	p("| write answered p50 | event p50 | event p99 | event max | events lost |\n|--:|--:|--:|--:|--:|\n")
	p("| %s | %s | %s | %s | %d |\n\n", fmtDur(l.WriteP50), fmtDur(l.P50), fmtDur(l.P99), fmtDur(l.Max), l.Lost)
	per := float64(l.RSSWith-l.RSSBefore) / float64(max(1, l.Sockets))
	p("| idle sockets held | RSS before | RSS with them | per socket |\n|--:|--:|--:|--:|\n")
	p("| %s | %.1f MiB | %.1f MiB | %.1f KiB |\n\n", thousands(float64(l.Sockets)), mib(l.RSSBefore), mib(l.RSSWith), per/1024)
	if l.FirstProblem != "" {
		p("A write failed: %s\n\n", l.FirstProblem)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
