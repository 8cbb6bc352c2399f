package metrics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stewardhq/steward/reconcile"
)

func changeSet(actions ...reconcile.Action) *reconcile.ChangeSet {
	cs := &reconcile.ChangeSet{Unit: "web", Target: "prod", Revision: "abc"}
	for i, a := range actions {
		cs.Changes = append(cs.Changes, reconcile.Change{
			Object: reconcile.ObjectID{Kind: "ConfigMap", Name: string(rune('a' + i))},
			Action: a,
		})
	}
	return cs
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gatherer registers c alone, to gather what it exposes.
func gatherer(c prometheus.Collector) prometheus.Gatherer {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return reg
}

func TestRecordReconcile(t *testing.T) {
	tests := []struct {
		name      string
		cs        *reconcile.ChangeSet
		err       error
		result    string
		perAction map[reconcile.Action]float64
	}{
		{
			name:   "applied",
			cs:     changeSet(reconcile.Created, reconcile.Created, reconcile.Unchanged, reconcile.Configured),
			result: ResultSuccess,
			perAction: map[reconcile.Action]float64{
				reconcile.Created: 2, reconcile.Unchanged: 1, reconcile.Configured: 1,
			},
		},
		{
			name:      "failed change",
			cs:        changeSet(reconcile.Failed, reconcile.Deleted),
			result:    ResultFailure,
			perAction: map[reconcile.Action]float64{reconcile.Failed: 1, reconcile.Deleted: 1},
		},
		{
			name:   "generation failed, no change set",
			err:    errors.New("generate: boom"),
			result: ResultFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(DefaultOptions())
			r.RecordReconcile("web", "prod", tt.cs, 1500*time.Millisecond, tt.err)

			s, _ := r.units.series("web")
			for i, result := range results {
				if want := float64(b2i(result == tt.result)); s.total[i] != want {
					t.Errorf("reconcile_total{result=%q} = %v, want %v", result, s.total[i], want)
				}
			}
			for i, a := range actions {
				if s.objects[i] != tt.perAction[a] {
					t.Errorf("apply_objects_total{action=%q} = %v, want %v", a, s.objects[i], tt.perAction[a])
				}
			}
			// Exposed: last duration, one reconcile_total, an
			// apply_objects_total per action.
			if n, want := testutil.CollectAndCount(r.Units), 2+len(tt.perAction); n != want {
				t.Errorf("%d unit series, want %d", n, want)
			}
			// The target's histogram saw exactly one observation of 1.5s,
			// and the unit's last duration is 1.5s.
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(r.ReconcileDuration)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			m := mfs[0].GetMetric()[0]
			h := m.GetHistogram()
			if h.GetSampleCount() != 1 || h.GetSampleSum() != 1.5 {
				t.Errorf("duration histogram count=%d sum=%v, want 1 and 1.5", h.GetSampleCount(), h.GetSampleSum())
			}
			if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "target" || l[0].GetValue() != "prod" {
				t.Errorf("duration histogram labels %v, want target=prod only", l)
			}
			if n, _ := testutil.GatherAndCount(gatherer(r.Units), "steward_reconcile_last_duration_seconds"); n != 1 || s.lastDuration != 1.5 {
				t.Errorf("%d last duration series of %v, want 1 of 1.5", n, s.lastDuration)
			}
		})
	}
}

