// Command bench is wxtodo's load benchmark: it measures wxtodo against a
// hand-written baseline server (bench/baseline) doing the same work for
// the same requests, and writes the comparison to bench/RESULTS.md.
//
// Run it from the repository root:
//
//	go run ./bench                        # both databases, ~7 minutes
//	go run ./bench -db sqlite -duration 2s -rounds 1
//
// It builds wxtodo and the baseline into a temporary directory, prepares a
// database (PostgreSQL: a throwaway cluster from the local server binaries
// via db/dbtest, or a schema of its own in BENCH_DATABASE_URL; SQLite: a
// temporary file), starts wxtodo (which migrates it) in production mode
// against an in-process fake jscode2session, seeds 1,000 users with 50
// todos and a session each (plus, for the scale table, one user with 50
// and one with 100,000 todos), starts the baseline on the same database,
// checks that both answer the same, and then loads each operation (me,
// todos(first: 20), createTodo, updateTodo, login) from 32 concurrent
// clients, in alternating rounds. The figure that counts is wxtodo's req/s
// over the baseline's, the median of the rounds; the target is at least
// 0.85 (within 15%) on every operation. See bench/README.md.
//
// A run in which any request failed, the two servers answered differently
// or the todo counters drifted is invalid: it says so loudly and exits 1.
// Load goes only to 127.0.0.1; the servers it starts are stopped (by PID)
// when it ends, also on error or Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"wxtodo/db/dbtest"
	"wxtodo/secret"
)

// options are the command-line flags.
type options struct {
	duration      time.Duration
	warmup        time.Duration
	rounds        int
	concurrency   int
	db            string
	out           string
	users         int
	todosPerUser  int
	deepTodos     int
	deletable     int
	scaleRequests int
	target        float64
	enforce       bool
	attack        bool
	pooler        bool
	live          bool
	liveWrites    int
	liveSockets   int
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured load per operation, server and round")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load per operation and server before the first round")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures every operation on both servers, in alternating order")
	fs.IntVar(&o.concurrency, "concurrency", 32, "concurrent clients")
	fs.StringVar(&o.db, "db", "both", "database: pg, sqlite or both (PostgreSQL: BENCH_DATABASE_URL, else a throwaway cluster)")
	fs.StringVar(&o.out, "out", "", "markdown file to write (default: bench/RESULTS.md in the module)")
	fs.IntVar(&o.users, "users", 1000, "seeded users the load picks from")
	fs.IntVar(&o.todosPerUser, "todos", 50, "seeded todos per user")
	fs.IntVar(&o.deepTodos, "deep", 100000, "todos of the one deep user of the scale table")
	fs.IntVar(&o.deletable, "deletable", 250, "seeded todos per user for deleteTodo, each deleted once")
	fs.IntVar(&o.scaleRequests, "scale-requests", 200, "sequential requests per case and server in the scale table")
	fs.Float64Var(&o.target, "target", 0.85, "the wxtodo/baseline req/s ratio every operation should reach")
	fs.BoolVar(&o.enforce, "enforce", false, "exit 2 when an operation misses -target")
	fs.BoolVar(&o.attack, "attack", true, "measure the attack table: the costliest documents' CPU, and me under attack")
	fs.BoolVar(&o.live, "live", true, "measure live updates: write-to-event latency (across two instances on PostgreSQL) and the RSS of idle sockets")
	fs.IntVar(&o.liveWrites, "live-writes", 2000, "writes of the live-updates latency measurement")
	fs.IntVar(&o.liveSockets, "live-sockets", 1000, "idle sockets one instance holds for the live-updates RSS (at most -users)")
	fs.BoolVar(&o.pooler, "pgbouncer", true, "PostgreSQL: measure wxtodo through PgBouncer in transaction mode beside direct")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case o.duration <= 0 || o.warmup < 0:
		return nil, errors.New("-duration must be positive and -warmup not negative")
	case o.rounds < 1 || o.concurrency < 1:
		return nil, errors.New("-rounds and -concurrency must be at least 1")
	case o.db != "pg" && o.db != "sqlite" && o.db != "both":
		return nil, errors.New("-db must be pg, sqlite or both")
	case o.users < 2 || o.todosPerUser < 2 || o.deepTodos < 2 || o.scaleRequests < 1:
		return nil, errors.New("-users, -todos and -deep must be at least 2, -scale-requests at least 1")
	}
	return o, nil
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, opts)
	stop()
	os.Exit(code)
}

