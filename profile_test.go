package main

import (
	"strings"
	"testing"

	"wxtodo/db/dbtest"
)

const (
	userFields            = `id nickname avatarUrl createdAt`
	updateProfileMutation = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { ` + userFields + ` } }`
	meQuery               = `{ me { ` + userFields + ` } }`
)

type userJSON struct {
	ID        string `json:"id"`
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"avatarUrl"`
	CreatedAt string `json:"createdAt"`
}

func (e *env) me(token string) userJSON {
	e.t.Helper()
	var d struct {
		Me userJSON `json:"me"`
	}
	e.ok(token, meQuery, nil, &d)
	return d.Me
}

func (e *env) updateProfile(token string, input map[string]any) userJSON {
	e.t.Helper()
	var d struct {
		UpdateProfile userJSON `json:"updateProfile"`
	}
	e.ok(token, updateProfileMutation, map[string]any{"input": input}, &d)
	return d.UpdateProfile
}

// httpsURL returns an https URL of exactly n bytes.
func httpsURL(n int) string {
	const prefix = "https://example.com/"
	return prefix + strings.Repeat("a", n-len(prefix))
}

func TestUpdateProfile(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)

		t.Run("a new user has an empty profile", func(t *testing.T) {
			e := e.as(t)
			tok, id := e.login("newbie")
			got := e.me(tok)
			if got.ID != id || got.Nickname != "" || got.AvatarURL != "" {
				t.Errorf("got %+v, want id %s with empty nickname and avatarUrl", got, id)
			}
			mustTime(t, "createdAt", got.CreatedAt)
		})

		t.Run("a valid nickname is stored trimmed", func(t *testing.T) {
			tok, _ := e.as(t).login("nick")
			for _, c := range []struct{ name, nickname, want string }{
				{"plain", "Alice", "Alice"},
				{"surrounded by whitespace", " \t Alice Liddell \n", "Alice Liddell"},
				{"64 ASCII characters", strings.Repeat("n", 64), strings.Repeat("n", 64)},
				{"64 multi-byte characters", strings.Repeat("好", 64), strings.Repeat("好", 64)},
				{"64 emoji", strings.Repeat("🐱", 64), strings.Repeat("🐱", 64)},
				{"64 characters inside spaces", "  " + strings.Repeat("m", 64) + "  ", strings.Repeat("m", 64)},
				{"empty clears it", "", ""},
				{"only spaces clear it", "   ", ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					got := e.updateProfile(tok, map[string]any{"nickname": c.nickname})
					if got.Nickname != c.want {
						t.Errorf("updateProfile: got nickname %s, want %s", brief(got.Nickname), brief(c.want))
					}
					if me := e.me(tok); me.Nickname != c.want {
						t.Errorf("me: got nickname %s, want %s", brief(me.Nickname), brief(c.want))
					}
				})
			}
		})

		t.Run("a bad nickname is BAD_USER_INPUT on nickname and changes nothing", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("badnick")
			before := e.updateProfile(tok, map[string]any{"nickname": "Before", "avatarUrl": "https://example.com/before.png"})
			for _, c := range []struct{ name, nickname string }{
				{"65 ASCII characters", strings.Repeat("n", 65)},
				{"65 multi-byte characters", strings.Repeat("好", 65)},
				{"NUL", "Al\u0000ice"},
				{"bell", "Al\u0007ice"},
				{"escape", "\u001b[1mAlice"},
				{"newline inside", "Al\nice"},
				{"tab inside", "Al\tice"},
				{"DEL", "Al\u007fice"},
				{"C1 control", "Al\u0085ice"},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					r := e.post(tok, updateProfileMutation, map[string]any{"input": map[string]any{"nickname": c.nickname}})
					wantInputError(t, r, "nickname")
					wantNoData(t, r, "updateProfile")
					if got := e.me(tok); got != before {
						t.Errorf("me: got %+v, want unchanged %+v", got, before)
					}
				})
			}
		})

		t.Run("a valid avatarUrl is stored; empty clears it", func(t *testing.T) {
			tok, _ := e.as(t).login("avatar")
			for _, c := range []struct{ name, avatarURL, want string }{
				{"https URL", "https://example.com/a.png", "https://example.com/a.png"},
				{"with query", "https://thirdwx.qlogo.cn/mmopen/x/132?a=1&b=2", "https://thirdwx.qlogo.cn/mmopen/x/132?a=1&b=2"},
				{"surrounded by spaces", "  https://example.com/b.png  ", "https://example.com/b.png"},
				{"1024 bytes", httpsURL(1024), httpsURL(1024)},
				{"empty clears it", "", ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					got := e.updateProfile(tok, map[string]any{"avatarUrl": c.avatarURL})
					if got.AvatarURL != c.want {
						t.Errorf("updateProfile: got avatarUrl %s, want %s", brief(got.AvatarURL), brief(c.want))
					}
					if me := e.me(tok); me.AvatarURL != c.want {
						t.Errorf("me: got avatarUrl %s, want %s", brief(me.AvatarURL), brief(c.want))
					}
				})
			}
		})

		t.Run("a bad avatarUrl is BAD_USER_INPUT on avatarUrl and changes nothing", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("badavatar")
			before := e.updateProfile(tok, map[string]any{"nickname": "Keep", "avatarUrl": "https://example.com/keep.png"})
			for _, c := range []struct{ name, avatarURL string }{
				{"http", "http://x"},
				{"http with path", "http://example.com/a.png"},
				{"not a URL", "not a url"},
				{"scheme only", "https://"},
				{"no host", "https:///a.png"},
				{"relative", "/a.png"},
				{"other scheme", "ftp://example.com/a.png"},
				{"javascript", "javascript:alert(1)"},
				{"with credentials", "https://user:pass@example.com/a.png"},
				{"space inside", "https://example.com/a b.png"},
				{"control character", "https://example.com/a\u0000.png"},
				{"1025 bytes", httpsURL(1025)},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := e.as(t)
					r := e.post(tok, updateProfileMutation, map[string]any{"input": map[string]any{"avatarUrl": c.avatarURL}})
					wantInputError(t, r, "avatarUrl")
					wantNoData(t, r, "updateProfile")
					if got := e.me(tok); got != before {
						t.Errorf("me: got %+v, want unchanged %+v", got, before)
					}
				})
			}
		})

		t.Run("one bad field rejects the whole update", func(t *testing.T) {
			e := e.as(t)
			tok, _ := e.login("atomic")
			before := e.updateProfile(tok, map[string]any{"nickname": "Old", "avatarUrl": "https://example.com/old.png"})
			r := e.post(tok, updateProfileMutation, map[string]any{"input": map[string]any{"nickname": "New", "avatarUrl": "http://x"}})
			wantInputError(t, r, "avatarUrl")
			r = e.post(tok, updateProfileMutation, map[string]any{"input": map[string]any{"nickname": strings.Repeat("n", 65), "avatarUrl": "https://example.com/new.png"}})
			wantInputError(t, r, "nickname")
			if got := e.me(tok); got != before {
				t.Errorf("me: got %+v, want unchanged %+v", got, before)
			}
		})

		t.Run("fields left out or null stay as they are", func(t *testing.T) {
			e := e.as(t)
			tok, id := e.login("partial")
			start := e.updateProfile(tok, map[string]any{"nickname": "Nick", "avatarUrl": "https://example.com/1.png"})
			for _, c := range []struct {
				name      string
				input     map[string]any
				wantNick  string
				wantAvatr string
			}{
				{"nickname only", map[string]any{"nickname": "Nick2"}, "Nick2", "https://example.com/1.png"},
				{"avatarUrl only", map[string]any{"avatarUrl": "https://example.com/2.png"}, "Nick2", "https://example.com/2.png"},
				{"empty input", map[string]any{}, "Nick2", "https://example.com/2.png"},
				{"both null", map[string]any{"nickname": nil, "avatarUrl": nil}, "Nick2", "https://example.com/2.png"},
				{"clear avatarUrl only", map[string]any{"avatarUrl": ""}, "Nick2", ""},
				{"clear nickname, null avatarUrl", map[string]any{"nickname": "", "avatarUrl": nil}, "", ""},
				{"both", map[string]any{"nickname": "Both", "avatarUrl": "https://example.com/3.png"}, "Both", "https://example.com/3.png"},
			} {
				got := e.updateProfile(tok, c.input)
				for _, u := range []struct {
					src string
					got userJSON
				}{{"updateProfile", got}, {"me", e.me(tok)}} {
					want := userJSON{ID: id, Nickname: c.wantNick, AvatarURL: c.wantAvatr, CreatedAt: start.CreatedAt}
					if u.got != want {
						t.Errorf("%s: %s: got %+v, want %+v", c.name, u.src, u.got, want)
					}
				}
			}
		})

		t.Run("bob's update does not touch alice", func(t *testing.T) {
			e := e.as(t)
			alice, aliceID := e.login("alice")
			bob, bobID := e.login("bob")
			a := e.updateProfile(alice, map[string]any{"nickname": "Alice", "avatarUrl": "https://example.com/alice.png"})
			b := e.updateProfile(bob, map[string]any{"nickname": "Bob", "avatarUrl": "https://example.com/bob.png"})
			if b.ID != bobID {
				t.Errorf("bob's update: got id %s, want %s", b.ID, bobID)
			}
			e.updateProfile(bob, map[string]any{"nickname": "", "avatarUrl": ""})
			if got := e.me(alice); got != a || got.ID != aliceID {
				t.Errorf("alice: got %+v, want unchanged %+v", got, a)
			}
			if got := e.me(bob); got.ID != bobID || got.Nickname != "" || got.AvatarURL != "" {
				t.Errorf("bob: got %+v, want id %s with a cleared profile", got, bobID)
			}
		})
	})
}

