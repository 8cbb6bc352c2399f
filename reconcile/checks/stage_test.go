package checks

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// TestStageRechecksOnlyChangedUnits keeps the checks of a one-unit change
// proportional to the change: a revision that changes one unit of n checks
// that unit's objects alone, at any n, and reuses what was found for the
// rest (failures included). A change to a unit holding a CRD rechecks every
// unit (another unit's custom objects are checked against it), and so does
// a change to the stack's rules. Every revision used to check all 40 000
// objects of a 10 000-unit stack.
func TestStageRechecksOnlyChangedUnits(t *testing.T) {
	for _, n := range []int{50, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			objects := map[string]string{}
			for i := range n {
				name := fmt.Sprintf("u%03d", i)
				objects[name] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-a, namespace: ns}\ndata: {k: v}\n"+
					"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-b, namespace: ns}\ndata: {k: v}\n", name, name)
			}
			// u000 fails a rule; crds defines Widget, which widgets uses
			// with a size the CRD does not allow.
			objects["crds"] = strings.Replace(readFile(t, "crd-widget.yaml"), "enum: [small, medium, large]", "enum: [small, medium]", 1)
			objects["widgets"] = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: ns}\nspec: {size: large}\n"
			const rules = "checks:\n  - name: no-bad\n    match: {kind: ConfigMap, name: u000-a}\n    cel: \"false\"\n    message: u000-a is refused\n"
			stack := testStack(t, objects, rules)
			checkFor := For(Options{})
			rendered := renderAll(t, stack, objects)
			total := 0
			for _, r := range rendered {
				total += len(r.Objects)
			}

			var m *memo
			check := func(what string, st *reconcile.Stack, rendered []reconcile.Rendered, wantChecked int, wantFailures ...string) {
				t.Helper()
				c, err := checkFor(st)
				if err != nil {
					t.Fatal(err)
				}
				m = c.(*Stage).memo
				before := m.checked
				rep, err := c.Check(context.Background(), rendered)
				if err != nil {
					t.Fatal(err)
				}
				if got := m.checked - before; got != wantChecked {
					t.Errorf("%s: %d objects checked, want %d", what, got, wantChecked)
				}
				var got []string
				for _, f := range rep.Failures {
					got = append(got, f.Error())
				}
				diffLines(t, what+": failures", got, wantFailures)
			}
			refused := "unit u000: ConfigMap/ns/u000-a: rule no-bad: u000-a is refused"
			tooBig := "unit widgets: example.com/Widget/ns/w: rule schema: spec.size: unsupported value \"large\": supported values: \"small\", \"medium\""

			check("first revision", stack, rendered, total, refused, tooBig)
			check("same objects at a new revision", testStack(t, objects, rules), renderAll(t, stack, objects), 0, refused, tooBig)

			last := fmt.Sprintf("u%03d", n-1)
			objects[last] = strings.Replace(objects[last], "{k: v}", "{k: changed}", 1)
			check("one unit changed", stack, renderAll(t, stack, objects), 2, refused, tooBig)

			objects["crds"] = readFile(t, "crd-widget.yaml") // allows large
			check("the CRD changed", stack, renderAll(t, stack, objects), total, refused)

			check("the rules changed", testStack(t, objects, ""), renderAll(t, stack, objects), total)
		})
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// testStack is a stack of a unit per key of objects (sorted) on one
// Kubernetes target, with rules (YAML "checks:" or "").
func testStack(t *testing.T, objects map[string]string, rules string) *reconcile.Stack {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  c: {kubernetes: {credentials: c}}\nunits:\n")
	for _, name := range slices.Sorted(maps.Keys(objects)) {
		fmt.Fprintf(&b, "  - {name: %s, path: %s, generator: {yaml: {}}, target: c}\n", name, name)
	}
	b.WriteString(rules)
	st, err := reconcile.ParseStack([]byte(b.String()), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// renderAll decodes each unit's objects as a generation would, with their
// hash.
func renderAll(t *testing.T, stack *reconcile.Stack, objects map[string]string) []reconcile.Rendered {
	t.Helper()
	out := make([]reconcile.Rendered, len(stack.Units))
	for i := range stack.Units {
		u := &stack.Units[i]
		objs, err := reconcile.DecodeObjects([]byte(objects[u.Name]), u.Name+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		out[i] = reconcile.Rendered{Unit: u, Objects: objs, Hash: reconcile.HashObjects(objs)}
	}
	return out
}
