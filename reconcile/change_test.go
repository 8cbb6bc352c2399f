package reconcile_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/targets/machine"
)

// TestOneUnitChangeIsProportional keeps the generation of a revision that
// changes one unit proportional to the change, at any estate size: with the
// generation cache and the checks wired as steward run wires them, the
// changed unit's objects alone are hashed and checked again (the cache keeps
// each unit's hash, the checks stage each unit's results). Every revision
// used to encode and check all 40 000 objects of a 10 000-unit stack.
func TestOneUnitChangeIsProportional(t *testing.T) {
	for _, n := range []int{20, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var stack strings.Builder
			stack.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: here}}\nunits:\n")
			files := map[string]string{}
			for i := range n {
				name := fmt.Sprintf("u%03d", i)
				fmt.Fprintf(&stack, "  - {name: %s, path: %s, generator: {yaml: {}}, target: here}\n", name, name)
				files[name+"/f.yaml"] = fmt.Sprintf("apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s}\nspec: {path: /srv/%s.conf, content: \"%s\\n\"}\n", name, name, name)
			}
			files["steward.yaml"] = stack.String()
			var validated atomic.Int64
			f := newFixtureWith(t, files, func(o *reconcile.ReconcilerOptions) {
				o.Stages.Renderer = reconcile.NewRenderer(reconcile.RenderOptions{
					Generators: func(u *reconcile.Unit) (reconcile.Generator, error) { return yaml.New(u.Generator.YAML), nil },
					Cache:      reconcile.NewCache("", "test"),
				})
				opts := checks.DefaultOptions()
				opts.ValidateMachine = func(o *reconcile.Object) error {
					validated.Add(1)
					return machine.Validate(o)
				}
				o.Stages.Checks = checks.For(opts)
			})
			pass := func(what string, want int64) {
				t.Helper()
				hashed, checked := reconcile.ObjectsHashed(), validated.Load()
				if res := f.pass(reconcile.PassRequest{}); res.Failed() || res.Refused != nil {
					t.Fatalf("%s: %s, refused: %v", what, f.states(res), res.Refused)
				}
				if got := reconcile.ObjectsHashed() - hashed; got != want {
					t.Errorf("%s: %d objects hashed, want %d", what, got, want)
				}
				if got := validated.Load() - checked; got != want {
					t.Errorf("%s: %d objects checked, want %d", what, got, want)
				}
			}
			pass("first revision", int64(n))
			last := fmt.Sprintf("u%03d", n-1)
			f.commit("change "+last, map[string]string{last + "/f.yaml": strings.Replace(files[last+"/f.yaml"], last+`\n`, last+` v2\n`, 1)})
			pass("a revision changing one unit", 1)
			if got := f.read("here", "srv/"+last+".conf"); got != last+" v2\n" {
				t.Errorf("changed unit's file: %q", got)
			}
		})
	}
}
