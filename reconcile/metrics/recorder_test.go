package metrics

import (
	"errors"
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

			if got := testutil.ToFloat64(r.ReconcileTotal.WithLabelValues("web", tt.result)); got != 1 {
				t.Errorf("reconcile_total{result=%q} = %v, want 1", tt.result, got)
			}
			if n := testutil.CollectAndCount(r.ReconcileTotal); n != 1 {
				t.Errorf("reconcile_total has %d series, want 1", n)
			}
			for a, want := range tt.perAction {
				if got := testutil.ToFloat64(r.ApplyObjects.WithLabelValues("web", string(a))); got != want {
					t.Errorf("apply_objects_total{action=%q} = %v, want %v", a, got, want)
				}
			}
			if n := testutil.CollectAndCount(r.ApplyObjects); n != len(tt.perAction) {
				t.Errorf("apply_objects_total has %d series, want %d", n, len(tt.perAction))
			}
			// The histogram saw exactly one observation of 1.5s.
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(r.ReconcileDuration)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			h := mfs[0].GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 1 || h.GetSampleSum() != 1.5 {
				t.Errorf("duration histogram count=%d sum=%v, want 1 and 1.5", h.GetSampleCount(), h.GetSampleSum())
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
	r.SetRevision("1111111")
	r.SetRevision("2222222") // the old series must go
	r.ObserveFetch(200 * time.Millisecond)

	want := `
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
	r.ForgetUnit("web")
	for _, c := range r.Collectors() {
		if c == r.SourceRevision || c == r.FetchDuration {
			continue
		}
		if n := testutil.CollectAndCount(c); n != 1 {
			t.Errorf("%d series left after forgetting web, want 1 (db's)", n)
		}
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
	if got := testutil.ToFloat64(r.ReconcileTotal.WithLabelValues("u", ResultSuccess)); got != 800 {
		t.Errorf("reconcile_total = %v, want 800", got)
	}
}
