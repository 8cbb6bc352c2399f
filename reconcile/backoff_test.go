package reconcile

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	r := NewReconciler(ReconcilerOptions{RetryMin: time.Second, RetryMax: time.Minute, PollInterval: 30 * time.Second})
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 10: time.Minute, 60: time.Minute} {
		got := r.backoff(n)
		if lo, hi := time.Duration(float64(want)*0.8), time.Duration(float64(want)*1.2); got < lo || got > hi {
			t.Errorf("backoff(%d) = %v, want %v ±20%%", n, got, want)
		}
	}
	// A failing source is polled again sooner than the poll interval, and
	// never later than it.
	r.sourceFailures = 2
	if w := r.nextWake(); w < 1600*time.Millisecond || w > 2400*time.Millisecond {
		t.Errorf("wake after 2 failed polls = %v, want about 2s", w)
	}
	r.sourceFailures = 20
	if w := r.nextWake(); w > 30*time.Second {
		t.Errorf("wake after 20 failed polls = %v, want at most the poll interval", w)
	}
	r.sourceFailures = 0
	if w := r.nextWake(); w != 30*time.Second {
		t.Errorf("wake with a healthy source = %v, want the poll interval", w)
	}
}
