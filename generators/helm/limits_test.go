package helm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/generators/internal/sandbox"
	"github.com/stewardhq/steward/reconcile"
)

func isolated(t *testing.T) helm.Options {
	if sandbox.RaceEnabled {
		t.Skip("the race detector's shadow memory does not fit under the sandbox's RLIMIT_DATA")
	}
	opts := helm.DefaultOptions()
	opts.Isolate, opts.MaxMemory = true, 256<<20
	return opts
}

// Templates that would take all of steward's memory fail their unit when
// rendered isolated; steward (this test process) lives on.
func TestIsolatedBombs(t *testing.T) {
	for _, repo := range []string{"bomb-until", "bomb-double"} {
		t.Run(repo, func(t *testing.T) {
			_, err := helm.NewWithOptions(nil, isolated(t)).Generate(context.Background(), request(t, repo, "chart", &reconcile.Unit{Name: "u"}))
			if err == nil || !strings.Contains(err.Error(), "ran out of memory (limit 256 MiB)") {
				t.Fatalf("err = %v, want the memory limit", err)
			}
		})
	}
}

// Isolated, a chart renders exactly as in process, and errors keep their
// file, line and sentinels.
func TestIsolatedSameAsInProcess(t *testing.T) {
	unit := &reconcile.Unit{Name: "web", Namespace: "shop"}
	want, err := helm.New(fullSpec).Generate(context.Background(), request(t, "full", "app", unit))
	if err != nil {
		t.Fatal(err)
	}
	got, err := helm.NewWithOptions(fullSpec, isolated(t)).Generate(context.Background(), request(t, "full", "app", unit))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := gentest.Render(t, got), gentest.Render(t, want); string(g) != string(w) {
		t.Errorf("isolated output differs:\n%s", reconcile.UnifiedDiff("in process", "isolated", string(w), string(g)))
	}
	_, err = helm.NewWithOptions(nil, isolated(t)).Generate(context.Background(), request(t, "no-kind", "chart", &reconcile.Unit{Name: "u"}))
	var se *reconcile.SourceError
	if !errors.As(err, &se) || se.File != "chart/templates/nokind.yaml" || se.Line != 1 || !errors.Is(err, reconcile.ErrMissingField) {
		t.Errorf("err = %#v, want chart/templates/nokind.yaml:1 and ErrMissingField", err)
	}
}

// Rendered output past MaxOutput is refused, in process and isolated.
func TestOutputCap(t *testing.T) {
	for _, isolate := range []bool{false, true} {
		if isolate && sandbox.RaceEnabled {
			continue // see isolated
		}
		opts := helm.DefaultOptions()
		opts.MaxOutput, opts.Isolate = 1<<20, isolate
		_, err := helm.NewWithOptions(nil, opts).Generate(context.Background(), request(t, "big-output", "chart", &reconcile.Unit{Name: "u"}))
		if err == nil || !strings.Contains(err.Error(), "exceeds 1048576") {
			t.Errorf("isolate=%v: err = %v, want the output cap", isolate, err)
		}
	}
}
