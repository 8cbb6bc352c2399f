package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestReleaseGate: what each wave may do, from the waves' marks alone.
func TestReleaseGate(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	healthy := func(hash string, since time.Duration) *ReleaseMark {
		return &ReleaseMark{Revision: "rev-" + hash, Hash: hash, HealthySince: t0.Add(-since), Previous: "rev-old"}
	}
	failed := func(hash string) *ReleaseMark {
		return &ReleaseMark{Revision: "rev-" + hash, Hash: hash, Failed: "health check: exit 1", FailedAt: t0, Previous: "rev-old"}
	}
	view := func(maxFailures int, marks ...*ReleaseMark) *releaseView {
		v := &releaseView{name: "app", spec: Progressive{Soak: Duration(10 * time.Minute), MaxFailures: maxFailures}, now: t0}
		for i, m := range marks {
			t := []string{"staging", "eu", "us"}[i]
			v.waves = append(v.waves, waveState{Unit: "app." + t, Target: t, Hash: "new", Mark: m})
		}
		return v
	}
	tests := []struct {
		name   string
		v      *releaseView
		wave   int
		why    string // "" = may apply
		status string
	}{
		{"first release, wave 1", view(0, nil, nil, nil), 0, "", "wave 1 of 3, applying"},
		{"first release, wave 2 waits", view(0, nil, nil, nil), 1, "waiting for wave 1 of 3 (target staging) to apply", "wave 1 of 3"},
		{"soaking", view(0, healthy("new", time.Minute), healthy("old", time.Hour), nil), 1,
			"waiting for wave 1 of 3 (target staging) to soak until 2026-11-26T12:09:00Z", "wave 1 of 3, soaking until 2026-11-26T12:09:00Z"},
		{"soaked", view(0, healthy("new", 10*time.Minute), healthy("old", time.Hour), nil), 1, "", "wave 2 of 3, applying"},
		{"wave 3 waits for wave 2 too", view(0, healthy("new", time.Hour), healthy("old", time.Hour), nil), 2, "waiting for wave 2 of 3 (target eu)", "wave 2 of 3"},
		{"last wave healthy is complete", view(0, healthy("new", time.Hour), healthy("new", time.Hour), healthy("new", 0)), 2, "", "complete: 3 waves"},
		{"frozen", view(0, healthy("new", time.Hour), failed("new"), healthy("old", time.Hour)), 2,
			"release frozen at wave 2 of 3 (target eu failed revision rev-new: health check: exit 1); steward release resume|abort app",
			"wave 2 of 3, frozen: target eu failed revision rev-new: health check: exit 1"},
		{"frozen blocks wave 1 too", view(0, healthy("old", time.Hour), failed("new"), nil), 0, "release frozen at wave 2 of 3", "frozen"},
		{"frozen lets a wave at the revision correct drift", view(0, healthy("new", time.Hour), failed("new"), nil), 0, "", "frozen"},
		{"new revision behind a frozen release", view(0, healthy("mid", time.Hour), failed("mid"), healthy("old", time.Hour)), 0, "release frozen at wave 2 of 3", "frozen"},
		{"tolerated failure", view(1, healthy("new", time.Hour), failed("new"), nil), 2, "", "wave 3 of 3, applying"},
		{"second failure freezes", view(1, failed("new"), failed("new"), nil), 2, "release frozen at wave 1 of 3", "wave 1 of 3, frozen"},
		{"aborted", view(0, &ReleaseMark{Revision: "rev-old", Hash: "old", HealthySince: t0, Aborted: "new", AbortedRevision: "rev-new"}, nil, nil), 0,
			"release of revision rev-new aborted (rolled back to rev-old)", "wave 1 of 3, aborted: revision rev-new rolled back to rev-old"},
		{"aborted revision differs from the current", view(0, &ReleaseMark{Revision: "rev-old", Hash: "old", HealthySince: t0, Aborted: "mid"}, nil, nil), 0, "", "wave 1 of 3, applying"},
		{"unreadable earlier wave", func() *releaseView {
			v := view(0, healthy("new", time.Hour), nil, nil)
			v.waves[0].Err = errors.New("connection refused")
			return v
		}(), 1, "release state on target staging unreadable: connection refused", ""},
		{"unreadable later wave does not block", func() *releaseView {
			v := view(0, nil, nil, nil)
			v.waves[2].Err = errors.New("connection refused")
			return v
		}(), 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why, _, _ := tt.v.gate(tt.wave, "steward release")
			if (tt.why == "") != (why == "") || !strings.Contains(why, tt.why) {
				t.Errorf("gate: %q, want %q", why, tt.why)
			}
			if got := tt.v.status("rev-new").String(); !strings.Contains(got, tt.status) {
				t.Errorf("status: %q, want %q", got, tt.status)
			}
		})
	}
}

// TestNextMark: a wave keeps its soak clock while it stays healthy at one
// hash, and remembers the revision it ran before.
func TestNextMark(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	m := nextMark(nil, "r1", "h1", nil, t0)
	if m.HealthySince != t0 || m.Previous != "" {
		t.Fatalf("first: %+v", m)
	}
	again := nextMark(m, "r2", "h1", nil, t0.Add(time.Hour))
	if !sameMark(again, m) {
		t.Fatalf("same hash at a later revision rewrote the mark: %+v", again)
	}
	next := nextMark(m, "r3", "h2", nil, t0.Add(time.Hour))
	if next.Previous != "r1" || !next.HealthySince.Equal(t0.Add(time.Hour)) {
		t.Fatalf("new hash: %+v", next)
	}
	bad := nextMark(next, "r4", "h3", errors.New(strings.Repeat("x", 2000)), t0.Add(2*time.Hour))
	if bad.Previous != "r3" || bad.Failed == "" || len(bad.Failed) > maxFailedReason+4 || !bad.HealthySince.IsZero() {
		t.Fatalf("failure: %+v", bad)
	}
	// After a failure, the last healthy revision is still the one before.
	if after := nextMark(bad, "r5", "h5", nil, t0.Add(3*time.Hour)); after.Previous != "r3" {
		t.Fatalf("after a failure: %+v", after)
	}
	resumed := *bad
	resumed.Failed, resumed.Resumed = "", true
	if ok := nextMark(&resumed, "r4", "h3", nil, t0.Add(4*time.Hour)); ok.Resumed || !ok.HealthySince.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("resumed then healthy: %+v", ok)
	}
}
