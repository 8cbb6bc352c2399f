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
//
// Series per unit are few and flat: its last reconcile's duration is a
// gauge, and the duration histogram is per target (a histogram per unit
// was 18 series a unit: 15 buckets, +Inf, sum and count). The per-unit
// series are kept as plain numbers and built when scraped (unitCollector).
type Recorder struct {
	ReconcileDuration *prometheus.HistogramVec // target
	SourceRevision    *prometheus.GaugeVec     // revision
	FetchDuration     prometheus.Histogram
	// Units exposes steward_unit_ready, steward_reconcile_last_duration_seconds,
	// steward_reconcile_total, steward_apply_objects_total and
	// steward_drift_objects, each labelled by unit.
	Units prometheus.Collector

	units *unitCollector

	mu       sync.Mutex
	revision string          // the one revision series kept in SourceRevision
	targets  map[string]bool // targets with a histogram, forgotten when the stack drops them
}

// New returns a Recorder whose collectors are not yet registered anywhere.
func New(opts Options) *Recorder {
	ns := opts.Namespace
	units := newUnitCollector(ns)
	return &Recorder{
		ReconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "reconcile_duration_seconds",
			Help:    "Time one reconcile of a unit took, by target: generate, check, plan and apply.",
			Buckets: opts.DurationBuckets,
		}, []string{"target"}),
		SourceRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "source_revision_info",
			Help: "The revision the source currently tracks (always 1; the revision is the label).",
		}, []string{"revision"}),
		FetchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "git_fetch_duration_seconds",
			Help:    "Time one poll of the git source took, ls-remote and fetch.",
			Buckets: opts.FetchBuckets,
		}),
		Units: units,
		units: units,
	}
}

// Collectors returns every collector the Recorder owns, for registration.
func (r *Recorder) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		r.ReconcileDuration, r.SourceRevision, r.FetchDuration, r.Units,
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

// RecordReconcile records one reconcile of unit on target: its duration
// (the unit's last, and in its target's histogram), its result, and per
// action the objects of cs (cs may be nil when the unit failed before
// applying). A change set with failed changes counts as a failure even when
// err is nil.
func (r *Recorder) RecordReconcile(unit, target string, cs *reconcile.ChangeSet, dur time.Duration, err error) {
	r.ReconcileDuration.WithLabelValues(target).Observe(dur.Seconds())
	failed := err != nil || (cs != nil && cs.Count(reconcile.Failed) > 0)
	r.units.update(unit, func(s *unitSeries) {
		s.lastDuration = dur.Seconds()
		s.set |= setDuration
		if failed {
			s.total[1]++
		} else {
			s.total[0]++
		}
		if cs != nil {
			s.count(cs)
		}
	})
}

// SetReady sets steward_unit_ready for unit.
func (r *Recorder) SetReady(unit string, ready bool) {
	r.units.update(unit, func(s *unitSeries) {
		s.ready = ready
		s.set |= setReady
	})
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
	r.units.update(unit, func(s *unitSeries) {
		s.drift = float64(n)
		s.set |= setDrift
	})
}

// ForgetTarget deletes the duration histogram of target, for a target
// removed from the stack file.
func (r *Recorder) ForgetTarget(target string) {
	r.ReconcileDuration.DeleteLabelValues(target)
}

// ForgetUnit deletes every series of unit, for a unit removed from the stack
// file.
func (r *Recorder) ForgetUnit(unit string) {
	r.units.forget(unit)
}