// run benchmarks and returns the exit code; every process and directory
// it creates is gone when it returns.
func run(ctx context.Context, o *options) int {
	rep, err := benchmark(ctx, o)
	if err != nil {
		// What was measured before the failure, without overwriting the
		// results file with a partial run.
		if rep != nil && len(rep.DBs) > 0 {
			rep.Incomplete = err.Error()
			fmt.Println(rep.markdown())
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	md := rep.markdown()
	fmt.Println(md)
	if err := os.WriteFile(rep.OutPath, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench: write results:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "bench: wrote", rep.OutPath)
	if n := rep.problems(); n > 0 {
		fmt.Fprintf(os.Stderr, "\n%s\n!!! INVALID RUN: %d errors or mismatches; see the table. Do not use these numbers. !!!\n%s\n\n",
			strings.Repeat("!", 80), n, strings.Repeat("!", 80))
		return 1
	}
	if o.enforce && rep.missed() > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d operations below the %.2f target\n", rep.missed(), o.target)
		return 2
	}
	return 0
}

// benchmark builds the servers and runs every database; the report holds
// what was measured even when it fails part-way.
func benchmark(ctx context.Context, o *options) (*report, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	rep := &report{Opts: o, Started: time.Now(), OutPath: o.out}
	if rep.OutPath == "" {
		rep.OutPath = filepath.Join(root, "bench", "RESULTS.md")
	}
	rep.Host = fmt.Sprintf("%s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())

	tmp, err := os.MkdirTemp("", "wxtodo-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bins := map[string]string{"wxtodo": filepath.Join(tmp, "wxtodo"), "baseline": filepath.Join(tmp, "baseline")}
	logf("building wxtodo and the baseline")
	if err := build(ctx, root, ".", bins["wxtodo"]); err != nil {
		return nil, err
	}
	if err := build(ctx, root, "./bench/baseline", bins["baseline"]); err != nil {
		return nil, err
	}

	wx := startFakeWeChat()
	defer wx.Close()

	var kinds []string
	switch o.db {
	case "both":
		kinds = []string{"pg", "sqlite"}
	default:
		kinds = []string{o.db}
	}
	for _, kind := range kinds {
		dr, err := benchDB(ctx, o, kind, tmp, bins, wx)
		if dr != nil {
			rep.DBs = append(rep.DBs, dr)
		}
		if err != nil {
			return rep, fmt.Errorf("%s: %w", kind, err)
		}
	}
	return rep, nil
}

// target is one server under load.
type target struct {
	name   string
	proc   *process
	client *client
}

// benchDB prepares one database, runs both servers on it and measures.
func benchDB(ctx context.Context, o *options, kind, tmp string, bins map[string]string, wx *httptest.Server) (*dbReport, error) {
	postgres := kind == "pg"
	dr := &dbReport{Kind: kind, Ops: map[string]*opReport{}, LifetimeRSS: map[string]int64{}, LogLines: map[string]int{}}
	var databaseURL, clusterURL string
	if postgres {
		base := os.Getenv("BENCH_DATABASE_URL")
		dr.Where = "BENCH_DATABASE_URL"
		create := dbtest.CreateSchema
		if base == "" {
			logf("starting a throwaway PostgreSQL cluster")
			c, err := dbtest.StartCluster()
			if err != nil {
				return nil, fmt.Errorf("no PostgreSQL (set BENCH_DATABASE_URL, install the server binaries, or use -db sqlite): %w", err)
			}
			defer c.Remove()
			base, dr.Where = c.URL, "throwaway cluster"
			// A database of its own, which PgBouncer can reach (it
			// passes no search_path), for the pooler table.
			create, clusterURL = dbtest.CreateDatabase, c.URL
		}
		u, drop, err := create(ctx, base, "wxbench_")
		if err != nil {
			return nil, err
		}
		defer drop()
		databaseURL = u
	} else {
		dir := filepath.Join(tmp, "sqlite")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		databaseURL = "sqlite:" + filepath.Join(dir, "bench.db")
		dr.Where = "temporary file"
	}
	vars := map[string]string{
		"DATABASE_URL":          databaseURL,
		"WECHAT_APPID":          benchAppID,
		"WECHAT_SECRET":         benchSecret,
		"WECHAT_API_BASE":       wx.URL,
		"LOGIN_RATE_PER_MINUTE": "0",
		// The load creates todos for a few users far past one user's caps.
		"TODO_CREATES_PER_MINUTE": "0",
		"MAX_TODOS_PER_USER":      "0",
		"LOG_LEVEL":               "error",
		"DATA_KEY":                secret.NewKey(),
	}

	// wxtodo first: it migrates the database the seed and the baseline use.
	logf("%s: starting wxtodo (migrates the database)", kind)
	wxtodo, err := startProcess(ctx, "wxtodo", bins["wxtodo"], filepath.Join(tmp, kind+"-wxtodo.log"), "/readyz", vars)
	if err != nil {
		return nil, err
	}
	defer wxtodo.stop()

	logf("%s: seeding %d users x %d todos, and users with %d and %d todos for the scale table", kind, o.users, o.todosPerUser, o.todosPerUser, o.deepTodos)
	f, err := seed(ctx, postgres, databaseURL, o.users, o.todosPerUser, o.deepTodos, o.deletable)
	if err != nil {
		return nil, err
	}
	dr.SeedTook = f.Took
	if dr.Version, err = dbVersion(ctx, postgres, databaseURL); err != nil {
		return nil, err
	}
	logf("%s: seeded in %v", kind, f.Took.Round(time.Millisecond))

	baseline, err := startProcess(ctx, "baseline", bins["baseline"], filepath.Join(tmp, kind+"-baseline.log"), "/healthz", vars)
	if err != nil {
		return nil, err
	}
	defer baseline.stop()

	targets := []*target{
		{name: "wxtodo", proc: wxtodo, client: newClient(wxtodo.url, o.concurrency)},
		{name: "baseline", proc: baseline, client: newClient(baseline.url, o.concurrency)},
	}
	defer func() {
		for _, t := range targets {
			t.client.close()
		}
	}()

	logf("%s: checking that both servers answer the same", kind)
	dr.Mismatches = conformance(ctx, targets[0].client, targets[1].client, f)
	for _, m := range dr.Mismatches {
		logf("%s: MISMATCH: %s", kind, m)
	}

	if postgres {
		logf("%s: round trips per request", kind)
		if dr.Trips, err = roundTrips(ctx, targets, f); err != nil {
			return dr, fmt.Errorf("round trips: %w", err)
		}
	}
	if err := measure(ctx, o, dr, targets, f); err != nil {
		return dr, err
	}
	logf("%s: scale table", kind)
	dr.Scale = scale(ctx, o, targets, f)
	if err := ctx.Err(); err != nil {
		return dr, err
	}
	if o.attack {
		logf("%s: attack table", kind)
		if dr.Attack, err = attack(ctx, o, targets[0], f); err != nil {
			return dr, fmt.Errorf("attack: %w", err)
		}
	}
	if o.live {
		logf("%s: live updates table", kind)
		if dr.Live, err = liveTable(ctx, o, postgres, tmp, bins, vars, targets[0], f); err != nil {
			return dr, fmt.Errorf("live: %w", err)
		}
	}
	switch {
	case !postgres:
	case !o.pooler:
	case clusterURL == "":
		dr.Pooler = &poolerReport{Skipped: "BENCH_DATABASE_URL is a schema, which PgBouncer cannot reach; the table needs the throwaway cluster"}
	default:
		logf("%s: PgBouncer table", kind)
		if dr.Pooler, err = pooler(ctx, o, clusterURL, databaseURL, tmp, bins, vars, targets[0], f); err != nil {
			return dr, fmt.Errorf("pgbouncer: %w", err)
		}
	}
	for _, t := range targets {
		if done, werr := t.proc.exited(); done {
			return dr, fmt.Errorf("%s exited during the run: %v\n%s", t.name, werr, t.proc.logTail(20))
		}
		dr.LifetimeRSS[t.name], _ = peakRSS(t.proc.pid())
	}
	// Stop both before checking the counters, so nothing is in flight.
	for _, t := range targets {
		t.proc.stop()
		dr.LogLines[t.name] = t.proc.logLines()
		if n := dr.LogLines[t.name]; n > 0 {
			logf("%s: %s logged %d lines at LOG_LEVEL=error; the last:\n%s", kind, t.name, n, t.proc.logTail(10))
		}
	}
	drift, err := counterDrift(ctx, postgres, databaseURL)
	if err != nil {
		return dr, err
	}
	dr.CounterDrift = drift
	if drift > 0 {
		logf("%s: COUNTER DRIFT: %d users whose todo_count/done_count differ from their todos", kind, drift)
	}
	return dr, nil
}

// measure warms each operation up on both servers, then runs the rounds.
func measure(ctx context.Context, o *options, dr *dbReport, targets []*target, f *fixture) error {
	ops := operations()
	for _, op := range ops {
		dr.OpOrder = append(dr.OpOrder, op.name)
		dr.Ops[op.name] = &opReport{Warmup: map[string]*sample{}, Rounds: map[string][]*sample{}}
	}
	if o.warmup > 0 {
		logf("%s: warming up, %v per operation and server", dr.Kind, o.warmup)
		for _, op := range ops {
			for _, t := range targets {
				s := runLoad(ctx, t.client, op, f, o.concurrency, o.warmup)
				dr.Ops[op.name].Warmup[t.name] = s
				if s.Errors > 0 {
					logf("%s: warm-up %s on %s: %d ERRORS, first: %s", dr.Kind, op.name, t.name, s.Errors, s.FirstErrs[0])
				}
			}
		}
	}
	for r := 0; r < o.rounds; r++ {
		for _, op := range ops {
			order := targets
			if r%2 == 1 {
				order = []*target{targets[1], targets[0]}
			}
			for _, t := range order {
				if err := ctx.Err(); err != nil {
					return err
				}
				if done, werr := t.proc.exited(); done {
					return fmt.Errorf("%s exited: %v\n%s", t.name, werr, t.proc.logTail(20))
				}
				resetErr := resetPeakRSS(t.proc.pid())
				s := runLoad(ctx, t.client, op, f, o.concurrency, o.duration)
				if resetErr == nil {
					s.PeakRSS, _ = peakRSS(t.proc.pid())
				}
				dr.Ops[op.name].Rounds[t.name] = append(dr.Ops[op.name].Rounds[t.name], s)
				logf("%s round %d/%d %-17s %-8s %8.0f req/s  p50 %-9v p99 %-9v errors %d",
					dr.Kind, r+1, o.rounds, op.name, t.name, s.RPS, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Errors)
				if s.Errors > 0 {
					logf("   first error: %s", s.FirstErrs[0])
				}
			}
		}
	}
	return ctx.Err()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
