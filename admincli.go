package main

// The operators' commands, for a shell on the server: operator tokens
// (admin token, tokens, revoke), the audit trail (admin audit), and the
// admin page's actions on users (users show, disable, enable; sessions
// revoke), recorded as the operator "cli".

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"wxtodo/admin"
	"wxtodo/db"
)

// adminUsage is the help of the operators' commands.
const adminUsage = `  wxtodo admin token -name NAME [-ttl 8h]
                                   print a new operator token for NAME (for the admin
                                   page and the admin* GraphQL fields; ADMIN_TOKEN_TTL)
  wxtodo admin tokens              list the operator tokens (never the tokens)
  wxtodo admin revoke NAME         end NAME's operator token at once
  wxtodo admin audit [-n 50]       the audit trail, newest first
  wxtodo users show ID             a user, their sessions (masked phone number)
  wxtodo users disable ID -reason TEXT
                                   disable a user: their sessions end, logins are refused
  wxtodo users enable ID           let a disabled user sign in again
  wxtodo sessions revoke USER_ID   sign a user out on every device
`

// cmdFlags are the flags of the operators' commands, beside the settings.
var cmdFlags = map[string]bool{"name": true, "ttl": true, "reason": true, "n": true}

// splitArgs separates a command's own flags (-name NAME, -name=NAME) and
// positional arguments from the settings' flags, which go on to
// loadConfig.
func splitArgs(args []string) (flags map[string]string, positional, rest []string) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, value, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !cmdFlags[name] {
			rest = append(rest, a)
			if !inline && i+1 < len(args) {
				i++
				rest = append(rest, args[i])
			}
			continue
		}
		if !inline && i+1 < len(args) {
			i++
			value = args[i]
		}
		flags[name] = value
	}
	return flags, positional, rest
}

// operatorCmd runs "admin ...", "users ..." and "sessions ...".
func operatorCmd(ctx context.Context, cmd string, args []string, getenv func(string) string, out io.Writer) error {
	flags, pos, rest := splitArgs(args)
	if len(pos) == 0 {
		return usageError(cmd + " needs a subcommand; see wxtodo -h")
	}
	sub, pos := cmd+" "+pos[0], pos[1:]
	cfg, err := loadConfig(getenv, rest)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	store, err := openDatabase(ctx, cfg, 2)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Prepare(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	svc := newAdmin(cfg, db.NewAdminStore(store), newLogger(io.Discard, cfg.LogLevel))
	cli := admin.Actor{Operator: admin.CLI}

	userArg := func() (int64, error) {
		if len(pos) != 1 {
			return 0, usageError(sub + " needs one user ID; see wxtodo -h")
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || id <= 0 {
			return 0, usageError(fmt.Sprintf("%s: %q is not a user ID", sub, pos[0]))
		}
		return id, nil
	}
	switch sub {
	case "admin token":
		ttl := time.Duration(0)
		if v, ok := flags["ttl"]; ok {
			if ttl, err = time.ParseDuration(v); err != nil {
				return usageError(fmt.Sprintf("-ttl %q is not a duration such as 8h", v))
			}
		}
		token, t, err := svc.IssueToken(ctx, cli, flags["name"], ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, token)
		fmt.Fprintf(out, "# operator %s, expires %s; send it as Authorization: Bearer <token>, or paste it into /admin\n", t.Name, t.ExpiresAt.Format(time.RFC3339))
		return nil
	case "admin tokens":
		ts, err := svc.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, stamp(&t.CreatedAt), stamp(&t.ExpiresAt), stamp(t.LastUsedAt))
		}
		return tw.Flush()
	case "admin revoke":
		if len(pos) != 1 {
			return usageError("admin revoke needs the token's NAME; see wxtodo -h")
		}
		if err := svc.RevokeToken(ctx, cli, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked the operator token of %s\n", pos[0])
		return nil
	case "admin audit":
		n := admin.DefaultAuditPage
		if v, ok := flags["n"]; ok {
			if n, err = strconv.Atoi(v); err != nil {
				return usageError(fmt.Sprintf("-n %q is not a number", v))
			}
		}
		p, err := svc.Audit(ctx, n, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tOPERATOR\tACTION\tTARGET\tREASON\tCLIENT IP")
		for _, e := range p.Entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(&e.At), e.Operator, e.Action, e.Target, e.Reason, e.ClientIP)
		}
		return tw.Flush()
	case "users show":
		id, err := userArg()
		if err != nil {
			return err
		}
		u, err := svc.User(ctx, id)
		if err != nil {
			return err
		}
		if u == nil {
			return fmt.Errorf("no user %d", id)
		}
		ss, err := svc.Sessions(ctx, id)
		if err != nil {
			return err
		}
		printUser(out, u, ss)
		return nil
	case "users disable":
		id, err := userArg()
		if err != nil {
			return err
		}
		u, err := svc.Disable(ctx, cli, id, flags["reason"])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "disabled user %d: its sessions ended, its logins are refused\n", u.ID)
		return nil
	case "users enable":
		id, err := userArg()
		if err != nil {
			return err
		}
		u, err := svc.Enable(ctx, cli, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "enabled user %d\n", u.ID)
		return nil
	case "sessions revoke":
		id, err := userArg()
		if err != nil {
			return err
		}
		n, err := svc.RevokeSessions(ctx, cli, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked %d sessions of user %d\n", n, id)
		return nil
	}
	return usageError(fmt.Sprintf("unknown command %q; see wxtodo -h", sub))
}

func printUser(out io.Writer, u *admin.User, ss []*admin.Session) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	state := "active"
	if u.Disabled() {
		state = "disabled since " + stamp(u.DisabledAt) + ": " + *u.DisabledReason
	}
	phone := "-"
	if p := u.PhoneNumber(); p != nil {
		phone = *p
	}
	fmt.Fprintf(tw, "id\t%d\nnickname\t%s\ncreated\t%s\nstate\t%s\ntodos\t%d\nphone\t%s\n", u.ID, u.Nickname, stamp(&u.CreatedAt), state, u.TodoCount, phone)
	fmt.Fprintf(tw, "sessions\t%d\n", len(ss))
	tw.Flush() //nolint:errcheck // the writer is the terminal's
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if len(ss) > 0 {
		fmt.Fprintln(tw, "  SESSION\tSIGNED IN\tLAST USED\tEXPIRES")
	}
	for _, s := range ss {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", s.ID, stamp(&s.CreatedAt), stamp(s.LastUsedAt), stamp(&s.ExpiresAt))
	}
	tw.Flush() //nolint:errcheck // the writer is the terminal's
}

// stamp is t in RFC 3339, or "-".
func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
