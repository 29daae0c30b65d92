package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// report is everything a run measured.
type report struct {
	Opts    *options
	Started time.Time
	Host    string
	OutPath string
	DBs     []*dbReport
	// Incomplete is why the run stopped part-way, if it did.
	Incomplete string
}

// dbReport is what was measured on one database.
type dbReport struct {
	Kind         string // pg or sqlite
	Where        string // throwaway cluster, BENCH_DATABASE_URL, temporary file
	Version      string
	SeedTook     time.Duration
	OpOrder      []string
	Ops          map[string]*opReport
	Scale        []*scaleRow
	Attack       *attackReport
	Pooler       *poolerReport
	Live         *liveReport
	Trips        map[string]map[string]float64 // operation -> server -> round trips per request
	Mismatches   []string
	CounterDrift int
	LifetimeRSS  map[string]int64
	LogLines     map[string]int
}

// opReport is one operation's runs on both servers.
type opReport struct {
	Warmup map[string]*sample
	Rounds map[string][]*sample // per server, in round order
}

var servers = []string{"wxtodo", "baseline"}

// errorsOf counts the failed requests of the servers.
func (op *opReport) errorsOf(servers []string) int {
	n := 0
	for _, srv := range servers {
		n += op.errors(srv)
	}
	return n
}

func (op *opReport) errors(server string) int {
	n := 0
	if s := op.Warmup[server]; s != nil {
		n += s.Errors
	}
	for _, s := range op.Rounds[server] {
		n += s.Errors
	}
	return n
}

func (op *opReport) firstErr() string {
	for _, srv := range servers {
		if s := op.Warmup[srv]; s != nil && len(s.FirstErrs) > 0 {
			return srv + " (warm-up): " + s.FirstErrs[0]
		}
		for _, s := range op.Rounds[srv] {
			if len(s.FirstErrs) > 0 {
				return srv + ": " + s.FirstErrs[0]
			}
		}
	}
	return ""
}

// med is the median over the rounds of f of server's samples.
func (op *opReport) med(server string, f func(*sample) float64) float64 {
	var xs []float64
	for _, s := range op.Rounds[server] {
		xs = append(xs, f(s))
	}
	return median(xs)
}

// ratio is the median over the rounds of wxtodo's f over the baseline's.
func (op *opReport) ratio(f func(*sample) float64) float64 {
	return op.ratioOf("wxtodo", "baseline", f)
}