func TestGaugesAndRevision(t *testing.T) {
	r, reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	r.SetReady("web", true)
	r.SetReady("db", false)
	r.SetDrift("web", 3)
	r.RecordReconcile("web", "prod", changeSet(reconcile.Created, reconcile.Created, reconcile.Unchanged), 250*time.Millisecond, nil)
	r.RecordReconcile("db", "prod", nil, time.Second, errors.New("boom"))
	r.SetRevision("1111111")
	r.SetRevision("2222222") // the old series must go
	r.ObserveFetch(200 * time.Millisecond)

	want := `
# HELP steward_apply_objects_total Objects applied by action (created, configured, unchanged, deleted, skipped, failed).
# TYPE steward_apply_objects_total counter
steward_apply_objects_total{action="created",unit="web"} 2
steward_apply_objects_total{action="unchanged",unit="web"} 1
# HELP steward_reconcile_last_duration_seconds Time the unit's last reconcile took: generate, check, plan and apply.
# TYPE steward_reconcile_last_duration_seconds gauge
steward_reconcile_last_duration_seconds{unit="db"} 1
steward_reconcile_last_duration_seconds{unit="web"} 0.25
# HELP steward_reconcile_total Reconciles of a unit by result (success, failure).
# TYPE steward_reconcile_total counter
steward_reconcile_total{result="failure",unit="db"} 1
steward_reconcile_total{result="success",unit="web"} 1
# HELP steward_drift_objects Objects found drifted from git at the unit's last reconcile.
# TYPE steward_drift_objects gauge
steward_drift_objects{unit="web"} 3
# HELP steward_source_revision_info The revision the source currently tracks (always 1; the revision is the label).
# TYPE steward_source_revision_info gauge
steward_source_revision_info{revision="2222222"} 1
# HELP steward_unit_ready 1 when the unit's last reconcile applied its revision fully, else 0.
# TYPE steward_unit_ready gauge
steward_unit_ready{unit="db"} 0
steward_unit_ready{unit="web"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"steward_apply_objects_total", "steward_reconcile_last_duration_seconds", "steward_reconcile_total",
		"steward_drift_objects", "steward_source_revision_info", "steward_unit_ready"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "steward_git_fetch_duration_seconds"); err != nil || n != 1 {
		t.Errorf("fetch histogram series = %d, %v; want 1", n, err)
	}
	// The Go and process collectors are registered too.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s series = %d, %v; want 1", name, n, err)
		}
	}
	// Linting the exposition catches bad names, help and units.
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "steward_") {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}

	r.SetRevision("")
	if n, _ := testutil.GatherAndCount(reg, "steward_source_revision_info"); n != 0 {
		t.Errorf("revision series after clearing = %d, want 0", n)
	}
}

func TestForgetUnit(t *testing.T) {
	r := New(DefaultOptions())
	for _, u := range []string{"web", "db"} {
		r.RecordReconcile(u, "prod", changeSet(reconcile.Created), time.Second, nil)
		r.SetReady(u, true)
		r.SetDrift(u, 1)
	}
	before := testutil.CollectAndCount(r.Units)
	r.ForgetUnit("web")
	if n := testutil.CollectAndCount(r.Units); n != before/2 {
		t.Errorf("%d unit series left after forgetting web, want %d (db's)", n, before/2)
	}
	if _, ok := r.units.series("web"); ok {
		t.Error("web still has series")
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	r := New(DefaultOptions())
	reg := prometheus.NewRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	var are prometheus.AlreadyRegisteredError
	if err := r.Register(reg); !errors.As(err, &are) {
		t.Fatalf("second Register = %v, want AlreadyRegisteredError", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New(DefaultOptions())
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := range 100 {
				r.SetRevision(string(rune('a' + (i+j)%4)))
				r.RecordReconcile("u", "t", changeSet(reconcile.Unchanged), time.Millisecond, nil)
			}
		}()
	}
	for range 8 {
		<-done
	}
	if n := testutil.CollectAndCount(r.SourceRevision); n != 1 {
		t.Errorf("revision series = %d after concurrent updates, want exactly 1", n)
	}
	if s, _ := r.units.series("u"); s.total[0] != 800 {
		t.Errorf("reconcile_total = %v, want 800", s.total[0])
	}
}

// The series a unit costs stay flat: at 10 000 units a histogram per unit
// was most of the daemon's series. Counted at two sizes, each unit applied
// once with objects created and unchanged, the series grow by the same few
// per unit, and the duration histogram's do not grow at all.
func TestSeriesPerUnit(t *testing.T) {
	series := func(units int) (total, histogram int) {
		r := New(DefaultOptions())
		for i := range units {
			u := &reconcile.Unit{Name: fmt.Sprintf("u%04d", i), Target: "here"}
			r.UnitReconciled(reconcile.UnitEvent{Unit: u, State: reconcile.StateReady,
				ChangeSet: changeSet(reconcile.Created, reconcile.Unchanged), Duration: time.Duration(i) * time.Millisecond})
		}
		for _, c := range r.Collectors() {
			n := testutil.CollectAndCount(c)
			// A histogram is its buckets, +Inf, sum and count.
			switch c {
			case r.ReconcileDuration:
				n *= len(DefaultOptions().DurationBuckets) + 3
				histogram += n
			case r.FetchDuration:
				n *= len(DefaultOptions().FetchBuckets) + 3
			}
			total += n
		}
		return total, histogram
	}
	small, smallHist := series(10)
	large, largeHist := series(1000)
	perUnit := float64(large-small) / 990
	// ready, last duration, reconcile_total, drift, two actions.
	if perUnit != 6 {
		t.Errorf("%.2f series per unit (%d at 10 units, %d at 1000), want 6", perUnit, small, large)
	}
	if smallHist != largeHist {
		t.Errorf("duration histogram series grew from %d to %d with the units", smallHist, largeHist)
	}
}
