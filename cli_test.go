package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
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

// TestOperatorCommands: the operators' commands on a server's database,
// from a shell beside it: a token that works on the server and is never
// listed, a user shown (phone masked), signed out, disabled and enabled,
// the token revoked at once, and each action in the audit trail as cli.
func TestOperatorCommands(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, databaseURL string) {
		in := newInstance(t, databaseURL)
		env := testEnv(databaseURL, in.wx, "DATA_KEY", in.cfg.DataKey)
		run := func(tb testing.TB, args ...string) string {
			tb.Helper()
			code, out, errOut := wxtodoCLI(tb, env, args...)
			if code != exitOK {
				tb.Fatalf("%v: exit %d: %s%s", args, code, out, errOut)
			}
			return out
		}
		userToken, uid := in.Login(t, "cli-user")
		in.OK(t, `mutation { bindPhoneNumber(input: {code: "cli-phone"}) { id } }`, nil, apitest.As(userToken))

		out := run(t, "admin", "token", "-name", "oncall", "-ttl", "2h")
		op := strings.SplitN(out, "\n", 2)[0]
		if !strings.HasPrefix(op, "wxop_") {
			t.Fatalf("admin token printed %q, want the token first", out)
		}
		in.OK(t, `{ adminUsers { edges { node { id } } } }`, nil, apitest.As(op))
		if list := run(t, "admin", "tokens"); !strings.Contains(list, "oncall") || strings.Contains(list, op[5:]) {
			t.Errorf("admin tokens: %q, want oncall and never the token", list)
		}
		phone := wechattest.PhoneNumber("cli-phone")
		show := run(t, "users", "show", uid)
		if !strings.Contains(show, phone[:3]+"****"+phone[7:]) || strings.Contains(show, phone) || !regexp.MustCompile(`sessions\s+1`).MatchString(show) {
			t.Errorf("users show: %s", show)
		}
		if out := run(t, "sessions", "revoke", uid); !strings.Contains(out, "revoked 1 sessions") {
			t.Errorf("sessions revoke: %q", out)
		}
		in.Fails(t, `{ me { id } }`, "UNAUTHENTICATED", apitest.As(userToken))
		run(t, "users", "disable", uid, "-reason", "chargeback fraud")
		in.wx.On("cli-user-2", wechattest.Reply{As: "cli-user"})
		if r := in.Fails(t, apitest.LoginMutation, "FORBIDDEN", apitest.Vars(map[string]any{"code": "cli-user-2"})); r.Ext("reason") != "USER_DISABLED" {
			t.Errorf("login of a disabled user: %s", r.Raw)
		}
		run(t, "users", "enable", uid)
		in.wx.On("cli-user-3", wechattest.Reply{As: "cli-user"})
		in.OK(t, apitest.LoginMutation, nil, apitest.Vars(map[string]any{"code": "cli-user-3"}))
		run(t, "admin", "revoke", "oncall")
		in.Fails(t, `{ adminUsers { edges { node { id } } } }`, "UNAUTHENTICATED", apitest.As(op))

		audit := run(t, "admin", "audit")
		var actions []string
		for _, line := range strings.Split(strings.TrimSpace(audit), "\n")[1:] {
			f := strings.Fields(line)
			if f[1] != "cli" {
				t.Errorf("audit line %q: operator %q, want cli", line, f[1])
			}
			actions = append(actions, f[2]+" "+f[3])
		}
		want := []string{"revoke_token oncall", "enable_user user:" + uid, "disable_user user:" + uid, "revoke_sessions user:" + uid, "issue_token oncall"}
		if strings.Join(actions, ",") != strings.Join(want, ",") {
			t.Errorf("admin audit, newest first: %v, want %v", actions, want)
		}
		if !strings.Contains(audit, "chargeback fraud") {
			t.Errorf("the audit lacks the reason: %s", audit)
		}

		// "help" is a reason like any other; only where the subcommand
		// goes does it ask for the help.
		if code, out, _ := wxtodoCLI(t, env, "users", "disable", uid, "-reason", "help"); code != exitOK || !strings.Contains(out, "disabled user") {
			t.Errorf("users disable -reason help: exit %d, %q", code, out)
		}
		run(t, "users", "enable", uid)
		if code, out, _ := wxtodoCLI(t, env, "admin", "-h"); code != exitOK || !strings.Contains(out, "wxtodo admin token -name NAME") {
			t.Errorf("admin -h: exit %d, want the help", code)
		}
		for _, bad := range []struct {
			args []string
			code int
		}{
			{[]string{"users", "show", "x"}, exitUsage},
			{[]string{"users", "disable", uid}, exitError}, // no reason
			{[]string{"users", "show", "999999"}, exitError},
			{[]string{"admin", "token"}, exitError}, // no name
			{[]string{"admin", "revoke", "nobody"}, exitError},
			{[]string{"admin"}, exitUsage},
			{[]string{"sessions", "kill", uid}, exitUsage},
		} {
			if code, _, _ := wxtodoCLI(t, env, bad.args...); code != bad.code {
				t.Errorf("%v: exit %d, want %d", bad.args, code, bad.code)
			}
		}
	})
}
