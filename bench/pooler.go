package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"wxtodo/db/dbtest"
)

// poolerReport compares wxtodo on PostgreSQL directly with a second
// wxtodo on the same database through PgBouncer in transaction mode
// (DATABASE_POOLER=transaction: no prepared statements, no connect-time
// parameters), under the same load.
type poolerReport struct {
	Version string
	OpOrder []string
	Ops     map[string]*opReport // servers "direct" and "pgbouncer"
	// Skipped says why there is no table, when there is none.
	Skipped string
}

var poolerServers = []string{"direct", "pgbouncer"}

// pooler starts PgBouncer in front of the server at base and a wxtodo
// through it on databaseURL, and loads each operation on it and on
// direct (the wxtodo of the main table) in alternating rounds.
func pooler(ctx context.Context, o *options, base, databaseURL, tmp string, bins, vars map[string]string, direct *target, f *fixture) (*poolerReport, error) {
	pr := &poolerReport{Ops: map[string]*opReport{}}
	out, err := exec.CommandContext(ctx, dbtest.PgBouncerBin, "--version").Output()
	if err != nil {
		pr.Skipped = fmt.Sprintf("no PgBouncer at %s (apt-get install pgbouncer)", dbtest.PgBouncerBin)
		return pr, nil
	}
	pr.Version = strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
	pb, err := dbtest.StartPgBouncer(base)
	if err != nil {
		return nil, err
	}
	defer pb.Stop()
	through, err := pb.URL(databaseURL)
	if err != nil {
		return nil, err
	}
	pooledVars := map[string]string{}
	for k, v := range vars {
		pooledVars[k] = v
	}
	pooledVars["DATABASE_URL"] = through
	pooledVars["DATABASE_POOLER"] = "transaction"
	pooledVars["DATABASE_DIRECT_URL"] = databaseURL
	proc, err := startProcess(ctx, "wxtodo-pgbouncer", bins["wxtodo"], filepath.Join(tmp, "pg-wxtodo-pgbouncer.log"), "/readyz", pooledVars)
	if err != nil {
		return nil, err
	}
	defer proc.stop()
	targets := map[string]*target{
		"direct":    direct,
		"pgbouncer": {name: "pgbouncer", proc: proc, client: newClient(proc.url, o.concurrency)},
	}
	defer targets["pgbouncer"].client.close()

	ops := operations()
	for _, op := range ops {
		pr.OpOrder = append(pr.OpOrder, op.name)
		pr.Ops[op.name] = &opReport{Warmup: map[string]*sample{}, Rounds: map[string][]*sample{}}
		if o.warmup > 0 {
			pr.Ops[op.name].Warmup["pgbouncer"] = runLoad(ctx, targets["pgbouncer"].client, op, f, o.concurrency, o.warmup)
		}
	}
	for r := 0; r < o.rounds; r++ {
		for _, op := range ops {
			order := poolerServers
			if r%2 == 1 {
				order = []string{"pgbouncer", "direct"}
			}
			for _, name := range order {
				if err := ctx.Err(); err != nil {
					return pr, err
				}
				t := targets[name]
				if done, werr := t.proc.exited(); done {
					return pr, fmt.Errorf("%s exited: %v\n%s", t.proc.name, werr, t.proc.logTail(20))
				}
				s := runLoad(ctx, t.client, op, f, o.concurrency, o.duration)
				pr.Ops[op.name].Rounds[name] = append(pr.Ops[op.name].Rounds[name], s)
				logf("pg pooler round %d/%d %-17s %-9s %8.0f req/s  p50 %-9v p99 %-9v errors %d",
					r+1, o.rounds, op.name, name, s.RPS, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Errors)
				if s.Errors > 0 {
					logf("   first error: %s", s.FirstErrs[0])
				}
			}
		}
	}
	return pr, nil
}

// errors counts the failed requests of the pooler table.
func (pr *poolerReport) errors() int {
	if pr == nil {
		return 0
	}
	n := 0
	for _, op := range pr.Ops {
		n += op.errorsOf(poolerServers)
	}
	return n
}

// markdown writes the pooler table.
func (pr *poolerReport) markdown(b *strings.Builder, o *options) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### Through PgBouncer\n\n")
	if pr.Skipped != "" {
		p("Not measured: %s.\n\n", pr.Skipped)
		return
	}
	p("A second wxtodo on the same database through %s in `pool_mode = transaction` (pool of 20 server connections; "+
		"`DATABASE_POOLER=transaction`: statements unprepared, no connect-time parameters), beside the wxtodo of the table above "+
		"on PostgreSQL directly, each loaded by %d clients for %v per round, alternating; medians of %d rounds.\n\n",
		pr.Version, o.concurrency, o.duration, o.rounds)
	p("| operation | direct req/s | through PgBouncer req/s | PgBouncer/direct | direct p99 | PgBouncer p99 | errors |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, name := range pr.OpOrder {
		op := pr.Ops[name]
		p("| `%s` | %s | %s | %s | %s | %s | %d |\n", name,
			thousands(op.med("direct", rps)), thousands(op.med("pgbouncer", rps)), fmtRatio(op.ratioOf("pgbouncer", "direct", rps)),
			fmtDur(time.Duration(op.med("direct", p99))), fmtDur(time.Duration(op.med("pgbouncer", p99))), op.errorsOf(poolerServers))
	}
	p("\n")
}
