package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

// wxtodoCLI runs the command line as main does and returns the exit code
// and what it printed.
func wxtodoCLI(tb testing.TB, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	var out, errOut bytes.Buffer
	code = cli(context.Background(), args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpListsEverySetting(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"serve", "-h"}, {"migrate", "-h"}} {
		code, out, _ := wxtodoCLI(t, configEnv(), args...)
		if code != exitOK {
			t.Errorf("%v: exit %d, want 0", args, code)
		}
		for _, s := range settings {
			def := s.def
			if def == "" {
				def = "(unset)"
			}
			line := regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(flagName(s.env)) + `\s+` + s.env + `\s+` + regexp.QuoteMeta(def) + `\s+\S`)
			if !line.MatchString(out) {
				t.Errorf("%v: no line for %s with its flag and default %q in:\n%s", args, s.env, def, out)
			}
		}
		for _, cmd := range []string{"migrate up", "migrate down", "migrate status", "version"} {
			if !strings.Contains(out, "wxtodo "+cmd) {
				t.Errorf("%v: help does not mention %q", args, cmd)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := wxtodoCLI(t, configEnv(), "version")
	if code != exitOK || !regexp.MustCompile(`^wxtodo \S+ .*go1\.\d+`).MatchString(out) {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestCommandLineMistakes(t *testing.T) {
	cases := []struct {
		name     string
		env      []string
		args     []string
		code     int
		mentions string
	}{
		{"unknown command", nil, []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"migrate without a step", nil, []string{"migrate"}, exitUsage, "up, down or status"},
		{"migrate sideways", nil, []string{"migrate", "sideways"}, exitUsage, "up, down or status"},
		{"bad setting in the environment", []string{"SESSION_TTL", "soon"}, []string{"migrate", "status"}, exitError, "SESSION_TTL"},
		{"bad setting as a flag", nil, []string{"-request-timeout", "-3s"}, exitError, "REQUEST_TIMEOUT"},
		{"unknown flag", nil, []string{"-colour", "blue"}, exitUsage, "-colour"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := wxtodoCLI(t, configEnv(c.env...), c.args...)
			if code != c.code || !strings.Contains(errOut, c.mentions) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, c.code, c.mentions)
			}
		})
	}
}

func TestMigrateCommands(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, databaseURL string) {
		env := configEnv("DATABASE_URL", databaseURL)
		status := func(tb testing.TB) string {
			tb.Helper()
			code, out, errOut := wxtodoCLI(tb, env, "migrate", "status")
			if code != exitOK {
				tb.Fatalf("migrate status: exit %d: %s", code, errOut)
			}
			return out
		}
		pending := regexp.MustCompile(`(?m)^\d{14}_init\s+pending`)
		applied := regexp.MustCompile(`(?m)^\d{14}_init\s+applied\s+\d+\s+\d{4}-`)

		if out := status(t); !pending.MatchString(out) {
			t.Fatalf("a new database: want init pending, got:\n%s", out)
		}
		if code, out, errOut := wxtodoCLI(t, env, "migrate", "up"); code != exitOK || !applied.MatchString(out) {
			t.Fatalf("migrate up: exit %d\n%s%s", code, out, errOut)
		}
		// A second up is a no-op, and the server starts on the result.
		if code, _, errOut := wxtodoCLI(t, env, "migrate", "up"); code != exitOK {
			t.Fatalf("second migrate up: exit %d: %s", code, errOut)
		}
		in := newInstance(t, databaseURL)
		token, _ := in.Login(t, "migrated")
		in.OK(t, `mutation { createTodo(input: {title: "x"}) { id } }`, nil, apitest.As(token))
		in.app.Close() // before down; closing again at cleanup is harmless

		code, out, errOut := wxtodoCLI(t, env, "migrate", "down")
		if code != exitOK || !strings.Contains(out, "undid ") {
			t.Fatalf("migrate down: exit %d\n%s%s", code, out, errOut)
		}
		if out := status(t); !pending.MatchString(out) {
			t.Fatalf("after down: want init pending, got:\n%s", out)
		}
		if code, out, _ := wxtodoCLI(t, env, "migrate", "down"); code != exitOK || !strings.Contains(out, "nothing to undo") {
			t.Errorf("down with nothing applied: exit %d, %q", code, out)
		}
		// Up again on the emptied database gives a working schema.
		if code, _, errOut := wxtodoCLI(t, env, "migrate", "up"); code != exitOK {
			t.Fatalf("migrate up after down: exit %d: %s", code, errOut)
		}
		again := newInstance(t, databaseURL)
		token, _ = again.Login(t, "again")
		var got struct{ Todos struct{ TotalCount int } }
		again.OK(t, `{ todos { totalCount } }`, &got, apitest.As(token))
		if got.Todos.TotalCount != 0 {
			t.Errorf("todos after down and up: %d, want 0", got.Todos.TotalCount)
		}
	})
}
