package machine

import (
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// TestMergeMarks: a wave of several hosts runs a hash only when every host
// says so; a failure on one host is the wave's; the soak counts from the
// last host to become healthy.
func TestMergeMarks(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	m := func(hash string, since time.Duration, failed string) *reconcile.ReleaseMark {
		return &reconcile.ReleaseMark{Revision: "r", Hash: hash, HealthySince: t0.Add(since), Failed: failed}
	}
	tests := []struct {
		name  string
		marks []*reconcile.ReleaseMark
		hash  string
		since time.Time
		fail  string
		none  bool
	}{
		{"none", []*reconcile.ReleaseMark{nil, nil}, "", time.Time{}, "", true},
		{"agree", []*reconcile.ReleaseMark{m("a", 0, ""), m("a", time.Minute, "")}, "a", t0.Add(time.Minute), "", false},
		{"one host behind", []*reconcile.ReleaseMark{m("a", 0, ""), m("b", 0, "")}, "", t0, "", false},
		{"one host without", []*reconcile.ReleaseMark{m("a", 0, ""), nil}, "", t0, "", false},
		{"first host without", []*reconcile.ReleaseMark{nil, m("a", 0, "")}, "", t0, "", false},
		{"one host failed", []*reconcile.ReleaseMark{m("a", 0, ""), m("a", 0, "boom")}, "a", t0, "boom", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeMarks(tt.marks)
			if tt.none {
				if got != nil {
					t.Fatalf("got %+v, want none", got)
				}
				return
			}
			if got == nil || got.Hash != tt.hash || !got.HealthySince.Equal(tt.since) || got.Failed != tt.fail {
				t.Fatalf("got %+v, want hash %q since %v failed %q", got, tt.hash, tt.since, tt.fail)
			}
		})
	}
}
