package db_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"wxtodo/auth"
	"wxtodo/db"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
	"wxtodo/todo"
	"wxtodo/wxdata"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// open opens, migrates and prepares the database at url, closed when the
// test ends.
func open(tb testing.TB, url string) *db.DB {
	tb.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, url, dbtest.Options(url))
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	if err := d.Prepare(ctx); err != nil {
		tb.Fatalf("prepare: %v", err)
	}
	return d
}

// signIn signs the openid in with a new session expiring at exp and
// returns the session.
func signIn(tb testing.TB, s *db.AuthStore, openID string, exp time.Time, codeHash []byte) *auth.Session {
	tb.Helper()
	_, hash := auth.NewToken()
	sess := &auth.Session{TokenHash: hash, ExpiresAt: exp}
	if _, err := s.SignIn(context.Background(), auth.Identity{AppID: "app", OpenID: openID}, sess, codeHash, 0); err != nil {
		tb.Fatalf("sign in %s: %v", openID, err)
	}
	return sess
}

// TestClaimCodeRace: of logins claiming one code at once, exactly one
// claims it; the others see that login, and once it has signed its user
// in, who that is.
func TestClaimCodeRace(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := db.NewAuthStore(open(t, url))
		ctx := context.Background()
		code := []byte("code-hash-of-a-raced-code-000001")
		at := time.Now()

		const n = 16
		type claim struct {
			won   bool
			prior auth.CodeLogin
			err   error
		}
		claims := make([]claim, n)
		var wg sync.WaitGroup
		for i := range claims {
			wg.Go(func() {
				c := &claims[i]
				c.won, c.prior, c.err = s.ClaimCode(ctx, code, at)
			})
		}
		wg.Wait()
		won := 0
		for i, c := range claims {
			if c.err != nil {
				t.Fatalf("claim %d: %v", i, c.err)
			}
			if c.won {
				won++
				continue
			}
			if c.prior.UserID != 0 {
				t.Errorf("claim %d: got prior user %d, want 0 while the first login is under way", i, c.prior.UserID)
			}
			if d := c.prior.CreatedAt.Sub(at); d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("claim %d: got prior claimed at %v, want %v", i, c.prior.CreatedAt, at)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent claims won, want exactly 1", won, n)
		}

		sess := signIn(t, s, "oid-raced", time.Now().Add(time.Hour), code)
		again, prior, err := s.ClaimCode(ctx, code, time.Now())
		if err != nil || again || prior.UserID != sess.UserID {
			t.Errorf("claim after the sign-in: got won %v, prior user %d, err %v; want the signed-in user %d", again, prior.UserID, err, sess.UserID)
		}
		if err := s.ReleaseCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		if won, _, err := s.ClaimCode(ctx, code, time.Now()); err != nil || !won {
			t.Errorf("claim after release: got won %v, err %v; want a new claim", won, err)
		}
	})
}

// TestDeleteExpired removes the sessions that expired before the cutoff
// and the login codes claimed before theirs, and nothing else.
func TestDeleteExpired(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		d := open(t, url)
		s := db.NewAuthStore(d)
		ctx := context.Background()
		now := time.Now()
		live := signIn(t, s, "oid-live", now.Add(time.Hour), nil)
		recent := signIn(t, s, "oid-recent", now.Add(-time.Minute), nil)
		signIn(t, s, "oid-old", now.Add(-2*time.Hour), nil)
		for i, at := range []time.Time{now, now.Add(-10 * time.Minute)} {
			if won, _, err := s.ClaimCode(ctx, fmt.Appendf(nil, "code-%d", i), at); err != nil || !won {
				t.Fatalf("claim code %d: %v %v", i, won, err)
			}
		}

		n, err := s.DeleteExpired(ctx, now.Add(-time.Hour), now.Add(-5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("got %d sessions deleted, want 1", n)
		}
		view := dbtest.Open(t, url)
		if got := dbtest.Count(t, view, "sessions", ""); got != 2 {
			t.Errorf("got %d sessions left, want 2", got)
		}
		for _, sess := range []*auth.Session{live, recent} {
			if _, _, err := s.SessionByToken(ctx, sess.TokenHash); err != nil {
				t.Errorf("session %d: %v, want it kept", sess.ID, err)
			}
		}
		if got := dbtest.Count(t, view, "login_codes", ""); got != 1 {
			t.Errorf("got %d login codes left, want 1 (the recent one)", got)
		}
	})
}

