package db_test

import (
	"context"
	"testing"
	"time"

	"wxtodo/auth"
	"wxtodo/db"
	"wxtodo/db/dbtest"
	"wxtodo/todo"
)

// TestWritesTakeOneRoundTrip: on PostgreSQL each write the API makes is
// one statement (the counters follow by trigger, the sign-in is one
// statement), counted by the pool's query tracer.
func TestWritesTakeOneRoundTrip(t *testing.T) {
	url := dbtest.PostgresURL(t)
	d := open(t, url)
	ctx := context.Background()
	authStore, todos := db.NewAuthStore(d), db.NewTodoStore(d)
	trips := func(name string, want uint64, f func() error) {
		t.Helper()
		before := d.RoundTrips()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := d.RoundTrips() - before; got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
	}
	var sess *auth.Session
	signIn := func(id auth.Identity) func() error {
		return func() error {
			_, hash := auth.NewToken()
			sess = &auth.Session{AppID: id.AppID, TokenHash: hash, ExpiresAt: time.Now().Add(time.Hour)}
			_, err := authStore.SignIn(ctx, id, sess, nil, 20)
			return err
		}
	}
	// A first sign-in, one again, a first one with a unionid, and one
	// from a second app to the person of that unionid.
	trips("sign in", 1, signIn(auth.Identity{AppID: "app", OpenID: "oid-trips-2"}))
	trips("sign in again", 1, signIn(auth.Identity{AppID: "app", OpenID: "oid-trips-2"}))
	trips("sign in with a unionid", 1, signIn(auth.Identity{AppID: "app", OpenID: "oid-trips-u", UnionID: "uid-trips"}))
	person := sess.UserID
	trips("sign in from another app", 1, signIn(auth.Identity{AppID: "app-2", OpenID: "oid-2-trips-u", UnionID: "uid-trips"}))
	if sess.UserID != person || dbtest.Count(t, dbtest.Open(t, url), "identities", "user_id = $1", person) != 2 {
		t.Errorf("the second app's sign-in is user %d, want %d with two identities", sess.UserID, person)
	}
	trips("sign in", 1, signIn(auth.Identity{AppID: "app", OpenID: "oid-trips"}))
	var td *todo.Todo
	trips("create", 1, func() (err error) {
		td, err = todos.Create(ctx, sess.UserID, todo.CreateInput{Title: "t"}, 100)
		return err
	})
	done := true
	trips("update", 1, func() error {
		_, err := todos.Update(ctx, sess.UserID, td.ID, todo.UpdateInput{Done: &done})
		return err
	})
	trips("count", 1, func() error {
		n, err := todos.Count(ctx, sess.UserID, todo.Filter{Done: &done})
		if err == nil && n != 1 {
			t.Errorf("done count: got %d, want 1", n)
		}
		return err
	})
	trips("delete", 1, func() error { return todos.Delete(ctx, sess.UserID, td.ID) })
	trips("session lookup", 1, func() error { _, _, err := authStore.SessionByToken(ctx, sess.TokenHash); return err })
}
