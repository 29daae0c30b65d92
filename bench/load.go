package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"wxtodo/bench/docs"
)

// request is one GraphQL request: its body and bearer token ("" for none).
type request struct {
	body  []byte
	token string
}

// operation is what the load sends: a new request per call, for a random
// user where one is signed in.
type operation struct {
	name string
	next func(rng *mrand.Rand, f *fixture) request
}

func operations() []operation {
	meBody := docs.Body("Me", docs.Me, nil)
	todosBody := docs.Body("Todos", docs.Todos, map[string]any{"first": 20})
	pick := func(rng *mrand.Rand, f *fixture) *benchUser { return &f.Users[rng.IntN(len(f.Users))] }
	return []operation{
		{"me", func(rng *mrand.Rand, f *fixture) request {
			return request{meBody, pick(rng, f).Token}
		}},
		{"todos(first: 20)", func(rng *mrand.Rand, f *fixture) request {
			return request{todosBody, pick(rng, f).Token}
		}},
		{"createTodo", func(rng *mrand.Rand, f *fixture) request {
			title := "bench todo " + strconv.FormatUint(rng.Uint64()%1e6, 10)
			return request{docs.Body("CreateTodo", docs.CreateTodo, map[string]any{"input": map[string]any{"title": title}}), pick(rng, f).Token}
		}},
		{"updateTodo", func(rng *mrand.Rand, f *fixture) request {
			u := pick(rng, f)
			id := u.Todos[rng.IntN(len(u.Todos))]
			vars := map[string]any{"id": strconv.FormatInt(id, 10), "input": map[string]any{"done": rng.IntN(2) == 0}}
			return request{docs.Body("UpdateTodo", docs.UpdateTodo, vars), u.Token}
		}},
		{"deleteTodo", func(_ *mrand.Rand, f *fixture) request {
			d, ok := f.nextDeletable()
			if !ok {
				// A todo of nobody's: NOT_FOUND, an error the run reports.
				return request{docs.Body("DeleteTodo", docs.DeleteTodo, map[string]any{"id": "9223372036854775807"}), f.Users[0].Token}
			}
			return request{docs.Body("DeleteTodo", docs.DeleteTodo, map[string]any{"id": strconv.FormatInt(d.ID, 10)}), f.Users[d.User].Token}
		}},
		{"login", func(*mrand.Rand, *fixture) request {
			return request{docs.Body("Login", docs.Login, map[string]any{"code": newCode()}), ""}
		}},
	}
}

// newCode returns a fresh wx.login-like code: 32 hex characters.
func newCode() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand never fails
	return hex.EncodeToString(b[:])
}

// client sends requests to one server over kept-alive connections.
type client struct {
	url  string // .../query
	http *http.Client
}

func newClient(baseURL string, conns int) *client {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &client{url: baseURL + "/query", http: &http.Client{Transport: tr, Timeout: 15 * time.Second}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

var (
	dataPrefix   = []byte(`{"data":{`)
	errorsMarker = []byte(`"errors"`)
)

// do sends r and returns the answer, or an error when it is not a
// successful GraphQL answer (HTTP 200, data and no errors).
func (c *client) do(ctx context.Context, r request) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(r.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, dataPrefix) || bytes.Contains(body, errorsMarker) {
		return body, fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
	}
	return body, nil
}

// sample is one measured run of one operation against one server.
type sample struct {
	N         int
	Errors    int
	FirstErrs []string
	Elapsed   time.Duration
	RPS       float64
	P50, P99  time.Duration
	PeakRSS   int64 // bytes; 0 when unknown
}

// runLoad sends requests from conc workers, each one after the other,
// for dur, and measures them.
func runLoad(ctx context.Context, c *client, op operation, f *fixture, conc int, dur time.Duration) *sample {
	type worker struct {
		lat  []time.Duration
		errs int
		msgs []string
	}
	ws := make([]worker, conc)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for i := range ws {
		wg.Add(1)
		go func(w *worker, seed uint64) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(seed, uint64(time.Now().UnixNano())))
			w.lat = make([]time.Duration, 0, 4096)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				r := op.next(rng, f)
				t0 := time.Now()
				_, err := c.do(ctx, r)
				if err != nil {
					if ctx.Err() != nil {
						return // interrupted, not an error of the server
					}
					w.errs++
					if len(w.msgs) < 3 {
						w.msgs = append(w.msgs, err.Error())
					}
					continue
				}
				w.lat = append(w.lat, time.Since(t0))
			}
		}(&ws[i], uint64(i))
	}
	wg.Wait()
	s := &sample{Elapsed: time.Since(start)}
	var all []time.Duration
	for _, w := range ws {
		all = append(all, w.lat...)
		s.Errors += w.errs
		for _, m := range w.msgs {
			if len(s.FirstErrs) < 3 {
				s.FirstErrs = append(s.FirstErrs, m)
			}
		}
	}
	s.N = len(all)
	s.RPS = float64(s.N) / s.Elapsed.Seconds()
	s.P50, s.P99 = percentile(all, 50), percentile(all, 99)
	return s
}

// percentile returns the p-th percentile of ds (sorting it).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (len(ds)*p + 99) / 100
	return ds[max(0, min(i, len(ds))-1)]
}

// median returns the median of xs (the mean of the middle two for an even
// count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
