// Package metrics provides wxtodo's Prometheus metrics: GraphQL operations
// by outcome, HTTP requests, logins and WeChat calls by app, live updates (sockets,
// subscriptions, events, listener reconnects), the database pool and the
// Go runtime, on a registry of its own so that tests and several servers in
// one process never collide.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets spans a cached read (a millisecond) to a request at its
// deadline (REQUEST_TIMEOUT, 15s by default).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// Metrics holds the collectors. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	operations        *prometheus.CounterVec
	operationDuration *prometheus.HistogramVec
	httpRequests      *prometheus.CounterVec
	httpDuration      *prometheus.HistogramVec
	logins            *prometheus.CounterVec
	wechatCalls       *prometheus.CounterVec
	wechatDuration    *prometheus.HistogramVec
	liveSockets       prometheus.Gauge
	liveSubscriptions prometheus.Gauge
	liveEvents        *prometheus.CounterVec
	liveFeedLost      prometheus.Counter
}

// New returns metrics registered on a new registry, with the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxtodo_graphql_operations_total",
			Help: "GraphQL operations by root field (\"multiple\" for several, \"invalid\" when the document did not parse or validate) and outcome code (OK, or the first error's extensions.code).",
		}, []string{"operation", "code"}),
		operationDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wxtodo_graphql_operation_duration_seconds",
			Help:    "Time from the start of a GraphQL operation to its response, by root field.",
			Buckets: latencyBuckets,
		}, []string{"operation"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxtodo_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wxtodo_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxtodo_logins_total",
			Help: "Logins by mini-program (one of the configured AppIDs) and result: new (a person's first), returning, or error.",
		}, []string{"app", "result"}),
		wechatCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxtodo_wechat_calls_total",
			Help: "Calls to WeChat's API (each attempt) by mini-program (one of the configured AppIDs), API and errcode: 0 for success, WeChat's errcode, \"timeout\", or \"error\" (network, HTTP status, unreadable answer).",
		}, []string{"app", "api", "errcode"}),
		wechatDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wxtodo_wechat_call_duration_seconds",
			Help:    "Latency of one call to WeChat's API, by mini-program and API.",
			Buckets: latencyBuckets,
		}, []string{"app", "api"}),
		liveSockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxtodo_live_sockets",
			Help: "Open subscription sockets (WebSocket connections past connection_init, and SSE streams).",
		}),
		liveSubscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxtodo_live_subscriptions",
			Help: "Active todoChanged subscriptions.",
		}),
		liveEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxtodo_live_events_total",
			Help: "Live events by outcome: delivered to a subscriber, dropped (its buffer was full), or resynced (a RESYNC sent in place of what was dropped or lost).",
		}, []string{"outcome"}),
		liveFeedLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wxtodo_live_listener_reconnects_total",
			Help: "Times the database listener of live updates was lost and connected again.",
		}),
	}
	for _, o := range []string{"delivered", "dropped", "resynced"} {
		m.liveEvents.WithLabelValues(o)
	}
	m.reg.MustRegister(
		m.liveSockets, m.liveSubscriptions, m.liveEvents, m.liveFeedLost,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.operations, m.operationDuration,
		m.httpRequests, m.httpDuration,
		m.logins, m.wechatCalls, m.wechatDuration,
	)
	return m
}

// WatchDB adds the pool statistics of db (connections open, in use, idle,
// waits) as go_sql_* metrics labelled db_name=name.
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// WatchRoundTrips exports trips, the statements sent to the database so
// far, as wxtodo_db_round_trips_total.
func (m *Metrics) WatchRoundTrips(trips func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "wxtodo_db_round_trips_total",
		Help: "Statements sent to PostgreSQL (BEGIN and COMMIT included), each one round trip.",
	}, func() float64 { return float64(trips()) }))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics live, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveOperation records one GraphQL operation.
func (m *Metrics) ObserveOperation(operation, code string, d time.Duration) {
	m.operations.WithLabelValues(operation, code).Inc()
	m.operationDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// ObserveHTTP records one HTTP request. route must come from a fixed set
// (the server's routes), never from the raw path, to bound the series.
func (m *Metrics) ObserveHTTP(route string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveWeChat records one attempt at a WeChat API call of the app.
// outcome is "0" for success, WeChat's errcode, or a transport failure
// class. app must be a configured AppID, to bound the series.
func (m *Metrics) ObserveWeChat(app, api, outcome string, d time.Duration) {
	m.wechatCalls.WithLabelValues(app, api, outcome).Inc()
	m.wechatDuration.WithLabelValues(app, api).Observe(d.Seconds())
}

// ObserveLogin records one login to the app (a configured AppID): result
// is "new", "returning" or "error".
func (m *Metrics) ObserveLogin(app, result string) {
	m.logins.WithLabelValues(app, result).Inc()
}

// ObserveSockets implements live.Observer.
func (m *Metrics) ObserveSockets(delta int) { m.liveSockets.Add(float64(delta)) }

// ObserveSubscriptions implements live.Observer.
func (m *Metrics) ObserveSubscriptions(delta int) { m.liveSubscriptions.Add(float64(delta)) }

// ObserveEvent implements live.Observer.
func (m *Metrics) ObserveEvent(outcome string) { m.liveEvents.WithLabelValues(outcome).Inc() }

// ObserveFeedLost implements live.Observer.
func (m *Metrics) ObserveFeedLost() { m.liveFeedLost.Inc() }
