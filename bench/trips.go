package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// tripsPerRequest is how many requests each operation sends, one at a
// time, to count its round trips.
const tripsPerRequest = 20

// roundTrips counts, on PostgreSQL, the statements each operation sends
// per request on each server, from the counter both export at /metrics
// (wxtodo_db_round_trips_total, a pgx query tracer: BEGIN and COMMIT
// count). Requests go one at a time, with nothing else running.
func roundTrips(ctx context.Context, targets []*target, f *fixture) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, op := range operations() {
		out[op.name] = map[string]float64{}
		for _, t := range targets {
			before, err := readTrips(ctx, t.proc.url)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			for range tripsPerRequest {
				if _, err := t.client.do(ctx, op.next(rng, f)); err != nil {
					return nil, fmt.Errorf("%s %s: %w", t.name, op.name, err)
				}
			}
			after, err := readTrips(ctx, t.proc.url)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			out[op.name][t.name] = float64(after-before) / tripsPerRequest
		}
	}
	return out, nil
}

// readTrips reads wxtodo_db_round_trips_total from the server's /metrics.
func readTrips(ctx context.Context, baseURL string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wxtodo_db_round_trips_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return uint64(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no wxtodo_db_round_trips_total at %s/metrics", baseURL)
}
