package main

// Metrics, end to end: what the wired server counts, as Prometheus scrapes it.

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"wxtodo/apitest"
	"wxtodo/db"
	"wxtodo/db/dbtest"
	"wxtodo/wechat/wechattest"
)

// scrape reads /metrics and parses it as Prometheus does.
func scrape(tb testing.TB, in *instance) map[string]*dto.MetricFamily {
	tb.Helper()
	rec := in.get(tb, "/metrics", "")
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET /metrics: status %d", rec.Code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		tb.Fatalf("parse /metrics: %v\n%s", err, rec.Body.String())
	}
	return fams
}

// sample returns the value of the family's series with exactly these
// labels (a counter's value, or a histogram's count), and whether it exists.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range f.Metric {
		for _, lp := range m.Label {
			if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
				continue next
			}
		}
		if len(m.Label) < len(want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, databaseURL string) {
		in := newInstance(t, databaseURL, "WECHAT_TIMEOUT", "300ms")
		token, _ := in.Login(t, "metrics-user")
		as := apitest.As(token)
		in.OK(t, `mutation { createTodo(input: {title: "a"}) { id } }`, nil, as)
		in.OK(t, `{ todos(first: 5) { totalCount } }`, nil, as)
		in.OK(t, `{ todos(first: 5) { totalCount } }`, nil, as)
		in.Fails(t, `{ todos { totalCount } }`, "UNAUTHENTICATED")
		in.Fails(t, `mutation { deleteTodo(id: "999999") }`, "NOT_FOUND", as)
		in.Fails(t, `{ me { id } todos { totalCount } nope }`, "GRAPHQL_VALIDATION_FAILED", as)
		in.Fails(t, `{ me { id }`, "GRAPHQL_PARSE_FAILED", as)
		in.wx.On("bad-code", wechattest.Reply{Errcode: 40029})
		in.Fails(t, `mutation { login(input: {code: "bad-code"}) { token } }`, "WECHAT_ERROR")
		in.wx.On("slow-code", wechattest.Reply{Delay: 2 * time.Second})
		in.Fails(t, `mutation { login(input: {code: "slow-code"}) { token } }`, "WECHAT_UNAVAILABLE")
		in.get(t, "/no/such/path", "") // counted as route other

		fams := scrape(t, in)
		ops := []struct {
			operation, code string
			want            float64
		}{
			{"login", "OK", 1},
			{"login", "WECHAT_ERROR", 1},
			{"login", "WECHAT_UNAVAILABLE", 1},
			{"createTodo", "OK", 1},
			{"todos", "OK", 2},
			{"todos", "UNAUTHENTICATED", 1},
			{"deleteTodo", "NOT_FOUND", 1},
			{"invalid", "GRAPHQL_VALIDATION_FAILED", 1},
			{"invalid", "GRAPHQL_PARSE_FAILED", 1},
		}
		for _, o := range ops {
			got, ok := sample(fams, "wxtodo_graphql_operations_total", "operation", o.operation, "code", o.code)
			if !ok || got != o.want {
				t.Errorf("wxtodo_graphql_operations_total{operation=%q,code=%q} = %v (present %v), want %v", o.operation, o.code, got, ok, o.want)
			}
		}
		if n, ok := sample(fams, "wxtodo_graphql_operation_duration_seconds", "operation", "todos"); !ok || n != 3 {
			t.Errorf("latency histogram for todos has %v observations, want 3", n)
		}
		if n, _ := sample(fams, "wxtodo_http_requests_total", "route", "/query", "status", "200"); n != 8 {
			t.Errorf("http requests to /query with 200: %v, want 8", n)
		}
		if n, _ := sample(fams, "wxtodo_http_requests_total", "route", "/query", "status", "422"); n != 2 {
			t.Errorf("http requests to /query with 422 (parse and validation errors): %v, want 2", n)
		}
		if n, _ := sample(fams, "wxtodo_http_requests_total", "route", "other", "status", "404"); n != 1 {
			t.Errorf("unknown paths are counted as route=other: %v, want 1", n)
		}
		if _, ok := sample(fams, "wxtodo_wechat_calls_total", "api", "jscode2session", "errcode", "0"); !ok {
			t.Errorf("no successful jscode2session call counted")
		}
		if n, _ := sample(fams, "wxtodo_wechat_calls_total", "api", "jscode2session", "errcode", "40029"); n != 1 {
			t.Errorf("jscode2session errcode 40029 counted %v times, want 1", n)
		}
		if n, _ := sample(fams, "wxtodo_wechat_calls_total", "api", "jscode2session", "errcode", "timeout"); n != 1 {
			t.Errorf("jscode2session timeouts counted %v times, want 1", n)
		}
		if n, _ := sample(fams, "wxtodo_wechat_call_duration_seconds", "api", "jscode2session"); n < 2 {
			t.Errorf("jscode2session latency observations: %v, want >= 2", n)
		}
		for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "go_sql_open_connections", "go_sql_in_use_connections", "go_sql_wait_count_total"} {
			if _, ok := fams[name]; !ok {
				t.Errorf("no %s in /metrics", name)
			}
		}
		if _, ok := sample(fams, "go_sql_open_connections", "db_name", "wxtodo"); !ok {
			t.Errorf("pool metrics lack db_name=wxtodo")
		}
		// No label carries what a client chose freely.
		for name, f := range fams {
			for _, m := range f.Metric {
				for _, lp := range m.Label {
					if strings.Contains(lp.GetValue(), "metrics-user") || strings.Contains(lp.GetValue(), "no/such") {
						t.Errorf("%s has a client-chosen label value %q", name, lp.GetValue())
					}
				}
			}
		}
	})
}

