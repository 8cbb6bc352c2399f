package checks_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/targets/machine"
)

func decode(t testing.TB, unit, yaml string) checks.UnitObjects {
	t.Helper()
	objs, err := reconcile.DecodeObjects([]byte(yaml), unit+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return checks.UnitObjects{Unit: unit, Objects: objs}
}

const machineYAML = `
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: motd}
spec: {path: /etc/motd, content: "hello\n", mode: "0644"}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: bad-mode}
spec: {path: /etc/x, content: "x", mode: "rw-r--r--"}
---
apiVersion: machine.steward.dev/v1
kind: Command
metadata: {name: typo}
spec: {run: ["true"], unles: ["false"]}
`

// TestMachineKinds runs the machine target's own validator, as cmd wires it.
func TestMachineKinds(t *testing.T) {
	units := []checks.UnitObjects{decode(t, "hosts", machineYAML)}

	c, err := checks.New(nil, checks.Options{ValidateMachine: machine.Validate})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Check(context.Background(), units)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unchecked) != 0 {
		t.Errorf("unchecked: %v", rep.Unchecked)
	}
	got := map[string]string{}
	for _, f := range rep.Failures {
		if f.Rule != checks.RuleMachine || f.Unit != "hosts" {
			t.Errorf("failure %s: want rule machine in unit hosts", f)
		}
		got[f.Object.String()] = f.Field + ": " + f.Message
	}
	if len(got) != 2 {
		t.Fatalf("failures = %v, want one for File/bad-mode and one for Command/typo", rep.Failures)
	}
	for obj, field := range map[string]string{"machine.steward.dev/File/bad-mode": "mode", "machine.steward.dev/Command/typo": "unles"} {
		if !strings.Contains(got[obj], field) {
			t.Errorf("failure of %s = %q, want it to name %q", obj, got[obj], field)
		}
	}

	// Without a validator machine kinds are unchecked, not failed.
	c, err = checks.New(nil, checks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = c.Check(context.Background(), units)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 0 || len(rep.Unchecked) != 3 {
		t.Errorf("without ValidateMachine: failures %v, unchecked %v; want none and 3", rep.Failures, rep.Unchecked)
	}
}

// TestDeterministic: the report does not depend on input order or on
// concurrency.
func TestDeterministic(t *testing.T) {
	rules := []reconcile.Check{
		{Name: "limits", Match: reconcile.Match{Kind: "Deployment"}, CEL: "object.spec.template.spec.containers.all(c, has(c.resources.limits))"},
		{Name: "named", CEL: `object.metadata.name.size() < 6`},
	}
	units := mixedUnits(t, 300)
	var first *checks.Report
	for i, conc := range []int{1, 2, 8, 1, 8} {
		shuffled := make([]checks.UnitObjects, len(units))
		for j, u := range units {
			objs := append([]*reconcile.Object(nil), u.Objects...)
			if i > 0 {
				rand.Shuffle(len(objs), func(a, b int) { objs[a], objs[b] = objs[b], objs[a] })
			}
			shuffled[j] = checks.UnitObjects{Unit: u.Unit, Objects: objs}
		}
		if i > 0 {
			rand.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		}
		c, err := checks.New(rules, checks.Options{Concurrency: conc})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.Check(context.Background(), shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = rep
			if len(rep.Failures) == 0 || len(rep.Unchecked) == 0 {
				t.Fatalf("fixture should fail and leave some unchecked: %d failures, %d unchecked", len(rep.Failures), len(rep.Unchecked))
			}
			continue
		}
		if !reflect.DeepEqual(first, rep) {
			t.Fatalf("run %d (concurrency %d) differs from the first", i, conc)
		}
	}
}
