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
			Help: "Finished sign-in callbacks, by result (ok, refused, provider_error).",
		}, []string{"result"}),
		embeds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qsgate_embed_urls_total",
			Help: "Embed page views, by result: ok, the QuickSight error code (e.g. ThrottlingException), no_mapping, bad_request or other.",
		}, []string{"result"}),
		quicksight: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qsgate_quicksight_request_duration_seconds",
			Help:    "Time for one GetSessionEmbedUrl, SDK retries included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	m.reg.MustRegister(m.requests, m.logins, m.embeds, m.quicksight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
