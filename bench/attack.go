package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wxtodo/bench/docs"
	"wxtodo/graph"
)

// attackers is how many clients send the worst document while `me` is
// measured under attack.
const attackers = 8

// attackReport is wxtodo's attack table: what the costliest documents
// cost it, and what they leave of `me`.
type attackReport struct {
	Shapes       []attackShape
	Worst        string  // the shape the attackers send
	MeAlone      float64 // req/s, no attack
	MeAttacked   float64 // req/s, while the attackers send Worst
	AttackRPS    float64 // the attackers' requests answered per second
	MeErrors     int
	MeFirstError string
}

type attackShape struct {
	Name       string
	Bytes      int
	CPU        time.Duration // server CPU per request
	Code       string        // the error code the server answered
	Passes     bool
	Requests   int
	HTTPStatus int
}

// attack measures wxtodo only (the baseline runs no GraphQL): each shape's
// server CPU per request, sent one at a time, then `me` from conc clients
// alone and while attackers clients send the costliest shape.
func attack(ctx context.Context, o *options, t *target, f *fixture) (*attackReport, error) {
	ar := &attackReport{}
	ac := newClient(strings.TrimSuffix(t.client.url, "/query"), attackers)
	defer ac.close()
	n := 0
	for _, a := range docs.Attacks(graph.MaxTokens) {
		const requests = 200
		s := attackShape{Name: a.Name, Passes: a.Passes, Requests: requests, Bytes: len(a.Doc(0))}
		before, err := processCPU(t.proc.pid())
		if err != nil {
			return nil, err
		}
		for range requests {
			n++
			status, code, err := ac.attack(ctx, a.Doc(n))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.Name, err)
			}
			s.HTTPStatus, s.Code = status, code
		}
		after, err := processCPU(t.proc.pid())
		if err != nil {
			return nil, err
		}
		s.CPU = (after - before) / requests
		ar.Shapes = append(ar.Shapes, s)
		if ar.Worst == "" || s.CPU > ar.shape(ar.Worst).CPU {
			ar.Worst = s.Name
		}
		logf("attack %-45s %6d B  %8v CPU per request  %s", a.Name, s.Bytes, s.CPU.Round(time.Microsecond), s.Code)
	}

	me := operations()[0]
	alone := runLoad(ctx, t.client, me, f, o.concurrency, o.duration)
	ar.MeAlone = alone.RPS

	var worst docs.Attack
	for _, a := range docs.Attacks(graph.MaxTokens) {
		if a.Name == ar.Worst {
			worst = a
		}
	}
	actx, stop := context.WithCancel(ctx)
	var sent atomic.Int64
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Go(func() {
			for j := 0; actx.Err() == nil; j++ {
				if _, _, err := ac.attack(actx, worst.Doc(1e6*(i+1)+j)); err == nil {
					sent.Add(1)
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // the attack under way
	sent.Store(0)
	attacked := runLoad(ctx, t.client, me, f, o.concurrency, o.duration)
	ar.AttackRPS = float64(sent.Load()) / attacked.Elapsed.Seconds()
	stop()
	wg.Wait()
	ar.MeAttacked = attacked.RPS
	ar.MeErrors = alone.Errors + attacked.Errors
	if len(attacked.FirstErrs) > 0 {
		ar.MeFirstError = attacked.FirstErrs[0]
	} else if len(alone.FirstErrs) > 0 {
		ar.MeFirstError = alone.FirstErrs[0]
	}
	logf("attack: me %0.f req/s alone, %0.f req/s while %d clients send %q (%.0f of theirs answered per second)",
		ar.MeAlone, ar.MeAttacked, attackers, ar.Worst, ar.AttackRPS)
	return ar, ctx.Err()
}

func (ar *attackReport) shape(name string) attackShape {
	for _, s := range ar.Shapes {
		if s.Name == name {
			return s
		}
	}
	return attackShape{}
}

// attack sends an unauthenticated document and returns the HTTP status and
// the first error's code; an answer without errors is an error.
func (c *client) attack(ctx context.Context, doc string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(docs.Body("", doc, nil)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, "", err
	}
	_, rest, ok := bytes.Cut(body, []byte(`"code":"`))
	if !ok {
		return resp.StatusCode, "", fmt.Errorf("status %d, no error code: %.200s", resp.StatusCode, body)
	}
	code, _, _ := bytes.Cut(rest, []byte(`"`))
	return resp.StatusCode, string(code), nil
}

// processCPU returns the user and system CPU time process pid has used,
// from /proc/<pid>/stat (in clock ticks of 10 ms).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
