package api

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wardnet/ward/internal/plan"
	"github.com/wardnet/ward/internal/quarantine"
	"github.com/wardnet/ward/internal/store"
)

// Metrics are the series /metrics exposes, in their own registry.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	alerts          *prometheus.CounterVec
	alertsLimited   *prometheus.CounterVec
	planDuration    prometheus.Histogram
	applyDuration   prometheus.Histogram
	pushErrors      *prometheus.CounterVec
	held            prometheus.Counter
	leader          prometheus.Gauge
	leaderEpoch     prometheus.Gauge
	leaderChanges   *prometheus.CounterVec
	jobLatency      *prometheus.HistogramVec
	drift           *prometheus.GaugeVec

	mu           sync.Mutex
	sources      map[string]bool
	storeWatched bool
}

// maxSources bounds the source label of ward_alerts_received_total: an
// alert's source is the sender's word, so past this many distinct ones
// the rest count as "other".
const maxSources = 200

// NewMetrics makes the series, registered with a registry of their own
// with the Go runtime's and the process's.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), sources: map[string]bool{}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_http_requests_total",
		Help: "API requests by method, route and status."}, []string{"method", "route", "status"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ward_http_request_duration_seconds",
		Help: "API request durations by method and route.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}},
		[]string{"method", "route"})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_alerts_received_total",
		Help: "Alerts received by source and payload format."}, []string{"source", "format"})
	m.alertsLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_alert_requests_rate_limited_total",
		Help: "Alert requests refused with 429 by sender."}, []string{"sender"})
	m.planDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ward_plan_duration_seconds",
		Help: "Time to make a plan (POST /api/v1/plans).", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)})
	m.applyDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ward_apply_duration_seconds",
		Help: "Time to apply a plan to its targets.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)})
	m.pushErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_push_errors_total",
		Help: "Failed pushes to a target, by target and kind (apply, quarantine, drift)."}, []string{"target", "kind"})
	m.held = prometheus.NewCounter(prometheus.CounterOpts{Name: "ward_quarantine_held_total",
		Help: "Alerts the storm guard (max_auto_per_hour) held for a person: each waits as a pending quarantine (ward quarantines -status pending)."})
	m.leader = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ward_leader",
		Help: "1 while this replica leads the scheduled work (expiry, reconcile, drift checks), else 0."})
	m.leaderEpoch = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ward_leader_epoch",
		Help: "The epoch of this replica's last term as leader (the fencing token of its work)."})
	m.leaderChanges = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ward_leadership_changes_total",
		Help: "Times this replica gained or lost the leadership."}, []string{"change"})
	m.drift = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ward_target_drift",
		Help: "1 when a target's last drift check found it running other than what Ward applied, 0 when in sync"}, []string{"target"})
	m.jobLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ward_job_latency_seconds",
		Help:    "Time from a job's enqueueing to the end of a run of it, by kind and outcome (done, retry, failed).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"kind", "outcome"})
	m.reg.MustRegister(m.requests, m.requestDuration, m.alerts, m.alertsLimited, m.planDuration, m.applyDuration, m.pushErrors, m.held,
		m.leader, m.leaderEpoch, m.leaderChanges, m.jobLatency, m.drift,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the series are registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// PushError counts a failed quarantine push to target (the quarantine
// manager's OnPushError).
func (m *Metrics) PushError(target string, _ error) {
	m.pushErrors.WithLabelValues(target, "quarantine").Inc()
}

// Leadership records a change of this replica's leadership
// (cluster.Options.OnChange).
func (m *Metrics) Leadership(leader bool, epoch int64) {
	m.leaderEpoch.Set(float64(epoch))
	if leader {
		m.leader.Set(1)
		m.leaderChanges.WithLabelValues("gained").Inc()
		return
	}
	m.leader.Set(0)
	m.leaderChanges.WithLabelValues("lost").Inc()
}

// JobFinished records a run of a job (jobs.QueueOptions.OnFinish).
func (m *Metrics) JobFinished(j store.Job, outcome string, sinceEnqueued time.Duration) {
	m.jobLatency.WithLabelValues(j.Kind, outcome).Observe(sinceEnqueued.Seconds())
}

// DriftChecked records a drift check of a target (scheduled, or asked
// for through the API): ward_target_drift, and a failed read as a push
// error of kind "drift".
func (m *Metrics) DriftChecked(d plan.Drift) {
	switch d.Status {
	case store.DriftInSync:
		m.drift.WithLabelValues(d.Target).Set(0)
	case store.DriftDrift:
		m.drift.WithLabelValues(d.Target).Set(1)
	case store.DriftError:
		m.pushErrors.WithLabelValues(d.Target, "drift").Inc()
	}
}

// WatchSessions exposes the quarantine manager's SSH session pool.
func (m *Metrics) WatchSessions(stats func() quarantine.PoolStats) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ward_ssh_sessions_open",
		Help: "SSH sessions to targets kept open for quarantine."}, func() float64 { return float64(stats().Open) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ward_ssh_dials_total",
		Help: "SSH sessions dialled for quarantine."}, func() float64 { return float64(stats().Dials) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ward_ssh_dial_errors_total",
		Help: "SSH dials for quarantine that failed."}, func() float64 { return float64(stats().DialErrors) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ward_ssh_sessions_discarded_total",
		Help: "SSH sessions closed and never reused because a command on them timed out, hung or broke."}, func() float64 { return float64(stats().Discarded) }))
}

func (m *Metrics) request(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// quarantineHeld counts an alert the storm guard held for a person.
func (m *Metrics) quarantineHeld() { m.held.Inc() }

func (m *Metrics) alertReceived(source, format string) {
	m.mu.Lock()
	if !m.sources[source] {
		if len(m.sources) >= maxSources || !sourceName.MatchString(source) {
			source = "other"
		} else {
			m.sources[source] = true
		}
	}
	m.mu.Unlock()
	m.alerts.WithLabelValues(source, format).Inc()
}

// watchStore exposes the active quarantines by level, read from the store
// at each scrape.
func (m *Metrics) watchStore(st *store.Store) {
	if st == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.storeWatched {
		return // one store per registry
	}
	m.storeWatched = true
	m.reg.MustRegister(&quarantineCollector{st: st, desc: prometheus.NewDesc("ward_quarantines_active",
		"Active quarantines by level in force and level waiting for approval (pending).", []string{"level", "pending"}, nil)})
}

type quarantineCollector struct {
	st   *store.Store
	desc *prometheus.Desc
}

func (q *quarantineCollector) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

func (q *quarantineCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := q.st.CountActiveQuarantines(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(q.desc, err)
		return
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Level+"/"+r.PendingLevel] = true
		ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(r.N), r.Level, r.PendingLevel)
	}
	// Zero series for the levels, so a dashboard shows 0 rather than
	// nothing.
	for _, l := range []string{quarantine.LevelRestrict, quarantine.LevelIsolate} {
		if !seen[l+"/"] {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, 0, l, "")
		}
	}
}

func (s *Server) serveMetrics(c *gin.Context) {
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(c.Writer, c.Request)
}
