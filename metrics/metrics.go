// Package metrics is qsgate's Prometheus instrumentation: request counts and
// latencies by route, sign-ins by result, embed URLs by result and the
// latency of QuickSight calls, plus the Go runtime. It is served on its own
// listener (QSGATE_METRICS_ADDR), never on the public port. Labels are route
// templates and fixed result names, never users, ids or URLs.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.HistogramVec
	logins     *prometheus.CounterVec
	embeds     *prometheus.CounterVec
	quicksight prometheus.Histogram
}

// New registers every collector on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qsgate_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template, method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qsgate_logins_total",
			Help: "Finished sign-in callbacks, by result (ok, refused, denied, limited, provider_error).",
		}, []string{"result"}),
		embeds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qsgate_embed_urls_total",
			Help: "Embed page views, by result: ok, the QuickSight error code (e.g. ThrottlingException, Unreachable, GatewayBudget, Canceled), user_rate, no_mapping, no_user, not_allowed, bad_request, ask_first (a cross-site link asked before registering) or other.",
		}, []string{"result"}),
		quicksight: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qsgate_quicksight_request_duration_seconds",
			Help:    "Time for a view's AWS work: the user mapping (no call when cached) and the embed call, SDK retries included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	m.reg.MustRegister(m.requests, m.logins, m.embeds, m.quicksight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// BudgetSource is what the admission metrics read (limit.Budget).
type BudgetSource interface {
	Waiting() int64
	Shed() int64
	Tokens() float64
}

// RetrySource is the SDK's retry budget (ratelimit.TokenRateLimit).
type RetrySource interface {
	Remaining() uint
}

// WatchAdmission exports the gateway's AWS call budget and the SDK's retry
// budget, read when scraped.
func (m *Metrics) WatchAdmission(b BudgetSource, retries RetrySource) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qsgate_aws_calls_waiting",
			Help: "AWS calls (views, lookups, registrations) waiting for room in the gateway's budget.",
		}, func() float64 { return float64(b.Waiting()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "qsgate_aws_calls_shed_total",
			Help: "AWS calls refused because the budget had no room before their deadline (QSGATE_QUICKSIGHT_MAX_RPS, QSGATE_QUICKSIGHT_MAX_INFLIGHT).",
		}, func() float64 { return float64(b.Shed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qsgate_aws_call_tokens",
			Help: "Tokens in the gateway's AWS call bucket: calls it would allow at once right now.",
		}, b.Tokens),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qsgate_aws_retry_budget_remaining",
			Help: "The AWS SDK's retry budget left: at 0 failed calls are no longer retried.",
		}, func() float64 { return float64(retries.Remaining()) }),
	)
}

// WatchCluster exports whether Redis answers (asked when scraped) and how
// many limit decisions fell back to this instance alone.
func (m *Metrics) WatchCluster(up func() bool, fallbacks func() int64) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qsgate_redis_up",
			Help: "1 when Redis (QSGATE_REDIS_URL) answered a ping at scrape time, else 0.",
		}, func() float64 {
			if up() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "qsgate_limit_fallbacks_total",
			Help: "Limit decisions made by this instance alone because Redis did not answer.",
		}, func() float64 { return float64(fallbacks()) }),
	)
}

// WatchSharedCache exports how many entries of the lookup cache shared in
// Redis failed their seal (forged, moved or altered) and were dropped.
func (m *Metrics) WatchSharedCache(rejected func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "qsgate_shared_cache_rejected_total",
		Help: "Entries of the lookup cache in Redis dropped because their seal did not verify (written by something other than qsgate).",
	}, func() float64 { return float64(rejected()) }))
}

// WatchAudit exports how many audit events could not be written
// (QSGATE_AUDIT_LOG: a full disk, a closed pipe).
func (m *Metrics) WatchAudit(failed func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "qsgate_audit_write_failures_total",
		Help: "Audit events lost because the audit log (QSGATE_AUDIT_LOG) could not be written; the requests they describe were served.",
	}, func() float64 { return float64(failed()) }))
}

// ConnectionSource is the public listener's connection count.
type ConnectionSource interface {
	Open() int64    // client connections held now
	Limited() int64 // times every allowed connection was held, so new ones waited
}

// WatchConnections exports the public listener's connections (read when
// scraped).
func (m *Metrics) WatchConnections(c ConnectionSource) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qsgate_connections_open",
			Help: "Client connections held now (at most QSGATE_MAX_CONNECTIONS).",
		}, func() float64 { return float64(c.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "qsgate_connections_limited_total",
			Help: "Times QSGATE_MAX_CONNECTIONS connections were held at once, so new connections waited.",
		}, func() float64 { return float64(c.Limited()) }),
	)
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered request.
// Methods other than GET, HEAD and POST count as "other", so a client
// cannot add label values.
func (m *Metrics) Request(route, method string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		method = "other"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
}

// Login records a finished callback.
func (m *Metrics) Login(result string) {
	m.logins.WithLabelValues(result).Inc()
}

// Embed records an embed page view and, when QuickSight was called, how
// long it took (d > 0).
func (m *Metrics) Embed(result string, d time.Duration) {
	m.embeds.WithLabelValues(result).Inc()
	if d > 0 {
		m.quicksight.Observe(d.Seconds())
	}
}
