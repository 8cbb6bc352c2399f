package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/targets/machine"
)

// BenchmarkScaleOneUnitChange measures the pass that applies a commit
// changing one unit of N (4 File objects each, a local target), with the
// generation cache and the checks wired as steward run wires them: from the
// poll that finds the commit to the changed file on disk. The goal is a
// pass proportional to the change, not to the estate (a webhook to applied
// within 2 s at 10 000 units).
func BenchmarkScaleOneUnitChange(b *testing.B) {
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("units=%d", n), func(b *testing.B) {
			r, _, repo := scaleReconcilerWith(b, n, func(st *reconcile.Stages) {
				opts := checks.DefaultOptions()
				opts.ValidateMachine = machine.Validate
				st.Checks = checks.For(opts)
				rend := reconcile.DefaultRenderOptions()
				rend.Generators = yamlGenerators
				rend.Cache = reconcile.NewCache("", "bench")
				st.Renderer = reconcile.NewRenderer(rend)
			})
			if res, err := r.Pass(context.Background(), reconcile.PassRequest{}); err != nil || res.Failed() || res.Refused != nil {
				b.Fatalf("first pass: %v, refused %v", err, res.Refused)
			}
			var total, cpu time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				name := fmt.Sprintf("u%05d", (i*7919)%n)
				file := filepath.Join(repo, "units", name, "files.yaml")
				data, err := os.ReadFile(file)
				must(b, err)
				data = append(data, fmt.Sprintf("---\napiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s-x%d}\nspec: {path: /srv/%s/x%d.conf, content: \"x\\n\", mode: \"0644\"}\n", name, i, name, i)...)
				must(b, os.WriteFile(file, data, 0o644))
				gitCommit(b, repo, "change "+name)
				b.StartTimer()
				start, cpuStart := time.Now(), cpuTime(b)
				var res *reconcile.PassResult
				// Labelled, so that a -cpuprofile can be narrowed to these
				// passes (go tool pprof -tagfocus pass=change).
				pprof.Do(context.Background(), pprof.Labels("pass", "change"), func(ctx context.Context) {
					res, err = r.Pass(ctx, reconcile.PassRequest{})
				})
				total, cpu = total+time.Since(start), cpu+cpuTime(b)-cpuStart
				if err != nil || res.Failed() || res.Refused != nil {
					b.Fatalf("change pass: %v, refused %v", err, res.Refused)
				}
				applied := 0
				for _, e := range res.Events {
					if e.ChangeSet != nil {
						applied++
						if e.Unit.Name != name || !e.ChangeSet.HasChanges() {
							b.Fatalf("change pass applied %s, want %s alone", e.Unit.Name, name)
						}
					}
				}
				if applied != 1 {
					b.Fatalf("change pass applied %d units, want %s alone", applied, name)
				}
			}
			pass, passCPU := total/time.Duration(b.N), cpu/time.Duration(b.N)
			b.ReportMetric(float64(pass.Milliseconds()), "change-pass-ms")
			b.ReportMetric(float64(passCPU.Milliseconds()), "change-pass-cpu-ms")
			b.Logf("%d units / %d objects: one-unit change pass %d ms (%d ms CPU)", n, 4*n, pass.Milliseconds(), passCPU.Milliseconds())
		})
	}
}

func yamlGenerators(u *reconcile.Unit) (reconcile.Generator, error) {
	return yaml.New(u.Generator.YAML), nil
}