func TestEveryAPIFieldNeedsAToken(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		alice, _ := e.login("alice")
		td := e.createTodo(alice, "alice's")
		profile := e.updateProfile(alice, map[string]any{"nickname": "Alice"})
		rows := e.count("todos", "")

		cases := []struct {
			field, query string
			vars         map[string]any
		}{
			{"me", meQuery, nil},
			{"todos", todosQuery, nil},
			{"todo", todoQuery, map[string]any{"id": td.ID}},
			{"createTodo", createTodoMutation, map[string]any{"input": map[string]any{"title": "anonymous"}}},
			{"updateTodo", updateTodoMutation, map[string]any{"id": td.ID, "input": map[string]any{"title": "anonymous", "done": true}}},
			{"deleteTodo", deleteTodoMutation, map[string]any{"id": td.ID}},
			{"updateProfile", updateProfileMutation, map[string]any{"input": map[string]any{"nickname": "anonymous"}}},
			{"logout", `mutation { logout }`, nil},
		}
		for _, c := range cases {
			t.Run(c.field+" without Authorization is UNAUTHENTICATED MISSING_TOKEN", func(t *testing.T) {
				e := e.as(t)
				r := e.post("", c.query, c.vars)
				if len(r.Errors) != 1 {
					t.Fatalf("got %d errors, want 1: %s", len(r.Errors), r.Raw)
				}
				if got := r.code(); got != "UNAUTHENTICATED" {
					t.Errorf("got code %q, want UNAUTHENTICATED: %s", got, r.Raw)
				}
				if got := r.ext("reason"); got != "MISSING_TOKEN" {
					t.Errorf("got reason %q, want MISSING_TOKEN: %s", got, r.Raw)
				}
				if p := r.Errors[0].Path; len(p) == 0 || p[0] != c.field {
					t.Errorf("got error path %v, want [%s]", p, c.field)
				}
				wantNoData(t, r, c.field)
			})
		}

		t.Run("nothing changed", func(t *testing.T) {
			e := e.as(t)
			if got := e.count("todos", ""); got != rows {
				t.Errorf("got %d todos rows, want %d", got, rows)
			}
			if got := e.getTodo(alice, td.ID); got == nil || *got != td {
				t.Errorf("alice's todo: got %+v, want unchanged %+v", got, td)
			}
			// alice's session survived the anonymous logout.
			if got := e.me(alice); got != profile {
				t.Errorf("me: got %+v, want unchanged %+v", got, profile)
			}
		})
	})
}
