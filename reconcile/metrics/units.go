package metrics

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stewardhq/steward/reconcile"
)

// unitCollector holds the per-unit series as plain numbers, a few dozen
// bytes a unit, and turns them into samples when scraped. Metric vectors
// keep every series as its own metric with its label pairs: at 10 000
// units the five per-unit series were 18 MB of the daemon's heap.
type unitCollector struct {
	ready, lastDuration, total, objects, drift *prometheus.Desc

	mu    sync.Mutex
	units map[string]*unitSeries
}

// unitSeries are one unit's series. A series exists once set: a counter
// once it counted something, a gauge once written.
type unitSeries struct {
	ready        bool
	lastDuration float64
	drift        float64
	total        [2]float64 // by result: success, failure
	objects      [len(actions)]float64
	set          uint8 // which gauges were written: setReady, setDuration, setDrift
}

const (
	setReady = 1 << iota
	setDuration
	setDrift
)

// results are the values of steward_reconcile_total's result label, in the
// order of unitSeries.total.
var results = [...]string{ResultSuccess, ResultFailure}

// actions are the values of steward_apply_objects_total's action label, in
// the order of unitSeries.objects.
var actions = [...]reconcile.Action{reconcile.Created, reconcile.Configured, reconcile.Unchanged,
	reconcile.Deleted, reconcile.Skipped, reconcile.Failed}

func newUnitCollector(ns string) *unitCollector {
	unit := []string{"unit"}
	return &unitCollector{
		ready: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "unit_ready"),
			"1 when the unit's last reconcile applied its revision fully, else 0.", unit, nil),
		lastDuration: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "reconcile_last_duration_seconds"),
			"Time the unit's last reconcile took: generate, check, plan and apply.", unit, nil),
		total: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "reconcile_total"),
			"Reconciles of a unit by result (success, failure).", []string{"unit", "result"}, nil),
		objects: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "apply_objects_total"),
			"Objects applied by action (created, configured, unchanged, deleted, skipped, failed).", []string{"unit", "action"}, nil),
		drift: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "drift_objects"),
			"Objects found drifted from git at the unit's last reconcile.", unit, nil),
		units: map[string]*unitSeries{},
	}
}

// update changes the series of unit under the collector's lock.
func (c *unitCollector) update(unit string, fn func(s *unitSeries)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.units[unit]
	if s == nil {
		s = &unitSeries{}
		c.units[unit] = s
	}
	fn(s)
}

// forget deletes every series of unit.
func (c *unitCollector) forget(unit string) {
	c.mu.Lock()
	delete(c.units, unit)
	c.mu.Unlock()
}

// retain deletes the series of every unit keep refuses.
func (c *unitCollector) retain(keep func(unit string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for unit := range c.units {
		if !keep(unit) {
			delete(c.units, unit)
		}
	}
}

// series returns a copy of unit's series, or false when it has none.
func (c *unitCollector) series(unit string) (unitSeries, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.units[unit]
	if !ok {
		return unitSeries{}, false
	}
	return *s, true
}

// Describe implements prometheus.Collector.
func (c *unitCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.ready, c.lastDuration, c.total, c.objects, c.drift} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It copies the series under the
// lock and builds the samples outside it, so a scrape never holds up the
// reconciler for long.
func (c *unitCollector) Collect(ch chan<- prometheus.Metric) {
	type named struct {
		unit string
		s    unitSeries
	}
	c.mu.Lock()
	all := make([]named, 0, len(c.units))
	for unit, s := range c.units {
		all = append(all, named{unit, *s})
	}
	c.mu.Unlock()
	for _, n := range all {
		c.collectUnit(ch, n.unit, &n.s)
	}
}

func (c *unitCollector) collectUnit(ch chan<- prometheus.Metric, unit string, s *unitSeries) {
	if s.set&setReady != 0 {
		v := 0.0
		if s.ready {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.ready, prometheus.GaugeValue, v, unit)
	}
	if s.set&setDuration != 0 {
		ch <- prometheus.MustNewConstMetric(c.lastDuration, prometheus.GaugeValue, s.lastDuration, unit)
	}
	if s.set&setDrift != 0 {
		ch <- prometheus.MustNewConstMetric(c.drift, prometheus.GaugeValue, s.drift, unit)
	}
	for i, v := range s.total {
		if v > 0 {
			ch <- prometheus.MustNewConstMetric(c.total, prometheus.CounterValue, v, unit, results[i])
		}
	}
	for i, v := range s.objects {
		if v > 0 {
			ch <- prometheus.MustNewConstMetric(c.objects, prometheus.CounterValue, v, unit, string(actions[i]))
		}
	}
}

// count adds the changes of cs to s.objects by action.
func (s *unitSeries) count(cs *reconcile.ChangeSet) {
	for _, ch := range cs.Changes {
		if i := slices.Index(actions[:], ch.Action); i >= 0 {
			s.objects[i]++
		}
	}
}