// TestTimesReadBackAsWritten: times are stored at the microsecond in UTC,
// so what a store hands back equals what it reads later.
func TestTimesReadBackAsWritten(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := db.NewAuthStore(open(t, url))
		exp := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CST", 8*3600))
		sess := signIn(t, s, "oid-times", exp, nil)
		if want := exp.UTC().Truncate(time.Microsecond); !sess.ExpiresAt.Equal(want) || sess.ExpiresAt.Location() != time.UTC {
			t.Errorf("stored expiry: got %v, want %v", sess.ExpiresAt, want)
		}
		got, _, err := s.SessionByToken(context.Background(), sess.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ExpiresAt.Equal(sess.ExpiresAt) || got.ExpiresAt.Location() != time.UTC {
			t.Errorf("read back: got %v, want %v", got.ExpiresAt, sess.ExpiresAt)
		}
	})
}

// TestTokenLease: one instance at a time holds the access_token lease;
// only the holder stores a token, and the lease passes on once it ran out.
func TestTokenLease(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := db.NewTokenStore(open(t, url))
		ctx := context.Background()
		now := time.Now()
		acquire := func(tb testing.TB, owner string, at time.Time) bool {
			tb.Helper()
			won, err := s.AcquireTokenLease(ctx, "app", owner, at, at.Add(time.Minute))
			if err != nil {
				tb.Fatalf("acquire for %s: %v", owner, err)
			}
			return won
		}
		if !acquire(t, "a", now) {
			t.Fatal("a: the first lease was refused")
		}
		if acquire(t, "b", now.Add(time.Second)) {
			t.Error("b took the lease while a's runs")
		}
		if !acquire(t, "a", now.Add(2*time.Second)) {
			t.Error("a could not renew its own lease")
		}
		if err := s.SaveToken(ctx, "app", "b", "sealed-by-b", now.Add(time.Hour), now.Add(50*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if tok, _, _, _ := s.LoadToken(ctx, "app"); tok != "" {
			t.Errorf("b, not holding the lease, stored %q", tok)
		}
		if err := s.SaveToken(ctx, "app", "a", "sealed-by-a", now.Add(time.Hour), now.Add(50*time.Minute)); err != nil {
			t.Fatal(err)
		}
		tok, exp, refresh, err := s.LoadToken(ctx, "app")
		if err != nil || tok != "sealed-by-a" || !exp.Round(time.Second).Equal(now.Add(time.Hour).Round(time.Second)) || !refresh.Before(exp) {
			t.Errorf("load: got %q, %v, %v, %v; want a's token", tok, exp, refresh, err)
		}
		// Saving ended a's lease; a lease that runs out passes on too.
		if !acquire(t, "b", now.Add(3*time.Second)) {
			t.Error("b could not take the lease a released by saving")
		}
		if !acquire(t, "c", now.Add(2*time.Minute)) {
			t.Error("c could not take b's lease after it ran out")
		}
		if err := s.ClearTokens(ctx); err != nil {
			t.Fatal(err)
		}
		if tok, _, _, _ := s.LoadToken(ctx, "app"); tok != "" {
			t.Errorf("after ClearTokens: got %q, want no token", tok)
		}
	})
}

// TestReplaceSealedKeys writes only while the keys are still those read,
// including a user without a current key.
func TestReplaceSealedKeys(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		d := open(t, url)
		ctx := context.Background()
		keys := db.NewDataStore(d)
		sess := signIn(t, db.NewAuthStore(d), "oid-keys", time.Now().Add(time.Hour), nil)
		view := dbtest.Open(t, url)
		dbtest.Exec(t, view, "UPDATE identities SET session_key = NULL, prev_session_key = 'old-sealed' WHERE user_id = $1", sess.UserID)

		was, err := keys.SessionKeys(ctx, sess.UserID, "app")
		if err != nil {
			t.Fatal(err)
		}
		if was.Current != "" || was.Previous != "old-sealed" || was.OpenID != "oid-keys" {
			t.Fatalf("got keys %+v", was)
		}
		stale := was
		stale.Current = "something else"
		if ok, err := keys.ReplaceSealedKeys(ctx, stale, wxdata.UserKeys{Previous: "x"}, nil); err != nil || ok {
			t.Errorf("replace with stale keys: got %v, %v; want no write", ok, err)
		}
		if ok, err := keys.ReplaceSealedKeys(ctx, was, wxdata.UserKeys{Previous: "resealed"}, []byte("fp")); err != nil || !ok {
			t.Fatalf("replace: got %v, %v; want a write", ok, err)
		}
		now, err := keys.SessionKeys(ctx, sess.UserID, "app")
		if err != nil || now.Current != "" || now.Previous != "resealed" {
			t.Errorf("after replace: got %+v, %v", now, err)
		}
	})
}