func TestMetricsCanBeTurnedOff(t *testing.T) {
	in := newInstance(t, dbtest.SQLiteURL(t), "METRICS", "false")
	if got := in.get(t, "/metrics", "").Code; got != http.StatusNotFound {
		t.Errorf("GET /metrics with METRICS=false: %d, want 404", got)
	}
}

// TestLiveMetrics: open sockets, active subscriptions, events delivered,
// dropped and resynced, and (on PostgreSQL) listener reconnects.
func TestLiveMetrics(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, databaseURL string) {
		in := newInstance(t, databaseURL)
		srv := httptest.NewServer(in.app.Handler)
		defer srv.Close()
		token, _ := in.Login(t, "live-metrics")
		ws, err := apitest.Dial(t, srv.URL, apitest.TransportWS, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatal(err)
		}
		ws.MustInit(t, nil)
		ws.Subscribe(t, "1", `subscription { todoChanged { kind } }`)
		// gauge waits for a series to reach want: the hub counts an event
		// once it is sent, so the client may read it first.
		gauge := func(name string, want float64, labels ...string) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for {
				got, _ := sample(scrape(t, in), name, labels...)
				if got == want {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("%s = %v, want %v", name, got, want)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		gauge("wxtodo_live_subscriptions", 1)
		gauge("wxtodo_live_sockets", 1)
		in.OK(t, `mutation { createTodo(input: {title: "counted"}) { id } }`, nil, apitest.As(token))
		ws.NextChange(t, "1", 5*time.Second)
		gauge("wxtodo_live_events_total", 1, "outcome", "delivered")
		fams := scrape(t, in)
		for _, o := range []string{"dropped", "resynced"} {
			if _, ok := sample(fams, "wxtodo_live_events_total", "outcome", o); !ok {
				t.Errorf("no wxtodo_live_events_total{outcome=%q} series", o)
			}
		}
		if in.app.DB.IsPostgres() {
			dbtest.Exec(t, in.db, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 || current_schema()`, db.ListenerName)
			// A new connection to PostgreSQL first: slow on a loaded machine.
			if c := ws.NextChange(t, "1", 30*time.Second); c.Kind != "RESYNC" {
				t.Errorf("got %+v, want RESYNC", c)
			}
			gauge("wxtodo_live_listener_reconnects_total", 1)
			gauge("wxtodo_live_events_total", 1, "outcome", "resynced")
		}
		ws.Close()
		gauge("wxtodo_live_sockets", 0)
		gauge("wxtodo_live_subscriptions", 0)
		// A socket's lifetime stays out of /query's latency.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, _ := sample(scrape(t, in), "wxtodo_http_requests_total", "route", "/query (stream)", "status", "101")
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("sockets counted under route \"/query (stream)\": %v, want 1", n)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
