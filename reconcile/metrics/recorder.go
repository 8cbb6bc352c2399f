package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/stewardhq/steward/reconcile"
)

// Results of a reconcile, the values of the result label of
// steward_reconcile_total.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Options configures a Recorder.
type Options struct {
	// Namespace prefixes every metric name ("steward").
	Namespace string
	// DurationBuckets are the buckets of steward_reconcile_duration_seconds.
	DurationBuckets []float64
	// FetchBuckets are the buckets of steward_git_fetch_duration_seconds.
	FetchBuckets []float64
}

// DefaultOptions returns the options steward runs with.
func DefaultOptions() Options {
	return Options{
		Namespace: "steward",
		// 10ms .. ~10min: a unit of one File applies in milliseconds, a
		// Kubernetes unit that waits for rollouts takes minutes.
		DurationBuckets: prometheus.ExponentialBuckets(0.01, 2.5, 15),
		FetchBuckets:    prometheus.ExponentialBuckets(0.01, 2, 14),
	}
}

// Recorder owns the reconciler's collectors. Its methods are safe for
// concurrent use.
type Recorder struct {
	ReconcileDuration *prometheus.HistogramVec // unit, target
	ReconcileTotal    *prometheus.CounterVec   // unit, result
	UnitReady         *prometheus.GaugeVec     // unit
	SourceRevision    *prometheus.GaugeVec     // revision
	FetchDuration     prometheus.Histogram
	ApplyObjects      *prometheus.CounterVec // unit, action
	DriftObjects      *prometheus.GaugeVec   // unit

	mu       sync.Mutex
	revision string          // the one revision series kept in SourceRevision
	units    map[string]bool // units with series, forgotten when the stack drops them
}

// New returns a Recorder whose collectors are not yet registered anywhere.
func New(opts Options) *Recorder {
	ns := opts.Namespace
	return &Recorder{
		ReconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "reconcile_duration_seconds",
			Help:    "Time one unit's reconcile took: generate, check, plan and apply.",
			Buckets: opts.DurationBuckets,
		}, []string{"unit", "target"}),
		ReconcileTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "reconcile_total",
			Help: "Reconciles of a unit by result (success, failure).",
		}, []string{"unit", "result"}),
		UnitReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "unit_ready",
			Help: "1 when the unit's last reconcile applied its revision fully, else 0.",
		}, []string{"unit"}),
		SourceRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "source_revision_info",
			Help: "The revision the source currently tracks (always 1; the revision is the label).",
		}, []string{"revision"}),
		FetchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "git_fetch_duration_seconds",
			Help:    "Time one poll of the git source took, ls-remote and fetch.",
			Buckets: opts.FetchBuckets,
		}),
		ApplyObjects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "apply_objects_total",
			Help: "Objects applied by action (created, configured, unchanged, deleted, skipped, failed).",
		}, []string{"unit", "action"}),
		DriftObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "drift_objects",
			Help: "Objects found drifted from git at the unit's last reconcile.",
		}, []string{"unit"}),
	}
}

// Collectors returns every collector the Recorder owns, for registration.
func (r *Recorder) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		r.ReconcileDuration, r.ReconcileTotal, r.UnitReady, r.SourceRevision,
		r.FetchDuration, r.ApplyObjects, r.DriftObjects,
	}
}

// Register registers the Recorder's collectors on reg.
func (r *Recorder) Register(reg prometheus.Registerer) error {
	for _, c := range r.Collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// NewRegistry returns a Recorder with default options and a fresh registry
// holding its collectors plus the Go runtime and process collectors.
func NewRegistry() (*Recorder, *prometheus.Registry, error) {
	r := New(DefaultOptions())
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, err
	}
	if err := r.Register(reg); err != nil {
		return nil, nil, err
	}
	return r, reg, nil
}

// RecordReconcile records one reconcile of unit on target: its duration, its
// result, and per action the objects of cs (cs may be nil when the unit
// failed before applying). A change set with failed changes counts as a
// failure even when err is nil.
func (r *Recorder) RecordReconcile(unit, target string, cs *reconcile.ChangeSet, dur time.Duration, err error) {
	r.ReconcileDuration.WithLabelValues(unit, target).Observe(dur.Seconds())
	result := ResultSuccess
	if err != nil || (cs != nil && cs.Count(reconcile.Failed) > 0) {
		result = ResultFailure
	}
	r.ReconcileTotal.WithLabelValues(unit, result).Inc()
	if cs == nil {
		return
	}
	counts := map[reconcile.Action]int{}
	for _, c := range cs.Changes {
		counts[c.Action]++
	}
	for a, n := range counts {
		r.ApplyObjects.WithLabelValues(unit, string(a)).Add(float64(n))
	}
}

// SetReady sets steward_unit_ready for unit.
func (r *Recorder) SetReady(unit string, ready bool) {
	v := 0.0
	if ready {
		v = 1
	}
	r.UnitReady.WithLabelValues(unit).Set(v)
}

// SetRevision makes rev the only series of steward_source_revision_info.
func (r *Recorder) SetRevision(rev string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rev == r.revision {
		return
	}
	if r.revision != "" {
		r.SourceRevision.DeleteLabelValues(r.revision)
	}
	r.revision = rev
	if rev != "" {
		r.SourceRevision.WithLabelValues(rev).Set(1)
	}
}

// ObserveFetch records the duration of one poll of the source.
func (r *Recorder) ObserveFetch(dur time.Duration) {
	r.FetchDuration.Observe(dur.Seconds())
}

// SetDrift sets how many objects of unit were found drifted.
func (r *Recorder) SetDrift(unit string, n int) {
	r.DriftObjects.WithLabelValues(unit).Set(float64(n))
}

// ForgetUnit deletes every series of unit, for a unit removed from the stack
// file.
func (r *Recorder) ForgetUnit(unit string) {
	l := prometheus.Labels{"unit": unit}
	r.ReconcileDuration.DeletePartialMatch(l)
	r.ReconcileTotal.DeletePartialMatch(l)
	r.UnitReady.DeletePartialMatch(l)
	r.ApplyObjects.DeletePartialMatch(l)
	r.DriftObjects.DeletePartialMatch(l)
}