// ratioOf is the median over the rounds of server's f over other's.
func (op *opReport) ratioOf(server, other string, f func(*sample) float64) float64 {
	w, b := op.Rounds[server], op.Rounds[other]
	var xs []float64
	for i := 0; i < len(w) && i < len(b); i++ {
		if d := f(b[i]); d > 0 {
			xs = append(xs, f(w[i])/d)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	return median(xs)
}

// peak is server's highest VmHWM over the operation's rounds.
func (op *opReport) peak(server string) int64 {
	var p int64
	for _, s := range op.Rounds[server] {
		p = max(p, s.PeakRSS)
	}
	return p
}

// overallPeak is server's highest VmHWM seen: the peak of each measured
// operation (the measurement resets it) and the final reading.
func (d *dbReport) overallPeak(server string) int64 {
	p := d.LifetimeRSS[server]
	for _, op := range d.Ops {
		p = max(p, op.peak(server))
	}
	return p
}

func rps(s *sample) float64 { return s.RPS }
func p50(s *sample) float64 { return float64(s.P50) }
func p99(s *sample) float64 { return float64(s.P99) }

// problems counts what makes the database's run invalid.
func (d *dbReport) problems() int {
	n := len(d.Mismatches) + d.CounterDrift
	for _, op := range d.Ops {
		n += op.errors("wxtodo") + op.errors("baseline")
	}
	for _, r := range d.Scale {
		n += r.Errors
	}
	if d.Attack != nil {
		n += d.Attack.MeErrors
	}
	return n + d.Pooler.errors() + d.Live.errors()
}

func (r *report) problems() int {
	n := 0
	for _, d := range r.DBs {
		n += d.problems()
	}
	return n
}

// missed counts operations whose req/s ratio is below the target.
func (r *report) missed() int {
	n := 0
	for _, d := range r.DBs {
		for _, op := range d.Ops {
			if x := op.ratio(rps); math.IsNaN(x) || x < r.Opts.target {
				n++
			}
		}
	}
	return n
}

// markdown renders the report.
func (r *report) markdown() string {
	o := r.Opts
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# wxtodo load benchmark\n\n")
	p("`go run ./bench -duration %v -rounds %d -warmup %v -concurrency %d -db %s` on %s; %s.\n\n",
		o.duration, o.rounds, o.warmup, o.concurrency, o.db, r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Host)
	if r.Incomplete != "" {
		p("> **⚠ INCOMPLETE RUN, stopped part-way (%s). Do not use these numbers.**\n\n", strings.ReplaceAll(r.Incomplete, "\n", " "))
	}
	if n := r.problems(); n > 0 {
		p("> **⚠ INVALID RUN: %d failed requests, mismatched answers or drifted counters (see Problems below). Do not use these numbers.**\n\n", n)
	} else if r.Incomplete == "" {
		p("> **Valid run:** no request failed, both servers answered alike, and the todo counters matched the todos afterwards.\n\n")
	}
	p("Each operation is loaded by %d concurrent keep-alive clients for %v per server and round, after a %v warm-up, "+
		"the two servers alternating (odd rounds wxtodo first, even rounds the baseline first). "+
		"req/s, p50 and p99 are the medians of the %d rounds. **wxtodo/baseline** is the median of the rounds' ratios: "+
		"for req/s higher is better and the target is ≥ %.2f (wxtodo within %.0f%% of the baseline); "+
		"for latency and memory lower is better. Peak RSS is the server process's VmHWM while the operation ran "+
		"(reset before each measured run through /proc/<pid>/clear_refs). "+
		"Both servers run side by side on the same seeded database; the baseline is bench/baseline "+
		"(net/http, hand-written SQL, no GraphQL).\n\n",
		o.concurrency, o.duration, o.warmup, o.rounds, o.target, (1-o.target)*100)

	for _, d := range r.DBs {
		name := map[string]string{"pg": "PostgreSQL", "sqlite": "SQLite"}[d.Kind]
		p("## %s\n\n", name)
		p("%s, %s. Seeded %s users × %s todos for the load and two users with %s and %s todos for the scale table, "+
			"a session each, in %v.\n\n",
			d.Version, d.Where, thousands(float64(o.users)), thousands(float64(o.todosPerUser)),
			thousands(float64(o.todosPerUser)), thousands(float64(o.deepTodos)), d.SeedTook.Round(time.Millisecond))
		if len(d.OpOrder) > 0 {
			r.opTable(&b, d)
		}
		if len(d.Trips) > 0 {
			p("### Round trips per request\n\n")
			p("Statements sent to PostgreSQL per request (BEGIN and COMMIT count), counted by each server's pgx query tracer "+
				"over %d requests of each operation sent one at a time before the load; the session lookup is one of them.\n\n", tripsPerRequest)
			p("| operation | wxtodo | baseline |\n|---|--:|--:|\n")
			for _, name := range d.OpOrder {
				if t, ok := d.Trips[name]; ok {
					p("| `%s` | %.1f | %.1f |\n", name, t["wxtodo"], t["baseline"])
				}
			}
			p("\n")
		}
		if len(d.Scale) > 0 {
			p("### Scale: one user's todos\n\n")
			p("p50 of %d sequential requests per server (alternating), against one user with few and one with many todos. "+
				"Deep pages are reached by cursor. Measured after the load, so the table also holds the todos the load created, "+
				"as a live database would.\n\n", o.scaleRequests)
			p("| user | request | wxtodo p50 | baseline p50 | wxtodo/baseline | errors |\n|---|---|--:|--:|--:|--:|\n")
			for _, s := range d.Scale {
				ratio := math.NaN()
				if s.P50["baseline"] > 0 {
					ratio = float64(s.P50["wxtodo"]) / float64(s.P50["baseline"])
				}
				p("| %s | `%s` | %s | %s | %s | %d |\n", s.User, s.Request, fmtDur(s.P50["wxtodo"]), fmtDur(s.P50["baseline"]), fmtTimes(ratio), s.Errors)
			}
			p("\n")
		}
		if a := d.Attack; a != nil {
			p("### Attack: the costliest documents\n\n")
			p("wxtodo only. Each shape (bench/docs.Attacks) is sent unauthenticated %d times, one at a time, each a new document "+
				"(a fresh comment defeats every cache); CPU is the server process's user+system time per request "+
				"(/proc/<pid>/stat, 10 ms ticks). Then `me` from %d clients for %v alone, and again while %d clients send "+
				"the costliest shape without pause.\n\n", a.Shapes[0].Requests, o.concurrency, o.duration, attackers)
			p("| shape | bytes | passes the document limits | answer | server CPU per request |\n|---|--:|---|---|--:|\n")
			for _, sh := range a.Shapes {
				pass := "no"
				if sh.Passes {
					pass = "yes"
				}
				p("| %s | %s | %s | %d `%s` | %s |\n", sh.Name, thousands(float64(sh.Bytes)), pass, sh.HTTPStatus, sh.Code, fmtDur(sh.CPU))
			}
			ratio := a.MeAttacked / a.MeAlone
			mark := "✓"
			if ratio < 0.8 {
				mark = "✗"
			}
			p("\n| `me` | req/s |\n|---|--:|\n| alone | %s |\n| while %d clients send %q (%s of theirs answered/s) | %s |\n| **under attack / alone** | **%.2f** %s (goal ≥ 0.80) |\n\n",
				thousands(a.MeAlone), attackers, a.Worst, thousands(a.AttackRPS), thousands(a.MeAttacked), ratio, mark)
			if a.MeErrors > 0 {
				p("`me` failed %d times; the first: %s\n\n", a.MeErrors, a.MeFirstError)
			}
		}
		if d.Live != nil {
			d.Live.markdown(&b, d.Kind)
		}
		if d.Pooler != nil {
			d.Pooler.markdown(&b, o)
		}
		r.problemList(&b, d)
	}
	return b.String()
}

func (r *report) opTable(b *strings.Builder, d *dbReport) {
	o := r.Opts
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("| operation | server | req/s | p50 | p99 | errors | peak RSS |\n|---|---|--:|--:|--:|--:|--:|\n")
	met := 0
	for _, name := range d.OpOrder {
		op := d.Ops[name]
		for _, srv := range servers {
			label := ""
			if srv == "wxtodo" {
				label = "`" + name + "`"
			}
			p("| %s | %s | %s | %s | %s | %d | %s |\n", label, srv,
				thousands(op.med(srv, rps)), fmtDur(time.Duration(op.med(srv, p50))), fmtDur(time.Duration(op.med(srv, p99))),
				op.errors(srv), fmtBytes(op.peak(srv)))
		}
		ratio := op.ratio(rps)
		verdict := "✗"
		if ratio >= o.target {
			verdict = "✓"
			met++
		}
		rss := math.NaN()
		if op.peak("baseline") > 0 {
			rss = float64(op.peak("wxtodo")) / float64(op.peak("baseline"))
		}
		p("|  | **wxtodo/baseline** | **%s** %s | %s | %s |  | %s |\n",
			fmtRatio(ratio), verdict, fmtTimes(op.ratio(p50)), fmtTimes(op.ratio(p99)), fmtTimes(rss))
	}
	p("\nTarget (req/s ratio ≥ %.2f): met by %d of %d operations.", o.target, met, len(d.OpOrder))
	if d.overallPeak("wxtodo") > 0 {
		p(" Peak RSS over the whole run: wxtodo %s, baseline %s.", fmtBytes(d.overallPeak("wxtodo")), fmtBytes(d.overallPeak("baseline")))
	}
	p("\n\n")
	if o.rounds > 1 {
		p("<details><summary>req/s per round (wxtodo / baseline = ratio)</summary>\n\n| operation |")
		for i := 1; i <= o.rounds; i++ {
			p(" round %d |", i)
		}
		p("\n|---|%s\n", strings.Repeat("--:|", o.rounds))
		for _, name := range d.OpOrder {
			op := d.Ops[name]
			p("| `%s` |", name)
			w, bl := op.Rounds["wxtodo"], op.Rounds["baseline"]
			for i := 0; i < o.rounds; i++ {
				if i < len(w) && i < len(bl) && bl[i].RPS > 0 {
					p(" %s / %s = %s |", thousands(w[i].RPS), thousands(bl[i].RPS), fmtRatio(w[i].RPS/bl[i].RPS))
				} else {
					p(" – |")
				}
			}
			p("\n")
		}
		p("\n</details>\n\n")
	}
}

func (r *report) problemList(b *strings.Builder, d *dbReport) {
	var lines []string
	for _, m := range d.Mismatches {
		lines = append(lines, "Answers differ: "+m)
	}
	for _, name := range d.OpOrder {
		op := d.Ops[name]
		if n := op.errors("wxtodo") + op.errors("baseline"); n > 0 {
			lines = append(lines, fmt.Sprintf("`%s`: %d failed requests (wxtodo %d, baseline %d); first: %s",
				name, n, op.errors("wxtodo"), op.errors("baseline"), op.firstErr()))
		}
	}
	for _, s := range d.Scale {
		if s.Errors > 0 {
			lines = append(lines, fmt.Sprintf("scale `%s` for %s: %d failed requests; first: %s", s.Request, s.User, s.Errors, s.FirstErr))
		}
	}
	if d.CounterDrift > 0 {
		lines = append(lines, fmt.Sprintf("%d users' todo_count/done_count no longer match their todos", d.CounterDrift))
	}
	for _, srv := range servers {
		if n := d.LogLines[srv]; n > 0 {
			lines = append(lines, fmt.Sprintf("%s wrote %d log lines at LOG_LEVEL=error (not counted as errors)", srv, n))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "### Problems\n\n")
	for _, l := range lines {
		fmt.Fprintf(b, "- %s\n", strings.ReplaceAll(l, "\n", " "))
	}
	fmt.Fprintf(b, "\n")
}

// thousands renders x rounded, with thousands separators.
func thousands(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func fmtBytes(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func fmtRatio(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func fmtTimes(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", x)
}
