package machine_test

import (
	"os"
	"path/filepath"
	"testing"
)

// A Command's unless and onlyIf guards run while planning, which is what
// diff --live does: repository code executes on the target without
// anything being applied (SECURITY.md: CI running diff --live on untrusted
// pull requests must not hold target credentials).
func TestGuardsRunWhilePlanning(t *testing.T) {
	r := newRig(t)
	for _, guard := range []string{"unless", "onlyIf"} {
		marker := filepath.Join(r.root(h1), guard+"-ran")
		run := filepath.Join(r.root(h1), guard+"-applied")
		p := r.plan(request("u", "r1", false, obj(t, hdr+"kind: Command\nmetadata: {name: c}\nspec: {run: [touch, "+run+"], "+guard+": [sh, -c, 'touch "+marker+"; false']}")))
		if len(p.Changes) != 1 {
			t.Fatalf("%s: plan %+v", guard, p.Changes)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("%s: the guard did not run during plan: %v", guard, err)
		}
		if _, err := os.Stat(run); !os.IsNotExist(err) {
			t.Errorf("%s: plan ran the command itself (%v)", guard, err)
		}
	}
}
