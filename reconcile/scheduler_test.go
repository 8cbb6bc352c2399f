package reconcile_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// TestSchedulerVisitsOnlyDueUnits keeps the scheduler's hot path fixed: a
// pass visits the units it has something to do for, with at most
// Concurrency of them in flight, at any estate size. Every pass used to
// start a goroutine per unit of the stack (10 000 at once in the first
// pass), and a drift wake-up for one unit walked all of them.
func TestSchedulerVisitsOnlyDueUnits(t *testing.T) {
	for _, n := range []int{20, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var stack strings.Builder
			stack.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: here}}\nunits:\n")
			files := map[string]string{}
			for i := range n {
				name := fmt.Sprintf("u%03d", i)
				interval := ""
				if i == n/2 {
					interval = ", interval: 1m" // drifts sooner than the rest
				}
				dep := ""
				if i > 0 && i%10 == 0 {
					dep = fmt.Sprintf(", dependsOn: [u%03d]", i-1)
				}
				fmt.Fprintf(&stack, "  - {name: %s, path: %s, generator: {yaml: {}}, target: here%s%s}\n", name, name, interval, dep)
				files[name+"/f.yaml"] = fmt.Sprintf("apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s}\nspec: {path: /srv/%s.conf, content: \"%s\\n\"}\n", name, name, name)
			}
			files["steward.yaml"] = stack.String()
			f := newFixture(t, files)

			passVisits := func(what string, want int) {
				t.Helper()
				before, _ := reconcile.SchedulerStats(f.r)
				res := f.pass(reconcile.PassRequest{})
				after, peak := reconcile.SchedulerStats(f.r)
				if after-before != want {
					t.Errorf("%s: %d units visited, want %d", what, after-before, want)
				}
				if peak > 4 {
					t.Errorf("%s: %d units in flight at once, want at most --concurrency (4)", what, peak)
				}
				if res.Failed() {
					t.Fatalf("%s: %s", what, f.states(res))
				}
			}
			passVisits("first pass", n)
			if got := f.read("here", fmt.Sprintf("srv/u%03d.conf", n-1)); got != fmt.Sprintf("u%03d\n", n-1) {
				t.Fatalf("last unit's file: %q", got)
			}
			passVisits("nothing due", 0)
			f.clock.Advance(2 * time.Minute)
			passVisits("one unit's drift interval over", 1)
			f.clock.Advance(2 * time.Hour)
			passVisits("every unit's drift interval over", n)

			// A revision changing the last unit: every unit is visited (the
			// rest are reported unchanged at it), the changed one first.
			last := fmt.Sprintf("u%03d", n-1)
			f.commit("change "+last, map[string]string{last + "/f.yaml": strings.Replace(files[last+"/f.yaml"], last+`\n`, last+` v2\n`, 1)})
			passVisits("a new revision", n)
			if got := reconcile.FirstStarted(f.r); got != last {
				t.Errorf("a new revision started %s first, want the changed unit %s", got, last)
			}
			if got := f.read("here", "srv/"+last+".conf"); got != last+" v2\n" {
				t.Errorf("changed unit's file: %q", got)
			}
		})
	}
}
