package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/web"
)

func TestHealthAndReadiness(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		for _, tt := range []struct{ path, status string }{
			{"/healthz", "ok"},
			{"/readyz", "ready"},
		} {
			t.Run(tt.path, func(t *testing.T) {
				r := get(t, s.Handler, tt.path)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: got status %d, want 200: %s", tt.path, r.status, r.body)
				}
				var b struct{ Status string }
				if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.Status != tt.status {
					t.Errorf("GET %s: got body %s, want status %q", tt.path, r.body, tt.status)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("GET %s: got Content-Type %q, want application/json", tt.path, ct)
				}
			})
		}
	})
}

func TestReadinessFollowsDatabase(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		if r := get(t, s.Handler, "/readyz"); r.status != http.StatusOK {
			t.Fatalf("GET /readyz: got status %d, want 200: %s", r.status, r.body)
		}
		s.CloseDatabase()
		r := get(t, s.Handler, "/readyz")
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz without a database: got status %d, want 503: %s", r.status, r.body)
		}
		if strings.Contains(r.body, url) {
			t.Errorf("GET /readyz reveals DATABASE_URL: %s", r.body)
		}
		if r := get(t, s.Handler, "/healthz"); r.status != http.StatusOK {
			t.Errorf("GET /healthz without a database: got status %d, want 200 (the process is alive)", r.status)
		}
	})
}

// TestReadinessHidesTheError checks that what Ready says stays in the log:
// a driver's error can name the host, the user or the file.
func TestReadinessHidesTheError(t *testing.T) {
	const secret = "dial tcp db.internal:5432: password authentication failed for user wxtodo"
	srv := newServer(web.Config{Ready: func(context.Context) error { return errors.New(secret) }})
	r := get(t, srv, "/readyz")
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("got status %d, want 503: %s", r.status, r.body)
	}
	if strings.Contains(r.body, "db.internal") || strings.Contains(r.body, "password") {
		t.Errorf("GET /readyz reveals the error: %s", r.body)
	}
}

// TestReadinessIsBounded checks that /readyz gives the database two
// seconds, so that a database that hangs fails the probe rather than
// hanging it.
func TestReadinessIsBounded(t *testing.T) {
	var deadline time.Time
	var ok bool
	srv := newServer(web.Config{Ready: func(ctx context.Context) error {
		deadline, ok = ctx.Deadline()
		return nil
	}})
	before := time.Now()
	if r := get(t, srv, "/readyz"); r.status != http.StatusOK {
		t.Fatalf("got status %d, want 200: %s", r.status, r.body)
	}
	after := time.Now()
	if !ok {
		t.Fatal("Ready got a context without a deadline")
	}
	if deadline.Before(before.Add(2*time.Second)) || deadline.After(after.Add(2*time.Second)) {
		t.Errorf("Ready got a deadline %v after the request, want 2s", deadline.Sub(before))
	}
}
