package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// replica is the part of a sharded replica the reconciler sees: the units
// it owns, what the other replicas published, and whether a Lease still
// vouches for an apply.
type replica struct {
	mu       sync.Mutex
	owned    map[string]bool
	external map[string]struct {
		rev   string
		ready bool
	}
	holdErr  error
	held     []string
	released int
}

func (o *replica) Owns(unit string) bool { o.mu.Lock(); defer o.mu.Unlock(); return o.owned[unit] }
func (o *replica) Hold(ctx context.Context, unit string) (context.Context, func(), error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.holdErr != nil {
		return nil, nil, o.holdErr
	}
	o.held = append(o.held, unit)
	return ctx, func() { o.mu.Lock(); o.released++; o.mu.Unlock() }, nil
}
func (o *replica) External(unit string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.external[unit]
	return e.rev, e.ready
}

// TestOwnershipLimitsAndVouches: a replica applies only the units it owns,
// each under a hold; a dependency owned elsewhere counts when the other
// replica published it ready at the same revision; a refused hold applies
// nothing.
func TestOwnershipLimitsAndVouches(t *testing.T) {
	type ext = struct {
		rev   string
		ready bool
	}
	tests := []struct {
		name      string
		owned     []string
		external  func(rev string) map[string]ext
		holdErr   error
		want      string // unit states of the pass
		wantApp   bool   // app's file written
		wantBase  bool
		wantHolds int
		reason    string // in app's reason
	}{
		{name: "owns both", owned: []string{"app", "base"}, want: "app=ready base=ready", wantApp: true, wantBase: true, wantHolds: 2},
		{name: "owns base only", owned: []string{"base"}, want: "base=ready", wantBase: true, wantHolds: 1},
		{name: "dependency elsewhere, ready", owned: []string{"app"},
			external: func(rev string) map[string]ext { return map[string]ext{"base": {rev, true}} },
			want:     "app=ready", wantApp: true, wantHolds: 1},
		{name: "dependency elsewhere, not published", owned: []string{"app"},
			want: "app=blocked", reason: "not reconciled by any replica yet"},
		{name: "dependency elsewhere, failed", owned: []string{"app"},
			external: func(rev string) map[string]ext { return map[string]ext{"base": {rev, false}} },
			want:     "app=blocked", reason: "not ready on its replica"},
		{name: "dependency elsewhere, other revision", owned: []string{"app"},
			external: func(string) map[string]ext { return map[string]ext{"base": {"0123456789abcdef", true}} },
			want:     "app=blocked", reason: "at revision 0123456"},
		{name: "lease lapsing", owned: []string{"app", "base"}, holdErr: errors.New("shard 3: lease not renewed in time"),
			want: "app=blocked base=blocked", reason: "waiting for dependency base"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &replica{owned: map[string]bool{}, holdErr: tc.holdErr}
			for _, u := range tc.owned {
				o.owned[u] = true
			}
			f := newFixtureWith(t, map[string]string{
				"steward.yaml": stack,
				"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
				"base/f.yaml":  file("motd", "/etc/motd", "base v1"),
			}, func(opts *reconcile.ReconcilerOptions) { opts.Ownership = o })
			if tc.external != nil {
				// The revision is known after a poll: a pass over a unit
				// that does not exist polls and applies nothing.
				if _, err := f.r.Pass(context.Background(), reconcile.PassRequest{Units: []string{"__none__"}}); err == nil {
					t.Fatal("a pass over an unknown unit succeeded")
				}
				rev, _ := f.r.Current()
				o.external = tc.external(rev.ID)
			}
			res := f.pass(reconcile.PassRequest{})
			if got := f.states(res); got != tc.want {
				t.Fatalf("states = %s, want %s", got, tc.want)
			}
			if got := !strings.HasPrefix(f.read("edge", "/etc/app.conf"), "<"); got != tc.wantApp {
				t.Errorf("app applied: %v, want %v", got, tc.wantApp)
			}
			if got := !strings.HasPrefix(f.read("core", "/etc/motd"), "<"); got != tc.wantBase {
				t.Errorf("base applied: %v, want %v", got, tc.wantBase)
			}
			if len(o.held) != tc.wantHolds || o.released != tc.wantHolds {
				t.Errorf("holds %v, released %d, want %d of each", o.held, o.released, tc.wantHolds)
			}
			for _, e := range res.Events {
				if e.Unit.Name == "app" && !strings.Contains(e.Reason, tc.reason) {
					t.Errorf("app: reason %q, want it to say %q", e.Reason, tc.reason)
				}
				if tc.holdErr != nil && e.Unit.Name == "base" && !strings.Contains(e.Reason, tc.holdErr.Error()) {
					t.Errorf("base: reason %q, want the hold's error", e.Reason)
				}
			}
		})
	}
}