// TestErrorsWhenPostgresStops: with the server gone, statements fail with
// SERVICE_UNAVAILABLE, never an internal error whose text could reach a
// client; once it is back, the pool reconnects by itself.
func TestErrorsWhenPostgresStops(t *testing.T) {
	cluster, err := dbtest.StartCluster()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	t.Cleanup(cluster.Remove)
	url := dbtest.NewSchema(t, cluster.URL)
	d := open(t, url)
	ctx := context.Background()
	authStore, todos := db.NewAuthStore(d), db.NewTodoStore(d)
	sess := signIn(t, authStore, "oid-outage", time.Now().Add(time.Hour), nil)
	// The throwaway cluster commits without waiting for its WAL, and the
	// stop below is a crash: write everything out first.
	dbtest.Exec(t, dbtest.Open(t, url), "CHECKPOINT")
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"ping", func() error { return d.Ping(ctx) }},
		{"session lookup", func() error { _, _, err := authStore.SessionByToken(ctx, sess.TokenHash); return err }},
		{"sign in (a transaction)", func() error {
			_, err := authStore.SignIn(ctx, auth.Identity{AppID: "app", OpenID: "oid-new"}, &auth.Session{ExpiresAt: time.Now()}, nil, 0)
			return err
		}},
		{"create todo", func() error { _, err := todos.Create(ctx, sess.UserID, todo.CreateInput{Title: "t"}, 0); return err }},
		{"list todos", func() error { _, err := todos.List(ctx, sess.UserID, todo.Filter{}, 0, 10); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			// The first statement on a dead connection may find out only
			// then; every one must be classified.
			for i := range 3 {
				if got := errcode.Code(c.call()); got != errcode.Unavailable {
					t.Fatalf("attempt %d: got code %q, want %s", i+1, got, errcode.Unavailable)
				}
			}
		})
	}

	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, err := authStore.SessionByToken(ctx, sess.TokenHash)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not reconnect within 30s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDeadlineCancelsTheStatement: a request's deadline cancels a statement
// that waits in PostgreSQL (for a row lock), on the server too.
func TestDeadlineCancelsTheStatement(t *testing.T) {
	url := dbtest.PostgresURL(t)
	d := open(t, url)
	sess := signIn(t, db.NewAuthStore(d), "oid-deadline", time.Now().Add(time.Hour), nil)
	todos := db.NewTodoStore(d)
	ctx := context.Background()
	td, err := todos.Create(ctx, sess.UserID, todo.CreateInput{Title: "locked"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the todo's row lock in another transaction.
	view := dbtest.Open(t, url)
	tx, err := view.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // test cleanup
	if _, err := tx.ExecContext(ctx, "SELECT id FROM todos WHERE id = $1 FOR UPDATE", td.ID); err != nil {
		t.Fatal(err)
	}

	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	done := true
	_, err = todos.Update(rctx, sess.UserID, td.ID, todo.UpdateInput{Done: &done})
	if errcode.Code(err) != errcode.Timeout && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want TIMEOUT or the context's deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the update took %v; the deadline did not cut the statement off", d)
	}
	// The cancel request reaches the server asynchronously: allow it a moment.
	var waiting int
	for range 50 {
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if waiting != 0 {
		t.Errorf("got %d statements still waiting for the lock after the deadline, want 0", waiting)
	}
}

// TestPooledMigrationsBypassThePooler: behind a transaction pooler, whose
// server connections change between transactions, migrations (and the
// session-level lock that makes instances take turns) go through the
// direct URL; without a reachable one they fail rather than run unlocked.
func TestPooledMigrationsBypassThePooler(t *testing.T) {
	url := dbtest.PgBouncerURL(t)
	ctx := context.Background()
	if _, err := db.Open(ctx, url, db.Options{Pooled: true}); err == nil {
		t.Errorf("a pooled database without a direct URL opened")
	}
	unreachable := "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2"
	d, err := db.Open(ctx, url, db.Options{Pooled: true, DirectURL: unreachable})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err == nil {
		t.Errorf("migrations ran through the pooler; want them to need the direct URL")
	}
	if n := dbtest.Count(t, dbtest.Open(t, url), "information_schema.tables", "table_name = 'users'"); n != 0 {
		t.Errorf("the users table exists: migrations ran through the pooler")
	}
}
