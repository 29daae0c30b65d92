package db_test

import (
	"context"
	"testing"
	"time"

	"wxtodo/auth"
	"wxtodo/db"
	"wxtodo/db/dbtest"
)

// identitiesVersion is the migration that made users persons with an
// identity per app.
const identitiesVersion = "20261204000001"

// TestMigrationKeepsWhatThePreviousReleaseStored: a database that the
// release before identities created and filled keeps every user, session,
// todo and login code through the migration. Each user gets its identity
// with its sealed session_keys, each session its user's app, the counters
// hold, sign-ins find the same users, and two users of one unionid (only
// possible before, with Cloud Hosting's shared resources) are one person
// at the next sign-in, with every todo.
func TestMigrationKeepsWhatThePreviousReleaseStored(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d, err := db.Open(ctx, url, dbtest.Options(url))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.MigrateBefore(ctx, identitiesVersion); err != nil {
			t.Fatal(err)
		}
		view := dbtest.Open(t, url)
		at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		// As the previous release wrote them: ann with a unionid, keys
		// and a phone number; ben with nothing; cy, another app's user
		// through shared resources, with ann's unionid.
		for _, u := range []struct {
			app, openID, union, sealed, prev, phone any
		}{
			{"wxapp", "oid-ann", "uid-ann", "sealed-ann", "prev-ann", "13800001111"},
			{"wxapp", "oid-ben", nil, nil, nil, nil},
			{"wxshared", "oid-cy", "uid-ann", "sealed-cy", nil, nil},
		} {
			dbtest.Exec(t, view, `INSERT INTO users (app_id, open_id, union_id, session_key, session_key_fp, prev_session_key, phone_number, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, u.app, u.openID, u.union, u.sealed, []byte("fp-"+u.openID.(string)), u.prev, u.phone, at)
		}
		ids := map[string]int64{}
		for _, name := range []string{"ann", "ben", "cy"} {
			var id int64
			if err := view.QueryRow(`SELECT id FROM users WHERE open_id = $1`, "oid-"+name).Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids[name] = id
		}
		for i, todo := range []struct {
			user  string
			title string
			done  bool
			cmi   any
		}{
			{"ann", "a1", true, "m1"}, {"ann", "a2", false, nil}, {"ann", "a3", false, nil},
			{"ben", "b1", false, nil},
			{"cy", "c1", true, "m1"}, {"cy", "c2", false, nil},
		} {
			dbtest.Exec(t, view, `INSERT INTO todos (user_id, title, done, client_mutation_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
				ids[todo.user], todo.title, todo.done, todo.cmi, at.Add(time.Duration(i)*time.Second))
		}
		hashes := map[string][]byte{}
		for _, name := range []string{"ann", "ann-tablet", "ben", "cy"} {
			_, h := auth.NewToken()
			hashes[name] = h[:]
			user := name
			if name == "ann-tablet" {
				user = "ann"
			}
			dbtest.Exec(t, view, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
				h[:], ids[user], at, at.Add(7*24*time.Hour))
		}
		dbtest.Exec(t, view, `INSERT INTO login_codes (code_hash, user_id, created_at) VALUES ($1, $2, $3)`, []byte("a-code-hash"), ids["ann"], at)

		if err := d.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if err := d.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		for table, want := range map[string]int{"users": 3, "identities": 3, "todos": 6, "sessions": 4, "login_codes": 1} {
			if n := dbtest.Count(t, view, table, "1 = 1"); n != want {
				t.Errorf("%s: %d rows after the migration, want %d", table, n, want)
			}
		}
		if n := dbtest.Count(t, view, "identities", `user_id = $1 AND app_id = 'wxapp' AND open_id = 'oid-ann' AND union_id = 'uid-ann'
			AND session_key = 'sealed-ann' AND prev_session_key = 'prev-ann' AND session_key_fp = $2`, ids["ann"], []byte("fp-oid-ann")); n != 1 {
			t.Errorf("ann's identity lacks what her row held:\n%s", dbtest.Dump(t, view, "identities"))
		}
		if n := dbtest.Count(t, view, "sessions", "app_id = 'wxapp'"); n != 3 {
			t.Errorf("%d sessions of wxapp, want 3 (ann's two, ben's)", n)
		}
		if n := dbtest.Count(t, view, "users", "union_id = 'uid-ann'"); n != 1 {
			t.Errorf("%d users with ann's unionid, want 1 (the oldest, ann)", n)
		}

		store := db.NewAuthStore(d)
		sess, u, err := store.SessionByToken(ctx, auth.TokenHash(hashes["ann-tablet"]))
		if err != nil || u.ID != ids["ann"] || sess.AppID != "wxapp" || u.PhoneNumber == nil {
			t.Errorf("ann's tablet after the migration: %+v, %+v, %v", sess, u, err)
		}
		signIn := func(tb testing.TB, app, openID, union string) auth.SignedIn {
			tb.Helper()
			_, h := auth.NewToken()
			in, err := store.SignIn(ctx, auth.Identity{AppID: app, OpenID: openID, UnionID: union}, &auth.Session{AppID: app, TokenHash: h, ExpiresAt: time.Now().Add(time.Hour)}, nil, 0)
			if err != nil {
				tb.Fatalf("sign in %s: %v", openID, err)
			}
			return in
		}
		if in := signIn(t, "wxapp", "oid-ben", ""); in.User.ID != ids["ben"] || in.Created || in.Merged != nil {
			t.Errorf("ben signs in as %+v", in)
		}
		// cy's next sign-in brings ann's unionid: one person, ann.
		in := signIn(t, "wxshared", "oid-cy", "uid-ann")
		if in.User.ID != ids["ann"] || in.Merged == nil || in.Merged.Removed != ids["cy"] || in.Merged.Todos != 2 || in.Merged.Sessions != 1 {
			t.Fatalf("cy's sign-in: %+v, merge %+v; want ann, with cy's 2 todos and 1 session moved", in.User, in.Merged)
		}
		if n := dbtest.Count(t, view, "todos", "user_id = $1", ids["ann"]); n != 5 {
			t.Errorf("ann has %d todos, want 5", n)
		}
		if n := dbtest.Count(t, view, "users", "id = $1 AND todo_count = 5 AND done_count = 2", ids["ann"]); n != 1 {
			t.Errorf("ann's counters after the merge:\n%s", dbtest.Dump(t, view, "users"))
		}
		if n := dbtest.Count(t, view, "todos", "client_mutation_id = 'm1'"); n != 1 {
			t.Errorf("%d todos keep the client mutation ID both had, want 1 (unique per user)", n)
		}
		if n := dbtest.Count(t, view, "sessions", "user_id = $1", ids["ann"]); n != 4 {
			t.Errorf("ann has %d sessions, want 4 (hers, cy's, the new one)", n)
		}
	})
}
