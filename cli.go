package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"
)

// version is set at build time (-ldflags "-X main.version=v1.2.3"); when
// empty, the module version and VCS stamp Go embeds are used.
var version string

// exit codes
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line was wrong
)

// cli runs the command line: serve (the default), migrate, version, help.
func cli(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	switch {
	case cmd == "admin" || cmd == "users" || cmd == "sessions":
		// Their arguments are names and reasons, which may read "help":
		// only a help flag or word where the subcommand goes asks for it.
		if len(rest) > 0 && wantsHelp(rest[:1]) {
			cmd = "help"
		}
	case wantsHelp(rest):
		cmd = "help"
	}
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version") {
		cmd = "version"
	}
	var err error
	switch cmd {
	case "serve":
		err = run(ctx, rest, getenv, stderr)
	case "migrate":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintln(stderr, "wxtodo: migrate needs up, down or status; see wxtodo -h")
			return exitUsage
		}
		err = migrateCmd(ctx, rest[0], rest[1:], getenv, stdout)
	case "rekey":
		err = rekeyCmd(ctx, rest, getenv, stdout, stderr)
	case "admin", "users", "sessions":
		err = operatorCmd(ctx, cmd, rest, getenv, stdout)
	case "version":
		fmt.Fprintln(stdout, versionString())
	case "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "wxtodo: unknown command %q; see wxtodo -h\n", cmd)
		return exitUsage
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "wxtodo:", err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "wxtodo:", err)
		return exitError
	}
	return exitOK
}

// usageError is a wrong command line, as opposed to a failed command.
type usageError string

func (e usageError) Error() string { return string(e) }

func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help", "help":
			return true
		}
	}
	return false
}

// migrateCmd runs "migrate up|down|status" against DATABASE_URL.
func migrateCmd(ctx context.Context, sub string, args []string, getenv func(string) string, out io.Writer) error {
	switch sub {
	case "up", "down", "status":
	default:
		return usageError(fmt.Sprintf("migrate %q: use up, down or status", sub))
	}
	cfg, err := loadConfig(getenv, args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	undone, status, err := migrate(ctx, cfg, sub)
	if err != nil {
		return err
	}
	switch sub {
	case "down":
		if len(undone) == 0 {
			fmt.Fprintln(out, "nothing to undo")
		}
		for _, name := range undone {
			fmt.Fprintln(out, "undid", name)
		}
		return nil
	case "up":
		fmt.Fprintln(out, "migrations applied")
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MIGRATION\tSTATUS\tGROUP\tAPPLIED AT")
	for _, m := range status {
		state, group, at := "pending", "-", "-"
		if m.Applied {
			state, group = "applied", fmt.Sprint(m.Group)
			if !m.AppliedAt.IsZero() {
				at = m.AppliedAt.UTC().Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%s_%s\t%s\t%s\t%s\n", m.Name, m.Comment, state, group, at)
	}
	return tw.Flush()
}

// rekeyCmd re-seals the stored secrets under DATA_KEY, after a rotation
// that listed the previous key in DATA_KEY_OLD.
func rekeyCmd(ctx context.Context, args []string, getenv func(string) string, out, logOut io.Writer) error {
	cfg, err := loadConfig(getenv, args)
	if err != nil {
		return err
	}
	n, keyID, err := rekey(ctx, cfg, newLogger(logOut, cfg.LogLevel))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "re-sealed the session_keys of %d users under key %s; the shared access_token will be fetched again\n", n, keyID)
	return nil
}

// versionString is the version, the commit it was built from and the Go
// version, e.g. "wxtodo v1.2.0 (commit 904f186, 2026-11-21T10:00:00Z) go1.26.8 linux/amd64".
func versionString() string {
	v, commit, when, dirty := version, "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "wxtodo %s", v)
	if commit != "" {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if dirty {
			commit += "+dirty"
		}
		fmt.Fprintf(&b, " (commit %s", commit)
		if when != "" {
			fmt.Fprintf(&b, ", %s", when)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func usage(w io.Writer) {
	fmt.Fprint(w, `wxtodo is the GraphQL backend of WeChat mini-programs.

Usage:
  wxtodo [settings]                serve GraphQL at ADDR (the same as "wxtodo serve")
  wxtodo serve [settings]          serve; migrations run at start-up
  wxtodo migrate up [settings]     apply the migrations that have not run
  wxtodo migrate down [settings]   undo the last batch of migrations
  wxtodo migrate status [settings] list the migrations and whether each has run
  wxtodo rekey [settings]          re-seal stored secrets under DATA_KEY after a rotation
                                   (the previous key in DATA_KEY_OLD)
`+adminUsage+`  wxtodo version                   print the version, commit and Go version
  wxtodo help                      print this text (also -h)

Settings come from the environment; the flag beside each overrides it.
Development mode: leave WECHAT_APPID and WECHAT_SECRET unset (or list
WECHAT_APPS without secrets, for several development apps).

`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  FLAG\tENVIRONMENT\tDEFAULT\tMEANING")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(tw, "  -%s\t%s\t%s\t%s\n", flagName(s.env), s.env, def, s.help)
	}
	tw.Flush() //nolint:errcheck // nothing to do about a broken terminal
	fmt.Fprint(w, `
Go's GOGC and GOMEMLIMIT are honoured; unset, wxtodo uses 400 and 48MiB.
`)
}

func flagName(env string) string { return strings.ReplaceAll(strings.ToLower(env), "_", "-") }
