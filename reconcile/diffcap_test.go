package reconcile_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestCapDiffs(t *testing.T) {
	lines := func(n int) string { return strings.Repeat("+0123456789abcdef\n", n) } // 18 bytes a line
	obj := func(diff string) reconcile.Change {
		return reconcile.Change{Object: reconcile.ObjectID{Kind: "ConfigMap", Name: "x"}, Action: reconcile.Configured, Diff: diff}
	}
	small := &reconcile.ChangeSet{Changes: []reconcile.Change{obj(lines(2)), obj(lines(3))}}
	if got := small.CapDiffs(reconcile.DiffLimits{PerObject: 100, PerUnit: 200}); got != small {
		t.Fatal("a change set within the limits was copied")
	}
	big := &reconcile.ChangeSet{Changes: []reconcile.Change{obj(lines(10)), obj(lines(3)), obj(lines(10))}}
	got := big.CapDiffs(reconcile.DiffLimits{PerObject: 100, PerUnit: 200})
	want := []string{
		lines(5) + "… 90 B more, see `steward diff --live`\n",
		lines(3),
		"… 180 B more, see `steward diff --live`\n", // the unit's budget is spent
	}
	for i, w := range want {
		if got.Changes[i].Diff != w {
			t.Errorf("change %d diff = %q, want %q", i, got.Changes[i].Diff, w)
		}
	}
	if big.Changes[0].Diff != lines(10) {
		t.Error("CapDiffs changed its input")
	}
	huge := &reconcile.ChangeSet{Changes: []reconcile.Change{obj(strings.Repeat("x", 20_000_000))}}
	if d := huge.CapDiffs(reconcile.DiffLimits{}).Changes[0].Diff; d != "… 20.0 MB more, see `steward diff --live`\n" {
		t.Errorf("one long line: %q", d)
	}
}

// A change set's diffs reach the observers (status, notifications) capped:
// a File grown by megabytes does not grow the status by as much.
func TestUnitEventsCarryCappedDiffs(t *testing.T) {
	big := strings.Repeat("a line of the big file\\n", 200_000) // 4.8 MB
	f := newFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "base v1"),
	})
	f.pass(reconcile.PassRequest{})
	f.commit("grow", map[string]string{"base/f.yaml": file("motd", "/etc/motd", big)})
	res := f.pass(reconcile.PassRequest{})
	var total int
	for _, ev := range res.Events {
		if ev.ChangeSet == nil {
			continue
		}
		for _, c := range ev.ChangeSet.Changes {
			total += len(c.Diff)
			if strings.Contains(c.Diff, "more, see `steward diff --live`") {
				return
			}
		}
	}
	t.Fatalf("no diff was capped (%d bytes of diffs)", total)
}
